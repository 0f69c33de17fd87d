"""The training experiments written the way a torch user writes them (`engine: torch` in a config):
nn.Sequential of nn.Linear, gradients captured with hooks, as the PyTorch experiment the gradient-sign
histograms come from did. The fast numpy/numba paths are tested against these."""
from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

ACTIVATIONS = {"sigmoid": nn.Sigmoid, "tanh": nn.Tanh, "relu": nn.ReLU, "leaky_relu": nn.LeakyReLU}
DTYPES = {"float64": torch.float64, "float32": torch.float32}


def mlp(Ws: list[np.ndarray], bs: list[np.ndarray], activation: str, alpha: float = 0.01,
        dtype: torch.dtype = torch.float64) -> nn.Sequential:
    """Linear layers holding the given weights (``h @ W + b``: nn.Linear keeps W transposed), with the
    activation between them and a linear output."""
    layers: list[nn.Module] = []
    for i, (W, b) in enumerate(zip(Ws, bs)):
        linear = nn.Linear(*W.shape, dtype=dtype)
        with torch.no_grad():
            linear.weight.copy_(torch.as_tensor(W.T))
            linear.bias.copy_(torch.as_tensor(b))
        layers.append(linear)
        if i < len(Ws) - 1:
            layers.append(nn.LeakyReLU(alpha) if activation == "leaky_relu" else ACTIVATIONS[activation]())
    return nn.Sequential(*layers)


def mlp_weight_grads(Ws: list[np.ndarray], bs: list[np.ndarray], x: np.ndarray, activation: str,
                     loss: str, target: float) -> list[np.ndarray]:
    """Each layer's weight gradient from one backward pass, caught by a hook on its weight as it is
    computed (in the ``h @ W`` layout of engine.training, so both paths give the same arrays)."""
    model = mlp(Ws, bs, activation)
    linears = [m for m in model if isinstance(m, nn.Linear)]
    caught: dict[int, np.ndarray] = {}
    for i, layer in enumerate(linears):
        layer.weight.register_hook(lambda g, i=i: caught.__setitem__(i, g.detach().numpy().T.copy()))
    out = model(torch.as_tensor(x, dtype=torch.float64))
    value = out.sum() if loss == "sum" else nn.functional.mse_loss(out, torch.full_like(out, target))
    value.backward()
    return [caught[i] for i in range(len(linears))]


class VanishingRun:
    """One vanishing-gradient run on torch: full-batch torch.optim.SGD on a binary cross-entropy, each
    layer's weight-gradient norm caught by a hook. The same interface as engine.compiled_mlp.Run (so
    engine.training trains, records and summarises both alike), and the same steps: every step is a pass,
    recorded every ``every`` steps and at the last one, then an update unless it is the last."""

    def __init__(self, Ws, bs, X, y, activation: str, alpha: float, lr: float, steps: int, every: int,
                 dtype=np.float64, naive: bool = False):
        from .compiled_mlp import record_steps

        self.dtype = DTYPES[np.dtype(dtype).name]
        self.model = mlp(Ws, bs, activation, alpha, self.dtype)
        self.opt = torch.optim.SGD(self.model.parameters(), lr=lr)
        self.X = torch.as_tensor(X, dtype=self.dtype)
        self.y = torch.as_tensor(y, dtype=self.dtype)
        self.naive, self.steps, self.every, self.next = naive, steps, every, 0
        self.weights = [m.weight for m in self.model if isinstance(m, nn.Linear)]
        self._norms = [math.nan] * len(self.weights)
        self._recording = False  # a recorded step's backward: only then are the norms worth their time
        for i, w in enumerate(self.weights):
            w.register_hook(lambda g, i=i: self._norms.__setitem__(i, float(torch.linalg.vector_norm(g.double())))
                            if self._recording else None)
        nrec = len(record_steps(steps, every))
        self.losses, self.accs = np.full(nrec, np.nan), np.full(nrec, np.nan)
        self.norms = np.full((nrec, len(Ws)), np.nan)
        self.finished = False

    def _loss(self, logit: torch.Tensor) -> torch.Tensor:
        if self.naive:  # written out, as the TensorFlow run did: log(0) once h rounds to 0 or 1
            h = torch.sigmoid(logit)
            return -(self.y * torch.log(h) + (1 - self.y) * torch.log(1 - h)).mean()
        return F.binary_cross_entropy_with_logits(logit, self.y)

    def advance(self, chunk: int) -> int:
        """Run up to ``chunk`` more steps; returns how many were run (0 once finished)."""
        if self.finished:
            return 0
        stop = min(self.next + chunk, self.steps + 1)
        start = self.next
        for step in range(start, stop):
            logit = self.model(self.X)[:, 0]
            loss = self._loss(logit)
            self.opt.zero_grad()
            self._recording = step % self.every == 0 or step == self.steps
            loss.backward()
            value = loss.item()
            if self._recording:
                r = (step + self.every - 1) // self.every
                self.losses[r] = value
                self.accs[r] = float(((logit > 0) == (self.y > 0.5)).double().mean())
                self.norms[r] = self._norms
            if not math.isfinite(value):
                self.next, self.finished = step + 1, True
                return step + 1 - start
            if step < self.steps:
                self.opt.step()
        self.next = stop
        self.finished = stop > self.steps
        return stop - start

    def flops_per_step(self) -> int:
        sizes = [self.X.shape[1]] + [w.shape[0] for w in self.weights]
        return int(6 * self.X.shape[0] * sum(a * b for a, b in zip(sizes, sizes[1:])))


def zigzag_descent(X: np.ndarray, t: np.ndarray, start, lr: float, order: np.ndarray):
    """Minibatch descent of a linear neuron w . x on the squared loss with torch.optim.SGD: the weights
    before each step and after the last, each step's gradient, and the loss over the dataset per step."""
    Xt, tt = torch.as_tensor(X), torch.as_tensor(t)
    w = torch.tensor(np.asarray(start, dtype=np.float64), requires_grad=True)
    opt = torch.optim.SGD([w], lr=lr)
    weights, grads, losses = [w.detach().numpy().copy()], [], []
    for idx in order:
        idx = torch.as_tensor(idx)
        with torch.no_grad():
            losses.append(float(((Xt @ w - tt) ** 2).mean() / 2))
        opt.zero_grad()
        (((Xt[idx] @ w - tt[idx]) ** 2).mean() / 2).backward()
        grads.append(w.grad.numpy().copy())
        opt.step()
        weights.append(w.detach().numpy().copy())
    return weights, grads, losses
