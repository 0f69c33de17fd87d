"""manim_patches.bounds and manim_patches.text_closing give Manim's own numbers, bit for bit (signs of zero
included), where Manim's code took a Python loop per point or per submobject."""
import numpy as np
import pytest
from manim import DL, DOWN, LEFT, ORIGIN, RIGHT, UL, UP, UR, Dot, Line, MathTex, Text, VGroup, VMobject

from manim_patches import bounds, text_closing

DIRECTIONS = [ORIGIN, UP, DOWN, LEFT, RIGHT, UL, UR, DL, DL + 0 * UP]


def _same(a, b) -> bool:
    if a is None or b is None:
        return a is b
    a, b = np.asarray(a), np.asarray(b)
    return (a.shape == b.shape and a.dtype == b.dtype and np.array_equal(a, b, equal_nan=True)
            and np.array_equal(np.signbit(a), np.signbit(b)))


def _measures(mob):
    out = [mob.get_points_defining_boundary()]
    out += [mob.get_critical_point(d) for d in DIRECTIONS]
    out += [mob.reduce_across_dimension(f, dim) for f in (max, min) for dim in range(3)]
    out += [mob.width, mob.height, mob.depth]
    return out


def _both(mob):
    bounds.uninstall()
    try:
        want = _measures(mob)
    finally:
        bounds.install()
    try:
        got = _measures(mob)
    finally:
        bounds.uninstall()
    return want, got


def _point(*xyz) -> VMobject:
    m = VMobject()
    m.points = np.array([xyz], dtype=float)
    return m


def _shapes():
    empty = VMobject()
    signed_zero = VGroup(_point(-0.0, 1.0, 0.0), _point(0.0, -1.0, 0.0), _point(-2.0, 0.5, 0.0))
    zero_first = VGroup(_point(0.0, 0.0, 0.0), _point(-0.0, -0.0, -0.0))
    return {
        "formula": MathTex(r"\frac{\partial f}{\partial x} = -4"),
        "text": Text("게이트 x + y", font_size=30),
        "group with an empty member": VGroup(Dot(), empty, Line(LEFT, 2 * UP)),
        "only empty members": VGroup(VMobject(), VGroup(VMobject())),
        "a lone point": _point(0.5, -0.25, 0.0),
        "max and min at signed zeros": signed_zero,
        "zeros of both signs only": zero_first,
        "a NaN": VGroup(_point(np.nan, 1.0, 0.0), Dot(RIGHT)),
    }


@pytest.mark.parametrize("name", list(_shapes()))
def test_extents_are_manims_bit_for_bit(name):
    want, got = _both(_shapes()[name])
    for i, (w, g) in enumerate(zip(want, got)):
        assert _same(w, g), (name, i, w, g)
        assert type(w) is type(g), (name, i)


def test_a_curve_of_the_wrong_length_fails_as_manims_does():
    bad = VGroup(Dot())
    bad.submobjects[0].points = bad.submobjects[0].points[:6]
    bounds.install()
    try:
        with pytest.raises(ValueError):
            bad.get_points_defining_boundary()
    finally:
        bounds.uninstall()


@pytest.mark.parametrize("text,kwargs", [("Hello, x", {}), ("연쇄 법칙\n두 줄", {"font_size": 20, "line_spacing": 0.8}),
                                         ("O0o8B%&@ ∑√", {"disable_ligatures": True}), ("a\tb", {"color": "#E69F00"})])
def test_text_outlines_are_closed_as_manims_loop_closes_them(text, kwargs):
    text_closing.uninstall()
    want = Text(text, **kwargs)
    text_closing.install()
    try:
        got = Text(text, **kwargs)
    finally:
        text_closing.uninstall()
    assert "__iter__" not in vars(Text)  # uninstalled: Text iterates as Manim's VMobject does
    pairs = list(zip(want.get_family(), got.get_family()))
    assert len(pairs) == len(want.get_family()) == len(got.get_family()) and len(pairs) > 1
    for w, g in pairs:
        assert _same(w.points, g.points)
    assert want.initial_height == got.initial_height and len(want.chars) == len(got.chars)
    assert [len(m) for m in got] == [len(m) for m in want]  # a made text iterates as Manim's does


def test_closing_draws_a_line_back_to_each_subpath_start():
    # two curves that do not meet: each subpath gets a line (as a cubic) back to its own start
    a, b = np.zeros((4, 3)), np.ones((4, 3))
    a[:, 0], b[:, 0] = [0, 1, 2, 3], [10, 11, 12, 13]
    closed = text_closing._close(np.concatenate([a, b]))
    assert len(closed) == 16
    np.testing.assert_array_equal(closed[4:8, 0], [3, 2, 1, 0])
    np.testing.assert_array_equal(closed[12:16, 0], [13, 12, 11, 10])


def test_a_family_is_listed_as_manims_walk_lists_it():
    # a shared glyph (met twice: kept at its last place) and a group holding itself (the cycle cut)
    a, b, c = Dot(), Dot(), Dot()
    inner = VGroup(a, b)
    outer = VGroup(inner, c, VGroup(b, Line()), a)
    looped = VGroup(Dot())
    looped.submobjects.append(looped)
    for mob in (outer, looped, MathTex("x + y"), VMobject()):
        want = bounds._ORIGINAL_FAMILY(mob)
        got = bounds.get_family(mob)
        assert [id(m) for m in got] == [id(m) for m in want]
