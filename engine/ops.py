"""The gate table: each op's forward value and local gradients, side by side.

Adding an op is one entry here. Values are float64 numpy arrays (0-d for scalars). Some ops take
attributes fixed when the expression is parsed (``axis`` of a reduction, ``index`` of a subscript);
every function below receives them as keyword arguments.

An op's ``local(inputs, out)`` returns, per input, the factor the chain rule multiplies the upstream
gradient by. For elementwise ops it is the elementwise derivative and ``downstream = local * upstream``
(then summed back to the input's shape where numpy broadcast it). Ops whose backward is not that
product give a ``backward(inputs, out, upstream, local)`` of their own: ``matmul`` multiplies by the
other operand on the side the matrix calculus says (dA = up @ B^T, dB = A^T @ up); a reduction over an
axis puts the removed axis back first; ``transpose``, ``softmax`` and ``log_softmax`` have no simple
factor (their local gradient is a permutation or a full Jacobian) and record ``None`` as local.
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
    symbol: str  # what a gate shows on screen
    forward: Callable[..., Array]
    local: Callable[..., list[Array | None]]
    backward: Callable[..., list[Array]] | None = None  # None: downstream = local * upstream, elementwise
    # A router (max, min, relu): an input it did not choose gets exactly 0, even from an infinite or NaN
    # upstream gradient (0 x inf would be NaN), as torch's masked backward gives.
    routes: bool = False
    # The named quantities its local gradient is written with on screen, when they are not already in the
    # trace as a node's value or the local gradient itself: softmax-with-loss's y and one-hot t and batch N.
    terms: Callable[..., dict[str, Array]] | None = None

    def downstream(self, inputs: list[Array], out: Array, upstream: Array,
                   attrs: dict | None = None) -> tuple[list[Array | None], list[Array]]:
        """Return (local gradients, downstream gradients) for every input."""
        attrs = attrs or {}
        local = self.local(inputs, out, **attrs)
        if self.backward is not None:
            down = self.backward(inputs, out, upstream, local, **attrs)
        else:
            with np.errstate(invalid="ignore", over="ignore"):
                down = [np.where(lg == 0, 0.0, lg * upstream) if self.routes else lg * upstream for lg in local]
            down = [unbroadcast(d, x.shape) for d, x in zip(down, inputs)]
        return local, [np.asarray(d, dtype=np.float64) for d in down]


def unbroadcast(grad: Array, shape: tuple[int, ...]) -> Array:
    """Sum a gradient over the axes numpy broadcast, so it has the shape of its input."""
    while grad.ndim > len(shape):
        grad = grad.sum(axis=0)
    for axis, size in enumerate(shape):
        if size == 1 and grad.shape[axis] != 1:
            grad = grad.sum(axis=axis, keepdims=True)
    return grad


def _first(x: Array) -> str:
    return f"{float(np.ravel(x)[0]):g}"


# --- matrix product and transpose -------------------------------------------------------------------
def _matmul_forward(a: Array, b: Array) -> Array:
    if a.ndim not in (1, 2) or b.ndim not in (1, 2):
        raise EngineError(f"matmul takes vectors or matrices (1-D or 2-D), got shapes {a.shape} and {b.shape}")
    if a.shape[-1] != b.shape[0]:
        raise EngineError(f"matmul shape mismatch: {a.shape} @ {b.shape} (inner sizes {a.shape[-1]} != {b.shape[0]})")
    return np.asarray(a @ b, dtype=np.float64)


def _matmul_local(ins: list[Array], out: Array) -> list[Array]:
    a, b = ins
    return [np.asarray(b.T), np.asarray(a.T)]


def _matmul_backward(ins: list[Array], out: Array, up: Array, local) -> list[Array]:
    # Promote vectors to matrices the way numpy's matmul does, then undo it.
    a, b = ins
    a2 = a[None, :] if a.ndim == 1 else a
    b2 = b[:, None] if b.ndim == 1 else b
    up2 = up.reshape(a2.shape[0], b2.shape[1])
    return [(up2 @ b2.T).reshape(a.shape), (a2.T @ up2).reshape(b.shape)]


def _addmm_forward(c: Array, a: Array, b: Array) -> Array:
    # torch.addmm(c, A, B) with beta = alpha = 1: nn.Linear's bias + x @ W^T, the bias broadcast to every row
    if a.ndim != 2 or b.ndim != 2:
        raise EngineError(f"addmm takes two matrices, got shapes {a.shape} and {b.shape}")
    product = _matmul_forward(a, b)
    try:
        fits = np.broadcast_shapes(c.shape, product.shape) == product.shape
    except ValueError:
        fits = False
    if not fits:
        raise EngineError(f"addmm's added term of shape {c.shape} does not broadcast to the product's {product.shape}")
    return c + product


def _addmm_local(ins: list[Array], out: Array) -> list[Array]:
    # c is added: local gradient 1 on every entry it reaches; A and B as in matmul (the other one, transposed)
    c, a, b = ins
    return [np.ones_like(out), *_matmul_local([a, b], out)]


def _addmm_backward(ins: list[Array], out: Array, up: Array, local) -> list[Array]:
    c, a, b = ins
    return [unbroadcast(up, c.shape), *_matmul_backward([a, b], out, up, local[1:])]


def _transpose_forward(x: Array) -> Array:
    if x.ndim > 2:
        raise EngineError(f"transpose takes a vector or a matrix, got shape {x.shape}")
    return x.T.copy()


# --- domains ------------------------------------------------------------------------------------------
def _log_forward(x: Array) -> Array:
    if np.any(x <= 0):
        raise EngineError(f"log of a non-positive number ({_first(x[x <= 0])})")
    return np.log(x)


def _sqrt_forward(x: Array) -> Array:
    if np.any(x < 0):
        raise EngineError(f"sqrt of a negative number ({_first(x[x < 0])})")
    return np.sqrt(x)


def _div_forward(a: Array, b: Array) -> Array:
    if np.any(b == 0):
        raise EngineError("division by zero")
    return a / b


def _div_backward(ins: list[Array], out: Array, up: Array, local) -> list[Array]:
    # torch's order: upstream / b, not (1 / b) x upstream. Where b is subnormal 1 / b overflows to inf, and
    # an upstream of 0 (a max that did not choose this branch) would give inf x 0 = NaN where torch gives 0.
    a, b = ins
    with np.errstate(invalid="ignore", over="ignore", divide="ignore"):
        return [unbroadcast(up / b * np.ones_like(out), a.shape), unbroadcast(local[1] * up, b.shape)]


def _pow_forward(a: Array, b: Array) -> Array:
    if np.any((a == 0) & (b < 0)):
        raise EngineError("zero raised to a negative power")
    if np.any((a < 0) & (b != np.round(b))):
        raise EngineError("negative number raised to a non-integer power")
    return np.power(a, b)


def _pow_local(ins: list[Array], out: Array) -> list[Array]:
    a, b = ins
    with np.errstate(divide="ignore", invalid="ignore"):
        # d/da a^b = b a^(b-1); torch takes it as 0 where b == 0 (a^0 is constant), also at a = 0.
        d_a = np.where(b == 0, 0.0, b * np.power(a, b - 1))
        # d/db a^b = a^b ln a; where a == 0 torch defines it as 0, where a < 0 it is undefined (NaN).
        d_b = np.where(a > 0, out * np.log(np.where(a > 0, a, 1.0)), np.where(a == 0, 0.0, np.nan))
    return [d_a, d_b]


# --- activations --------------------------------------------------------------------------------------
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


def _extreme_local(ins: list[Array], out: Array) -> list[Array]:
    # max(v) / min(v) over a whole vector: the gradient goes to the extreme element; ties share it
    # evenly, as torch.max(v) and torch.min(v) do.
    hit = (ins[0] == out).astype(np.float64)
    return [hit / hit.sum()]


# --- reductions ---------------------------------------------------------------------------------------
def _check_axis(x: Array, axis: int | None) -> None:
    if axis is not None and not -x.ndim <= axis < x.ndim:
        raise EngineError(f"axis {axis} is out of range for an input of shape {x.shape}")


def _sum_forward(x: Array, axis: int | None = None) -> Array:
    _check_axis(x, axis)
    return np.asarray(x.sum(axis=axis))


def _mean_forward(x: Array, axis: int | None = None) -> Array:
    _check_axis(x, axis)  # (never empty: inputs are refused empty, and no op makes an empty array)
    return np.asarray(x.mean(axis=axis))


def _sum_local(ins: list[Array], out: Array, axis: int | None = None) -> list[Array]:
    return [np.ones_like(ins[0])]


def _mean_local(ins: list[Array], out: Array, axis: int | None = None) -> list[Array]:
    x = ins[0]
    n = x.size if axis is None else x.shape[axis]
    return [np.full_like(x, 1.0 / n)]


def _reduce_backward(ins: list[Array], out: Array, up: Array, local, axis: int | None = None) -> list[Array]:
    # The upstream has the reduced axis removed: put it back, then broadcast over it.
    up = up if axis is None else np.expand_dims(up, axis)
    return [local[0] * up]


# --- softmax family -----------------------------------------------------------------------------------
def _softmax(x: Array) -> Array:
    z = x - x.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


def _log_softmax(x: Array) -> Array:
    z = x - x.max(axis=-1, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=-1, keepdims=True))


def _check_rows(name: str, x: Array) -> None:
    if x.ndim not in (1, 2):
        raise EngineError(f"{name} takes a vector (one example) or a matrix (one row per example), "
                          f"got shape {x.shape}")


def _softmax_forward(x: Array) -> Array:
    _check_rows("softmax", x)
    return _softmax(x)


def _log_softmax_forward(x: Array) -> Array:
    _check_rows("log_softmax", x)
    return _log_softmax(x)


def _softmax_backward(ins, out, up, local) -> list[Array]:
    # dx = y * (up - <up, y>) per row: the Jacobian diag(y) - y y^T applied without building it.
    return [out * (up - (up * out).sum(axis=-1, keepdims=True))]


def _log_softmax_backward(ins, out, up, local) -> list[Array]:
    return [up - np.exp(out) * up.sum(axis=-1, keepdims=True)]


def _no_factor(ins, out, **attrs) -> list[None]:
    return [None] * len(ins)


def _targets(x: Array, t: Array) -> Array:
    """Targets as class probabilities: one-hot or soft targets as given, class indices made one-hot."""
    _check_rows("softmax_cross_entropy", x)
    if t.shape == x.shape:
        return t
    if t.shape == x.shape[:-1]:  # class indices: one per example (a number for a single vector)
        classes = x.shape[-1]
        bad = (t != np.round(t)) | (t < 0) | (t >= classes)
        if np.any(bad):
            raise EngineError(f"class indices must be whole numbers from 0 to {classes - 1}, got {_first(t[bad])}")
        return np.eye(classes)[t.astype(np.int64)]
    raise EngineError(f"softmax_cross_entropy needs targets of the scores' shape {x.shape} (one-hot) or class "
                      f"indices of shape {x.shape[:-1]}, got {t.shape}")


def _batch(x: Array) -> int:
    return 1 if x.ndim <= 1 else x.shape[0]


def _sce_forward(x: Array, t: Array) -> Array:
    p = _targets(x, t)
    return np.asarray(-(p * _log_softmax(x)).sum() / _batch(x))


def _sce_local(ins: list[Array], out: Array) -> list[Array]:
    x, t = ins
    p = _targets(x, t)
    n = _batch(x)
    # With one-hot (or any normalised) targets this is the familiar (y - t) / batch.
    d_x = (_softmax(x) * p.sum(axis=-1, keepdims=True) - p) / n
    # Class indices are labels, not numbers to nudge: no gradient flows into them.
    d_t = -_log_softmax(x) / n if t.shape == x.shape else np.zeros_like(t)
    return [d_x, d_t]


def _sce_terms(ins: list[Array], out: Array) -> dict[str, Array]:
    """(y - t) / N's parts: the softmax y, the targets t as class probabilities (indices made one-hot), N."""
    x, t = ins
    return {"y": _softmax(x), "t": _targets(x, t), "N": np.asarray(float(_batch(x)))}


def _mse_forward(y: Array, t: Array) -> Array:
    if y.shape != t.shape:
        raise EngineError(f"mse needs targets of the predictions' shape {y.shape}, got {t.shape}")
    return np.asarray(np.mean((y - t) ** 2))


def _mse_local(ins: list[Array], out: Array) -> list[Array]:
    y, t = ins
    d = 2 * (y - t) / y.size
    return [d, -d]


# --- indexing -----------------------------------------------------------------------------------------
def _index_forward(x: Array, index: tuple[int, ...] = ()) -> Array:
    if len(index) > x.ndim:
        raise EngineError(f"{len(index)} indices for an input of shape {x.shape}")
    for axis, (i, size) in enumerate(zip(index, x.shape)):
        if not -size <= i < size:
            raise EngineError(f"index {i} is out of range for axis {axis} of size {size}")
    return np.asarray(x[tuple(index)]).copy()


def _index_local(ins: list[Array], out: Array, index: tuple[int, ...] = ()) -> list[Array]:
    mask = np.zeros_like(ins[0])
    mask[tuple(index)] = 1.0
    return [mask]


def _index_backward(ins, out, up, local, index: tuple[int, ...] = ()) -> list[Array]:
    # A gather's backward is a scatter: the upstream lands where the element was read, zero elsewhere.
    d = np.zeros_like(ins[0])
    d[tuple(index)] = up
    return [d]


OPS: dict[str, Op] = {op.name: op for op in [
    Op("add", "+", np.add, lambda i, o: [np.ones_like(o), np.ones_like(o)]),
    Op("sub", "-", np.subtract, lambda i, o: [np.ones_like(o), -np.ones_like(o)]),
    Op("mul", "×", np.multiply,
        lambda i, o: [np.broadcast_to(i[1], o.shape).copy(), np.broadcast_to(i[0], o.shape).copy()]),
    Op("div", "÷", _div_forward, lambda i, o: [np.broadcast_to(1 / i[1], o.shape).copy(), -o / i[1]],
       _div_backward),
    Op("neg", "−", np.negative, lambda i, o: [-np.ones_like(o)]),
    Op("pow", "^", _pow_forward, _pow_local),
    Op("exp", "exp", np.exp, lambda i, o: [o.copy()]),
    Op("log", "log", _log_forward, lambda i, o: [1 / i[0]]),
    Op("sqrt", "√", _sqrt_forward, lambda i, o: [0.5 / o]),
    Op("max", "max", np.maximum, _max_local, routes=True),
    Op("min", "min", np.minimum, _min_local, routes=True),
    Op("amax", "max", lambda x: np.asarray(x.max()), _extreme_local, routes=True),
    Op("amin", "min", lambda x: np.asarray(x.min()), _extreme_local, routes=True),
    Op("abs", "abs", np.abs, lambda i, o: [np.sign(i[0])]),
    Op("reciprocal", "1/x", lambda x: _div_forward(np.ones_like(x), x),
       lambda i, o: [-o * o]),
    Op("sigmoid", "σ", _sigmoid, lambda i, o: [o * (1 - o)]),
    Op("tanh", "tanh", np.tanh, lambda i, o: [1 - o * o]),
    Op("relu", "relu", lambda x: np.maximum(x, 0.0), lambda i, o: [(i[0] > 0).astype(np.float64)], routes=True),
    Op("leaky_relu", "lrelu", _leaky_forward,
        lambda i, o: [np.where(i[0] > 0, 1.0, np.broadcast_to(i[1], o.shape)), np.where(i[0] > 0, 0.0, i[0])]),
    Op("matmul", "@", _matmul_forward, _matmul_local, _matmul_backward),
    Op("addmm", "addmm", _addmm_forward, _addmm_local, _addmm_backward),  # torch's only (no expression makes it)
    Op("transpose", "T", _transpose_forward, _no_factor, lambda i, o, up, local: [up.T]),
    Op("sum", "Σ", _sum_forward, _sum_local, _reduce_backward),
    Op("mean", "mean", _mean_forward, _mean_local, _reduce_backward),
    Op("softmax", "softmax", _softmax_forward, _no_factor, _softmax_backward),
    Op("log_softmax", "logsm", _log_softmax_forward, _no_factor, _log_softmax_backward),
    Op("softmax_cross_entropy", "loss", _sce_forward, _sce_local, terms=_sce_terms),
    Op("mse", "mse", _mse_forward, _mse_local),
    Op("index", "[ ]", _index_forward, _index_local, _index_backward),
]}

# Functions an expression may call: by number of arguments, the op they make.
FUNCTIONS: dict[str, dict[int, str]] = {
    "exp": {1: "exp"}, "log": {1: "log"}, "sqrt": {1: "sqrt"}, "abs": {1: "abs"},
    "sigmoid": {1: "sigmoid"}, "tanh": {1: "tanh"}, "relu": {1: "relu"},
    "leaky_relu": {1: "leaky_relu", 2: "leaky_relu"},  # the slope defaults to torch's 0.01
    "max": {1: "amax", 2: "max"}, "min": {1: "amin", 2: "min"},
    "sum": {1: "sum"}, "mean": {1: "mean"}, "transpose": {1: "transpose"},
    "softmax": {1: "softmax"}, "log_softmax": {1: "log_softmax"},
    "softmax_cross_entropy": {2: "softmax_cross_entropy"}, "mse": {2: "mse"},
}
# Keyword arguments a function accepts (each an integer constant, fixed at parse time).
KEYWORDS: dict[str, tuple[str, ...]] = {"sum": ("axis",), "mean": ("axis",)}
LEAKY_SLOPE = 0.01
# The hidden activations a training scene compares (every table keyed by activation covers these).
ACTIVATIONS = ("sigmoid", "tanh", "relu", "leaky_relu")
# The op of a torch trace's node that matches no gate above (engine.torch_trace): drawn with its torch name.
TORCH_OP = "torch"
