"""The compiled full-batch training loop of a small MLP (numba), for the vanishing-gradient runs.

XOR's 4 x 8 matrices are far too small for BLAS calls, and torch's per-op overhead makes tens of
thousands of steps a minute; compiled, four activations x 5,000 steps take a tenth of a second. Importing
numba and loading the cached machine code take about half a second more, so only the vanishing trace
imports this module. The tests check the pass against torch autograd.
"""
from __future__ import annotations

import numpy as np
from numba import njit

ACTIVATION_KIND = {"sigmoid": 0, "tanh": 1, "relu": 2, "leaky_relu": 2}


# --- the compiled training loop -----------------------------------------------------------------
# The layers live in padded 3-D arrays (layer, row, column) with their true sizes in ``sizes``, and the
# loops are written out: XOR's 4 x 8 matrices are far too small for BLAS calls and per-step allocations
# to pay off, and numba loads one function over plain arrays much faster than one over typed lists.
@njit(cache=True, inline="always")
def _activate(z, kind, alpha):
    if kind == 0:
        return 1.0 / (1.0 + np.exp(-z))
    if kind == 1:
        return np.tanh(z)
    return z if z > 0 else alpha * z


@njit(cache=True, inline="always")
def _activation_grad(z, a, kind, alpha):
    # From the cached output where it can be (sigmoid: a(1 - a), tanh: 1 - a^2), as the layers do.
    if kind == 0:
        return a * (1.0 - a)
    if kind == 1:
        return 1.0 - a * a
    return 1.0 if z > 0 else alpha


@njit(cache=True)
def _pass(W, b, sizes, X, y, kind, alpha, acts, zs, gW, gb, delta, delta_prev):
    """One full-batch forward and backward pass into preallocated arrays; returns (loss, accuracy).

    Hidden layers use ``kind``; the output is one sigmoid unit with binary cross-entropy.
    """
    depth = sizes.shape[0] - 1
    n = X.shape[0]
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
                acts[layer + 1, i, j] = 1.0 / (1.0 + np.exp(-z)) if last else _activate(z, kind, alpha)
    loss = 0.0
    correct = 0
    for i in range(n):
        logit = zs[depth - 1, i, 0]
        # binary cross-entropy from the logit, stable for large |logit| (as torch's BCEWithLogits)
        loss += max(logit, 0.0) - logit * y[i] + np.log1p(np.exp(-abs(logit)))
        correct += (logit > 0) == (y[i] > 0.5)
        delta[i, 0] = (acts[depth, i, 0] - y[i]) / n
    for layer in range(depth - 1, -1, -1):
        fan_in, fan_out = sizes[layer], sizes[layer + 1]
        gW[layer, :fan_in, :fan_out] = 0.0
        gb[layer, :fan_out] = 0.0
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
                    s = 0.0
                    for j in range(fan_out):
                        s += delta[i, j] * W[layer, k, j]
                    delta_prev[i, k] = s * _activation_grad(zs[layer - 1, i, k], acts[layer, i, k], kind, alpha)
            delta, delta_prev = delta_prev, delta
    return loss / n, correct / n


@njit(cache=True)
def _buffers(sizes, n):
    depth, widest = sizes.shape[0] - 1, sizes.max()
    return (np.zeros((depth + 1, n, widest)), np.zeros((depth, n, widest)), np.zeros((depth, widest, widest)),
            np.zeros((depth, widest)), np.zeros((n, widest)), np.zeros((n, widest)))


@njit(cache=True, nogil=True)  # runs for different activations train on threads at once
def train(W, b, sizes, X, y, kind, alpha, lr, steps, every):
    depth = sizes.shape[0] - 1
    acts, zs, gW, gb, delta, delta_prev = _buffers(sizes, X.shape[0])
    nrec = steps // every + 1
    losses = np.full(nrec, np.nan)
    accs = np.full(nrec, np.nan)
    norms = np.full((nrec, depth), np.nan)
    for step in range(steps + 1):
        loss, acc = _pass(W, b, sizes, X, y, kind, alpha, acts, zs, gW, gb, delta, delta_prev)
        if step % every == 0:
            r = step // every
            losses[r] = loss
            accs[r] = acc
            for layer in range(depth):
                norms[r, layer] = np.sqrt(np.sum(gW[layer] * gW[layer]))  # padding is zero: adds nothing
        if not np.isfinite(loss):
            break  # diverged: what is left stays NaN, and the trace says so
        if step < steps:
            W -= lr * gW
            b -= lr * gb
    return losses, accs, norms


def pack(Ws: list[np.ndarray], bs: list[np.ndarray]):
    sizes = np.array([Ws[0].shape[0]] + [w.shape[1] for w in Ws], dtype=np.int64)
    widest = int(sizes.max())
    W = np.zeros((len(Ws), widest, widest))
    b = np.zeros((len(Ws), widest))
    for layer, (w, bias) in enumerate(zip(Ws, bs)):
        W[layer, :w.shape[0], :w.shape[1]] = w
        b[layer, :bias.shape[0]] = bias
    return W, b, sizes


def forward_backward(Ws, bs, X, y, kind, alpha):
    """One full-batch pass of the compiled loop: (loss, accuracy, weight gradients, bias gradients)."""
    W, b, sizes = pack(list(Ws), list(bs))
    acts, zs, gW, gb, delta, delta_prev = _buffers(sizes, X.shape[0])
    loss, acc = _pass(W, b, sizes, np.ascontiguousarray(X, dtype=np.float64), np.asarray(y, dtype=np.float64),
                      kind, alpha, acts, zs, gW, gb, delta, delta_prev)
    return (loss, acc, [gW[i, :sizes[i], :sizes[i + 1]].copy() for i in range(len(Ws))],
            [gb[i, :sizes[i + 1]].copy() for i in range(len(Ws))])
