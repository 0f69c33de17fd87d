"""The graph mobject, without rendering: labels hold the trace's numbers, nothing overlaps or leaves the frame."""
import functools
import itertools
import re

import numpy as np
import pytest
from manim import ManimColor, Text, config

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



# What each caption says, written by hand: a word of the English one, and the Korean words that say the same
# (a string: the whole Korean caption, for a label of a word or two). Swapping two Korean captions (max's
# and min's, solved and not solved) makes one of them miss its words.
SAYS = {
    "forward": ("Forward", ("순전파", "왼쪽에서 오른쪽")), "backward": ("Backward", ("역전파", "국소", "상류")),
    "add": ("distributor", ("덧셈", "분배")), "sub": ("sub gate", ("뺄셈",)), "mul": ("swap", ("곱셈", "바꾼")),
    "max": ("larger", ("max", "큰 입력")), "min": ("smaller", ("min", "작은 입력")),
    "branch": ("add up", ("분기", "더해")), "relu": ("mask", ("ReLU", "마스크")),
    "sigmoid": ("cached output", ("Sigmoid", "출력 y")), "softmax_cross_entropy": ("batch", ("Softmax", "배치")),
    "matmul": ("matmul", ("행렬 곱",)), "addmm": ("summed over rows", ("편향", "행끼리 더해")),
    "addmm_one": ("as it is", ("편향", "그대로")), "summary": ("Gradients of the inputs", ("입력에 대한 기울기",)),
    "alternative": ("one sigmoid gate", ("시그모이드 노드 하나",)), "same": ("same gradients", ("두 경로", "같다")),
    "gradcheck": ("central differences", ("역전파", "중심 차분")), "input": ("input", "입력"),
    "analytic": ("analytic", "해석적"), "numeric": ("numerical", "수치적"), "relerr": ("relative error", "상대 오차"),
    "kink": ("kink", "꺾인 점"), "title_vanishing": ("Vanishing", "기울기 소실"),
    "title_zigzag": ("zig-zag", ("시그모이드", "지그재그")), "title_histograms": ("signs", ("층별", "부호")),
    "seed_activation": ("activation", "활성화 함수"), "seed_solved": ("solved XOR", "XOR 해결"),
    "seed_diverged": ("diverged (NaN)", "발산 (NaN)"), "seed_dead": ("dead at start", "시작부터 죽은 망"),
    "seed_ratio": ("median", ("첫 층", "마지막 층", "중앙값")), "seed_summary": ("anecdote", ("시드 {seeds}개", "일화")),
    "slopes": ("largest local gradient", ("가장 큰 국소 기울기",)), "norms": ("log scale", ("노름", "로그 스케일")),
    "vanish": ("step 0: {which}", "스텝 0: {which}"), "vanish_one": ("orders of magnitude", ("{orders}자릿수", "작다")),
    "dead": ("dead at initialisation", ("{names}", "초기화", "죽은")),
    "no_vanish": ("factor of 100", ("100배", "줄지 않는다")),
    "norm_note": ("first {first}, last {last}", ("첫 층 {first}", "끝 층 {last}")),
    "nan_norm": ("× = NaN", ("× = NaN", "발산했다")), "norms_training": ("training goes on", ("학습", "노름")),
    "step_stamp": ("step {step}", "스텝 {step}"), "curves": ("after {steps} steps", "{steps} 스텝 후"),
    "outcome_solved": ("solved XOR", "XOR 해결: {names}"), "outcome_unsolved": ("not solved", "해결 못함: {names}"),
    "outcome_diverged": ("diverged", "발산 (NaN): {names}"), "final_accuracy": ("final accuracy", ("최종 정확도",)),
    "nan_from": ("NaN from step {step}", ("스텝 {step}부터 NaN",)),
    "outcome_seeds": ("accuracy 1", ("정확도 1", "시드 {seeds}개")), "outcome_count": ("{solved}", "{name} {solved}개"),
    "outcome_count_nan": ("diverged", ("{diverged}개", "발산")), "curves_seed": ("seed {seed}", ("곡선", "시드 {seed}")),
    "panel_activation": ("activation f(x)", "활성화 함수 f(x)"),
    "panel_derivative": ("derivative", ("도함수", "국소 기울기")), "axis_input": ("input x", "입력 x"),
    "axis_step": ("step", "스텝"), "axis_layer": ("layer", "층"), "axis_norm": ("gradient norm", "기울기 노름"),
    "axis_count": ("count of weights", "가중치 개수"), "axis_gradient": ("gradient", "기울기"), "loss": ("loss", "손실"),
    "accuracy": ("accuracy", "정확도"), "zigzag_sigmoid": ("all positive", ("양수", "같은 방향")),
    "zigzag_tanh": ("zero-centred", ("tanh", "0 중심")), "zigzag_min": ("minimum", ("최솟값",)),
    "zigzag_quadrants": ("both weights up or both down", ("증가", "감소")),
    "zigzag_path": ("with one sign", ("{same} 스텝이 한 부호",)), "hist_intro": ("vertical line marks 0", ("세로선이 0",)),
    "hist_one_sign": ("one sign", ("부호가 하나", "같은 방향")), "hist_mixed": ("the signs mix", ("마지막 층", "부호가 섞인다")),
    "layer": ("layer {layer}", "{layer}층"), "hist_zero": ("every gradient is 0", ("모두 0", "움직이지 않는다")),
}


def test_each_korean_caption_says_what_its_english_one_says():
    """Each Korean caption has its hand-written words, and no other caption has them all: so any two Korean
    captions swapped fail."""
    from helpers import translation_problems

    assert translation_problems(SAYS, style.CAPTIONS["en"], style.CAPTIONS["ko"]) == []


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
    (its Béziers), a label crossed where it passes more than 2 px (the audit's margin) inside."""
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
    samples = {key: graph.curve_points(key, 120) for key in graph.edges}
    for key, label in [*graph.value_labels.items(), *graph.grad_labels.items()]:
        (x0, y0, _), (x1, y1, _) = label.get_corner([-1, -1, 0]), label.get_corner([1, 1, 0])
        for other, points in samples.items():
            if other != key:
                x, y = points[:, 0], points[:, 1]
                assert not np.any((x0 + margin < x) & (x < x1 - margin) & (y0 + margin < y) & (y < y1 - margin)), \
                    f"edge {other} runs through {key}'s label {text_of(label)}"


def test_each_test_process_makes_its_texts_in_a_media_folder_of_its_own():
    """Manim writes a text's SVG under config.text_dir by a name made from its content, and removes temporary
    files there: two xdist workers sharing the checkout's media/texts could read or delete each other's
    (a flaky FileNotFoundError). tests/conftest.py gives each process a folder of its own, outside the checkout."""
    import os
    from pathlib import Path

    from manim import Text, config

    from render import ROOT

    media = Path(config.media_dir).resolve()
    assert not media.is_relative_to(ROOT) and media.is_dir()
    assert media.name.startswith(f"backprop-test-media-{os.environ.get('PYTEST_XDIST_WORKER', 'main')}-")
    texts = Path(config.get_dir("text_dir")).resolve()
    assert texts.is_relative_to(media) and Path(config.get_dir("tex_dir")).resolve().is_relative_to(media)
    made = set(texts.glob("*.svg")) if texts.is_dir() else set()
    Text(f"only this process {os.getpid()}", font_size=20)
    assert set(texts.glob("*.svg")) - made  # written where the test process's own folder says


def test_a_label_is_built_once_and_each_caller_gets_its_own_copy(monkeypatch):
    from manim import MathTex

    built = []

    class Counted(Text):
        def __init__(self, *args, **kwargs):
            built.append(args[0])
            super().__init__(*args, **kwargs)

    monkeypatch.setattr(style, "_BUILT", style.OrderedDict())
    first = style.once(Counted, "−0.197", font_size=22)
    second = style.once(Counted, "−0.197", font_size=22)
    assert built == ["−0.197"]  # the second is a copy
    assert second is not first and second.submobjects[0] is not first.submobjects[0]
    np.testing.assert_array_equal(second.submobjects[0].points, first.submobjects[0].points)
    second.shift([1, 0, 0])  # each caller's own
    assert not np.allclose(second.get_center(), first.get_center())
    style.once(Counted, "−0.197", font_size=24)  # another size: built
    assert built == ["−0.197"] * 2
    theme = style.THEME
    other = "light" if theme == "dark" else "dark"
    try:  # the theme's text colour is Manim's default colour: part of the key
        style.apply_theme(other)
        again = style.once(Counted, "−0.197", font_size=22)
    finally:
        style.apply_theme(theme)
    assert built == ["−0.197"] * 3 and again.get_fill_color().to_hex() == style.THEMES[other]["TEXT"]
    assert first.get_fill_color().to_hex() == style.THEMES[theme]["TEXT"]
    template = style.TEX_TEMPLATE.copy()  # a formula in another LaTeX preamble is another formula
    template.add_to_preamble(r"\usepackage{amssymb}")
    a, b = style.once(MathTex, "x"), style.once(MathTex, "x", tex_template=template)
    assert len(style._BUILT) == 5 and a is not b


# --- the graph's own colours and sizes, per theme: what the palette's roles in scenes/style.py say ---
PALETTE = {"dark": {"NODE_STROKE": "#BBBBBB", "TEXT": "#FFFFFF", "MUTED": "#999999", "FORWARD": "#56B4E9",
                    "HIGHLIGHT": "#F0E442", "GRADIENT": "#E69F00"},
           "light": {"NODE_STROKE": "#444444", "TEXT": "#111111", "MUTED": "#555555", "FORWARD": "#0072B2",
                     "HIGHLIGHT": "#8A7500", "GRADIENT": "#AD5A00"}}


def _fill(mob) -> set[str]:
    return {m.get_fill_color().to_hex().upper() for m in mob.family_members_with_points()}


@functools.lru_cache
def _small_graph(theme):
    # q1 = x * 2 (a named gate), f = q1 + y (the unnamed output: no name in its circle)
    from helpers import trace_of
    with style.themed(theme):
        g = GraphTrace.from_dict(trace_of("x * 2 + y", {"x": 3.0, "y": -1.0}))
        graph = ComputationalGraph(g, width=13.2, height=4.1)
        mul = next(i for i, n in g.nodes.items() if n.op == "mul")
        forward = graph.forward_animation(mul)
        seed = graph.seed_animation()
        backward = [graph.backward_animation(s) for s in g.backward]
    return g, graph, mul, forward, seed, backward


@pytest.mark.parametrize("theme", ["dark", "light"])
def test_a_graph_draws_gates_wires_and_names_in_the_palette_s_roles(theme):
    g, graph, mul, _, _, _ = _small_graph(theme)
    colours = PALETTE[theme]
    for nid, circle in graph.circles.items():
        assert circle.get_stroke_color().to_hex().upper() == colours["NODE_STROKE"] and circle.get_stroke_width() == 3
        symbol = graph.gate_mobs[nid].submobjects[1]
        assert symbol.audit_kind == "gate" and _fill(symbol) == {colours["TEXT"]}
    assert set(graph.name_tags) == {mul}  # the unnamed output shows no name in its gate
    tag = graph.name_tags[mul]
    assert tag.audit_kind == "name" and _fill(tag) == {colours["MUTED"]}
    assert tag.get_top()[1] <= graph.gate_mobs[mul].submobjects[1].get_bottom()[1]  # under its symbol
    for edge in graph.edges.values():
        assert edge.get_stroke_color().to_hex().upper() == colours["NODE_STROKE"] and edge.get_stroke_width() == 2.5
        assert edge.has_tip()
    leaves = {g.nodes[n].label: m for n, m in graph.leaf_mobs.items()}
    assert _fill(leaves["x"]) == _fill(leaves["y"]) == {colours["TEXT"]} and _fill(leaves["2"]) == {colours["MUTED"]}


@pytest.mark.parametrize("theme", ["dark", "light"])
def test_a_gate_pulses_blue_as_it_computes_and_yellow_as_it_sends_gradients_back(theme):
    from scenes.animations import Pulse
    g, graph, mul, forward, seed, backward = _small_graph(theme)
    colours = PALETTE[theme]
    pulse = forward.animations[0]
    assert isinstance(pulse, Pulse) and pulse.mobject is graph.gate_mobs[mul] and pulse.scale_factor == 1.15
    assert ManimColor(pulse.rgba[:3]).to_hex().upper() == colours["FORWARD"]
    for step, anim in zip(g.backward, backward):
        first = anim.animations[0]
        assert isinstance(first, Pulse) and first.mobject is graph.gate_mobs[step.node]
        assert ManimColor(first.rgba[:3]).to_hex().upper() == colours["HIGHLIGHT"]


@pytest.mark.parametrize("theme", ["dark", "light"])
def test_a_value_is_written_above_its_wire_and_a_gradient_below_it_the_seed_plus_one(theme):
    g, graph, mul, _, _, _ = _small_graph(theme)
    (seed_key,) = graph.out_edges(g.output)
    assert [p.original_text for p in graph.grad_labels[seed_key].submobjects] == ["+1"]
    for key, label in graph.value_labels.items():
        ys = graph._edge_ys(key, label.get_left()[0], label.get_right()[0])
        assert label.get_bottom()[1] > max(ys), key
    for key, label in graph.grad_labels.items():
        ys = graph._edge_ys(key, label.get_left()[0], label.get_right()[0])
        assert label.get_top()[1] < min(ys), key
        assert label.audit_kind == "gradient"
    x = next(n for n in g.nodes if g.nodes[n].label == "x")
    assert [p.original_text for p in graph.grad_labels[(x, mul, 0)].submobjects] == ["+2"]  # d(x*2)/dx
