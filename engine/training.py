"""Training experiments for real: vanishing gradients across depth, sigmoid's zig-zag, gradient signs.

The vanishing-gradient runs take thousands of full-batch steps of a deep MLP, in the numba-compiled
loop of compiled_mlp.py. The one-pass histogram experiment and the zig-zag neuron are plain numpy. The
tests check the compiled pass and the histogram pass against torch autograd.
"""
from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from .ops import LEAKY_SLOPE, OPS
from .trace import encode_value, header

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


def train_mlp(X, y, depth, width, activation, init, lr, steps, every, seed):
    """Train one MLP by full-batch gradient descent; returns per-record loss, accuracy, layer grad norms."""
    from .compiled_mlp import ACTIVATION_KIND, pack, train  # numba takes ~0.5 s to load: only when needed

    rng = np.random.default_rng(seed)
    sizes = [X.shape[1]] + [width] * (depth - 1) + [1]
    W, b, packed_sizes = pack(init_weights(sizes, init, rng), [np.zeros(s) for s in sizes[1:]])
    alpha = LEAKY_SLOPE if activation == "leaky_relu" else 0.0
    return train(W, b, packed_sizes, X, y, ACTIVATION_KIND[activation], alpha, lr, steps, every)


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
