"""Training experiments for real: vanishing gradients across depth, sigmoid's zig-zag, gradient signs.

The vanishing-gradient runs take tens of thousands of full-batch steps of a deep MLP; torch's per-op
overhead on 4x8 matrices makes that a minute, so the loop is compiled with numba (under half a second
for four activations x 20,000 steps). The one-pass histogram experiment and the zig-zag neuron are
plain numpy. The tests check the compiled pass and the histogram pass against torch autograd.
"""
from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from numba import njit

from .ops import LEAKY_SLOPE, OPS
from .trace import encode_value, header

ACTIVATION_KIND = {"sigmoid": 0, "tanh": 1, "relu": 2, "leaky_relu": 2}


# --- datasets -------------------------------------------------------------------------------------
def make_dataset(name: str, seed: int, n: int = 200) -> tuple[np.ndarray, np.ndarray]:
    """XOR's four points, or two concentric circles (deterministic for a seed)."""
    if name == "xor":
        return np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float64), np.array([0, 1, 1, 0], dtype=np.float64)
    rng = np.random.default_rng(seed)
    radius = np.where(np.arange(n) % 2 == 0, 0.5, 1.0) + rng.normal(0, 0.08, n)
    angle = rng.uniform(0, 2 * np.pi, n)
    x = np.stack([radius * np.cos(angle), radius * np.sin(angle)], axis=1)
    return x, (np.arange(n) % 2 == 0).astype(np.float64)


def init_weights(sizes: list[int], scheme: str, rng: np.random.Generator) -> list[np.ndarray]:
    """Standard normal (the TensorFlow example's default), Xavier/Glorot or He initialisation."""
    out = []
    for fan_in, fan_out in zip(sizes, sizes[1:]):
        std = {"normal": 1.0, "xavier": np.sqrt(2.0 / (fan_in + fan_out)), "he": np.sqrt(2.0 / fan_in)}[scheme]
        out.append(rng.standard_normal((fan_in, fan_out)) * std)
    return out


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
def _train(W, b, sizes, X, y, kind, alpha, lr, steps, every):
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


def _pack(Ws: list[np.ndarray], bs: list[np.ndarray]):
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
    W, b, sizes = _pack(list(Ws), list(bs))
    acts, zs, gW, gb, delta, delta_prev = _buffers(sizes, X.shape[0])
    loss, acc = _pass(W, b, sizes, np.ascontiguousarray(X, dtype=np.float64), np.asarray(y, dtype=np.float64),
                      kind, alpha, acts, zs, gW, gb, delta, delta_prev)
    return (loss, acc, [gW[i, :sizes[i], :sizes[i + 1]].copy() for i in range(len(Ws))],
            [gb[i, :sizes[i + 1]].copy() for i in range(len(Ws))])


def train_mlp(X, y, depth, width, activation, init, lr, steps, every, seed):
    """Train one MLP by full-batch gradient descent; returns per-record loss, accuracy, layer grad norms."""
    rng = np.random.default_rng(seed)
    sizes = [X.shape[1]] + [width] * (depth - 1) + [1]
    W, b, packed_sizes = _pack(init_weights(sizes, init, rng), [np.zeros(s) for s in sizes[1:]])
    alpha = LEAKY_SLOPE if activation == "leaky_relu" else 0.0
    return _train(W, b, packed_sizes, X, y, ACTIVATION_KIND[activation], alpha, lr, steps, every)


def vanishing_trace(cfg) -> dict:
    X, y = make_dataset(cfg.dataset, cfg.seed)

    def run(act):
        return train_mlp(X, y, cfg.depth, cfg.width, act, cfg.init, cfg.learning_rate, cfg.steps,
                         cfg.record_every, cfg.seed)

    # Independent runs, each on its own thread (the compiled loop releases the GIL); results keep order.
    with ThreadPoolExecutor(max_workers=min(len(cfg.activations), os.cpu_count() or 1)) as pool:
        results = list(pool.map(run, cfg.activations))
    runs = [{"activation": act, "steps": list(range(0, cfg.steps + 1, cfg.record_every)),
             "loss": encode_value(losses), "accuracy": encode_value(accs), "grad_norms": encode_value(norms)}
            for act, (losses, accs, norms) in zip(cfg.activations, results)]
    return {**header("vanishing", cfg.model_dump(), "numba"), "runs": runs,
            "activation_curves": activation_curves(cfg.activations)}


def activation_curves(names: list[str], lo: float = -5.0, hi: float = 5.0, n: int = 201) -> dict:
    """Each activation and its derivative on a grid, from the gate table's own forward and local rules."""
    x = np.linspace(lo, hi, n)
    curves = {"x": encode_value(x)}
    for name in names:
        op = OPS[name]
        args = [x, np.asarray(LEAKY_SLOPE)] if name == "leaky_relu" else [x]
        y = op.forward(*args)
        dy = op.local(args, y)[0]
        curves[name] = {"f": encode_value(y), "df": encode_value(dy), "max_df": float(np.max(dy))}
    return curves


# --- zig-zag --------------------------------------------------------------------------------------
def zigzag_trace(cfg) -> dict:
    """A linear neuron w . x fitted to a teacher by squared loss, fed all-positive or zero-centred inputs."""
    rng = np.random.default_rng(cfg.seed)
    pre = rng.normal(0, 1.5, (cfg.samples, 2))
    w_star = np.asarray(cfg.target, dtype=np.float64)
    runs = []
    grid = np.linspace(-cfg.view, cfg.view, 41)
    for act in ("sigmoid", "tanh"):
        X = 1 / (1 + np.exp(-pre)) if act == "sigmoid" else np.tanh(pre)
        t = X @ w_star
        w = np.asarray(cfg.start, dtype=np.float64).copy()
        weights, grads, losses = [w.copy()], [], []
        order = np.random.default_rng(cfg.seed + 1).integers(0, cfg.samples, (cfg.steps, cfg.batch_size))
        for idx in order:
            err = X[idx] @ w - t[idx]
            g = X[idx].T @ err / len(idx)  # gradient of the batch's mean of (w.x - t)^2 / 2
            losses.append(float(np.mean((X @ w - t) ** 2) / 2))
            w = w - cfg.learning_rate * g
            weights.append(w.copy())
            grads.append(g)
        w1, w2 = np.meshgrid(grid + w_star[0], grid + w_star[1])
        W = np.stack([w1.ravel(), w2.ravel()], axis=1)
        surface = (np.mean((X @ W.T - t[:, None]) ** 2, axis=0) / 2).reshape(w1.shape)
        grads = np.array(grads)
        runs.append({"activation": act, "inputs_all_positive": bool(np.all(X > 0)),
                     "same_sign_steps": int(np.sum(np.sign(grads[:, 0]) == np.sign(grads[:, 1]))),
                     "weights": encode_value(np.array(weights)), "grads": encode_value(grads),
                     "loss": encode_value(np.array(losses)),
                     "contour": {"w1": encode_value(grid + w_star[0]), "w2": encode_value(grid + w_star[1]),
                                 "loss": encode_value(surface)}})
    return {**header("zigzag", cfg.model_dump()), "target": list(w_star), "runs": runs}


# --- gradient-sign histograms ------------------------------------------------------------------------
def mlp_weight_grads(Ws: list[np.ndarray], bs: list[np.ndarray], x: np.ndarray, activation: str,
                     loss: str) -> list[np.ndarray]:
    """Weight gradients of one forward and backward pass through layers ``h @ W + b`` with a linear output.

    Each hidden layer's activation and its local gradient come from the gate table; the loss is the sum
    of the outputs or their mean square. Checked against torch autograd in the tests.
    """
    op = OPS[activation]
    inputs, hidden = [x], []
    h = x
    for i, (W, b) in enumerate(zip(Ws, bs)):
        z = h @ W + b
        if i < len(Ws) - 1:
            h = op.forward(z)
            hidden.append((z, h))
        else:
            h = z
        inputs.append(h)
    upstream = np.ones_like(h) if loss == "sum" else 2 * h / h.size
    grads = [np.empty(0)] * len(Ws)
    for i in range(len(Ws) - 1, -1, -1):
        grads[i] = inputs[i].T @ upstream
        if i > 0:
            z, out = hidden[i - 1]
            upstream = (upstream @ Ws[i].T) * op.local([z], out)[0]
    return grads


def histograms_trace(cfg) -> dict:
    """One backward pass through an MLP; a histogram of each layer's weight gradients.

    Weights start as torch.nn.Linear's do, uniform in +-1/sqrt(fan_in), drawn from numpy's generator so
    the trace needs no torch at all (importing it would cost more than the whole pass).
    """
    runs = []
    for act in cfg.activations:
        rng = np.random.default_rng(cfg.seed)
        sizes = [1] + [cfg.width] * cfg.depth + [1]
        bounds = [1 / np.sqrt(fan_in) for fan_in in sizes[:-1]]
        Ws = [rng.uniform(-lim, lim, (a, b)) for lim, a, b in zip(bounds, sizes, sizes[1:])]
        bs = [rng.uniform(-lim, lim, b) for lim, b in zip(bounds, sizes[1:])]
        x = rng.standard_normal((cfg.batch, 1))
        hist = []
        for i, g in enumerate(mlp_weight_grads(Ws, bs, x, act, cfg.loss)):
            g = g.ravel()
            lim = float(np.max(np.abs(g))) or 1.0
            counts, edges = np.histogram(g, bins=cfg.bins, range=(-lim, lim))
            hist.append({"layer": i + 1, "edges": encode_value(edges), "counts": counts.tolist(),
                         "positive": int(np.sum(g > 0)), "negative": int(np.sum(g < 0)), "zero": int(np.sum(g == 0))})
        runs.append({"activation": act, "histograms": hist})
    return {**header("histograms", cfg.model_dump()), "runs": runs}
