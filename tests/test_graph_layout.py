"""The graph's layout, read from dot's geometry (layout inches, before anything is drawn): wires do not cross
or pass behind a node, so an input used twice is seen to feed both of its gates."""
from pathlib import Path

import numpy as np

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


# --- a torch network's graph: every name in the frame at a readable size -------------------------------
@pytest.mark.parametrize("name", ["torch_mlp", "torch_sequential"])
def test_a_networks_graph_fits_the_frame_at_a_readable_size(name):
    # twelve nodes: fewer than the 20 the audit wants whole in the frame, so the scene must not pan them out.
    # Laid out as the scene lays it out (the band between the title and the caption, panning allowed).
    from scenes.graph_mobject import MIN_UNIT
    from scenes.graph_scenes import CONTENT_TOP, GRAPH_BOTTOM, GRAPH_WIDTH, VIEW_EDGE
    trace = GraphTrace.from_dict(read_trace(trace_path_for(CONFIG_DIR / f"{name}.yaml")))
    graph = ComputationalGraph(trace, width=GRAPH_WIDTH, height=CONTENT_TOP - GRAPH_BOTTOM, show_shapes=True,
                               pannable=True)
    assert graph.unit >= MIN_UNIT  # labels, names and words at 10 px at 854x480
    assert graph.width <= GRAPH_WIDTH + 1e-6
    for mob in [*graph.leaf_mobs.values(), *graph.circles.values()]:
        assert -VIEW_EDGE <= mob.get_left()[0] and mob.get_right()[0] <= VIEW_EDGE
    # the parameters' names went on lines (fc1. over weight), their shapes on a third
    lines = [graph.leaf_mobs[n.id].lines for n in trace.inputs]
    assert len(lines) == 4 and all(len(v) == 3 for v in lines)
    assert crossings(graph.layout) == []


VECTOR_LABELLED = [Path(__file__).parent / "screen" / "matrices.yaml", Path(__file__).parent / "screen" / "large_matrix.yaml",
                   *(CONFIG_DIR / f"{name}.yaml" for name in ("torch_mlp", "torch_sequential", "torch_layer_norm"))]


@pytest.mark.parametrize("config", VECTOR_LABELLED, ids=[p.stem for p in VECTOR_LABELLED])
def test_a_vectors_space_label_reads_at_10_px_exponent_included(config):
    # ℝ³'s exponent is the smallest glyph on a graph that draws vectors as their space: at the scale the
    # layout picks, in whichever tier (matrices: the normal tier, whose 0.5 inch box once held it at 9.2 px;
    # the torch networks: the compact tier), it reads at the audit's 10 px at 854x480, measured as the audit does.
    from manim import Text, tempconfig
    from audit.screen import MIN_GLYPH_PX_AT_480, _glyph_height_px
    from scenes.graph_scenes import CONTENT_TOP, GRAPH_BOTTOM, GRAPH_WIDTH
    trace = GraphTrace.from_dict(read_trace(trace_path_for(config)))
    with tempconfig({"pixel_width": 854, "pixel_height": 480}):
        graph = ComputationalGraph(trace, width=GRAPH_WIDTH, height=CONTENT_TOP - GRAPH_BOTTOM, show_shapes=True,
                                   pannable=True)
        vectors = [key for key in graph.edges if trace.nodes[key[0]].value.ndim == 1]
        labels = [graph.value_label(key) for key in vectors]
        labels += [graph.grad_label(key, trace.nodes[key[0]].value) for key in vectors]  # ∂ ℝ³: its gradient's shape
        exponents = [label.submobjects[1] for label in labels if len(label.submobjects) == 2]
        assert exponents, "no vector drawn as its space"
        for exponent in exponents:
            assert isinstance(exponent, Text) and exponent.text.isdigit()
            assert _glyph_height_px(exponent, exponent.text) >= MIN_GLYPH_PX_AT_480, (exponent.text, graph.unit)


@pytest.mark.parametrize("name", ["chain_rule", "sigmoid_neuron", "vectors", "layers"])
def test_a_graph_that_fits_keeps_its_names_and_words_on_one_line(name):
    graph = graph_of(read_trace(trace_path_for(CONFIG_DIR / f"{name}.yaml")))
    assert not graph._compact
    assert all(len(m.lines) == 1 for m in graph.leaf_mobs.values())
    assert all(graph.word_lines[n] == graph.trace.nodes[n].symbol for n in graph.gate_mobs)


def test_a_parameters_name_breaks_after_its_last_dot_and_a_torch_ops_word_at_its_seam():
    from scenes.graph_mobject import word_lines
    from scenes.style import latex_name, parameter_lines
    assert parameter_lines("fc1.weight") == [r"\mathrm{fc1.}", r"\mathrm{weight}"]
    assert parameter_lines("0.bias", "Linear") == [r"\mathrm{Linear}_{0}.", r"\mathrm{bias}"]
    assert parameter_lines("layers.0.1.bias") == [r"\mathrm{layers}_{0,1}.", r"\mathrm{bias}"]
    assert "".join(parameter_lines("0.bias", "Linear")) == latex_name("0.bias", "Linear")
    assert parameter_lines("w0") == ["w_{0}"] and parameter_lines("x") == ["x"]
    assert word_lines("addmm") == "add\nmm" and word_lines("nll_loss") == "nll_\nloss"
    assert word_lines("relu") == "relu" and word_lines("tanh") == "tanh" and word_lines("+") == "+"


# --- scenes/layout.py, case by case: what dot is asked, how its answer is read, what counts as a crossing ---
from scenes import layout as L  # noqa: E402


def _specs():
    return [L.NodeSpec("x", "leaf", "x", 0.2), L.NodeSpec("y", "leaf", "y", 0.5, height=0.6),
            L.NodeSpec("q", "gate", "-", 0.0, ordered=True), L.NodeSpec("f", "gate", "*", 0.7)]


@pytest.mark.parametrize("spacing,order_all,sep", [(1.0, False, "nodesep=0.220; ranksep=0.280;"),
                                                   (0.5, True, "nodesep=0.110; ranksep=0.140;")])
def test_dot_is_asked_left_to_right_with_gaps_scaled_by_the_spacing(spacing, order_all, sep):
    edges = [("x", "q", (0.8, 0.5)), ("y", "q", (1.2, 0.6)), ("q", "f", (0.8, 0.5))]
    dot = L.to_dot(_specs(), edges, "f", spacing, order_all=order_all)
    assert "rankdir=LR;" in dot and sep in dot and ("ordering=in;" in dot.splitlines()[1]) == order_all
    assert '"x" [shape=box, width=0.300, height=0.340, label=""];' in dot  # a leaf at least 0.3 wide
    assert '"y" [shape=box, width=0.500, height=0.600, label=""];' in dot
    assert '"q" [shape=circle, width=0.560, label="", ordering=in];' in dot  # the default circle; a - b in order
    assert '"f" [shape=circle, width=0.700, label=""];' in dot
    # every edge through a box of its labels' size, the output's to the sink through the largest box
    assert '"__label__1" [shape=box, width=1.200, height=0.600, label=""];' in dot
    assert '"__label__3" [shape=box, width=1.200, height=0.600, label=""];' in dot
    assert '"f" -> "__label__3" [arrowhead=none, headport=w];' in dot and '"__label__3" -> "__out__" [tailport=e, weight=3];' in dot


def test_the_output_s_own_label_box_is_the_largest_given_or_a_default():
    assert L.edges_label_size_for_output([("a", "b", (0.8, 0.5)), ("b", "c", (0.9, 0.4))]) == (0.9, 0.4)
    assert L.edges_label_size_for_output([]) == (0.6, 0.5)


def test_dot_s_plain_answer_is_read_as_nodes_and_edges_and_quoted_names_too():
    plain = ('graph 1 4.5 2.25\nnode x 0.5 1 0.3 0.34 "" solid box black lightgrey\n'
             'node "a b" 2 1 0.56 0.56 "" solid circle black lightgrey\n'
             'edge x "a b" 4 0.65 1 1 1 1.5 1 1.72 1 solid black\nstop\n')
    lay = L.parse_plain(plain)
    assert (lay.width, lay.height) == (4.5, 2.25)
    assert lay.nodes == {"x": L.Box(0.5, 1, 0.3, 0.34), "a b": L.Box(2, 1, 0.56, 0.56)}
    assert [(e.tail, e.head, e.points) for e in lay.edges] == [("x", "a b", [(0.65, 1), (1, 1), (1.5, 1), (1.72, 1)])]
    with pytest.raises(L.LayoutError, match="no graph"):
        L.parse_plain("stop\n")


def test_a_straight_piece_is_a_cubic_with_its_handles_at_thirds():
    assert L._straight((0, 0), (3, 6)) == [(1, 2), (2, 4), (3, 6)]


def test_an_edge_through_its_label_box_is_one_curve_crossing_the_box_s_middle():
    lay = L.Layout(4, 2, {"a": L.Box(0, 1, .2, .2), "b": L.Box(4, 1, .2, .2), "__label__0": L.Box(2, 1, 1, .5)},
                   [L.EdgeLayout("a", "__label__0", [(0, 1), (0.5, 1), (1, 1), (1.5, 1)]),
                    L.EdgeLayout("__label__0", "b", [(2.5, 1), (3, 1), (3.5, 1), (4, 1)])])
    joined = L.join_label_boxes(lay, 1)
    assert list(joined.nodes) == ["a", "b"]  # the box is no node of the drawing
    (edge,) = joined.edges
    assert (edge.tail, edge.head, edge.label) == ("a", "b", (2, 1))
    # dot's first spline to the box's west side, a straight piece across the box to its east side, dot's second
    expected = [(0, 1), (0.5, 1), (1, 1), (1.5, 1), (1.5 + 1 / 3, 1), (1.5 + 2 / 3, 1), (2.5, 1), (3, 1), (3.5, 1), (4, 1)]
    assert np.allclose(edge.points, expected)


def test_wires_sharing_an_end_are_compared_beyond_it_and_a_wire_may_touch_its_own_ends():
    # two wires leaving one node together (each first dipping to the other's side, as dot's splines may at a
    # shared port), then parting, do not cross; nor does a wire end inside its own gate
    lay = L.Layout(2, 2, {"a": L.Box(0, 1, .2, .2), "b": L.Box(2, 2, .2, .2), "c": L.Box(2, 0, .2, .2)},
                   [L.EdgeLayout("a", "b", [(0, 1), (0.1, 0.9), (1.3, 1.8), (2, 2)]),
                    L.EdgeLayout("a", "c", [(0, 1), (0.1, 1.1), (1.3, 0.2), (2, 0)])])
    assert L.crossings(lay) == []
    lay.nodes[L.SINK] = L.Box(1, 1.5, 0.5, 0.5)  # the invisible sink is behind nothing
    assert L.crossings(lay) == []
    lay.nodes["m"] = L.Box(1, 1.5, 0.5, 0.5)
    assert L.crossings(lay) == ["a->b passes behind m"]
