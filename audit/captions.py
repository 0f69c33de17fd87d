"""What captions and notes say in numbers, checked against the trace.

A number in a caption (or a note, a legend, a table cell: text that is not a graph's label, a formula or
an axis) must be one the trace holds, written as the screen writes numbers (engine/numfmt.py, three
significant digits; a count as its integer), or a number the caption's own wording has (the "1" of
"local gradient 1"). In a clause that names one run ("tanh (9/10)", "ReLU ≤ 1"), its numbers must be
that run's: an activation's counts, values and ratios, or the experiment's shared numbers (the config).
So a caption that gives one run's count to another, or a count the trace does not have, is caught; a
caption that says something true in numbers is never flagged (every number it can state is allowed).
"""
from __future__ import annotations

import math
import re

import numpy as np

from engine.numfmt import format_number
from scenes.style import CAPTIONS

CHECKED_KINDS = ("caption", "text", "legend")  # not: a graph's values and names, formulas, axes, titles (the user's)
NUMBER = re.compile(r"(?<![\w.^])[-−+]?\d+(?:\.\d+)?(?:e[-−+]?\d+)?(?![\w.]*[a-df-zA-Z_])")
PLACEHOLDER = re.compile(r"\{[a-z_]+\}")
CLAUSE = re.compile(r"[;,\n]")  # "tanh (9/10), ReLU (5/10)": one run each
SKIPPED_KEYS = {"versions", "format", "version"}


def _normal(token: str) -> str:
    return token.replace("−", "-").lstrip("+").lstrip("-")


def _forms(x: float) -> set[str]:
    """How the screen may write x (without its sign): numfmt's three significant digits, or an integer."""
    if not math.isfinite(x):
        return set()
    out = {_normal(format_number(x))}
    if x == int(x):
        out.add(str(abs(int(x))))
    return out


def _numbers(obj, key: str = "") -> list[float]:
    """Every number in a piece of the trace (its lists' lengths too: a count of steps or seeds)."""
    if isinstance(obj, bool):
        return []
    if isinstance(obj, (int, float)):
        x = float(obj)
        # a ratio is also said in orders of magnitude ("4 orders of magnitude below")
        return [x, float(math.floor(-math.log10(abs(x))))] if "ratio" in key and 0 < abs(x) < 1 else [x]
    if isinstance(obj, str):
        try:
            return [float(obj)]  # "nan", "inf": said as words, never as digits
        except ValueError:
            return []
    if isinstance(obj, dict):
        return [x for k, v in obj.items() if k not in SKIPPED_KEYS for x in _numbers(v, k)]
    if isinstance(obj, list):
        return [float(len(obj))] + [x for v in obj for x in _numbers(v, key)]
    return []


def _formatted(xs: list[float]) -> set[str]:
    out: set[str] = set()
    for x in np.unique(np.asarray(xs, dtype=float)):
        out |= _forms(float(x))
    return out


def _entities(trace: dict, names: dict[str, str]) -> dict[str, list]:
    """The pieces of the trace that belong to one named run (an activation), by the name screens use."""
    found: dict[str, list] = {}

    def visit(obj):
        if isinstance(obj, dict):
            if isinstance(obj.get("activation"), str):
                found.setdefault(names.get(obj["activation"], obj["activation"]), []).append(obj)
            for k, v in obj.items():
                if k not in SKIPPED_KEYS:
                    visit(v)
        elif isinstance(obj, list):
            for v in obj:
                visit(v)
    visit(trace)
    for name, curve in (trace.get("activation_curves") or {}).items():
        if isinstance(curve, dict):
            found.setdefault(names.get(name, name), []).append(curve)
    return found


class CaptionCheck:
    """Built once per trace; ``__call__(frame)`` returns a message per number the trace does not have."""

    def __init__(self, trace: dict, names: dict[str, str] | None = None):
        self.trace = trace
        self.names = names or {}
        self._ready = False

    def _prepare(self):
        self.everything = _formatted(_numbers(self.trace))
        self.wording = {_normal(t) for lang in CAPTIONS.values() for text in lang.values()
                        for t in NUMBER.findall(PLACEHOLDER.sub(" ", text))}
        self.shared = _formatted(_numbers(self.trace.get("config", {})))
        self.own = {name: _formatted(_numbers(parts)) for name, parts in _entities(self.trace, self.names).items()}
        # longest first: "leaky ReLU" is not "ReLU"
        self.entity = re.compile("|".join(re.escape(n) for n in sorted(self.own, key=len, reverse=True))) if self.own else None
        self._ready = True

    def __call__(self, frame) -> list[str]:
        problems = []
        for t in frame.texts:
            if t.kind not in CHECKED_KINDS or not NUMBER.search(t.string):
                continue
            if not self._ready:
                self._prepare()
            problems += self.check_text(t.kind, t.string)
        return problems

    def check_text(self, kind: str, text: str) -> list[str]:
        if not self._ready:
            self._prepare()
        out = []
        short = " ".join(text.split())
        short = short if len(short) <= 70 else short[:67] + "..."
        for clause in CLAUSE.split(text):
            named = list(dict.fromkeys(self.entity.findall(clause))) if self.entity else []
            bare = self.entity.sub(" ", clause) if self.entity else clause  # "leaky ReLU" has no number
            for token in NUMBER.findall(bare):
                n = _normal(token)
                if n in self.wording:
                    continue
                if len(named) == 1:
                    if n not in self.own[named[0]] and n not in self.shared:
                        out.append(f"{kind} {short!r}: {token} is not a number of {named[0]}'s run in the trace")
                elif n not in self.everything:
                    out.append(f"{kind} {short!r}: {token} is not a number of the trace")
        return out
