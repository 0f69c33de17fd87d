"""Layered left-to-right layout of a trace's graph by Graphviz ``dot``.

dot places inputs left and the output right, orders each rank to keep edge crossings few, routes edges
as splines around nodes, and reserves room for every edge label, so labels do not overlap nodes or each
other. This module only asks dot and reads its answer (``-Tplain``); it knows nothing of Manim.
"""
from __future__ import annotations

import shlex
import shutil
import subprocess
from dataclasses import dataclass, field

SINK = "__out__"  # an invisible node after the output, so the output's edge can carry its labels


class LayoutError(RuntimeError):
    pass


@dataclass
class Box:
    x: float
    y: float
    w: float
    h: float


@dataclass
class EdgeLayout:
    tail: str
    head: str
    points: list[tuple[float, float]]  # cubic B-spline control points, 1 + 3k of them
    label: tuple[float, float] | None = None


@dataclass
class Layout:
    width: float
    height: float
    nodes: dict[str, Box] = field(default_factory=dict)
    edges: list[EdgeLayout] = field(default_factory=list)


@dataclass
class NodeSpec:
    id: str
    kind: str  # "gate" (circle) or "leaf" (a label)
    text: str
    width: float = 0.0  # inches, for leaves


def layout_graph(nodes: list[NodeSpec], edges: list[tuple[str, str, tuple[float, float]]], output: str) -> Layout:
    """Lay out ``nodes`` and ``edges`` (tail, head, label size in inches) left to right."""
    dot = shutil.which("dot")
    if dot is None:
        raise LayoutError("Graphviz `dot` is not installed (run scripts/setup.sh)")
    proc = subprocess.run([dot, "-Tplain"], input=to_dot(nodes, edges, output), capture_output=True,
                          text=True, timeout=60)
    if proc.returncode != 0:
        raise LayoutError(f"dot failed: {proc.stderr.strip()}")
    return parse_plain(proc.stdout)


def to_dot(nodes: list[NodeSpec], edges, output: str) -> str:
    lines = ["digraph G {", "  rankdir=LR; nodesep=0.22; ranksep=0.28; splines=true; ordering=in;",
             '  node [fontsize=14, fixedsize=true];']
    for n in nodes:
        if n.kind == "gate":
            lines.append(f'  "{n.id}" [shape=circle, width=0.56, label=""];')
        else:
            lines.append(f'  "{n.id}" [shape=box, width={max(n.width, 0.3):.3f}, height=0.34, label=""];')
    lines.append(f'  "{SINK}" [shape=point, width=0.01];')
    for tail, head, (w, h) in edges + [(output, SINK, edges_label_size_for_output(edges))]:
        # An empty table of the label's size: dot reserves exactly that room beside the edge.
        label = f'<<TABLE BORDER="0" CELLPADDING="0"><TR><TD WIDTH="{w * 72:.0f}" HEIGHT="{h * 72:.0f}"></TD></TR></TABLE>>'
        lines.append(f'  "{tail}" -> "{head}" [label={label}];')
    lines.append("}")
    return "\n".join(lines)


def edges_label_size_for_output(edges) -> tuple[float, float]:
    return max((size for *_, size in edges), default=(0.6, 0.5))


def parse_plain(text: str) -> Layout:
    """Read dot's -Tplain output (inches, origin bottom-left)."""
    layout = None
    for line in text.splitlines():
        parts = shlex.split(line)
        if not parts:
            continue
        if parts[0] == "graph":
            layout = Layout(float(parts[2]), float(parts[3]))
        elif parts[0] == "node":
            layout.nodes[parts[1]] = Box(*map(float, parts[2:6]))
        elif parts[0] == "edge":
            n = int(parts[3])
            pts = [(float(parts[4 + 2 * i]), float(parts[5 + 2 * i])) for i in range(n)]
            rest = parts[4 + 2 * n:]
            label = (float(rest[1]), float(rest[2])) if len(rest) >= 5 else None
            layout.edges.append(EdgeLayout(parts[1], parts[2], pts, label))
    if layout is None:
        raise LayoutError("dot returned no graph")
    return layout
