"""Layered left-to-right layout of a trace's graph by Graphviz ``dot``.

dot places inputs left and the output right, orders each rank to keep edge crossings few and routes edges
as splines around nodes. Each edge passes through an invisible box of its labels' size (entering west,
leaving east), so the edge line runs through the middle of room that dot keeps free: the forward value
sits above the line and the gradient below it (cs231n's convention), and neither can overlap a node or
another label. This module only asks dot and reads its answer (``-Tplain``); it knows nothing of Manim.

Each gate's inputs are drawn in slot order (first operand on top) where that crosses no wires. Asking
it of every gate (``ordering=in``) pins each gate's label boxes in slot order; the boxes are nodes of their
own rank, so an input used twice, as x in x*y + x*z, cannot have its two boxes side by side: one of its
edges loops around its neighbour's box and crosses the start of its neighbour's edge, and x seems to feed
one gate and y two. So a layout whose wires cross is made again with the order kept only where it means
something (``NodeSpec.ordered``: a - b, a / b), and dot free to put a shared input's boxes together.
"""
from __future__ import annotations

import functools
import itertools
import shlex
import shutil
import subprocess
from dataclasses import dataclass, field

import numpy as np

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
    height: float = 0.34  # inches: a leaf's label (a torch parameter's name over its shape takes lines)


def layout_graph(nodes: list[NodeSpec], edges: list[tuple[str, str, tuple[float, float]]], output: str,
                 spacing: float = 1.0) -> Layout:
    """Lay out ``nodes`` and ``edges`` (tail, head, label size in inches) left to right.

    The output gets an extra edge to an invisible sink; ``Layout.edges`` lists the given edges in order,
    then that one. ``spacing`` scales the gaps dot leaves between ranks and nodes (below 1: tighter, so
    that a wide graph drawn to the frame's width keeps its labels large).
    """
    every_gate_ordered = _run_dot(to_dot(nodes, edges, output, spacing, order_all=True), len(edges) + 1)
    if not crossings(every_gate_ordered):
        return every_gate_ordered
    return _run_dot(to_dot(nodes, edges, output, spacing), len(edges) + 1)


def _run_dot(source: str, count: int) -> Layout:
    return join_label_boxes(parse_plain(_dot_plain(source)), count)


@functools.lru_cache(maxsize=256)
def _dot_plain(source: str) -> str:
    """dot's answer for ``source``, asked once per process: dot is deterministic, and a graph is laid out
    again for every spacing tried, every theme and language of an audit, every still of a lecture."""
    dot = shutil.which("dot")
    if dot is None:
        raise LayoutError("Graphviz `dot` is not installed (run scripts/setup.sh)")
    proc = subprocess.run([dot, "-Tplain"], input=source, capture_output=True, text=True, timeout=60)
    if proc.returncode != 0:
        raise LayoutError(f"dot failed: {proc.stderr.strip()}")
    return proc.stdout


def to_dot(nodes: list[NodeSpec], edges, output: str, spacing: float = 1.0, order_all: bool = False) -> str:
    lines = ["digraph G {", f"  rankdir=LR; nodesep={0.22 * spacing:.3f}; ranksep={0.28 * spacing:.3f}; "
             "splines=true;" + (" ordering=in;" if order_all else ""),
             '  node [fontsize=14, fixedsize=true];']
    for n in nodes:
        if n.kind == "gate":
            order = ", ordering=in" if n.ordered else ""
            lines.append(f'  "{n.id}" [shape=circle, width={n.width or 0.56:.3f}, label=""{order}];')
        else:
            lines.append(f'  "{n.id}" [shape=box, width={max(n.width, 0.3):.3f}, height={n.height:.3f}, label=""];')
    lines.append(f'  "{SINK}" [shape=point, width=0.01];')
    for i, (tail, head, (w, h)) in enumerate(edges + [(output, SINK, edges_label_size_for_output(edges))]):
        box = f"{LABEL_BOX}{i}"
        lines.append(f'  "{box}" [shape=box, width={w:.3f}, height={h:.3f}, label=""];')
        lines.append(f'  "{tail}" -> "{box}" [arrowhead=none, headport=w];')
        # weighted: the box sits just before the gate it feeds, so a long wire's numbers are read beside the
        # gate that uses them (not stacked near its start with other wires' numbers)
        lines.append(f'  "{box}" -> "{head}" [tailport=e, weight=3];')
    lines.append("}")
    return "\n".join(lines)


def edges_label_size_for_output(edges) -> tuple[float, float]:
    return max((size for *_, size in edges), default=(0.6, 0.5))


def parse_plain(text: str) -> Layout:
    """Read dot's -Tplain output (inches, origin bottom-left)."""
    layout = None
    for line in text.splitlines():
        # shlex only where dot quoted a name (a plain line is words and numbers between spaces)
        parts = shlex.split(line) if any(c in line for c in "\"'\\") else line.split()
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


# --- crossings, read from the geometry -----------------------------------------------------------------
def polyline(edge: EdgeLayout, samples: int = 12) -> np.ndarray:
    """An edge's cubic Bézier pieces sampled into a polyline."""
    pts = np.asarray(edge.points, dtype=float)
    t = np.linspace(0, 1, samples)[:, None]
    out = [pts[:1]]
    for i in range(0, len(pts) - 3, 3):
        a, b, c, d = pts[i:i + 4]
        out.append(((1 - t) ** 3 * a + 3 * (1 - t) ** 2 * t * b + 3 * (1 - t) * t ** 2 * c + t ** 3 * d)[1:])
    return np.concatenate(out)


def _cross(a: np.ndarray, b: np.ndarray) -> bool:
    """Whether polylines a and b cross (two of their segments meet at a point inside both)."""
    p, q = a[:-1, None], a[1:, None]
    r, s = b[None, :-1], b[None, 1:]

    def orient(u, v, w):
        return np.sign((v[..., 0] - u[..., 0]) * (w[..., 1] - u[..., 1])
                       - (v[..., 1] - u[..., 1]) * (w[..., 0] - u[..., 0]))
    return bool(np.any((orient(p, q, r) * orient(p, q, s) < 0) & (orient(r, s, p) * orient(r, s, q) < 0)))


def _boxes_meet(a: np.ndarray, b: np.ndarray) -> bool:
    """Whether the bounding boxes of polylines a and b meet: most pairs of a graph's wires are far apart."""
    return bool(np.all(a.min(axis=0) <= b.max(axis=0)) and np.all(b.min(axis=0) <= a.max(axis=0)))


def crossings(layout: Layout) -> list[str]:
    """Wires that cross another wire, or pass behind a node that is neither of their ends: each makes one
    node seem to feed another's gate. Wires that leave one node together (or enter one gate together) are
    compared beyond their shared end."""
    found = []
    lines = [polyline(e) for e in layout.edges]
    for (i, a), (j, b) in itertools.combinations(enumerate(layout.edges), 2):
        la, lb = lines[i], lines[j]
        if a.tail == b.tail:
            la, lb = la[2:], lb[2:]
        if a.head == b.head:
            la, lb = la[:-2], lb[:-2]
        if len(la) > 1 and len(lb) > 1 and _boxes_meet(la, lb) and _cross(la, lb):
            found.append(f"{a.tail}->{a.head} crosses {b.tail}->{b.head}")
    for e, line in zip(layout.edges, lines):
        for name, box in layout.nodes.items():
            if name in (e.tail, e.head) or name == SINK:
                continue
            inside = (np.abs(line[:, 0] - box.x) < box.w / 2 - 0.02) & (np.abs(line[:, 1] - box.y) < box.h / 2 - 0.02)
            if inside.any():
                found.append(f"{e.tail}->{e.head} passes behind {name}")
    return found
