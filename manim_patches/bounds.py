"""A mobject's family and extent gathered in one pass; the lists and numbers are Manim's own.

Every ``get_left``, ``next_to`` or ``arrange`` asks for a mobject's critical points, and every
``width`` or ``height`` for its extremes. Manim 0.22 builds the first from one Python tuple per anchor
(``get_points_defining_boundary``) and the second by recursing through the family with Python's
``max``/``min`` over each submobject's coordinates. For a formula of a few hundred glyph curves that is
milliseconds a call, thousands of times per scene: about a fifth of building a graph scene.

Here the anchors are gathered with NumPy slices in Manim's order (start, end, start, end... per curve,
family member after member), so the array is the one Manim builds. The extremes are taken over all the
family's points at once; a maximum of a set of floats is the same float whatever the order, so that is
Manim's number, except where the order decides: a zero (0.0 and -0.0 compare equal) or a NaN. Those, and
any family that is not plain VMobjects of four points a curve, go to Manim's own code.
"""
from __future__ import annotations

import numpy as np
from manim import Mobject, VMobject
from manim.utils.iterables import remove_list_redundancies

_ORIGINAL_BOUNDARY = VMobject.get_points_defining_boundary
_ORIGINAL_REDUCE = Mobject.reduce_across_dimension
_ORIGINAL_FAMILY = Mobject.get_family
_STOCK_ANCHORS = VMobject.get_anchors


def _anchor_parts(family) -> list[np.ndarray] | None:
    """Each member's anchors as Manim's ``get_anchors`` lists them, or None where that is not plain."""
    parts = []
    for sm in family:
        if getattr(type(sm), "get_anchors", None) is not _STOCK_ANCHORS or sm.n_points_per_cubic_curve != 4:
            return None  # not a VMobject (Manim's code fails there too), or one that lists anchors its own way
        points = sm.points
        n = len(points)
        if n == 0:
            continue
        if points.dtype != np.float64 or points.ndim != 2:
            return None
        if n == 1:
            parts.append(points)
        elif n % 4:
            return None  # Manim's zip(strict=True) raises here: let it
        else:
            out = np.empty((n // 2, points.shape[1]))
            out[0::2] = points[0::4]
            out[1::2] = points[3::4]
            parts.append(out)
    return parts


def get_points_defining_boundary(self: VMobject) -> np.ndarray:
    """``VMobject.get_points_defining_boundary``: every family member's anchors, in Manim's order."""
    parts = _anchor_parts(self.get_family())
    if parts is None:
        return _ORIGINAL_BOUNDARY(self)
    if not parts:
        return np.array(())  # what Manim's np.array of an empty tuple is
    return np.concatenate(parts) if len(parts) > 1 else parts[0].copy()


def reduce_across_dimension(self: Mobject, reduce_func, dim: int):
    """``Mobject.reduce_across_dimension`` for Python's ``max`` and ``min`` (what ``width`` and ``height``
    use) over all the family's points at once; a zero or a NaN result is left to Manim (see above)."""
    if reduce_func is not max and reduce_func is not min:
        return _ORIGINAL_REDUCE(self, reduce_func, dim)
    columns = []
    for sm in self.get_family():
        points = sm.points
        if len(points):
            if points.dtype != np.float64 or points.ndim != 2:
                return _ORIGINAL_REDUCE(self, reduce_func, dim)
            columns.append(points[:, dim])
    if not columns:
        return None  # no points anywhere in the family: Manim's None (its empty members are skipped)
    values = np.concatenate(columns) if len(columns) > 1 else columns[0]
    rv = values.max() if reduce_func is max else values.min()
    if rv == 0 or rv != rv:
        return _ORIGINAL_REDUCE(self, reduce_func, dim)
    return rv


def _walk(mob: Mobject, path: set, out: list) -> None:
    if mob in path:  # a mobject inside itself: Manim's walk stops there too
        return
    path.add(mob)
    out.append(mob)
    for sub in mob.submobjects:
        _walk(sub, path, out)
    path.remove(mob)


def get_family(self: Mobject, recurse: bool = True) -> list:
    """``Mobject.get_family``: the same walk (depth first, a member's own submobjects after it, a cycle cut where
    it closes) with plain calls instead of a generator per level, whose every member passed up through each
    generator above it; a member met twice is kept where Manim keeps it, at its last place."""
    out: list = []
    _walk(self, set(), out)
    if len(set(out)) != len(out):
        return remove_list_redundancies(out)
    return out


def install() -> None:
    VMobject.get_points_defining_boundary = get_points_defining_boundary
    Mobject.reduce_across_dimension = reduce_across_dimension
    Mobject.get_family = get_family


def uninstall() -> None:
    VMobject.get_points_defining_boundary = _ORIGINAL_BOUNDARY
    Mobject.reduce_across_dimension = _ORIGINAL_REDUCE
    Mobject.get_family = _ORIGINAL_FAMILY
