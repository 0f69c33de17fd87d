"""svg_fast makes the glyphs Manim's own SVG parse makes, attribute for attribute and group for group, and
leaves to Manim any SVG it is not sure of."""
from pathlib import Path

import numpy as np
import pytest
import svgelements as se
from manim import MathTex, Text, VMobject
from manim.mobject.svg.svg_mobject import SVGMobject

from manim_patches import svg_fast
from manim_patches.svg_cache import _SKIPPED

KOREAN = "기울기 소실: 시그모이드의 도함수는 최대 0.25"


class _Bare(SVGMobject):
    """An SVGMobject of a file with another mobject's settings, made up to its parse (no placing or scaling)."""

    def __init__(self, made: SVGMobject):
        VMobject.__init__(self)
        self.file_name = Path(made.get_file_path())
        self.svg_default, self.path_string_config = dict(made.svg_default), dict(made.path_string_config)
        self.id_to_vgroup_dict = {}


def _manims(made):
    mob = _Bare(made)
    mob.generate_mobject()
    leaves = list(mob.submobjects)
    position = {id(leaf): i for i, leaf in enumerate(leaves)}
    return leaves, {name: [position[id(m)] for m in vg.submobjects] for name, vg in mob.id_to_vgroup_dict.items()}


def _assert_same_glyph(ours, theirs):
    names = set(theirs.__dict__) - _SKIPPED
    assert set(ours.__dict__) - _SKIPPED == names
    for name in names:
        a, b = ours.__dict__[name], theirs.__dict__[name]
        if isinstance(b, np.ndarray):
            # the same numbers, bit for bit (the sign of a zero too), in the same shape and type
            assert a.dtype == b.dtype and a.shape == b.shape, name
            assert np.array_equal(a, b) and np.array_equal(np.signbit(a), np.signbit(b)), name
        elif name in ("submobjects", "updaters"):
            assert not a and not b
        else:
            assert a == b, name


def _labels():
    return [
        Text("local × upstream = −0.197", font_size=30, color="#56B4E9"),
        Text(KOREAN + "\n둘째 줄", font_size=22, color="#E69F00"),  # two lines, Hangul
        Text("w₁ ← w₁ − η·∂L/∂w₁", font_size=40),
        MathTex(r"\frac{\partial f}{\partial x} = -0.197", color="#E69F00"),  # a fraction bar (a rect)
        MathTex("y", "=", r"\sigma(x)", tex_to_color_map={"y": "#009E73"}),  # parts named by group ids
        MathTex(r"\begin{bmatrix} 1 & -2 \\ 3.5 & 0 \end{bmatrix}\sqrt{x^2}"),
    ]


@pytest.mark.parametrize("index", range(6))
def test_glyphs_and_groups_are_manims(index):
    made = _labels()[index]
    theirs, their_groups = _manims(made)
    svg_fast._templates.clear()  # each style's first glyph made both ways and compared, as in a new process
    result = svg_fast.leaves_and_groups(_Bare(made))
    assert result is not None, "left to Manim"
    ours, our_groups = result
    assert len(ours) == len(theirs) > 3
    for a, b in zip(ours, theirs):
        _assert_same_glyph(a, b)
    assert our_groups == their_groups
    # ... and again once every style is known (every glyph then made from a template)
    again, _ = svg_fast.leaves_and_groups(_Bare(made))
    for a, b in zip(again, theirs):
        _assert_same_glyph(a, b)


def _variant(made, tmp_path, extra):
    odd = tmp_path / "odd.svg"
    odd.write_text(Path(made.get_file_path()).read_text().replace("</svg>", extra + "</svg>"))
    mob = _Bare(made)
    mob.file_name = odd
    return mob


def test_an_svg_outside_what_pango_and_dvisvgm_write_is_left_to_manim(tmp_path):
    made = Text("ab", font_size=30)
    for extra in ('<circle cx="1" cy="1" r="1"/>', '<style>path { fill: red }</style>',
                  '<g class="x"><use xlink:href="#glyph0-1" x="3" y="4"/></g>'):
        assert svg_fast.leaves_and_groups(_variant(made, tmp_path, extra)) is None, extra


def test_a_turned_and_scaled_glyph_is_manims_too(tmp_path):
    # not what Pango or dvisvgm write, but within the subset: a matrix of another linear part is another
    # style, whose first glyph is made by Manim and compared
    made = Text("ab", font_size=30)
    extra = '<g transform="rotate(30) scale(1.5, 0.5)"><use xlink:href="#glyph0-1" x="3" y="4"/></g>'
    mob = _variant(made, tmp_path, extra)
    ours, groups = svg_fast.leaves_and_groups(mob)
    theirs, their_groups = _manims(mob)
    assert len(ours) == len(theirs) == 3 and groups == their_groups
    for a, b in zip(ours, theirs):
        _assert_same_glyph(a, b)


def test_a_rule_of_no_height_takes_no_group_name_as_in_manim(tmp_path):
    # svgelements leaves a degenerate rect out of its tree, so the groups after it keep Manim's numbers
    made = MathTex(r"\frac{a}{b}")
    extra = '<rect x="1" y="2" height="0" width="3"/><g><use x="5" y="1" xlink:href="#' + \
        _first_glyph_id(made) + '"/></g>'
    mob = _variant(made, tmp_path, extra)
    ours, groups = svg_fast.leaves_and_groups(mob)
    theirs, their_groups = _manims(mob)
    assert len(ours) == len(theirs) and groups == their_groups
    for a, b in zip(ours, theirs):
        _assert_same_glyph(a, b)


def _first_glyph_id(made) -> str:
    import re
    return re.search(r"<path id='([^']+)'", Path(made.get_file_path()).read_text()).group(1)


def test_a_style_whose_first_glyph_comes_out_otherwise_is_left_to_manim(monkeypatch):
    made = Text("guard", font_size=30)
    svg_fast._templates.clear()
    real = svg_fast._Outline.points
    monkeypatch.setattr(svg_fast._Outline, "points", lambda self, ms: [p + 1e-12 for p in real(self, ms)])
    assert svg_fast.leaves_and_groups(_Bare(made)) is None
    svg_fast._templates.clear()


@pytest.mark.parametrize("x,y", [("30", "26.704102"), ("-0", "5"), (".442813", "-15.510865"), ("1e-5", "-0.0"),
                                 ("94.609342", "0")])
def test_a_uses_translate_is_svgelements_matrix(x, y):
    values = {"x": x, "y": y}
    svg_fast._place_use(values)
    use = se.Use({"x": x, "y": y})
    assert values.get("transform", "") == use.values.get("transform", "")
    ours, theirs = svg_fast._matrix(values.get("transform", "")), se.Matrix(use.values.get("transform", ""))
    for k in "abcdef":
        assert getattr(ours, k) == getattr(theirs, k) and np.signbit(getattr(ours, k)) == np.signbit(getattr(theirs, k))
