"""Read-only views of trace JSON for scenes: values decoded to arrays, nothing computed."""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from engine.trace import TRACE_FORMAT, TRACE_VERSION, decode_value


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

    @property
    def is_leaf(self) -> bool:
        return self.op in ("input", "const")


@dataclass
class Step:
    node: str
    upstream: np.ndarray
    local: list[np.ndarray | None]
    downstream: list[np.ndarray | None]


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
                                    n.get("kinks", []), n.get("numeric_unavailable"), n.get("attrs", {}))
                 for n in part["nodes"]}
        steps = [Step(s["node"], dec(s["upstream"]), [dec(v) for v in s["local"]],
                      [dec(v) for v in s["downstream"]]) for s in part["backward"]]
        return cls(nodes, part["output"], part["forward"], steps, d["config"])

    def alternative(self, d: dict) -> "GraphTrace | None":
        return GraphTrace.from_dict(d, d["alternative"]) if "alternative" in d else None

    @property
    def inputs(self) -> list[TraceNode]:
        return [n for n in self.nodes.values() if n.op == "input"]

    def consumers(self, node_id: str) -> list[str]:
        return [n.id for n in self.nodes.values() if node_id in n.inputs]


def read_trace(path: str | Path) -> dict:
    """Load a trace file and check that it is one this version of the scenes can read."""
    try:
        d = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as e:
        raise TraceError(f"{path}: not a readable trace: {e}") from None
    if d.get("format") != TRACE_FORMAT or d.get("version") != TRACE_VERSION:
        raise TraceError(f"{path}: expected {TRACE_FORMAT} version {TRACE_VERSION}, "
                         f"got {d.get('format')!r} version {d.get('version')!r}")
    return d
