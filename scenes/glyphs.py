"""Draw a line of text as one path per colour instead of one mobject per glyph.

Manim's Cairo camera spends tens of microseconds of Python on every mobject in every frame, whatever
its size, and Text and MathTex make a mobject of each glyph: a caption is sixty of them, an equation
more. Merging the glyphs of one colour into a single path (each glyph stays its own closed subpaths,
so the pixels are the same) makes fades of captions and equations several times cheaper to draw.
"""
from __future__ import annotations

import numpy as np
from manim import VMobject

_STYLE = ("fill_rgbas", "stroke_rgbas", "background_stroke_rgbas")


def _style_key(m: VMobject) -> tuple:
    return (*(getattr(m, name).tobytes() for name in _STYLE), float(m.stroke_width),
            float(m.background_stroke_width))


def merge_glyphs(mob: VMobject) -> VMobject:
    """Replace ``mob``'s glyphs with one path per distinct style, in first-seen order; returns ``mob``.

    ``mob`` keeps its own attributes (a Text's ``text``, its size and place); only its parts change,
    so use it on text that is shown and moved whole, not on a MathTex whose parts are looked up.
    """
    groups: dict[tuple, list[VMobject]] = {}
    for leaf in mob.family_members_with_points():
        if isinstance(leaf, VMobject):
            groups.setdefault(_style_key(leaf), []).append(leaf)
    merged = []
    for parts in groups.values():
        path = VMobject()
        path.match_style(parts[0])
        path.points = np.concatenate([p.points for p in parts])
        merged.append(path)
    if mob.points.size:  # its own path is in a merged one now
        mob.clear_points()
    mob.submobjects = merged
    return mob


# Shapes drawn alike merge the same way: a chart's bars become one path, one mobject to draw a frame.
merge_shapes = merge_glyphs


def merge_axes(ax):
    """An Axes' tick marks merged into one path per axis; the axis lines stay (coordinates come from them).
    Its numbers are the chart's own texts (scenes/charts.py), not Manim's, which are drawn white whatever
    the theme."""
    for axis in ax.axes:
        ticks = getattr(axis, "ticks", None)
        if ticks is not None and len(ticks.family_members_with_points()) > 1:
            merge_glyphs(ticks)
    return ax
