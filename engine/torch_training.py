"""The training experiments written the way a torch user writes them (`engine: torch` in a config):
nn.Sequential of nn.Linear, gradients captured with hooks, as the PyTorch experiment the gradient-sign
histograms come from did. The fast numpy/numba paths are tested against these."""
from __future__ import annotations

import numpy as np
import torch
from torch import nn

ACTIVATIONS = {"sigmoid": nn.Sigmoid, "tanh": nn.Tanh, "relu": nn.ReLU}


def mlp(Ws: list[np.ndarray], bs: list[np.ndarray], activation: str) -> nn.Sequential:
    """Linear layers holding the given weights (``h @ W + b``: nn.Linear keeps W transposed), with the
    activation between them and a linear output."""
    layers: list[nn.Module] = []
    for i, (W, b) in enumerate(zip(Ws, bs)):
        linear = nn.Linear(*W.shape).double()
        with torch.no_grad():
            linear.weight.copy_(torch.as_tensor(W.T))
            linear.bias.copy_(torch.as_tensor(b))
        layers.append(linear)
        if i < len(Ws) - 1:
            layers.append(ACTIVATIONS[activation]())
    return nn.Sequential(*layers)


def mlp_weight_grads(Ws: list[np.ndarray], bs: list[np.ndarray], x: np.ndarray, activation: str,
                     loss: str, target: float = 0.0) -> list[np.ndarray]:
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
