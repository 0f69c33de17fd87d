"""The screen audit's quicker measures give Manim's own numbers, bit for bit: a text's box and font size, a
scene's tags, a family's membership, a wire's dense path. The audit's record must not change with its speed."""
import math

import numpy as np
import pytest
from manim import DOWN, RIGHT, DecimalNumber, MarkupText, MathTex, Text, VGroup, VMobject, tempconfig

from audit.screen import (_bbox_px, _dense_path, _extent, _family_in, _font_size, _glyph_height_px, _path_through,
                          _tag, _to_px)
from pipeline.render_job import QUALITIES


def _texts():
    """Texts of each class the audit measures, moved and scaled by awkward amounts (no round numbers)."""
    mobs = [(Text("norm²", font_size=31), "norm²"), (Text("한국어 x", font_size=27), "한국어 x"),
            (MarkupText("<b>bold</b> y", font_size=23), "<b>bold</b> y"), (MathTex(r"10^{-3} x", font_size=37), "10^{-3} x"),
            (DecimalNumber(-0.0731, num_decimal_places=4, font_size=29), "-0.0731")]
    for k, (m, _) in enumerate(mobs):
        m.scale(0.73 + 0.11 * k).shift(RIGHT * (1.37 * k - 3.1) + DOWN * (0.93 * k - 1.7))
    return mobs


@pytest.mark.parametrize("quality", ["low", "preview", "hd"])
def test_a_texts_box_and_font_size_are_manims_own_numbers(quality):
    """The box from the extremes in plain floats is the box of every point converted by _to_px; the height
    from the extremes is Manim's ``height``; the font size from it is Manim's ``font_size``: equal, not close."""
    q = QUALITIES[quality]
    with tempconfig({"pixel_width": q.width, "pixel_height": q.height}):
        for m, string in _texts():
            px = _to_px(np.concatenate([p.points for p in m.family_members_with_points()]))
            assert _bbox_px(m) == [float(px[:, 0].min()), float(px[:, 1].min()), float(px[:, 0].max()),
                                   float(px[:, 1].max())]
            lo, hi = _extent(m.family_members_with_points())
            height = hi[1] - lo[1]
            assert height == m.height and type(height) is type(m.height)
            assert _font_size(m, height) == m.font_size
            assert _glyph_height_px(m, string, height) == _glyph_height_px(m, string)


def test_a_height_manim_measures_otherwise_is_left_to_manim():
    """A zero, not finite or absent height, or a class with a height of its own: Manim's font_size is read."""
    m = Text("abc", font_size=30)

    class OwnHeight(Text):
        @property
        def height(self):
            return 2 * super().height

    own = OwnHeight("abc", font_size=30)
    for mob, height in ((m, 0.0), (m, float("nan")), (m, None), (own, m.height)):
        size = _font_size(mob, height)
        assert size == mob.font_size and math.isfinite(size)
    assert _font_size(m, 2 * m.height) == pytest.approx(2 * m.font_size)  # the height given is the one used


def test_a_tag_reads_as_getattr_does():
    """Tags on the mobject, on its class (a plain attribute or a property), and absent."""
    class Tagged(VMobject):
        audit_kind = "class kind"

        @property
        def audit_label(self):
            return "a property"

    plain, tagged = VMobject(), Tagged()
    plain.audit_kind = "own kind"
    for m in (plain, tagged):
        for name in ("audit_kind", "audit_label", "audit_shape", "connector_of"):
            assert _tag(m, name) == getattr(m, name, None)
        assert _tag(m, "audit_obstacle", False) is getattr(m, "audit_obstacle", False) is False
    tagged.audit_kind = "instance kind"  # an instance's own value hides its class's, as for getattr
    assert _tag(tagged, "audit_kind") == "instance kind"


def test_family_membership_is_get_familys():
    a, b, c, d = (VMobject() for _ in range(4))
    inner = VGroup(b, c)
    outer = VGroup(a, inner, c)  # c twice: the family lists it once
    every = [outer, a, inner, b, c, d]
    for shown in ([], [d], [b], [c], [inner], [outer], [a, d]):
        ids = {id(x) for x in shown}
        for m in every:
            assert _family_in(m, ids) == any(id(x) in ids for x in m.get_family())


def test_a_wires_dense_path_is_remembered_only_while_its_points_stay():
    with tempconfig({"pixel_width": 854, "pixel_height": 480}):
        wire = VMobject().set_points_as_corners([[-3.3, -1.1, 0], [0.7, 1.9, 0], [2.9, -0.4, 0]])
        first = _dense_path(wire)
        assert np.array_equal(first, _path_through(wire.family_members_with_points(), 1.0))
        assert _dense_path(wire) is first and not first.flags.writeable  # shared, so read only
        wire.shift(RIGHT * 0.37)
        moved = _dense_path(wire)
        assert np.array_equal(moved, _path_through(wire.family_members_with_points(), 1.0))
        assert not np.array_equal(moved, first)
    with tempconfig({"pixel_width": 426, "pixel_height": 240}):  # another frame size: other pixels
        assert np.array_equal(_dense_path(wire), _path_through(wire.family_members_with_points(), 1.0))
        assert len(_dense_path(wire)) < len(moved)


def test_a_table_cell_is_measured_at_the_size_its_table_was_scaled_to():
    # a table shrunk to fit draws its cells (Manim's Paragraph) smaller than they were made: the audit measures
    # them at the size drawn, so a cell shrunk under the floor does not pass as the size it was made at
    from manim import Paragraph

    cell = Paragraph("0.731", font_size=30)
    assert _font_size(cell) == pytest.approx(30)
    cell.scale(0.4)
    assert _font_size(cell) == pytest.approx(12)
    table = VGroup(Paragraph("x", font_size=24), Paragraph("+0.197", font_size=24)).arrange(RIGHT).scale(0.5)
    assert [_font_size(c) for c in table] == pytest.approx([12, 12])
    assert _font_size(table[1].copy().scale(0.5)) == pytest.approx(6)  # a copy keeps its glyphs' Text
