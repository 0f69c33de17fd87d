"""The graph mobject, without rendering: labels hold the trace's numbers, nothing overlaps or leaves the frame."""
import functools
import itertools
import re

import pytest
from manim import Text, config

from render import CONFIG_DIR
from scenes import style
from scenes.graph_mobject import ComputationalGraph
from scenes.formulas import chain_rule_tex, summary_tex
from scenes.notation import Notation
from engine.source import trace_path_for
from scenes.trace_data import GraphTrace, read_trace

SCALAR_CONFIGS = ["chain_rule", "sigmoid_neuron", "gates", "gradcheck"]


NETWORKS = ["torch_mlp", "torch_sequential"]  # laid out compact, as their scene draws them (names on lines)


def build(name: str) -> ComputationalGraph:
    g = GraphTrace.from_dict(read_trace(trace_path_for(CONFIG_DIR / f"{name}.yaml")))
    if name in NETWORKS:
        graph = ComputationalGraph(g, width=13.6, height=4.47, show_shapes=True, pannable=True)
    else:
        graph = ComputationalGraph(g, width=13.2, height=4.1)
    for node_id in g.forward:
        graph.forward_animation(node_id)
    graph.seed_animation()
    for step in g.backward:
        graph.backward_animation(step)
    return graph


# Tests only read the graph: build each config once (Pango and the SVG parse cost seconds per graph).
built = functools.lru_cache(build)


def text_of(label) -> str:
    return "".join(m.text for m in label.submobjects if isinstance(m, Text))


@pytest.mark.parametrize("name", SCALAR_CONFIGS)
def test_labels_hold_the_traces_numbers(name):
    graph = built(name)
    t = graph.trace
    for (tail, head, slot), label in graph.value_labels.items():
        assert text_of(label) == style.fmt_value(float(t.nodes[tail].value))
    steps = {s.node: s for s in t.backward}
    for (tail, head, slot), label in graph.grad_labels.items():
        expected = 1.0 if head == "__out__" else steps[head].downstream[slot]
        assert text_of(label) == style.fmt_grad(float(expected))
    # every edge from a node that gets a gradient carries one
    assert len(graph.grad_labels) == sum(1 for k in graph.edges if t.nodes[k[0]].grad is not None)


def test_chain_rule_labels_are_the_published_numbers():
    # cs231n's f = (x + y) z at x = -2, y = 5, z = -4, written out: values above, gradients below each edge
    graph = built("chain_rule")
    t = graph.trace
    name = {n.id: n.label for n in t.nodes.values()}
    values = {(name[tail], "out" if head == "__out__" else name[head]): text_of(label)
              for (tail, head, _), label in graph.value_labels.items()}
    grads = {(name[tail], "out" if head == "__out__" else name[head]): text_of(label)
             for (tail, head, _), label in graph.grad_labels.items()}
    assert values == {("x", "q"): "−2", ("y", "q"): "5", ("z", "f"): "−4", ("q", "f"): "3", ("f", "out"): "−12"}
    assert grads == {("x", "q"): "−4", ("y", "q"): "−4", ("z", "f"): "+3", ("q", "f"): "−4", ("f", "out"): "+1"}


def _boxes_overlap(a, b, pad=0.0) -> bool:
    return not (a.get_right()[0] + pad <= b.get_left()[0] or b.get_right()[0] + pad <= a.get_left()[0] or
                a.get_top()[1] + pad <= b.get_bottom()[1] or b.get_top()[1] + pad <= a.get_bottom()[1])


@pytest.mark.parametrize("name", SCALAR_CONFIGS + ["vectors", "layers"] + NETWORKS)
def test_labels_and_nodes_do_not_overlap_and_stay_in_frame(name):
    graph = built(name)
    labels = graph.labels()
    nodes = [*graph.gate_mobs.values(), *graph.leaf_mobs.values()]
    for a, b in itertools.combinations(labels + nodes, 2):
        assert not _boxes_overlap(a, b), f"{name}: {a} overlaps {b}"
    for m in labels + nodes:
        assert abs(m.get_left()[0]) < config.frame_width / 2 and abs(m.get_right()[0]) < config.frame_width / 2
        assert abs(m.get_top()[1]) < config.frame_height / 2 and abs(m.get_bottom()[1]) < config.frame_height / 2


def test_chain_rule_equation_uses_the_steps_numbers():
    # cs231n's f = (x + y) z at x = -2, y = 5, z = -4: q = x + y = 3, df/dq = z = -4, df/dz = q = 3
    g = GraphTrace.from_dict(read_trace(trace_path_for(CONFIG_DIR / "chain_rule.yaml")))
    nt = Notation(g)
    grad = r"\textcolor[HTML]{" + style.GRADIENT.lstrip("#") + "}"
    first = chain_rule_tex(nt, g.backward[0])  # the mul gate f = q z, whose upstream is the seed 1
    assert first == (r"\frac{\partial f}{\partial q} = -4 \times (" + grad + r"{+1}) = " + grad + r"{-4} \qquad "
                     r"\frac{\partial f}{\partial z} = 3 \times (" + grad + r"{+1}) = " + grad + "{+3}")
    second = chain_rule_tex(nt, g.backward[1])  # the add gate q = x + y: local 1, upstream -4
    assert second.startswith(r"\frac{\partial f}{\partial x} = \frac{\partial q}{\partial x}\,"
                             r"\frac{\partial f}{\partial q} = 1 \times (" + grad + r"{-4}) = " + grad + "{-4}")
    assert summary_tex(nt) == (r"\frac{\partial f}{\partial x} = " + grad + r"{-4},\quad \frac{\partial f}"
                               r"{\partial y} = " + grad + r"{-4},\quad \frac{\partial f}{\partial z} = " + grad + "{+3}")


def test_tiny_and_non_finite_numbers_are_readable():
    assert style.fmt_grad(3.2e-7) == "+3.2e−7"
    assert style.fmt_grad(-0.5) == "−0.5"
    assert style.fmt_value(float("nan")) == "NaN" and style.fmt_grad(float("inf")) == "+∞"
    assert style.latex_number(3.2e-7) == r"3.2\times 10^{-7}"
    assert style.latex_number(float("nan")) == r"\mathrm{NaN}"


@pytest.mark.parametrize("value,shown", [(-0.19661193, "−0.197"), (0.3932238, "0.393"), (3.2e-7, "3.2e−7"),
                                         (-12.0, "−12"), (123456.0, "1.2e5"), (0.0, "0"), (float("nan"), "NaN"),
                                         (float("-inf"), "−∞"), (0.001, "0.001"), (1e-17, "1e−17")])
def test_values_are_written_with_three_significant_digits(value, shown):
    assert style.fmt_value(value) == shown


@pytest.mark.parametrize("value,shown", [(-0.19661193, "−0.197"), (0.3932238, "+0.393"), (0.0, "0"), (5.0, "+5")])
def test_gradients_always_carry_their_sign(value, shown):
    assert style.fmt_grad(value) == shown


def test_every_caption_has_a_korean_one():
    assert set(style.CAPTIONS["ko"]) == set(style.CAPTIONS["en"])
    for key, en in style.CAPTIONS["en"].items():  # the same fields to fill in
        assert sorted(re.findall(r"{(\w+)}", en)) == sorted(re.findall(r"{(\w+)}", style.CAPTIONS["ko"][key])), key


@pytest.mark.parametrize("theme,forward,gradient", [("dark", "#56B4E9", "#E69F00"), ("light", "#0072B2", "#AD5A00")])
def test_labels_use_the_theme_colours(theme, forward, gradient):
    style.apply_theme(theme)
    try:
        graph = build("chain_rule")  # (not the cached one: that was built in the dark theme)
        for label in graph.value_labels.values():
            assert {m.get_fill_color().to_hex().upper() for m in label.family_members_with_points()} == {forward}
        for label in graph.grad_labels.values():
            assert {m.get_fill_color().to_hex().upper() for m in label.family_members_with_points()} == {gradient}
    finally:
        style.apply_theme("dark")


def test_no_other_edge_runs_through_a_panned_graphs_label():
    """graph30 is drawn wider than the frame (as its scene does: 13.6 by 4.47, pannable); z -> q8 leaves z just
    below z -> a and ran through the gradient under z -> a's line. Each edge is sampled along its own curve
    (manim's point_from_proportion), a label crossed where it passes more than 2 px (the audit's margin) inside."""
    from pathlib import Path
    g = GraphTrace.from_dict(read_trace(trace_path_for(Path(__file__).parent / "screen" / "graph30.yaml")))
    graph = ComputationalGraph(g, width=13.6, height=4.47, pannable=True)
    assert graph.width > 13.6  # it pans
    for node_id in g.forward:
        graph.forward_animation(node_id)
    graph.seed_animation()
    for step in g.backward:
        graph.backward_animation(step)
    margin = 2 / 60  # scene units: 2 px at 854x480
    samples = {key: [edge.point_from_proportion(t) for t in [i / 400 for i in range(401)]]
               for key, edge in graph.edges.items()}
    for key, label in [*graph.value_labels.items(), *graph.grad_labels.items()]:
        (x0, y0, _), (x1, y1, _) = label.get_corner([-1, -1, 0]), label.get_corner([1, 1, 0])
        for other, points in samples.items():
            if other != key:
                assert not any(x0 + margin < x < x1 - margin and y0 + margin < y < y1 - margin
                               for x, y, _ in points), f"edge {other} runs through {key}'s label {text_of(label)}"
