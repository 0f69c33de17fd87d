"""Numerical gradients by central differences, as in "Deep Learning from Scratch" (h = 1e-4)."""
from __future__ import annotations

import numpy as np

from .graph import Graph, Node

DEFAULT_H = 1e-4


def numerical_gradient(graph: Graph, node: Node, h: float = DEFAULT_H) -> np.ndarray:
    """(f(x + h) - f(x - h)) / 2h for every element of an input node; leaves the graph as it found it."""
    original = node.value
    grad = np.zeros_like(original)
    for idx in np.ndindex(original.shape):
        outs = []
        for delta in (h, -h):
            bumped = original.copy()
            bumped[idx] += delta
            node.value = bumped
            outs.append(float(graph.forward()))
        grad[idx] = (outs[0] - outs[1]) / (2 * h)
    node.value = original
    graph.forward()
    return grad


def relative_error(analytic: np.ndarray, numeric: np.ndarray) -> np.ndarray:
    """|a - n| / max(|a|, |n|) elementwise (cs231n's measure); 0 where both are 0."""
    a, n = np.asarray(analytic), np.asarray(numeric)
    scale = np.maximum(np.abs(a), np.abs(n))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(scale == 0, 0.0, np.abs(a - n) / np.where(scale == 0, 1.0, scale))
