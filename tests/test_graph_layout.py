"""The graph's layout, read from dot's geometry (layout inches, before anything is drawn): wires do not cross
or pass behind a node, so an input used twice is seen to feed both of its gates."""
import itertools

import numpy as np
import pytest

from render import CONFIG_DIR
from pipeline.source import trace_path_for
from scenes.graph_mobject import ComputationalGraph
from scenes.layout import LABEL_BOX, SINK, EdgeLayout, Layout
from scenes.trace_data import GraphTrace, read_trace
from tests.helpers import trace_of

REUSED_INPUTS = {
    "x*y + x*z": ("f = x * y + x * z", {"x": 3, "y": -2, "z": 1}, "graph"),
    "gates a, b share x": ("a = x*y\nb = x+z\nf = a*b", {"x": 3, "y": -2, "z": 1}, "gates"),
}


def polyline(edge: EdgeLayout, samples: int = 24) -> np.ndarray:
    """The edge's cubic Bézier pieces sampled into a polyline."""
    pts = np.asarray(edge.points)
    t = np.linspace(0, 1, samples)[:, None]
    out = [pts[0]]
    for i in range(0, len(pts) - 3, 3):
        a, b, c, d = pts[i:i + 4]
        out += list((1 - t) ** 3 * a + 3 * (1 - t) ** 2 * t * b + 3 * (1 - t) * t ** 2 * c + t ** 3 * d)[1:]
    return np.asarray(out)


def _segments_cross(p, q, r, s) -> bool:
    def orient(a, b, c):
        return np.sign((b[0] - a[0]) * (c[1] - a[1]) - (b[1] - a[1]) * (c[0] - a[0]))
    return orient(p, q, r) * orient(p, q, s) < 0 and orient(r, s, p) * orient(r, s, q) < 0


def crossings(layout: Layout) -> list[str]:
    """Pairs of wires that cross, and wires that pass through a node that is neither of their ends."""
    found = []
    lines = [polyline(e) for e in layout.edges]
    for (i, a), (j, b) in itertools.combinations(enumerate(layout.edges), 2):
        la, lb = lines[i], lines[j]
        # two wires of one node start together, two into one gate end together: not a crossing
        if a.tail == b.tail:
            la, lb = la[3:], lb[3:]
        if a.head == b.head:
            la, lb = la[:-3], lb[:-3]
        if any(_segments_cross(la[m], la[m + 1], lb[n], lb[n + 1])
               for m in range(len(la) - 1) for n in range(len(lb) - 1)):
            found.append(f"{a.tail}->{a.head} crosses {b.tail}->{b.head}")
    for e, line in zip(layout.edges, lines):
        for name, box in layout.nodes.items():
            if name in (e.tail, e.head) or name == SINK or name.startswith(LABEL_BOX):
                continue
            inside = (np.abs(line[:, 0] - box.x) < box.w / 2 - 0.02) & (np.abs(line[:, 1] - box.y) < box.h / 2 - 0.02)
            if inside.any():
                found.append(f"{e.tail}->{e.head} passes behind {name}")
    return found


def graph_of(trace: dict) -> ComputationalGraph:
    return ComputationalGraph(GraphTrace.from_dict(trace), width=13.2, height=4.4)


@pytest.mark.parametrize("name", list(REUSED_INPUTS))
def test_an_input_used_twice_has_two_uncrossed_wires(name):
    expression, inputs, scene = REUSED_INPUTS[name]
    graph = graph_of(trace_of(expression, inputs, scene=scene))
    x = next(n.id for n in graph.trace.inputs if n.label == "x")
    assert len([e for e in graph.layout.edges if e.tail == x]) == 2
    assert crossings(graph.layout) == []


@pytest.mark.parametrize("name", ["gates", "chain_rule", "sigmoid_neuron"])
def test_shipped_graphs_have_no_crossed_wires(name):
    graph = graph_of(read_trace(trace_path_for(CONFIG_DIR / f"{name}.yaml")))
    assert crossings(graph.layout) == []


def test_the_crossing_check_sees_a_crossing():
    # two wires drawn as an X, and one through a node: the check must report both
    from scenes.layout import Box
    layout = Layout(2, 2, {"a": Box(0, 0, .2, .2), "b": Box(0, 2, .2, .2), "c": Box(2, 0, .2, .2),
                           "d": Box(2, 2, .2, .2), "m": Box(1, 1.6, .3, .3)},
                    [EdgeLayout("a", "d", [(0, 0), (0.7, 0.7), (1.3, 1.3), (2, 2)]),
                     EdgeLayout("b", "c", [(0, 2), (0.7, 1.3), (1.3, 0.7), (2, 0)]),
                     EdgeLayout("b", "d", [(0, 2), (0.7, 1.6), (1.3, 1.6), (2, 2)])])
    assert crossings(layout) == ["a->d crosses b->c", "b->d passes behind m"]
