"""Charts of the training scenes: axes crossing at the plot's lower-left corner, tick numbers and axis titles
readable at 854x480, and curves that stay visible where they coincide.

Sizes are for a chart drawn at scale 1 (a chart is laid out to fit, never shrunk): 24-point text has an
x-height of 10.9 px at 854x480, and a power of ten is written at 36 points so that its exponent (drawn at
0.7 of the size) is 10.8 px tall.
"""
from __future__ import annotations

import numpy as np
from manim import DOWN, LEFT, RIGHT, UP, Axes, MathTex, Text, VGroup, VMobject

from scenes import style
from scenes.glyphs import merge_axes, merge_glyphs
from scenes.screen_tags import tag_shape

TICK_SIZE = 24
TITLE_SIZE = 24
POWER_SIZE = 36
DASH = 0.14  # scene units: each coinciding curve takes one dash of this length in turn
COINCIDE = 0.06  # scene units (3.6 px at 854x480): closer than this, two curves are drawn over each other
COINCIDE_SHARE = 0.5  # a curve with more than this share of its length under another one gets dashes


class CornerAxes(Axes):
    """Axes that cross at the lower-left corner whatever the ranges: an axis through the middle of a plot
    has curves running through its numbers (Manim puts the axes through 0 when 0 is in range)."""

    @staticmethod
    def _origin_shift(axis_range) -> float:
        return axis_range[0]


def text(string: str, size: int = TITLE_SIZE, color=None, kind: str = "axis label") -> Text:
    mob = merge_glyphs(style.once(Text, string, font=style.caption_font(), font_size=size, color=color or style.MUTED))
    mob.audit_kind = kind
    return mob


def power_of_ten(exponent: int, color=None) -> MathTex:
    mob = merge_glyphs(style.once(MathTex, _power_tex(exponent), font_size=POWER_SIZE, color=color or style.MUTED))
    mob.audit_kind = "axis label"
    return mob


def expect_powers_of_ten(exponents) -> None:
    """Announce the ``power_of_ten`` labels a chart is about to write: typeset in one LaTeX run, not one each."""
    style.expect_tex((_power_tex(int(e)) for e in exponents), font_size=POWER_SIZE)


def _power_tex(exponent: int) -> str:
    return rf"10^{{{exponent}}}"


def chart(x_range, y_range, x_length: float, y_length: float, x_title: str, y_title: str,
          x_ticks=None, y_ticks=None, x_label=None, y_label=None) -> VGroup:
    """Axes with numbers at ``x_ticks``/``y_ticks`` (written by ``x_label``/``y_label``, plain numbers by
    default), the x title after the last x number, the y title above the y axis.
    Returns VGroup(axes, numbers, titles); ``chart.ax`` is the axes, for coordinates."""
    ax = merge_axes(CornerAxes(x_range=x_range, y_range=y_range, x_length=x_length, y_length=y_length, tips=False,
                               axis_config={"color": style.MUTED, "include_numbers": False,
                                            "exclude_origin_tick": False}))
    x_label = x_label or (lambda v: text(style.fmt_value(float(v)), TICK_SIZE))
    y_label = y_label or (lambda v: text(style.fmt_value(float(v)), TICK_SIZE))
    xs = np.arange(x_range[0], x_range[1] + 1e-9, x_range[2]) if x_ticks is None else x_ticks
    ys = np.arange(y_range[0], y_range[1] + 1e-9, y_range[2]) if y_ticks is None else y_ticks
    numbers = VGroup(*(x_label(v).next_to(ax.c2p(v, y_range[0]), DOWN, buff=0.12) for v in xs),
                     *(y_label(v).next_to(ax.c2p(x_range[0], v), LEFT, buff=0.12) for v in ys))
    last = numbers[len(xs) - 1] if len(xs) else ax.x_axis
    x_name = text(x_title).next_to(VGroup(ax.x_axis, last), RIGHT, buff=0.2).set_y(last.get_y())
    left = VGroup(ax.y_axis, *numbers[len(xs):])
    y_name = text(y_title).next_to(left, UP, buff=0.1).align_to(left, LEFT)
    group = VGroup(ax, numbers, VGroup(x_name, y_name))
    group.ax = ax
    return group


def polyline(axes: Axes, xs, ys, color, width=3.0) -> VMobject:
    """The finite prefix of a curve (a NaN ends it: the scene marks where)."""
    ys = np.asarray(ys, dtype=float)
    finite = np.isfinite(ys)
    stop = len(ys) if finite.all() else int(np.argmin(finite))
    pts = [axes.c2p(x, y) for x, y in zip(xs[:stop], ys[:stop])]
    line = VMobject(stroke_color=color, stroke_width=width)
    if len(pts) >= 2:
        line.set_points_as_corners(pts)
    return line


def _corners(line: VMobject) -> np.ndarray:
    """The corners of a polyline (each straight piece is a cubic whose first and last points are them)."""
    if not line.has_points():
        return np.zeros((0, 3))
    pts = line.points.reshape(-1, 4, 3)
    return np.concatenate([pts[:, 0], pts[-1:, 3]])


def resample(corners: np.ndarray, step: float) -> tuple[np.ndarray, np.ndarray]:
    """Points every ``step`` along a polyline, and their distance along it."""
    if len(corners) < 2:
        return corners, np.zeros(len(corners))
    seg = np.linalg.norm(np.diff(corners, axis=0), axis=1)
    along = np.concatenate([[0.0], np.cumsum(seg)])
    s = np.arange(0.0, along[-1], step)
    s = np.append(s, along[-1])
    return np.stack([np.interp(s, along, corners[:, k]) for k in range(3)], axis=1), s


def coincide_share(a: np.ndarray, b: np.ndarray, tolerance: float = COINCIDE) -> float:
    """The share of polyline ``a``'s length that runs within ``tolerance`` of polyline ``b``."""
    pa, _ = resample(a, tolerance / 2)
    pb, _ = resample(b, tolerance / 2)
    if not len(pa) or not len(pb):
        return 0.0
    near = np.min(np.linalg.norm(pa[:, None, :2] - pb[None, :, :2], axis=2), axis=1) <= tolerance
    return float(near.mean())


def coinciding_groups(lines: list[VMobject]) -> list[list[int]]:
    """Curves drawn over each other (one over more than half of another's length), grouped: each group's
    curves take turns along their length, so that every one of them shows."""
    corners = [_corners(line) for line in lines]
    parent = list(range(len(lines)))

    def root(i):
        while parent[i] != i:
            i = parent[i]
        return i

    for i in range(len(lines)):
        for j in range(i + 1, len(lines)):
            if len(corners[i]) > 1 and len(corners[j]) > 1 and \
                    max(coincide_share(corners[i], corners[j]), coincide_share(corners[j], corners[i])) > COINCIDE_SHARE:
                parent[root(j)] = root(i)
    groups: dict[int, list[int]] = {}
    for i in range(len(lines)):
        groups.setdefault(root(i), []).append(i)
    return [g for g in groups.values() if len(g) > 1]


def dashed(line: VMobject, turn: int, turns: int, others: list[np.ndarray], dash: float = DASH) -> VMobject:
    """``line`` where it runs over one of ``others`` (polylines' corners) drawn only on its ``turn``-th dash
    of every ``turns``, and solid elsewhere. Dashes are counted along x, so that coinciding curves (each a
    function of x) take turns in the same places and every one of them shows."""
    pts, _ = resample(_corners(line), dash / 8)
    shared = np.zeros(len(pts), bool)
    for other in others:
        near, _ = resample(other, COINCIDE / 2)
        if len(near):
            shared |= np.min(np.linalg.norm(pts[:, None, :2] - near[None, :, :2], axis=2), axis=1) <= COINCIDE
    on = ~shared | (np.floor(pts[:, 0] / dash).astype(int) % turns == turn)  # the same places on every curve
    out = VMobject(stroke_color=line.get_stroke_color(), stroke_width=line.get_stroke_width())
    edges = np.flatnonzero(np.diff(np.concatenate(([0], on.astype(np.int8), [0]))))
    for start, stop in zip(edges[::2], edges[1::2]):
        piece = pts[start:min(stop + 1, len(pts))]
        if len(piece) >= 2:
            out.start_new_path(piece[0])
            out.add_points_as_corners(piece[1:])
    return out


def visible_curves(lines: list[VMobject], labels: list[str]) -> VGroup:
    """The curves, those that coincide with others dashed in turn; each tagged with what it shows."""
    lines = list(lines)
    corners = [_corners(line) for line in lines]
    for group in coinciding_groups(lines):
        for turn, i in enumerate(group):
            lines[i] = dashed(lines[i], turn, len(group), [corners[j] for j in group if j != i])
    return VGroup(*(tag_shape(line, "curve", name) for line, name in zip(lines, labels)))
