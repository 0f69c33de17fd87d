"""The graph's layout, read from dot's geometry (layout inches, before anything is drawn): wires do not cross
or pass behind a node, so an input used twice is seen to feed both of its gates."""
import pytest

from render import CONFIG_DIR
from engine.source import trace_path_for
from scenes.graph_mobject import ComputationalGraph
from scenes.layout import Box, EdgeLayout, Layout, crossings
from scenes.trace_data import GraphTrace, read_trace
from tests.helpers import trace_of

REUSED_INPUTS = {
    "x*y + x*z": ("f = x * y + x * z", {"x": 3, "y": -2, "z": 1}, "graph"),
    "gates a, b share x": ("a = x*y\nb = x+z\nf = a*b", {"x": 3, "y": -2, "z": 1}, "gates"),
}


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
    layout = Layout(2, 2, {"a": Box(0, 0, .2, .2), "b": Box(0, 2, .2, .2), "c": Box(2, 0, .2, .2),
                           "d": Box(2, 2, .2, .2), "m": Box(1, 1.6, .3, .3)},
                    [EdgeLayout("a", "d", [(0, 0), (0.7, 0.7), (1.3, 1.3), (2, 2)]),
                     EdgeLayout("b", "c", [(0, 2), (0.7, 1.3), (1.3, 0.7), (2, 0)]),
                     EdgeLayout("b", "d", [(0, 2), (0.7, 1.6), (1.3, 1.6), (2, 2)])])
    assert crossings(layout) == ["a->d crosses b->c", "b->d passes behind m"]


def test_every_gate_in_slot_order_is_what_crosses_a_shared_inputs_wires():
    # the cause, shown: x*y + x*z laid out with each gate's inputs in slot order loops x's wire around y's
    from scenes import layout
    graph = graph_of(trace_of(*REUSED_INPUTS["x*y + x*z"][:2]))
    specs, edges = graph.layout_input
    pinned = layout._run_dot(layout.to_dot(specs, edges, graph.trace.output, order_all=True), len(edges) + 1)
    assert crossings(pinned) != []
