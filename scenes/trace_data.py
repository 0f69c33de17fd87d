"""Read-only views of trace JSON for scenes: values decoded to arrays, nothing computed."""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from infra.io import InputError, read_input
from engine.trace import decode_value
from engine.trace_check import InvalidTrace, validate  # (the format is checked in the engine, which writes it)


class TraceError(ValueError):
    pass


@dataclass
class TraceNode:
    id: str
    op: str
    label: str
    symbol: str
    inputs: list[str]
    value: np.ndarray
    grad: np.ndarray | None
    numeric_grad: np.ndarray | None
    relative_error: float | None
    kinks: list[dict]  # where the output is not differentiable in this input (gradient check)
    numeric_unavailable: dict | None  # elements the gradient check could not probe, and why
    attrs: dict  # a reduction's axis, a subscript's index
    excess_error: float | None = None  # the relative error beyond the numerical estimate's own: the verdict

    @property
    def is_leaf(self) -> bool:
        return self.op in ("input", "const")


@dataclass
class Step:
    node: str
    upstream: np.ndarray
    local: list[np.ndarray | None]
    downstream: list[np.ndarray | None]
    terms: dict[str, np.ndarray] | None = None  # the quantities the op's formula is written with (y, t, N)


@dataclass
class GraphTrace:
    nodes: dict[str, TraceNode]
    output: str
    forward: list[str]
    backward: list[Step]
    config: dict

    @classmethod
    def from_dict(cls, d: dict, part: dict | None = None) -> "GraphTrace":
        part = part or d

        def dec(v):
            return None if v is None else decode_value(v)

        nodes = {n["id"]: TraceNode(n["id"], n["op"], n["label"], n.get("symbol", ""), n["inputs"], dec(n["value"]),
                                    dec(n.get("grad")), dec(n.get("numeric_grad")),
                                    None if n.get("relative_error") is None else float(dec(n["relative_error"])),
                                    n.get("kinks", []), n.get("numeric_unavailable"), n.get("attrs", {}),
                                    None if n.get("excess_error") is None else float(dec(n["excess_error"])))
                 for n in part["nodes"]}
        steps = [Step(s["node"], dec(s["upstream"]), [dec(v) for v in s["local"]],
                      [dec(v) for v in s["downstream"]],
                      {k: dec(v) for k, v in s["terms"].items()} if "terms" in s else None) for s in part["backward"]]
        return cls(nodes, part["output"], part["forward"], steps, d["config"])

    def alternative(self, d: dict) -> "GraphTrace | None":
        return GraphTrace.from_dict(d, d["alternative"]) if "alternative" in d else None

    @property
    def inputs(self) -> list[TraceNode]:
        return [n for n in self.nodes.values() if n.op == "input"]


MAX_TRACE_BYTES = 200_000_000


def read_trace(path: str | Path) -> dict:
    """Load a trace file and check it against the trace schema before anything is drawn from it.

    A trace may come from anywhere (`render` accepts a JSON file), so nothing in it is trusted: labels
    must be names or numbers (they reach LaTeX), values numbers or the strings nan/inf/-inf, and every id
    must refer to a node. A file that fails is a TraceError with one line, never a drawing.
    """
    path = Path(path)
    try:
        d = json.loads(read_input(path, MAX_TRACE_BYTES))
    except InputError as e:
        raise TraceError(str(e)) from None
    except (OSError, ValueError, RecursionError) as e:
        raise TraceError(f"{path}: not a readable trace: {str(e).splitlines()[0][:200]}") from None
    try:
        validate(d)
    except InvalidTrace as e:
        raise TraceError(f"{path}: not a valid trace: {e}") from None
    return d
