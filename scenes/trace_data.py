"""Read-only views of trace JSON for scenes: values decoded to arrays, nothing computed."""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from engine.expr import NAME, PARAM_NAME
from engine.io import InputError, read_input
from engine.ops import OPS, TORCH_OP
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

    def consumers(self, node_id: str) -> list[str]:
        return [n.id for n in self.nodes.values() if node_id in n.inputs]


MAX_TRACE_BYTES = 200_000_000
NUMBER_LABEL = re.compile(r"-?(?:[0-9]+(?:\.[0-9]*)?(?:e[-+][0-9]+)?|inf)")  # f"{value:g}" of a literal
TERM_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,7}")  # a step's terms: y, t, N
ACTIVATIONS = {"sigmoid", "tanh", "relu", "leaky_relu"}


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
    except _Invalid as e:
        raise TraceError(f"{path}: not a valid trace: {e}") from None
    return d


class _Invalid(ValueError):
    pass


def _check(ok: bool, where: str, what: str) -> None:
    if not ok:
        raise _Invalid(f"{where}: {what}")


def _is_number(v) -> bool:
    return (isinstance(v, (int, float)) and not isinstance(v, bool)) or v in ("nan", "inf", "-inf")


def _check_value(v, where: str, depth: int = 0) -> None:
    """A number, or a (nested) list of them, as encode_value writes."""
    if isinstance(v, list):
        _check(depth < 6, where, "nested too deeply")
        for i, item in enumerate(v):
            _check_value(item, where, depth + 1)
    else:
        _check(_is_number(v), where, f"expected a number, got {str(v)[:40]!r}")


def _check_values(d: dict, keys, where: str) -> None:
    for k in keys:
        _check(k in d, where, f"key {k!r} is missing")
        _check_value(d[k], f"{where}.{k}")


def validate(d) -> None:
    """Raise _Invalid (naming where) unless ``d`` is a trace the scenes can draw safely."""
    _check(isinstance(d, dict), "trace", "must be an object")
    _check(d.get("format") == TRACE_FORMAT and d.get("version") == TRACE_VERSION, "trace",
           f"expected {TRACE_FORMAT} version {TRACE_VERSION}, got {str(d.get('format'))[:40]!r} "
           f"version {str(d.get('version'))[:20]!r}")
    config = d.get("config")
    _check(isinstance(config, dict), "config", "must be an object")
    scene = config.get("scene")
    _check(isinstance(scene, str) and scene in SCENE_KINDS, "config.scene", f"unknown scene kind {str(scene)[:40]!r}")
    for key in ("title", "expression", "alternative"):
        _check(config.get(key) is None or isinstance(config[key], str) and len(config[key]) <= 10_000,
               f"config.{key}", "must be text")
    _check(d.get("kind") == SCENE_KINDS[scene], "kind", f"a {scene} scene needs a {SCENE_KINDS[scene]} trace")
    if d["kind"] == "graph":
        _check_graph(d, "trace")
        if "alternative" in d:
            _check_graph(d["alternative"], "alternative")
    else:
        _check_training(d)


def _check_graph(part, where: str) -> None:
    _check(isinstance(part, dict), where, "must be an object")
    nodes = part.get("nodes")
    _check(isinstance(nodes, list) and nodes, f"{where}.nodes", "must be a non-empty list")
    ids = {}
    for i, n in enumerate(nodes):
        w = f"{where}.nodes[{i}]"
        _check(isinstance(n, dict), w, "must be an object")
        _check(isinstance(n.get("id"), str) and n["id"] not in ids, f"{w}.id", "must be a new id")
        op, label = n.get("op"), n.get("label")
        _check(op in ("input", "const", TORCH_OP) or op in OPS, f"{w}.op", f"unknown op {str(op)[:40]!r}")
        _check(isinstance(label, str) and (NAME.fullmatch(label) is not None or
                                           op == "input" and PARAM_NAME.fullmatch(label) is not None or
                                           op == "const" and NUMBER_LABEL.fullmatch(label) is not None),
               f"{w}.label", f"must be a name or a number, got {str(label)[:40]!r}")
        _check(isinstance(n.get("inputs"), list) and all(isinstance(x, str) and x in ids for x in n["inputs"]),
               f"{w}.inputs", "must list ids of earlier nodes")
        attrs = n.get("attrs", {})  # a parameter's layer class (Linear) reaches LaTeX: a name or nothing
        _check(isinstance(attrs, dict) and (attrs.get("module") is None or isinstance(attrs["module"], str)
                                            and NAME.fullmatch(attrs["module"]) is not None),
               f"{w}.attrs", f"must be an object whose module is a name, got {str(attrs)[:40]!r}")
        _check_value(n.get("value"), f"{w}.value")
        for key in ("grad", "numeric_grad"):
            if n.get(key) is not None:
                _check_value(n[key], f"{w}.{key}")
        for key in ("relative_error", "excess_error"):
            _check(n.get(key) is None or _is_number(n[key]), f"{w}.{key}", "must be a number")
        if op not in ("input", "const"):
            _check(isinstance(n.get("symbol"), str) and len(n["symbol"]) <= 12, f"{w}.symbol", "must be short text")
        ids[n["id"]] = n
    _check(part.get("output") in ids, f"{where}.output", "must be a node's id")
    _check(isinstance(part.get("forward"), list) and sorted(map(str, part["forward"])) == sorted(ids),
           f"{where}.forward", "must list every node once")
    _check(isinstance(part.get("backward"), list), f"{where}.backward", "must be a list")
    for i, step in enumerate(part["backward"]):
        w = f"{where}.backward[{i}]"
        _check(isinstance(step, dict) and step.get("node") in ids, f"{w}.node", "must be a node's id")
        arity = len(ids[step["node"]]["inputs"])
        for key in ("local", "downstream"):
            _check(isinstance(step.get(key), list) and len(step[key]) == arity, f"{w}.{key}",
                   "must have one entry per input")
            for v in step[key]:
                if v is not None:
                    _check_value(v, f"{w}.{key}")
        _check_value(step.get("upstream"), f"{w}.upstream")
        if "terms" in step:
            terms = step["terms"]
            _check(isinstance(terms, dict) and len(terms) <= 8 and all(TERM_NAME.fullmatch(k) for k in terms),
                   f"{w}.terms", "must map a few short names to values")
            for k, v in terms.items():
                _check_value(v, f"{w}.terms.{k}")


def _check_training(d: dict) -> None:
    runs = d.get("runs")
    _check(isinstance(runs, list) and runs, "runs", "must be a non-empty list")
    for i, r in enumerate(runs):
        w = f"runs[{i}]"
        _check(isinstance(r, dict) and r.get("activation") in ACTIVATIONS, f"{w}.activation", "unknown activation")
        if d["kind"] == "vanishing":
            _check_values(r, ("steps", "loss", "accuracy", "grad_norms"), w)
        elif d["kind"] == "zigzag":
            _check_values(r, ("weights", "grads", "loss"), w)
            _check_values(r.get("contour", {}), ("w1", "w2", "loss"), f"{w}.contour")
        else:
            _check(isinstance(r.get("histograms"), list), f"{w}.histograms", "must be a list")
            for k, h in enumerate(r["histograms"]):
                _check(isinstance(h, dict), f"{w}.histograms[{k}]", "must be an object")
                _check_values(h, ("layer", "edges", "counts", "positive", "negative", "zero"), f"{w}.histograms[{k}]")
    if d["kind"] == "vanishing":
        curves = d.get("activation_curves")
        _check(isinstance(curves, dict) and "x" in curves, "activation_curves", "must be an object with x")
        for name, c in curves.items():
            _check(name == "x" or name in ACTIVATIONS and isinstance(c, dict), f"activation_curves.{name}",
                   "unknown activation")
            if name != "x":
                _check_values(c, ("f", "df", "max_df"), f"activation_curves.{name}")
        for i, s in enumerate(d.get("seed_summary", [])):
            _check(isinstance(s, dict) and s.get("activation") in ACTIVATIONS, f"seed_summary[{i}]", "unknown activation")
            for key in ("seeds", "solved", "diverged", "dead_at_init"):
                _check(isinstance(s.get(key), int), f"seed_summary[{i}].{key}", "must be a whole number")
    if d["kind"] == "zigzag":
        _check_values(d, ("target",), "trace")


SCENE_KINDS = {**{k: "graph" for k in ("graph", "gates", "sigmoid_gate", "vectors", "layers", "gradcheck")},
               "vanishing": "vanishing", "zigzag": "zigzag", "histograms": "histograms"}
