"""Layered left-to-right layout of a trace's graph by Graphviz ``dot``.

dot places inputs left and the output right, orders each rank to keep edge crossings few and routes edges
as splines around nodes. Each edge passes through an invisible box of its labels' size (entering west,
leaving east), so the edge line runs through the middle of room that dot keeps free: the forward value
sits above the line and the gradient below it (cs231n's convention), and neither can overlap a node or
another label. This module only asks dot and reads its answer (``-Tplain``); it knows nothing of Manim.

The inputs of a gate are kept in slot order (first operand on top) only where the order means something
(``NodeSpec.ordered``: a - b, a / b). Kept everywhere (``ordering=in`` on the whole graph), it pinned each
gate's label boxes in slot order; the boxes are nodes of their own rank, so an input used twice, as x in
x*y + x*z, could not have its two boxes side by side: one of its edges had to loop around its neighbour's
box and cross the start of its neighbour's edge, and x seemed to feed one gate and y two.
"""
from __future__ import annotations

import shlex
import shutil
import subprocess
from dataclasses import dataclass, field

SINK = "__out__"  # an invisible node after the output, so the output's edge can carry its labels
LABEL_BOX = "__label__"  # the invisible box an edge passes through, holding its two labels


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
    label: tuple[float, float] | None = None  # the middle of its label box, set by join_label_boxes


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
    width: float = 0.0  # inches: a leaf's label, a gate's circle (0: the default 0.56)
    ordered: bool = False  # a gate whose inputs are drawn in slot order, top to bottom (a - b, not a + b)


def layout_graph(nodes: list[NodeSpec], edges: list[tuple[str, str, tuple[float, float]]], output: str,
                 spacing: float = 1.0) -> Layout:
    """Lay out ``nodes`` and ``edges`` (tail, head, label size in inches) left to right.

    The output gets an extra edge to an invisible sink; ``Layout.edges`` lists the given edges in order,
    then that one. ``spacing`` scales the gaps dot leaves between ranks and nodes (below 1: tighter, so
    that a wide graph drawn to the frame's width keeps its labels large).
    """
    dot = shutil.which("dot")
    if dot is None:
        raise LayoutError("Graphviz `dot` is not installed (run scripts/setup.sh)")
    proc = subprocess.run([dot, "-Tplain"], input=to_dot(nodes, edges, output, spacing), capture_output=True,
                          text=True, timeout=60)
    if proc.returncode != 0:
        raise LayoutError(f"dot failed: {proc.stderr.strip()}")
    return join_label_boxes(parse_plain(proc.stdout), len(edges) + 1)


def to_dot(nodes: list[NodeSpec], edges, output: str, spacing: float = 1.0) -> str:
    lines = ["digraph G {", f"  rankdir=LR; nodesep={0.22 * spacing:.3f}; ranksep={0.28 * spacing:.3f}; "
             "splines=true;",
             '  node [fontsize=14, fixedsize=true];']
    for n in nodes:
        if n.kind == "gate":
            order = ", ordering=in" if n.ordered else ""
            lines.append(f'  "{n.id}" [shape=circle, width={n.width or 0.56:.3f}, label=""{order}];')
        else:
            lines.append(f'  "{n.id}" [shape=box, width={max(n.width, 0.3):.3f}, height=0.34, label=""];')
    lines.append(f'  "{SINK}" [shape=point, width=0.01];')
    for i, (tail, head, (w, h)) in enumerate(edges + [(output, SINK, edges_label_size_for_output(edges))]):
        box = f"{LABEL_BOX}{i}"
        lines.append(f'  "{box}" [shape=box, width={w:.3f}, height={h:.3f}, label=""];')
        lines.append(f'  "{tail}" -> "{box}" [arrowhead=none, headport=w];')
        lines.append(f'  "{box}" -> "{head}" [tailport=e];')
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
            layout.edges.append(EdgeLayout(parts[1], parts[2], pts))
    if layout is None:
        raise LayoutError("dot returned no graph")
    return layout


def join_label_boxes(layout: Layout, count: int) -> Layout:
    """Join each tail -> box -> head pair of splines into one edge that crosses its box's middle."""
    into = {e.head: e for e in layout.edges if e.head.startswith(LABEL_BOX)}
    out_of = {e.tail: e for e in layout.edges if e.tail.startswith(LABEL_BOX)}
    edges = []
    for i in range(count):
        name = f"{LABEL_BOX}{i}"
        first, second, box = into[name], out_of[name], layout.nodes.pop(name)
        west, east = (box.x - box.w / 2, box.y), (box.x + box.w / 2, box.y)
        points = list(first.points)
        for target in (west, east, second.points[0]):
            if _distance(points[-1], target) > 1e-6:
                points += _straight(points[-1], target)
        points += list(second.points[1:])
        edges.append(EdgeLayout(first.tail, second.head, points, (box.x, box.y)))
    layout.edges = edges
    return layout


def _straight(a, b) -> list[tuple[float, float]]:
    """A line from a to b as one cubic Bézier piece (its two handles, then b)."""
    return [(a[0] + (b[0] - a[0]) / 3, a[1] + (b[1] - a[1]) / 3),
            (a[0] + 2 * (b[0] - a[0]) / 3, a[1] + 2 * (b[1] - a[1]) / 3), b]


def _distance(a, b) -> float:
    return ((a[0] - b[0]) ** 2 + (a[1] - b[1]) ** 2) ** 0.5
