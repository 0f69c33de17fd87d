"""The gate table: each op's forward value and local gradients, side by side.

Adding an op is one entry here. Values are float64 numpy arrays (0-d for scalars).

An op's ``local(inputs, out)`` returns, per input, the factor the chain rule multiplies the upstream
gradient by. For elementwise ops it is the elementwise derivative and ``downstream = local * upstream``
(then summed back to the input's shape where numpy broadcast it). For ``matmul`` the factor is the other
operand, transposed, and multiplies on the side the matrix calculus says (dA = up @ B^T, dB = A^T @ up).
For softmax-with-cross-entropy the upstream is a scalar and the local gradient is (y - t) / batch.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

Array = np.ndarray


class EngineError(ValueError):
    """A forward pass that cannot be computed (shape mismatch, log of a non-positive number...)."""


@dataclass(frozen=True)
class Op:
    name: str
    arity: int
    symbol: str  # what a gate shows on screen
    forward: Callable[..., Array]
    local: Callable[[list[Array], Array], list[Array]]
    matmul_like: bool = False  # local gradient applies by matrix product, not elementwise

    def downstream(self, inputs: list[Array], out: Array, upstream: Array) -> tuple[list[Array], list[Array]]:
        """Return (local gradients, downstream gradients) for every input."""
        local = self.local(inputs, out)
        if self.matmul_like:
            a, b = inputs
            down = _matmul_downstream(a, b, upstream)
        else:
            down = [unbroadcast(lg * upstream, x.shape) for lg, x in zip(local, inputs)]
        return local, down


def unbroadcast(grad: Array, shape: tuple[int, ...]) -> Array:
    """Sum a gradient over the axes numpy broadcast, so it has the shape of its input."""
    while grad.ndim > len(shape):
        grad = grad.sum(axis=0)
    for axis, size in enumerate(shape):
        if size == 1 and grad.shape[axis] != 1:
            grad = grad.sum(axis=axis, keepdims=True)
    return grad


def _matmul_downstream(a: Array, b: Array, up: Array) -> list[Array]:
    # Promote vectors to matrices the way numpy's matmul does, then undo it.
    a2 = a[None, :] if a.ndim == 1 else a
    b2 = b[:, None] if b.ndim == 1 else b
    up2 = up.reshape(a2.shape[0], b2.shape[1])
    return [(up2 @ b2.T).reshape(a.shape), (a2.T @ up2).reshape(b.shape)]


def _matmul_forward(a: Array, b: Array) -> Array:
    if a.ndim == 0 or b.ndim == 0:
        raise EngineError(f"matmul needs vectors or matrices, got shapes {a.shape} and {b.shape}")
    if a.shape[-1] != b.shape[0]:
        raise EngineError(f"matmul shape mismatch: {a.shape} @ {b.shape} (inner sizes {a.shape[-1]} != {b.shape[0]})")
    return np.asarray(a @ b, dtype=np.float64)


def _matmul_local(ins: list[Array], out: Array) -> list[Array]:
    a, b = ins
    return [np.asarray(b.T), np.asarray(a.T)]


def _log_forward(x: Array) -> Array:
    if np.any(x <= 0):
        raise EngineError(f"log of a non-positive number ({_first(x[x <= 0])})")
    return np.log(x)


def _div_forward(a: Array, b: Array) -> Array:
    if np.any(b == 0):
        raise EngineError("division by zero")
    return a / b


def _pow_forward(a: Array, b: Array) -> Array:
    if np.any((a == 0) & (b < 0)):
        raise EngineError("zero raised to a negative power")
    if np.any((a < 0) & (b != np.round(b))):
        raise EngineError("negative number raised to a non-integer power")
    return np.power(a, b)


def _pow_local(ins: list[Array], out: Array) -> list[Array]:
    a, b = ins
    with np.errstate(divide="ignore", invalid="ignore"):
        d_a = b * np.power(a, b - 1)
        # d/db a^b = a^b ln a; where a == 0 torch defines it as 0, where a < 0 it is undefined (NaN).
        d_b = np.where(a > 0, out * np.log(np.where(a > 0, a, 1.0)), np.where(a == 0, 0.0, np.nan))
    return [d_a, d_b]


def _sigmoid(x: Array) -> Array:
    # Stable for large |x|: never computes exp of a large positive number.
    return np.where(x >= 0, 1 / (1 + np.exp(-np.abs(x))), np.exp(-np.abs(x)) / (1 + np.exp(-np.abs(x))))


def _leaky_forward(x: Array, slope: Array) -> Array:
    return np.where(x > 0, x, slope * x)


def _max_local(ins: list[Array], out: Array) -> list[Array]:
    # The router: the whole gradient goes to the larger input; a tie splits it, as torch.maximum does.
    a, b = np.broadcast_arrays(*ins)
    return [np.where(a > b, 1.0, np.where(a == b, 0.5, 0.0)), np.where(b > a, 1.0, np.where(a == b, 0.5, 0.0))]


def _min_local(ins: list[Array], out: Array) -> list[Array]:
    a, b = np.broadcast_arrays(*ins)
    return [np.where(a < b, 1.0, np.where(a == b, 0.5, 0.0)), np.where(b < a, 1.0, np.where(a == b, 0.5, 0.0))]


def _softmax(x: Array) -> Array:
    z = x - x.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


def _batch(x: Array) -> int:
    return 1 if x.ndim <= 1 else int(np.prod(x.shape[:-1]))


def _sce_forward(x: Array, t: Array) -> Array:
    if x.ndim == 0 or x.shape != t.shape:
        raise EngineError(f"softmax_cross_entropy needs scores and targets of one shape, got {x.shape} and {t.shape}")
    z = x - x.max(axis=-1, keepdims=True)
    log_softmax = z - np.log(np.exp(z).sum(axis=-1, keepdims=True))
    return np.asarray(-(t * log_softmax).sum() / _batch(x))


def _sce_local(ins: list[Array], out: Array) -> list[Array]:
    x, t = ins
    y = _softmax(x)
    n = _batch(x)
    # With one-hot (or any normalised) targets this is the familiar (y - t) / batch.
    d_x = (y * t.sum(axis=-1, keepdims=True) - t) / n
    z = x - x.max(axis=-1, keepdims=True)
    d_t = -(z - np.log(np.exp(z).sum(axis=-1, keepdims=True))) / n
    return [d_x, d_t]


def _first(x: Array) -> str:
    return f"{float(np.ravel(x)[0]):g}"


OPS: dict[str, Op] = {op.name: op for op in [
    Op("add", 2, "+", np.add, lambda i, o: [np.ones_like(o), np.ones_like(o)]),
    Op("sub", 2, "-", np.subtract, lambda i, o: [np.ones_like(o), -np.ones_like(o)]),
    Op("mul", 2, "×", np.multiply,
        lambda i, o: [np.broadcast_to(i[1], o.shape).copy(), np.broadcast_to(i[0], o.shape).copy()]),
    Op("div", 2, "÷", _div_forward, lambda i, o: [np.broadcast_to(1 / i[1], o.shape).copy(), -o / i[1]]),
    Op("neg", 1, "−", np.negative, lambda i, o: [-np.ones_like(o)]),
    Op("pow", 2, "^", _pow_forward, _pow_local),
    Op("exp", 1, "exp", np.exp, lambda i, o: [o.copy()]),
    Op("log", 1, "log", _log_forward, lambda i, o: [1 / i[0]]),
    Op("max", 2, "max", np.maximum, _max_local),
    Op("min", 2, "min", np.minimum, _min_local),
    Op("abs", 1, "abs", np.abs, lambda i, o: [np.sign(i[0])]),
    Op("sigmoid", 1, "σ", _sigmoid, lambda i, o: [o * (1 - o)]),
    Op("tanh", 1, "tanh", np.tanh, lambda i, o: [1 - o * o]),
    Op("relu", 1, "relu", lambda x: np.maximum(x, 0.0), lambda i, o: [(i[0] > 0).astype(np.float64)]),
    Op("leaky_relu", 2, "lrelu", _leaky_forward,
        lambda i, o: [np.where(i[0] > 0, 1.0, np.broadcast_to(i[1], o.shape)), np.where(i[0] > 0, 0.0, i[0])]),
    Op("matmul", 2, "@", _matmul_forward, _matmul_local, matmul_like=True),
    Op("sum", 1, "Σ", lambda x: np.asarray(x.sum()), lambda i, o: [np.ones_like(i[0])]),
    Op("softmax_cross_entropy", 2, "loss", _sce_forward, _sce_local),
]}

# Functions an expression may call, with their arity; leaky_relu's slope defaults to 0.01 (as torch's).
FUNCTIONS = {"exp": 1, "log": 1, "max": 2, "min": 2, "abs": 1, "sigmoid": 1, "tanh": 1, "relu": 1,
             "leaky_relu": (1, 2), "sum": 1, "softmax_cross_entropy": 2}
LEAKY_SLOPE = 0.01
