"""What a trace must hold before anything is drawn from it, one check per kind of trace.

A trace may come from anywhere (`render` accepts a JSON file), so nothing in it is trusted: labels must be
names or numbers (they reach LaTeX), values numbers or the strings nan/inf/-inf, and every id must refer to
a node. ``validate`` checks the header, then the check the trace's scene kind names in the registry
(engine.config.KINDS).
"""
from __future__ import annotations

import re

from .config import KINDS
from .expr import NAME, PARAM_NAME
from .ops import ACTIVATIONS, OPS, TORCH_OP
from .trace import TRACE_FORMAT, TRACE_VERSION

NUMBER_LABEL = re.compile(r"-?(?:[0-9]+(?:\.[0-9]*)?(?:e[-+][0-9]+)?|inf)")  # f"{value:g}" of a literal
TERM_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,7}")  # a step's terms: y, t, N


class InvalidTrace(ValueError):
    """A trace that is not safe to draw; the message names where (``runs[2].loss``)."""


def check(ok: bool, where: str, what: str) -> None:
    if not ok:
        raise InvalidTrace(f"{where}: {what}")


def is_number(v) -> bool:
    return (isinstance(v, (int, float)) and not isinstance(v, bool)) or v in ("nan", "inf", "-inf")


def check_value(v, where: str, depth: int = 0) -> None:
    """A number, or a (nested) list of them, as encode_value writes."""
    if isinstance(v, list):
        check(depth < 6, where, "nested too deeply")
        for i, item in enumerate(v):
            check_value(item, where, depth + 1)
    else:
        check(is_number(v), where, f"expected a number, got {str(v)[:40]!r}")


def check_values(d: dict, keys, where: str) -> None:
    for k in keys:
        check(k in d, where, f"key {k!r} is missing")
        check_value(d[k], f"{where}.{k}")


def validate(d) -> None:
    """Raise InvalidTrace (naming where) unless ``d`` is a trace the scenes can draw safely: the header
    here, the rest by the check its kind registered (engine.config.KINDS)."""
    check(isinstance(d, dict), "trace", "must be an object")
    check(d.get("format") == TRACE_FORMAT and d.get("version") == TRACE_VERSION, "trace",
          f"expected {TRACE_FORMAT} version {TRACE_VERSION}, got {str(d.get('format'))[:40]!r} "
          f"version {str(d.get('version'))[:20]!r}")
    config = d.get("config")
    check(isinstance(config, dict), "config", "must be an object")
    scene = config.get("scene")
    check(isinstance(scene, str) and scene in KINDS, "config.scene", f"unknown scene kind {str(scene)[:40]!r}")
    kind = KINDS[scene]
    for key in ("title", "expression", "alternative"):
        check(config.get(key) is None or isinstance(config[key], str) and len(config[key]) <= 10_000,
              f"config.{key}", "must be text")
    check(d.get("kind") == kind.trace_kind, "kind", f"a {scene} scene needs a {kind.trace_kind} trace")
    kind.check(d)


def _check_graph(part, where: str) -> None:
    check(isinstance(part, dict), where, "must be an object")
    nodes = part.get("nodes")
    check(isinstance(nodes, list) and nodes, f"{where}.nodes", "must be a non-empty list")
    ids = {}
    for i, n in enumerate(nodes):
        w = f"{where}.nodes[{i}]"
        check(isinstance(n, dict), w, "must be an object")
        check(isinstance(n.get("id"), str) and n["id"] not in ids, f"{w}.id", "must be a new id")
        op, label = n.get("op"), n.get("label")
        check(op in ("input", "const", TORCH_OP) or op in OPS, f"{w}.op", f"unknown op {str(op)[:40]!r}")
        check(isinstance(label, str) and (NAME.fullmatch(label) is not None or
                                          op == "input" and PARAM_NAME.fullmatch(label) is not None or
                                          op == "const" and NUMBER_LABEL.fullmatch(label) is not None),
              f"{w}.label", f"must be a name or a number, got {str(label)[:40]!r}")
        check(isinstance(n.get("inputs"), list) and all(isinstance(x, str) and x in ids for x in n["inputs"]),
              f"{w}.inputs", "must list ids of earlier nodes")
        attrs = n.get("attrs", {})  # a parameter's layer class (Linear) reaches LaTeX: a name or nothing
        check(isinstance(attrs, dict) and (attrs.get("module") is None or isinstance(attrs["module"], str)
                                           and NAME.fullmatch(attrs["module"]) is not None),
              f"{w}.attrs", f"must be an object whose module is a name, got {str(attrs)[:40]!r}")
        check_value(n.get("value"), f"{w}.value")
        for key in ("grad", "numeric_grad"):
            if n.get(key) is not None:
                check_value(n[key], f"{w}.{key}")
        for key in ("relative_error", "excess_error"):
            check(n.get(key) is None or is_number(n[key]), f"{w}.{key}", "must be a number")
        if op not in ("input", "const"):
            check(isinstance(n.get("symbol"), str) and len(n["symbol"]) <= 12, f"{w}.symbol", "must be short text")
        ids[n["id"]] = n
    check(part.get("output") in ids, f"{where}.output", "must be a node's id")
    check(isinstance(part.get("forward"), list) and sorted(map(str, part["forward"])) == sorted(ids),
          f"{where}.forward", "must list every node once")
    check(isinstance(part.get("backward"), list), f"{where}.backward", "must be a list")
    for i, step in enumerate(part["backward"]):
        w = f"{where}.backward[{i}]"
        check(isinstance(step, dict) and step.get("node") in ids, f"{w}.node", "must be a node's id")
        arity = len(ids[step["node"]]["inputs"])
        for key in ("local", "downstream"):
            check(isinstance(step.get(key), list) and len(step[key]) == arity, f"{w}.{key}",
                  "must have one entry per input")
            for v in step[key]:
                if v is not None:
                    check_value(v, f"{w}.{key}")
        check_value(step.get("upstream"), f"{w}.upstream")
        if "terms" in step:
            terms = step["terms"]
            check(isinstance(terms, dict) and len(terms) <= 8 and all(TERM_NAME.fullmatch(k) for k in terms),
                  f"{w}.terms", "must map a few short names to values")
            for k, v in terms.items():
                check_value(v, f"{w}.terms.{k}")


def check_graph_trace(d: dict) -> None:
    """A graph trace: its nodes and steps, and those of the alternative route when there is one."""
    _check_graph(d, "trace")
    if "alternative" in d:
        _check_graph(d["alternative"], "alternative")


def check_runs(d: dict, check_run) -> None:
    """A training trace's runs: a non-empty list, each of a known activation, each checked by
    ``check_run(run, where)``."""
    runs = d.get("runs")
    check(isinstance(runs, list) and runs, "runs", "must be a non-empty list")
    for i, r in enumerate(runs):
        w = f"runs[{i}]"
        check(isinstance(r, dict) and r.get("activation") in ACTIVATIONS, f"{w}.activation", "unknown activation")
        check_run(r, w)


def check_vanishing_trace(d: dict) -> None:
    check_runs(d, lambda r, w: check_values(r, ("steps", "loss", "accuracy", "grad_norms"), w))
    curves = d.get("activation_curves")
    check(isinstance(curves, dict) and "x" in curves, "activation_curves", "must be an object with x")
    for name, c in curves.items():
        check(name == "x" or name in ACTIVATIONS and isinstance(c, dict), f"activation_curves.{name}",
              "unknown activation")
        if name != "x":
            check_values(c, ("f", "df", "max_df"), f"activation_curves.{name}")
    for i, s in enumerate(d.get("seed_summary", [])):
        check(isinstance(s, dict) and s.get("activation") in ACTIVATIONS, f"seed_summary[{i}]", "unknown activation")
        for key in ("seeds", "solved", "diverged", "dead_at_init"):
            check(isinstance(s.get(key), int), f"seed_summary[{i}].{key}", "must be a whole number")


def check_zigzag_trace(d: dict) -> None:
    def run(r, w):
        check_values(r, ("weights", "grads", "loss"), w)
        check_values(r.get("contour", {}), ("w1", "w2", "loss"), f"{w}.contour")
    check_runs(d, run)
    check_values(d, ("target",), "trace")


def check_histograms_trace(d: dict) -> None:
    def run(r, w):
        check(isinstance(r.get("histograms"), list), f"{w}.histograms", "must be a list")
        for k, h in enumerate(r["histograms"]):
            check(isinstance(h, dict), f"{w}.histograms[{k}]", "must be an object")
            check_values(h, ("layer", "edges", "counts", "positive", "negative", "zero"), f"{w}.histograms[{k}]")
    check_runs(d, run)
