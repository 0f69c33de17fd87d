"""Training experiments for real: vanishing gradients across depth, sigmoid's zig-zag, gradient signs.

The vanishing-gradient runs take tens of thousands of full-batch steps of a deep MLP; torch's per-op
overhead on 4x8 matrices makes that a minute, so the loop is compiled with numba (a few seconds for
four activations x 20,000 steps). Its forward and backward are checked against torch autograd in
tests. The one-pass histogram experiment uses torch autograd directly, and the zig-zag neuron is
plain numpy: each is the simplest real tool for its size.
"""
from __future__ import annotations

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
@njit(cache=True)
def _activate(z, kind, alpha):
    if kind == 0:
        return 1.0 / (1.0 + np.exp(-z))
    if kind == 1:
        return np.tanh(z)
    return np.where(z > 0, z, alpha * z)


@njit(cache=True)
def _activation_grad(z, a, kind, alpha):
    # From the cached output where it can be (sigmoid: a(1 - a), tanh: 1 - a^2), as the layers do.
    if kind == 0:
        return a * (1.0 - a)
    if kind == 1:
        return 1.0 - a * a
    return np.where(z > 0, 1.0, alpha)


@njit(cache=True)
def forward_backward(Ws, bs, X, y, kind, alpha):
    """One full-batch pass: (loss, accuracy, weight gradients, bias gradients). Output: sigmoid + BCE."""
    depth = len(Ws)
    acts = [X]
    zs = []
    a = X
    for l in range(depth):
        z = a @ Ws[l] + bs[l]
        zs.append(z)
        a = 1.0 / (1.0 + np.exp(-z)) if l == depth - 1 else _activate(z, kind, alpha)
        acts.append(a)
    n = X.shape[0]
    logit = zs[depth - 1][:, 0]
    # binary cross-entropy from the logit, stable for large |logit| (as torch's BCEWithLogits)
    loss = np.mean(np.maximum(logit, 0.0) - logit * y + np.log1p(np.exp(-np.abs(logit))))
    acc = np.sum((logit > 0) == (y > 0.5)) / n
    dz = np.empty((n, 1))
    dz[:, 0] = (a[:, 0] - y) / n
    gWs = [np.empty_like(w) for w in Ws]
    gbs = [np.empty_like(b) for b in bs]
    for l in range(depth - 1, -1, -1):
        gWs[l] = acts[l].T @ dz
        gbs[l] = dz.sum(axis=0)
        if l > 0:
            dz = (dz @ Ws[l].T) * _activation_grad(zs[l - 1], acts[l], kind, alpha)
    return loss, acc, gWs, gbs


@njit(cache=True)
def _train(Ws, bs, X, y, kind, alpha, lr, steps, every):
    depth = len(Ws)
    nrec = steps // every + 1
    losses = np.full(nrec, np.nan)
    accs = np.full(nrec, np.nan)
    norms = np.full((nrec, depth), np.nan)
    for step in range(steps + 1):
        loss, acc, gWs, gbs = forward_backward(Ws, bs, X, y, kind, alpha)
        if step % every == 0:
            r = step // every
            losses[r] = loss
            accs[r] = acc
            for l in range(depth):
                norms[r, l] = np.sqrt(np.sum(gWs[l] * gWs[l]))
        if not np.isfinite(loss):
            break  # diverged: what is left stays NaN, and the trace says so
        if step < steps:
            for l in range(depth):
                Ws[l] -= lr * gWs[l]
                bs[l] -= lr * gbs[l]
    return losses, accs, norms


def train_mlp(X, y, depth, width, activation, init, lr, steps, every, seed):
    """Train one MLP by full-batch gradient descent; returns per-record loss, accuracy, layer grad norms."""
    from numba.typed import List

    rng = np.random.default_rng(seed)
    sizes = [X.shape[1]] + [width] * (depth - 1) + [1]
    Ws = List(init_weights(sizes, init, rng))
    bs = List([np.zeros(s) for s in sizes[1:]])
    alpha = LEAKY_SLOPE if activation == "leaky_relu" else 0.0
    with np.errstate(all="ignore"):
        return _train(Ws, bs, X, y, ACTIVATION_KIND[activation], alpha, lr, steps, every)


def vanishing_trace(cfg) -> dict:
    X, y = make_dataset(cfg.dataset, cfg.seed)
    runs = []
    for act in cfg.activations:
        losses, accs, norms = train_mlp(X, y, cfg.depth, cfg.width, act, cfg.init, cfg.learning_rate,
                                        cfg.steps, cfg.record_every, cfg.seed)
        runs.append({"activation": act, "steps": list(range(0, cfg.steps + 1, cfg.record_every)),
                     "loss": encode_value(losses), "accuracy": encode_value(accs),
                     "grad_norms": encode_value(norms)})
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
def histograms_trace(cfg) -> dict:
    """One backward pass through an MLP (torch autograd); a histogram of each layer's weight gradients."""
    import torch

    runs = []
    for act in cfg.activations:
        torch.manual_seed(cfg.seed)
        sizes = [1] + [cfg.width] * cfg.depth + [1]
        layers = [torch.nn.Linear(a, b, dtype=torch.float64) for a, b in zip(sizes, sizes[1:])]
        x = torch.randn(cfg.batch, 1, dtype=torch.float64)
        h = x
        f = {"sigmoid": torch.sigmoid, "tanh": torch.tanh, "relu": torch.relu}[act]
        for i, layer in enumerate(layers):
            h = layer(h)
            if i < len(layers) - 1:
                h = f(h)
        loss = h.sum() if cfg.loss == "sum" else (h ** 2).mean()
        loss.backward()
        hist = []
        for i, layer in enumerate(layers):
            g = layer.weight.grad.numpy().ravel()
            lim = float(np.max(np.abs(g))) or 1.0
            counts, edges = np.histogram(g, bins=cfg.bins, range=(-lim, lim))
            hist.append({"layer": i + 1, "edges": encode_value(edges), "counts": counts.tolist(),
                         "positive": int(np.sum(g > 0)), "negative": int(np.sum(g < 0)), "zero": int(np.sum(g == 0))})
        runs.append({"activation": act, "histograms": hist})
    return {**header("histograms", cfg.model_dump(), "torch"), "runs": runs}
