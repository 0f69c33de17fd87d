"""Numerical gradients by central differences, as in "Deep Learning from Scratch" (h = 1e-4).

The check must never refuse a config whose forward and backward passes are valid, so each element is
probed with the first step that keeps the function computable:
  1. central differences with the config's ``h``;
  2. the same with a step relative to the element's size (``h * |x|``), then smaller ones, for inputs
     so small that ``x - h`` leaves the domain (log(5e-5), y = 1e-4 in x / y, sqrt near 0);
  3. one-sided differences of second order, (-3 f(x) + 4 f(x+s) - f(x+2s)) / 2s, or the mirror image,
     where only one side is in the domain;
and where no step works (the exponent of a negative base, say) the element is reported unavailable,
with the reason, rather than blamed on the user's input.

A kink (relu(0), abs(0), a tie in max) is recognised by its one-sided slopes: they disagree by a jump
that does not shrink with the step, where a smooth function's disagreement shrinks with it. There the
analytic gradient is checked to be one of the valid subgradients (between the two slopes) instead.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from .graph import Graph, Node
from .ops import EngineError

DEFAULT_H = 1e-4
SHRINKS = (1.0, 1e-2, 1e-4)  # relative steps tried after h itself, as fractions of h * |x|


@dataclass
class Kink:
    index: tuple[int, ...]
    left: float  # slope from the left, (f(x) - f(x - s)) / s
    right: float  # slope from the right


@dataclass
class NumericGradient:
    value: np.ndarray  # NaN where unavailable
    kinks: list[Kink] = field(default_factory=list)
    unavailable: dict[tuple[int, ...], str] = field(default_factory=dict)  # element -> why


def numerical_gradient(graph: Graph, node: Node, h: float = DEFAULT_H) -> NumericGradient:
    """Differentiate the output by every element of an input node; leaves the graph as it found it."""
    original = node.value
    f0 = float(graph.output.value)
    result = NumericGradient(np.full(original.shape, np.nan))

    def f_at(idx, x):
        bumped = original.copy()
        bumped[idx] = x
        node.value = bumped
        try:
            value = float(graph.forward())
        except EngineError as e:
            return None, str(e)
        return (value, "") if math.isfinite(value) else (None, "the output is not finite there")

    try:
        for idx in np.ndindex(original.shape):
            _probe(idx, float(original[idx]), f0, h, f_at, result)
    finally:
        node.value = original
        graph.forward()
    return result


def _steps(x: float, h: float):
    yield h
    for shrink in SHRINKS:
        s = h * abs(x) * shrink
        if 0 < s < h:
            yield s
    yield h * 1e-3  # x = 0 itself: a small absolute step


def _probe(idx, x, f0, h, f_at, result: NumericGradient) -> None:
    reason = ""
    sides = []  # (step, f(x+s), f(x-s)) where only one side is computable
    for s in _steps(x, h):
        fp, why_p = f_at(idx, x + s)
        fm, why_m = f_at(idx, x - s)
        reason = reason or why_p or why_m
        if fp is not None and fm is not None:
            if math.isfinite((fp - fm) / (2 * s)):
                result.value[idx] = (fp - fm) / (2 * s)
                _detect_kink(idx, x, f0, s, fp, fm, f_at, result)
                return
            reason = reason or "the difference quotient overflows"  # e.g. 1 / min(x, -1e-308) near 0
            continue
        sides.append((s, fp, fm))
    # No step keeps both sides in the domain: a second-order one-sided difference, the smallest step first
    for s, fp, fm in reversed(sides):
        for side, f1 in ((1, fp), (-1, fm)):
            if f1 is None:
                continue
            f2, _ = f_at(idx, x + 2 * side * s)
            value = math.nan if f2 is None else side * (-3 * f0 + 4 * f1 - f2) / (2 * s)
            if math.isfinite(value):
                result.value[idx] = value
                return
    result.unavailable[idx] = (f"no finite difference works here ({reason})" if reason.startswith("the difference")
                               else f"probing it leaves the function's domain ({reason})" if reason else "no usable step")


def _detect_kink(idx, x, f0, s, fp, fm, f_at, result: NumericGradient) -> None:
    right, left = (fp - f0) / s, (f0 - fm) / s
    gap = abs(right - left)
    if gap <= 1e-3 * max(abs(right), abs(left)):  # (both slopes 0: the gap is 0 too)
        return  # smooth at this step: the one-sided slopes agree
    s2 = s / 10
    fp2, _ = f_at(idx, x + s2)
    fm2, _ = f_at(idx, x - s2)
    if fp2 is None or fm2 is None or not math.isfinite((fp2 - fm2) / (2 * s2)):
        return
    right2, left2 = (fp2 - f0) / s2, (f0 - fm2) / s2
    gap2 = abs(right2 - left2)
    if gap2 > 0.5 * gap:  # a kink at x: the jump stays as the step shrinks
        result.kinks.append(Kink(tuple(int(i) for i in idx), left2, right2))
    elif gap2 < 0.05 * gap:  # a kink near x, inside the first step but not the second: use the second
        result.value[idx] = (fp2 - fm2) / (2 * s2)
    # otherwise smooth with some curvature (the gap shrank tenfold): the central difference stands


def relative_error(analytic: np.ndarray, numeric: np.ndarray) -> np.ndarray:
    """|a - n| / max(|a|, |n|) elementwise (cs231n's measure); 0 where both are 0."""
    a, n = np.asarray(analytic), np.asarray(numeric)
    scale = np.maximum(np.abs(a), np.abs(n))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(scale == 0, 0.0, np.abs(a - n) / np.where(scale == 0, 1.0, scale))


def is_subgradient(analytic: float, kink: Kink, tolerance: float = 1e-6) -> bool:
    """At a kink any slope between the two one-sided slopes is a valid (sub)gradient."""
    lo, hi = sorted((kink.left, kink.right))
    slack = tolerance * max(abs(lo), abs(hi), 1.0)
    return lo - slack <= analytic <= hi + slack
