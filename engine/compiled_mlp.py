"""The compiled full-batch training loop of a small MLP (numba), for the vanishing-gradient runs.

XOR's 4 x 8 matrices are far too small for BLAS calls, and torch's per-op overhead makes tens of
thousands of steps a minute; compiled, four activations x 5,000 steps take a tenth of a second. Importing
numba and loading the cached machine code take about half a second more, so only the vanishing trace
imports this module. The tests check the pass against torch autograd.

The loop is written once for float32 and float64: every constant in it comes from ``one``, a scalar of
the run's dtype, so a float32 run computes in float32 throughout (as the TensorFlow original did) rather
than in float64 stored as float32. It runs in chunks of steps, so a caller can report progress and stop
within a chunk's time of Ctrl-C.
"""
from __future__ import annotations

import numpy as np
from numba import njit
from numba.core import config as numba_config

from infra.places import INSTALLED, cache_root

if INSTALLED and not numba_config.CACHE_DIR:  # numba caches beside the source, i.e. inside the installed package
    numba_config.CACHE_DIR = str(cache_root() / "numba")

ACTIVATION_KIND = {"sigmoid": 0, "tanh": 1, "relu": 2, "leaky_relu": 2}


# --- the compiled training loop -----------------------------------------------------------------
# The layers live in padded 3-D arrays (layer, row, column) with their true sizes in ``sizes``, and the
# loops are written out: XOR's 4 x 8 matrices are far too small for BLAS calls and per-step allocations
# to pay off, and numba loads one function over plain arrays much faster than one over typed lists.
@njit(cache=True, inline="always", error_model="numpy")
def _sigmoid(z, one):
    return one / (one + np.exp(-z))


@njit(cache=True, inline="always", error_model="numpy")
def _activate(z, kind, alpha, one):
    if kind == 0:
        return _sigmoid(z, one)
    if kind == 1:
        return np.tanh(z)
    return z if z > 0 else alpha * z


@njit(cache=True, inline="always", error_model="numpy")
def _activation_grad(z, a, kind, alpha, one):
    # From the cached output where it can be (sigmoid: a(1 - a), tanh: 1 - a^2), as the layers do.
    if kind == 0:
        return a * (one - a)
    if kind == 1:
        return one - a * a
    return one if z > 0 else alpha


@njit(cache=True, error_model="numpy")  # x / 0 is inf or NaN, as in numpy, not an exception
def _pass(W, b, sizes, X, y, kind, alpha, one, naive, acts, zs, gW, gb, delta, delta_prev):
    """One full-batch forward and backward pass into preallocated arrays; returns (loss, accuracy).

    Hidden layers use ``kind``; the output is one sigmoid unit with binary cross-entropy, either in the
    stable form from the logit (as torch's BCEWithLogits) or, with ``naive``, written out as
    -mean(y log h + (1 - y) log(1 - h)) and differentiated through the logs: once h rounds to exactly
    0 or 1 that form gives log(0) and NaN, as the original TensorFlow run did.
    """
    depth = sizes.shape[0] - 1
    n = X.shape[0]
    zero = one - one
    inv_n = one / (one * n)
    acts[0, :, :sizes[0]] = X
    for layer in range(depth):
        fan_in, fan_out = sizes[layer], sizes[layer + 1]
        last = layer == depth - 1
        for i in range(n):
            for j in range(fan_out):
                zs[layer, i, j] = b[layer, j]
            for k in range(fan_in):
                a_ik = acts[layer, i, k]
                for j in range(fan_out):
                    zs[layer, i, j] += a_ik * W[layer, k, j]
            for j in range(fan_out):
                z = zs[layer, i, j]
                acts[layer + 1, i, j] = _sigmoid(z, one) if last else _activate(z, kind, alpha, one)
    loss = zero
    correct = 0
    for i in range(n):
        logit = zs[depth - 1, i, 0]
        h = acts[depth, i, 0]
        if naive:
            loss -= y[i] * np.log(h) + (one - y[i]) * np.log(one - h)
            d_h = -(y[i] / h - (one - y[i]) / (one - h)) * inv_n
            delta[i, 0] = d_h * h * (one - h)
        else:
            loss += max(logit, zero) - logit * y[i] + np.log1p(np.exp(-abs(logit)))
            delta[i, 0] = (h - y[i]) * inv_n
        correct += (logit > 0) == (y[i] > 0.5)
    for layer in range(depth - 1, -1, -1):
        fan_in, fan_out = sizes[layer], sizes[layer + 1]
        gW[layer, :fan_in, :fan_out] = zero
        gb[layer, :fan_out] = zero
        for i in range(n):
            for j in range(fan_out):
                gb[layer, j] += delta[i, j]
            for k in range(fan_in):
                a_ik = acts[layer, i, k]
                for j in range(fan_out):
                    gW[layer, k, j] += a_ik * delta[i, j]
        if layer > 0:
            for i in range(n):
                for k in range(fan_in):
                    s = zero
                    for j in range(fan_out):
                        s += delta[i, j] * W[layer, k, j]
                    delta_prev[i, k] = s * _activation_grad(zs[layer - 1, i, k], acts[layer, i, k], kind, alpha, one)
            delta, delta_prev = delta_prev, delta
    return loss * inv_n, correct / n


@njit(cache=True, nogil=True, error_model="numpy")  # runs for different activations and seeds train on threads at once
def _train_steps(W, b, sizes, X, y, kind, alpha, lr, one, naive, start, stop, last, every, buffers,
                 losses, accs, norms):
    """Steps start..stop-1 (each a pass, recorded every ``every`` steps and at ``last``, then an update
    unless it is ``last``); returns False once the loss is not finite (the run has diverged)."""
    depth = sizes.shape[0] - 1
    acts, zs, gW, gb, delta, delta_prev = buffers
    for step in range(start, stop):
        loss, acc = _pass(W, b, sizes, X, y, kind, alpha, one, naive, acts, zs, gW, gb, delta, delta_prev)
        if step % every == 0 or step == last:
            r = (step + every - 1) // every  # the final step, off the grid, takes the slot after the grid's last
            losses[r] = loss
            accs[r] = acc
            for layer in range(depth):
                norms[r, layer] = np.sqrt(np.sum(gW[layer].astype(np.float64) ** 2))  # padding is zero
        if not np.isfinite(loss):
            return False  # diverged: what is left stays NaN, and the trace says so
        if step < last:
            W -= lr * gW
            b -= lr * gb
    return True


def record_steps(steps: int, every: int) -> list[int]:
    """The steps a run records: every ``every``-th, and the last one even when off that grid."""
    grid = list(range(0, steps + 1, every))
    return grid if grid[-1] == steps else grid + [steps]


def buffers(sizes: np.ndarray, n: int, dtype) -> tuple:
    depth, widest = sizes.shape[0] - 1, int(sizes.max())
    return (np.zeros((depth + 1, n, widest), dtype), np.zeros((depth, n, widest), dtype),
            np.zeros((depth, widest, widest), dtype), np.zeros((depth, widest), dtype),
            np.zeros((n, widest), dtype), np.zeros((n, widest), dtype))


def pack(Ws: list[np.ndarray], bs: list[np.ndarray], dtype=np.float64):
    sizes = np.array([Ws[0].shape[0]] + [w.shape[1] for w in Ws], dtype=np.int64)
    widest = int(sizes.max())
    W = np.zeros((len(Ws), widest, widest), dtype)
    b = np.zeros((len(Ws), widest), dtype)
    for layer, (w, bias) in enumerate(zip(Ws, bs)):
        W[layer, :w.shape[0], :w.shape[1]] = w
        b[layer, :bias.shape[0]] = bias
    return W, b, sizes


class Run:
    """One training run, advanced a chunk of steps at a time by ``advance``."""

    def __init__(self, Ws, bs, X, y, activation: str, alpha: float, lr: float, steps: int, every: int,
                 dtype=np.float64, naive: bool = False):
        self.dtype = np.dtype(dtype)
        one = self.dtype.type(1)
        self.W, self.b, self.sizes = pack(Ws, bs, self.dtype)
        self.X = np.ascontiguousarray(X, dtype=self.dtype)
        self.y = np.ascontiguousarray(y, dtype=self.dtype)
        self.args = (ACTIVATION_KIND[activation], one * alpha, one * lr, one, naive)
        self.steps, self.every, self.next = steps, every, 0
        self.buffers = buffers(self.sizes, self.X.shape[0], self.dtype)
        nrec = len(record_steps(steps, every))
        self.losses, self.accs = np.full(nrec, np.nan), np.full(nrec, np.nan)
        self.norms = np.full((nrec, len(Ws)), np.nan)
        self.finished = False

    def advance(self, chunk: int) -> int:
        """Run up to ``chunk`` more steps; returns how many were run (0 once finished)."""
        if self.finished:
            return 0
        stop = min(self.next + chunk, self.steps + 1)
        ok = _train_steps(self.W, self.b, self.sizes, self.X, self.y, *self.args, self.next, stop, self.steps,
                          self.every, self.buffers, self.losses, self.accs, self.norms)
        done, self.next = stop - self.next, stop
        self.finished = not ok or stop > self.steps
        return done

    def flops_per_step(self) -> int:
        return int(6 * self.X.shape[0] * np.sum(self.sizes[:-1] * self.sizes[1:]))


def forward_backward(Ws, bs, X, y, kind, alpha, dtype=np.float64, naive=False):
    """One full-batch pass of the compiled loop: (loss, accuracy, weight gradients, bias gradients)."""
    dtype = np.dtype(dtype)
    one = dtype.type(1)
    W, b, sizes = pack(list(Ws), list(bs), dtype)
    acts, zs, gW, gb, delta, delta_prev = buffers(sizes, X.shape[0], dtype)
    loss, acc = _pass(W, b, sizes, np.ascontiguousarray(X, dtype=dtype), np.asarray(y, dtype=dtype),
                      kind, one * alpha, one, naive, acts, zs, gW, gb, delta, delta_prev)
    return (float(loss), acc, [gW[i, :sizes[i], :sizes[i + 1]].copy() for i in range(len(Ws))],
            [gb[i, :sizes[i + 1]].copy() for i in range(len(Ws))])
