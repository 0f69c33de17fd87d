"""The graph's layout, read from dot's geometry (layout inches, before anything is drawn): wires do not cross
or pass behind a node, so an input used twice is seen to feed both of its gates."""
from pathlib import Path

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
