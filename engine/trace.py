"""Turn a finished graph (after forward and backward) into trace JSON, version 1.

Sits beside the engine rather than inside it, the way micrograd's draw_dot walks a finished graph.
Non-finite numbers are written as the strings "nan", "inf" and "-inf" so that any JSON reader can load
a trace; ``decode_value`` turns them back into floats.
"""
from __future__ import annotations

import json
import math
import platform
from importlib import metadata
from typing import Any

import numpy as np

from . import __version__
from .gradcheck import NumericGradient, excess_error, is_subgradient, relative_error
from .graph import BackwardStep, Graph
from .ops import OPS

TRACE_FORMAT = "backprop-trace"
TRACE_VERSION = 1


def encode_value(x) -> Any:
    """A number or nested list of numbers; non-finite floats become strings."""
    if x is None:
        return None
    arr = np.asarray(x, dtype=np.float64)
    if arr.ndim == 0:
        return encode_float(float(arr))
    return [encode_value(v) for v in arr]


def encode_float(v: float) -> float | str:
    if math.isnan(v):
        return "nan"
    if math.isinf(v):
        return "inf" if v > 0 else "-inf"
    return v + 0.0  # turns -0.0 into 0.0, so equal traces are equal bytes


def decode_value(x) -> np.ndarray:
    """Inverse of encode_value: a float64 array (0-d for a scalar)."""
    def conv(v):
        if isinstance(v, list):
            return [conv(i) for i in v]
        return float(v)  # float("nan"), float("inf") and float("-inf") parse the strings
    return np.asarray(conv(x), dtype=np.float64)


def versions(*packages: str) -> dict[str, str]:
    """Versions of the engine and the packages that shaped a trace's numbers."""
    out = {"engine": __version__, "python": platform.python_version()}
    for p in packages:
        out[p] = metadata.version(p)
    return out


def header(kind: str, config: dict, *packages: str) -> dict:
    """The keys every trace starts with, whatever its kind."""
    return {"format": TRACE_FORMAT, "version": TRACE_VERSION, "kind": kind, "config": config,
            "versions": versions("numpy", *packages)}


def graph_trace(graph: Graph, steps: list[BackwardStep], numeric: dict[str, NumericGradient], config: dict) -> dict:
    """The trace of one graph's forward and backward pass, with numerical gradients for its inputs."""
    nodes = []
    for n in graph.nodes:
        symbol = None
        if n.op not in ("input", "const"):
            symbol = OPS[n.op].symbol if n.op != "index" else f"[{', '.join(map(str, n.attrs['index']))}]"
        nodes.append(node_entry(n.id, n.op, n.label, n.value, n.grad, [i.id for i in n.inputs], symbol,
                                n.attrs, numeric.get(n.id)))
    return {
        **header("graph", config),
        "nodes": nodes,
        "output": graph.output.id,
        "forward": [n.id for n in graph.nodes],  # creation order is a topological order
        "backward": [step_entry(s.node.id, s.upstream, s.local, s.downstream, s.terms) for s in steps],
    }


def step_entry(node_id: str, upstream, local: list, downstream: list, terms: dict | None = None) -> dict:
    """One backward step of a graph trace, as every tracer writes it (ours and torch's). ``terms``: the
    named quantities its formula is written with (softmax-with-loss's y, t and N), when the op has them."""
    entry = {"node": node_id, "upstream": encode_value(upstream), "local": [encode_value(v) for v in local],
             "downstream": [encode_value(v) for v in downstream]}
    if terms:
        entry["terms"] = {name: encode_value(v) for name, v in terms.items()}
    return entry


def node_entry(node_id: str, op: str, label: str, value, grad, inputs: list[str], symbol: str | None = None,
               attrs: dict | None = None, numeric: NumericGradient | None = None, **extra) -> dict:
    """One node of a graph trace, as every tracer writes it (ours and torch's)."""
    entry = {"id": node_id, "op": op, "label": label, "value": encode_value(value), "grad": encode_value(grad),
             "inputs": inputs}
    if attrs:
        entry["attrs"] = {k: list(v) if isinstance(v, tuple) else v for k, v in attrs.items()}
    if symbol is not None:
        entry["symbol"] = symbol
    entry.update(extra)
    if numeric is not None:
        entry.update(_numeric_entry(grad, numeric))
    return entry


def _numeric_entry(grad: np.ndarray, ng: NumericGradient) -> dict:
    """numeric_grad and the largest relative error over the elements that can be compared; kinks (where
    the analytic gradient must be a subgradient instead) and unavailable elements listed with why."""
    comparable = np.array(np.isfinite(ng.value), dtype=bool)
    for k in ng.kinks:
        comparable[k.index] = False
    unavailable = dict(ng.unavailable)
    for idx in map(tuple, np.argwhere(np.isinf(grad))):
        comparable[idx] = False  # a vertical tangent (sqrt at 0): no finite difference can confirm it
        unavailable.setdefault(tuple(int(i) for i in idx), "the analytic gradient is infinite there")
    errors = relative_error(grad, ng.value, ng.error)[comparable]
    excess = excess_error(grad, ng.value, ng.error)[comparable]
    entry = {"numeric_grad": encode_value(ng.value),
             "relative_error": encode_float(float(np.max(errors))) if errors.size else None}
    if errors.size:  # what the check fails on: the error beyond the numerical estimate's own
        entry["excess_error"] = encode_float(float(np.max(excess)))
    if ng.kinks:
        entry["kinks"] = [{"index": list(k.index), "left": encode_float(k.left), "right": encode_float(k.right),
                           "subgradient": is_subgradient(float(grad[k.index]), k)} for k in ng.kinks]
    if unavailable:
        entry["numeric_unavailable"] = {"count": len(unavailable), "reason": next(iter(unavailable.values()))}
    return entry


def dumps(trace: dict) -> str:
    """Serialise deterministically: fixed key order, shortest round-trip floats."""
    return json.dumps(trace, indent=1, ensure_ascii=False, allow_nan=False) + "\n"
