"""Training experiments for real: vanishing gradients across depth, sigmoid's zig-zag, gradient signs.

The vanishing-gradient runs take thousands of full-batch steps of a deep MLP, in the numba-compiled
loop of compiled_mlp.py. The one-pass histogram experiment and the zig-zag neuron are plain numpy. The
tests check the compiled pass and the histogram pass against torch autograd.
"""
from __future__ import annotations

import os
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from .ops import LEAKY_SLOPE, OPS
from .trace import encode_float, encode_value, header

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


def initial_parameters(sizes: list[int], init: str, bias_init: str, seed: int):
    """A run's starting weights and biases (deterministic for a seed): weights first, then biases."""
    rng = np.random.default_rng(seed)
    Ws = init_weights(sizes, init, rng)
    bs = [rng.standard_normal(s) if bias_init == "normal" else np.zeros(s) for s in sizes[1:]]
    return Ws, bs


def new_run(cfg, X, y, activation: str, seed: int):
    """The run of one activation and seed, as the config sets it up (not trained yet): the compiled loop,
    or with ``engine: torch`` the same training written in torch."""
    if cfg.engine == "torch":
        from .torch_training import VanishingRun as Run
    else:
        from .compiled_mlp import Run  # numba takes ~0.5 s to load: only when needed

    sizes = [X.shape[1]] + [cfg.width] * (cfg.depth - 1) + [1]
    Ws, bs = initial_parameters(sizes, cfg.init, cfg.bias_init, seed)
    alpha = cfg.leaky_slope if activation == "leaky_relu" else 0.0
    return Run(Ws, bs, X, y, activation, alpha, cfg.learning_rate, cfg.steps, record_every(cfg),
               np.dtype(cfg.dtype), cfg.loss_form == "naive")


def record_every(cfg) -> int:
    """The config's record_every, thinned evenly so a run records at most MAX_RECORDS points."""
    return max(cfg.record_every, -(-cfg.steps // (MAX_RECORDS - 1)))


def train_all(runs: list, progress=None, chunk_seconds: float = 0.1) -> None:
    """Train independent runs on threads (the compiled loop releases the GIL), a chunk of steps at a time.

    Between chunks each thread checks for a stop, so Ctrl-C ends the whole batch within about a chunk's
    time instead of after every queued run; ``progress(done, total)`` hears of each chunk.
    """
    total = sum(r.steps + 1 for r in runs)
    stop = threading.Event()
    lock = threading.Lock()
    done = [0]

    def work(run):
        chunk = max(1, int(chunk_seconds * 1e9 / max(run.flops_per_step(), 1)))  # ~1 GFLOP/s per core
        while not stop.is_set():
            n = run.advance(chunk)
            if n == 0:
                break
            with lock:
                done[0] += n
                if progress:
                    progress(done[0], total)
        if run.finished and run.next <= run.steps:  # diverged early: count the skipped steps as done
            with lock:
                done[0] += run.steps + 1 - run.next
                run.next = run.steps + 1

    pool = ThreadPoolExecutor(max_workers=min(len(runs), os.cpu_count() or 1))
    interrupted = False
    try:
        for f in [pool.submit(work, r) for r in runs]:
            f.result()
    except KeyboardInterrupt:
        interrupted = True
        raise
    finally:
        stop.set()
        # Interrupted, the threads are not waited for: one may be inside a chunk far longer than
        # chunk_seconds (numba compiling the loop on a cold cache takes seconds), and a worker whose
        # command died must end now. They stop at their next chunk, or with the process.
        pool.shutdown(wait=not interrupted, cancel_futures=True)


class StderrProgress:
    """"training: 45% of 800,000 steps, 3 s" on stderr, once a run has taken a second: on a terminal one
    line rewritten in place, elsewhere (a CI log) a line every five seconds."""

    def __init__(self, label: str = "training", stream=None):
        self.label, self.stream = label, stream or sys.stderr
        self.start = self.last = time.monotonic()
        self.shown = False
        self.tty = self.stream.isatty()

    def __call__(self, done: int, total: int) -> None:
        now = time.monotonic()
        if now - self.start < 1.0 or now - self.last < (0.25 if self.tty else 5.0):
            return
        self.last, self.shown = now, True
        line = f"{self.label}: {100 * done / total:.0f}% of {total:,} steps, {now - self.start:.0f} s"
        self.stream.write(f"\r{line}" if self.tty else f"{line}\n")
        self.stream.flush()

    def close(self) -> None:
        if self.shown and self.tty:
            self.stream.write("\n")


MAX_RECORDS = 2_000  # points recorded per run: more cannot be drawn and only bloat the trace
CORE_FLOPS = 1e9  # what the compiled loop does per second on one core here (docs/benchmark.md)
BUDGET_SECONDS = 600
TORCH_LAYER_STEP_SECONDS = 4e-4  # one layer of a torch run's step here, two runs at a time (docs/benchmark.md)


class TooLong(ValueError):
    """Training that would take longer than the budget; the message says how long and how to lower it."""


def estimate_seconds(cfg) -> float:
    """Wall-clock seconds the vanishing runs will take on this machine's cores, roughly."""
    n = 4 if cfg.dataset == "xor" else 200
    sizes = [2] + [cfg.width] * (cfg.depth - 1) + [1]
    flops = 6 * n * sum(a * b for a, b in zip(sizes, sizes[1:])) * (cfg.steps + 1)
    runs = len(cfg.activations) * cfg.seeds
    seconds = flops / CORE_FLOPS
    if cfg.engine == "torch":  # a few dozen small tensor ops a layer each step, each of some microseconds
        seconds += TORCH_LAYER_STEP_SECONDS * cfg.depth * (cfg.steps + 1)
    return seconds * runs / min(runs, os.cpu_count() or 1)


def check_budget(cfg, allow_long: bool) -> None:
    seconds = estimate_seconds(cfg)
    if seconds > BUDGET_SECONDS and not allow_long:
        raise TooLong(f"training would take about {duration_text(seconds)} on {os.cpu_count()} cores (the budget is "
                      f"{BUDGET_SECONDS // 60} minutes): lower steps, depth, width, seeds or activations, or pass "
                      "--allow-long")


def duration_text(seconds: float) -> str:
    return f"{seconds / 3600:,.1f} hours" if seconds >= 3600 else f"{seconds / 60:.0f} minutes"


def vanishing_trace(cfg, progress=None) -> dict:
    """Each activation trained from ``seeds`` seeds; the first seed's curves and every seed's outcome."""
    from .compiled_mlp import record_steps

    X, y = make_dataset(cfg.dataset, cfg.seed)
    seeds = [cfg.seed + k for k in range(cfg.seeds)]
    runs = {(act, s): new_run(cfg, X, y, act, s) for act in cfg.activations for s in seeds}
    reporter = progress or StderrProgress()
    try:
        train_all(list(runs.values()), reporter)
    finally:
        if progress is None:
            reporter.close()
    steps = record_steps(cfg.steps, record_every(cfg))
    curves = [{"activation": act, "seed": cfg.seed, "steps": steps, "loss": encode_value(r.losses),
               "accuracy": encode_value(r.accs), "grad_norms": encode_value(r.norms)}
              for act in cfg.activations for r in [runs[act, cfg.seed]]]
    summary = [seed_summary(act, [(s, runs[act, s]) for s in seeds]) for act in cfg.activations]
    return {**header("vanishing", cfg.model_dump(), "torch" if cfg.engine == "torch" else "numba"),
            "runs": curves, "seed_summary": summary,
            "activation_curves": activation_curves(cfg.activations, cfg.leaky_slope)}


def seed_summary(activation: str, runs: list) -> dict:
    """How one activation fared over seeds: solved (accuracy 1.0 at the end), diverged (NaN or inf),
    dead at initialisation (no gradient reaches the first layer at step 0: every unit of some ReLU layer
    is off for every example), and the first/last layer gradient-norm ratio at step 0."""
    per_seed = []
    for seed, r in runs:
        diverged = not bool(np.all(np.isfinite(r.losses)))
        first, last = float(r.norms[0, 0]), float(r.norms[0, -1])
        per_seed.append({"seed": seed, "final_accuracy": encode_float(float(r.accs[-1])),
                         "final_loss": encode_float(float(r.losses[-1])), "diverged": diverged,
                         "dead_at_init": first == 0.0,
                         "ratio": encode_float(first / last) if last > 0 else None})
    ratios = [float(p["ratio"]) for p in per_seed if p["ratio"] is not None]
    return {"activation": activation, "seeds": len(runs),
            "solved": sum(1 for p in per_seed if p["final_accuracy"] == 1.0 and not p["diverged"]),
            "diverged": sum(p["diverged"] for p in per_seed), "dead_at_init": sum(p["dead_at_init"] for p in per_seed),
            "median_ratio": encode_float(float(np.median(ratios))) if ratios else None, "per_seed": per_seed}


def activation_curves(names: list[str], leaky_slope: float = LEAKY_SLOPE, lo: float = -5.0, hi: float = 5.0,
                      n: int = 201) -> dict:
    """Each activation and its derivative on a grid, from the gate table's own forward and local rules."""
    x = np.linspace(lo, hi, n)
    curves = {"x": encode_value(x)}
    for name in names:
        op = OPS[name]
        args = [x, np.asarray(leaky_slope)] if name == "leaky_relu" else [x]
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
        order = np.random.default_rng(cfg.seed + 1).integers(0, cfg.samples, (cfg.steps, cfg.batch_size))
        descend = _zigzag_descent
        if cfg.engine == "torch":
            from .torch_training import zigzag_descent as descend
        weights, grads, losses = descend(X, t, cfg.start, cfg.learning_rate, order)
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
    return {**header("zigzag", cfg.model_dump(), *(["torch"] if cfg.engine == "torch" else [])),
            "target": list(w_star), "runs": runs}


def _zigzag_descent(X: np.ndarray, t: np.ndarray, start, lr: float, order: np.ndarray):
    """Minibatch gradient descent of w . x on the squared loss: the weights before each step and after the
    last, each step's gradient, and the loss over the whole dataset before each step."""
    w = np.asarray(start, dtype=np.float64).copy()
    weights, grads, losses = [w.copy()], [], []
    for idx in order:
        err = X[idx] @ w - t[idx]
        g = X[idx].T @ err / len(idx)  # gradient of the batch's mean of (w.x - t)^2 / 2
        losses.append(float(np.mean((X @ w - t) ** 2) / 2))
        w = w - lr * g
        weights.append(w.copy())
        grads.append(g)
    return weights, grads, losses


# --- gradient-sign histograms ------------------------------------------------------------------------
def mlp_weight_grads(Ws: list[np.ndarray], bs: list[np.ndarray], x: np.ndarray, activation: str,
                     loss: str, target: float) -> list[np.ndarray]:
    """Weight gradients of one forward and backward pass through layers ``h @ W + b`` with a linear output.

    Each hidden layer's activation and its local gradient come from the gate table; the loss is the sum
    of the outputs or their mean squared error to ``target``. Checked against torch autograd in the tests.
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
    upstream = np.ones_like(h) if loss == "sum" else 2 * (h - target) / h.size
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
    if cfg.engine == "torch":
        from .torch_training import mlp_weight_grads as weight_grads
    else:
        weight_grads = mlp_weight_grads
    runs = []
    for act in cfg.activations:
        rng = np.random.default_rng(cfg.seed)
        sizes = [cfg.in_features] + [cfg.width] * cfg.depth + [cfg.out_features]
        bounds = [1 / np.sqrt(fan_in) for fan_in in sizes[:-1]]
        Ws = [rng.uniform(-lim, lim, (a, b)) for lim, a, b in zip(bounds, sizes, sizes[1:])]
        bs = [rng.uniform(-lim, lim, b) for lim, b in zip(bounds, sizes[1:])]
        x = rng.standard_normal((cfg.batch, cfg.in_features))
        hist = []
        for i, g in enumerate(weight_grads(Ws, bs, x, act, cfg.loss, cfg.target)):
            g = g.ravel()
            lim = float(np.max(np.abs(g))) or 1.0
            counts, edges = np.histogram(g, bins=cfg.bins, range=(-lim, lim))
            hist.append({"layer": i + 1, "edges": encode_value(edges), "counts": counts.tolist(),
                         "positive": int(np.sum(g > 0)), "negative": int(np.sum(g < 0)), "zero": int(np.sum(g == 0))})
        runs.append({"activation": act, "histograms": hist})
    return {**header("histograms", cfg.model_dump(), *(["torch"] if cfg.engine == "torch" else [])), "runs": runs}
