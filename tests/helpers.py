"""Shared test helpers: trace a config dict, and evaluate the same graph with torch autograd."""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from engine.config import parse_config
from engine.expr import parse_expression
from engine.run import trace_config
from engine.trace import decode_value

TORCH_OPS = {
    "add": torch.add, "sub": torch.sub, "mul": torch.mul, "div": torch.div, "neg": torch.neg,
    "pow": torch.pow, "exp": torch.exp, "log": torch.log, "max": torch.maximum, "min": torch.minimum,
    "abs": torch.abs, "sigmoid": torch.sigmoid, "tanh": torch.tanh, "relu": torch.relu,
    "leaky_relu": lambda x, s: F.leaky_relu(x, float(s)), "matmul": torch.matmul, "sum": torch.sum,
    "softmax_cross_entropy": lambda x, t: F.cross_entropy(x, t),
}


def trace_of(expression: str, inputs: dict, constants: dict | None = None, scene: str = "graph") -> dict:
    cfg = {"scene": scene, "expression": expression, "inputs": inputs}
    if constants:
        cfg["constants"] = constants
    return trace_config(parse_config(cfg))


def torch_reference(expression: str, inputs: dict, constants: dict | None = None):
    """(output value, {input name: gradient}) computed by torch autograd in float64."""
    graph = parse_expression(expression, list(inputs), constants or {})
    leaves = {k: torch.tensor(np.asarray(v, dtype=np.float64), requires_grad=True) for k, v in inputs.items()}
    values = {}
    for n in graph.nodes:
        if n.op == "input":
            values[n.id] = leaves[n.label]
        elif n.op == "const":
            values[n.id] = torch.tensor(n.value, dtype=torch.float64)
        else:
            values[n.id] = TORCH_OPS[n.op](*(values[i.id] for i in n.inputs))
    out = values[graph.output.id]
    out.backward()
    grads = {k: (t.grad.numpy() if t.grad is not None else np.zeros_like(t.detach().numpy()))
             for k, t in leaves.items()}
    return out.detach().numpy(), grads


def node_by_label(trace: dict, label: str) -> dict:
    return next(n for n in trace["nodes"] if n["label"] == label)


def grads_of(trace: dict) -> dict[str, np.ndarray]:
    return {n["label"]: decode_value(n["grad"]) for n in trace["nodes"] if n["op"] == "input"}


def output_value(trace: dict) -> np.ndarray:
    return decode_value(next(n for n in trace["nodes"] if n["id"] == trace["output"])["value"])
