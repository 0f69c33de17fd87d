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

Each estimate comes with its own error: its truncation error, from the same difference at half the
step (central differences err by about c h^2, so D(h) - D(h/2) is 3/4 of D(h)'s error; twice that is
allowed), plus rounding, NOISE_ULPS units in the last place of the function's values over the step. A
gradient agrees when it is within that error (plus the check's tolerance): a correct gradient never fails
because the step was too large for the function's curvature, and gradients that are zero to within
rounding on both sides (a bias before BatchNorm: 1e-17 against 0) agree.

Kinks (relu(0), abs(0), a tie in max) are told from smooth points by the one-sided slopes as the step
shrinks: at a kink their gap stays whatever the step; where the function is smooth it shrinks with the
step once the step is below the scale on which the function curves (sqrt(y^2 + 1e-20) at y = 1e-9 curves
within 1e-10: its slopes differ by 2 at any larger step). So a gap that does not shrink is followed
down, tenfold at a time, as far as rounding lets the slopes be told apart: it is a kink only if it never
shrinks; otherwise the slope is taken at the first step below the function's own scale. At a kink the
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
NOISE_ULPS = 64  # rounding allowed in each value of the function (as scenes.notation allows on screen)
EPS = float(np.finfo(float).eps)
MAX_KINK_SHRINKS = 16  # tenfold shrinks while following a gap between the one-sided slopes


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
    error: np.ndarray | None = None  # how far each estimate may be off by itself (truncation and rounding)

    def __post_init__(self):
        if self.error is None:
            self.error = np.zeros(np.shape(self.value))


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


def _rounding(s: float, *values) -> float:
    """How much rounding in the function's values can move a difference quotient over step s."""
    return 2 * NOISE_ULPS * EPS * max(abs(v) for v in values) / s


def _probe(idx, x, f0, h, f_at, result: NumericGradient) -> None:
    reason = ""
    sides = []  # (step, f(x+s), f(x-s)) where only one side is computable
    for s in _steps(x, h):
        fp, why_p = f_at(idx, x + s)
        fm, why_m = f_at(idx, x - s)
        reason = reason or why_p or why_m
        if fp is not None and fm is not None:
            if math.isfinite((fp - fm) / (2 * s)):
                s, fp, fm = _settle(idx, x, f0, s, fp, fm, f_at, result)
                result.value[idx] = (fp - fm) / (2 * s)
                result.error[idx] = _central_error(idx, x, f0, s, fp, fm, f_at)
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
                result.error[idx] = 4 * _rounding(s, f0, f1, f2)  # (3 + 4 + 1) roundings over 2s
                return
    result.unavailable[idx] = (f"no finite difference works here ({reason})" if reason.startswith("the difference")
                               else f"probing it leaves the function's domain ({reason})" if reason else "no usable step")


def _central_error(idx, x, f0, s, fp, fm, f_at) -> float:
    """The central difference's own error: twice D(s) - D(s/2) (its truncation error is 4/3 of that where
    the function is smooth on the scale of s), plus rounding."""
    rounding = _rounding(s, f0, fp, fm)
    hp, _ = f_at(idx, x + s / 2)
    hm, _ = f_at(idx, x - s / 2)
    if hp is None or hm is None:
        return rounding
    return 2 * abs((fp - fm) / (2 * s) - (hp - hm) / s) + rounding + _rounding(s / 2, hp, hm)


def _gap(f0, s, fp, fm) -> tuple[float, bool]:
    """The gap between the one-sided slopes at step s, and whether it is more than curvature within a
    thousandth of the slope, or rounding, could make."""
    right, left = (fp - f0) / s, (f0 - fm) / s
    gap = abs(right - left)
    return gap, gap > max(1e-3 * max(abs(right), abs(left)), _rounding(s, f0, fp, fm))


def _settle(idx, x, f0, s, fp, fm, f_at, result: NumericGradient) -> tuple[float, float, float]:
    """The step to differentiate with, and f there: ``s`` unless the one-sided slopes disagree there; then
    the step is shrunk tenfold at a time while their gap holds. A gap that shrinks with the step is a smooth
    function curving (the step before it is below its scale: that one is used); a gap that grows tenfold is
    rounding (the first step is used); a gap that holds down to what rounding resolves is a kink, recorded
    with its slopes, and the first step's central difference stands beside it."""
    gap, significant = _gap(f0, s, fp, fm)
    if not significant:
        return s, fp, fm
    first = trail = (s, fp, fm)
    slopes = None
    for _ in range(MAX_KINK_SHRINKS):
        s2 = trail[0] / 10
        if _rounding(s2, *trail[1:], f0) > 0.1 * gap:
            break  # the next step could not tell this gap from rounding
        fp2, _ = f_at(idx, x + s2)
        fm2, _ = f_at(idx, x - s2)
        if fp2 is None or fm2 is None or not math.isfinite((fp2 - fm2) / (2 * s2)):
            break
        gap2, significant2 = _gap(f0, s2, fp2, fm2)
        slopes = slopes or ((f0 - fm2) / s2, (fp2 - f0) / s2)
        ratio = gap2 / gap
        if trail is first and 0.05 <= ratio < 0.2:  # shrinking with the step: curvature at the step asked for
            return first
        if not significant2:  # the slopes agree below the function's scale
            return s2, fp2, fm2
        if 0.07 <= ratio < 0.14 and gap2 <= 0.05 * (abs(fp2 - f0) + abs(f0 - fm2)) / s2:
            return s2, fp2, fm2  # the gap has become curvature, tenfold smaller per step: smooth here
        if ratio > 3:  # growing as the step shrinks: rounding, not the function
            return first
        trail, gap = (s2, fp2, fm2), gap2  # holding (a kink?), or collapsing (the step passes the scale)
    left, right = slopes or ((f0 - fm) / s, (fp - f0) / s)
    result.kinks.append(Kink(tuple(int(i) for i in idx), left, right))
    return first


def relative_error(analytic: np.ndarray, numeric: np.ndarray, resolution=0.0) -> np.ndarray:
    """|a - n| / max(|a|, |n|, resolution) elementwise (cs231n's measure; ``resolution``, the numerical
    estimate's own error, keeps two values that are both zero within it from a relative error of 1);
    0 where all are 0."""
    a, n = np.asarray(analytic), np.asarray(numeric)
    scale = np.maximum(np.maximum(np.abs(a), np.abs(n)), resolution)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(scale == 0, 0.0, np.abs(a - n) / np.where(scale == 0, 1.0, scale))


def excess_error(analytic: np.ndarray, numeric: np.ndarray, error) -> np.ndarray:
    """The relative error beyond the numerical estimate's own ``error``: what the check fails on."""
    a, n = np.asarray(analytic), np.asarray(numeric)
    beyond = np.maximum(np.abs(a - n) - error, 0.0)
    scale = np.maximum(np.maximum(np.abs(a), np.abs(n)), error)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(scale == 0, 0.0, beyond / np.where(scale == 0, 1.0, scale))


def is_subgradient(analytic: float, kink: Kink, tolerance: float = 1e-6) -> bool:
    """At a kink any slope between the two one-sided slopes is a valid (sub)gradient."""
    lo, hi = sorted((kink.left, kink.right))
    slack = tolerance * max(abs(lo), abs(hi), 1.0)
    return lo - slack <= analytic <= hi + slack
