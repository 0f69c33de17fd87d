"""How graphs are written on screen: names, rounding noise, branches (expected values written out by hand)."""
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from render import CONFIG_DIR, ROOT
from scenes import style
from scenes.formulas import chain_rule_pages, summary_pages
from scenes.notation import Notation
from engine.source import trace_path_for
from scenes.trace_data import GraphTrace, read_trace
from helpers import run_cli

STRESS = Path(__file__).parent / "screen"


def notation(path) -> Notation:
    return Notation(GraphTrace.from_dict(read_trace(trace_path_for(path))))


def by_label(nt: Notation, label: str) -> str:
    return next(i for i, n in nt.trace.nodes.items() if n.label == label)


def test_rounding_noise_is_shown_as_zero_and_real_values_are_not():
    nt = notation(STRESS / "noise.yaml")  # s = x + y - x - y at x = 0.1, y = 0.2 is 2.8e-17 in floating point
    s = by_label(nt, "s")
    assert nt.trace.nodes[s].value != 0 and nt.value(s) == 0
    product = nt.trace.nodes[s].inputs and next(i for i, n in nt.trace.nodes.items() if s in n.inputs)
    assert abs(nt.trace.nodes[product].value) < 1e-15 and nt.value(product) == 0  # s * w: noise times 3
    w = by_label(nt, "w")
    assert nt.grad(w) == 2  # 2.8e-17 + 2
    shares = [float(c) for _, _, c in nt.contributions(w)]
    assert sorted(shares) == [0.0, 2.0]
    # and a genuinely tiny number stays: 3.2e-7 is not noise beside operands of size 1
    tiny = Notation(GraphTrace.from_dict(read_trace(trace_path_for(_config_file("f = x * 3.2e-7", x=1.0)))))
    assert float(tiny.value(tiny.trace.output)) == 3.2e-7


def _config_file(expression: str, **inputs) -> Path:
    import tempfile
    path = Path(tempfile.mkdtemp()) / "c.yaml"
    path.write_text(f"scene: graph\nexpression: {expression}\ninputs: {inputs}\n".replace("'", ""))
    return path


def test_names_the_output_keeps_and_the_gates_get():
    nt = notation(STRESS / "network.yaml")  # h = relu(x @ W1 + b1); L = softmax_cross_entropy(h @ W2 + b2, t)
    assert nt.output_tex == "L"
    names = sorted(nt.names[i] for i, n in nt.trace.nodes.items() if not n.is_leaf)
    assert names == ["L", "h", "q1", "q2", "q3", "q4"]
    assert all(nt.shows_name(i) for i, n in nt.trace.nodes.items() if not n.is_leaf)
    unnamed = notation(CONFIG_DIR / "chain_rule.yaml")  # f = (x + y) * z: the sum is q
    assert unnamed.output_tex == "f"


def test_a_variable_used_twice_gets_shares_and_then_their_sum():
    # f = (x*y + max(x, y)) / (1 + exp(-z)) at x = 2, y = -3, z = 1: 1/(1+e^-1) = 0.731 reaches both uses
    nt = notation(STRESS / "reuse.yaml")
    pages = {step.node: chain_rule_pages(nt, step) for step in nt.trace.backward}
    mul = next(i for i, n in nt.trace.nodes.items() if n.op == "mul")
    text = pages[mul][0]
    assert r"\left.\frac{\partial f}{\partial x}\right|_{\textstyle x \to q_{1}}" in text
    assert r"\frac{\partial f}{\partial x} = (+0.731) + (-2.19) = " in text  # max's share, then ×'s: -y * 0.731
    assert text.endswith("{-1.46}") or "{-1.46}" in text
    # no line claims a share is the whole derivative
    from audit.equations import check_equation
    grads = {nt.tex(i): [n.grad] for i, n in nt.trace.nodes.items() if n.grad is not None}
    for page in [p for ps in pages.values() for p in ps] + summary_pages(nt):
        assert check_equation(page, "f", grads) == [], page


def test_korean_formulas_have_no_english_words():
    # local and upstream are written as the symbols they stand for, which read the same in every language
    nt = notation(CONFIG_DIR / "chain_rule.yaml")
    for step in nt.trace.backward:
        for page in chain_rule_pages(nt, step):
            assert "local" not in page and "upstream" not in page and r"\text{" not in page


def test_info_lists_the_animations_upto_counts():
    r = run_cli(["info", str(CONFIG_DIR / "chain_rule.yaml")])
    assert r.exit_code == 0, r.output
    lines = r.output.splitlines()
    # first the steps (a lecture's `steps:` and the slides count them), then the animations
    assert lines[0].startswith(f"{CONFIG_DIR / 'chain_rule.yaml'}: 10 steps")
    assert lines[2].split() == ["0", "0.0s", "title:", "Chain", "rule:", "f", "=", "(x", "+", "y)", "z"]
    assert lines[10].split()[:4] == ["8", "6.5s", "backward:", "+"] and lines[11].split()[2] == "summary:"
    assert lines[12].startswith(f"{CONFIG_DIR / 'chain_rule.yaml'}: 17 animations")
    assert lines[14].split()[0] == "0" and lines[-1].split()[0] == "16"
    assert "Backward pass" in r.output


@pytest.mark.slow
def test_plain_manim_on_the_wrong_kind_of_source_is_one_line(tmp_path):
    env = {"BACKPROP_SOURCE": str(CONFIG_DIR / "vanishing.yaml"), "PATH": "/usr/bin:/bin"}
    r = subprocess.run([sys.executable, "-m", "manim", "-ql", "--dry_run", "--media_dir", str(tmp_path),
                        str(ROOT / "scenes" / "graph_scenes.py"), "GatePatterns"], capture_output=True, text=True,
                       env=env, cwd=ROOT, timeout=120)
    assert r.returncode == 1
    assert "Traceback" not in r.stderr and "KeyError" not in r.stderr + r.stdout
    assert "vanishing config, which GatePatterns cannot draw" in r.stderr


def test_light_theme_colours_read_on_white():
    from audit.screen import contrast_ratio
    from manim import ManimColor
    light = style.THEMES["light"]
    for key in ("FORWARD", "GRADIENT", "HIGHLIGHT", "GOOD", "BAD", "TEXT", "MUTED", "RELU"):
        assert contrast_ratio(ManimColor(light[key]).to_rgb(), (1, 1, 1)) >= 4.5, key
    dark = style.THEMES["dark"]
    for key in ("FORWARD", "GRADIENT", "HIGHLIGHT", "GOOD", "BAD", "TEXT", "MUTED", "RELU"):
        assert contrast_ratio(ManimColor(dark[key]).to_rgb(), (0, 0, 0)) >= 4.5, key
    assert np.isfinite(contrast_ratio((0, 0, 0), (0, 0, 0)))


def _summary(activation, ratio, solved=1, seeds=1, diverged=0, dead=0):
    return {"activation": activation, "seeds": seeds, "solved": solved, "diverged": diverged,
            "dead_at_init": dead, "median_ratio": ratio}


def test_vanishing_captions_are_written_from_the_trace():
    from scenes.training_scenes import VanishingGradients as V
    trace = {"seed_summary": [_summary("sigmoid", 5.0e-7, solved=0), _summary("tanh", 2.0)]}
    assert V.vanish_caption(trace) == "step 0: sigmoid's first layer gets a gradient 6 orders of magnitude below its last"
    assert V.outcome_caption(trace, 5000) == "after 5000 steps: solved XOR: tanh; not solved: sigmoid"
    # tanh against ReLU, no sigmoid: nothing about sigmoid, and a ReLU net dead at initialisation is named
    trace = {"seed_summary": [_summary("tanh", 0.5), _summary("relu", None, solved=0, dead=1)]}
    caption = V.vanish_caption(trace)
    assert "sigmoid" not in caption
    assert caption == "ReLU: dead at initialisation (no gradient reaches the first layer)"
    trace = {"seed_summary": [_summary("tanh", 0.5), _summary("relu", 0.2)]}
    assert V.vanish_caption(trace).startswith("step 0: no activation here loses more than a factor of 100")
    trace = {"seed_summary": [_summary("relu", 1.0, solved=0, seeds=1, diverged=1)]}
    assert V.outcome_caption(trace, 100) == "after 100 steps: diverged (NaN): ReLU"
    trace = {"seed_summary": [_summary("relu", 1.0, solved=0, seeds=10, diverged=10)]}
    assert V.outcome_caption(trace, 100) == "after 100 steps, runs at accuracy 1 out of 10 seeds: ReLU 0 (10 diverged to NaN)"


def test_histogram_cells_show_zeros_and_their_range():
    from manim import Text
    from scenes.training_scenes import GradientHistograms
    h = {"layer": 2, "edges": [-0.5, 0.0, 0.5], "counts": [35, 29], "positive": 0, "negative": 35, "zero": 29}
    cell = GradientHistograms.histogram(h, 2.0, 1.2)
    texts = [m.original_text for m in cell if isinstance(m, Text)]
    assert "±0.5" in texts and "+0" in texts and "−35" in texts and "0: 29" in texts


def test_a_gate_without_a_name_is_given_one_no_other_node_has():
    # the config names its gates q1 and q2: the two unnamed exp gates take q3 and q4, never a name in use
    from helpers import trace_of

    g = GraphTrace.from_dict(trace_of("q1 = x * y\nq2 = q1 + z\nf = exp(q2) * exp(x)", {"x": 1.0, "y": 2.0, "z": -1.0}))
    names = Notation(g).names
    assert len(set(names.values())) == len(names)
    assert sorted(names[n] for n in g.nodes if g.nodes[n].op == "exp") == ["q3", "q4"] and names[g.output] == "f"


def _nt(expression, **inputs) -> Notation:
    from helpers import trace_of
    return Notation(GraphTrace.from_dict(trace_of(expression, inputs)))


@pytest.mark.parametrize("expression,inputs,output,gates,shown", [
    ("x * y + z", {"x": 1.0, "y": 2.0, "z": 3.0}, "f", {"mul": "q1"}, False),  # an unnamed output is f
    ("f * y + z", {"f": 1.0, "y": 2.0, "z": 3.0}, "out", {"mul": "q1"}, False),  # f is taken: out
    ("q1 * y + z", {"q1": 1.0, "y": 2.0, "z": 3.0}, "f", {"mul": "q2"}, False),  # q1 is taken: q2
    ("L = x * y + z", {"x": 1.0, "y": 2.0, "z": 3.0}, "L", {"mul": "q1"}, True),  # a named output shows its name
    ("h = x * y\nh + z", {"x": 1.0, "y": 2.0, "z": 3.0}, "f", {"mul": "h"}, False),
    ("exp(x) * exp(y)", {"x": 1.0, "y": 2.0}, "f", {"exp": ["q1", "q2"]}, False),  # in forward order
])
def test_the_output_keeps_its_name_or_is_f_and_gates_are_named_in_forward_order_around_names_in_use(
        expression, inputs, output, gates, shown):
    nt = _nt(expression, **inputs)
    assert nt.names[nt.trace.output] == output and nt.output_tex == style.latex_name(output)
    assert nt.shows_name(nt.trace.output) == shown
    for op, name in gates.items():
        found = [nt.names[i] for i in nt.trace.forward if nt.trace.nodes[i].op == op]
        assert found == (name if isinstance(name, list) else [name])
        assert all(nt.shows_name(i) for i in nt.trace.nodes if nt.trace.nodes[i].op == op)
    assert not any(nt.shows_name(i) for i, n in nt.trace.nodes.items() if n.is_leaf)  # a leaf is its label


def test_a_derivative_its_share_through_one_use_and_a_local_gradient_are_written_with_the_names():
    nt = _nt("x * w0 + x", x=1.0, w0=2.0)
    x, w = by_label(nt, "x"), by_label(nt, "w0")
    mul = next(i for i, n in nt.trace.nodes.items() if n.op == "mul")
    assert nt.d(w) == r"\frac{\partial f}{\partial w_{0}}"
    assert nt.d_via(x, mul) == r"\left.\frac{\partial f}{\partial x}\right|_{\textstyle x \to q_{1}}"
    assert nt.local(mul, w) == r"\frac{\partial q_{1}}{\partial w_{0}}"


def test_a_variable_used_twice_is_summed_at_the_step_that_sends_its_last_share():
    nt = _nt("x * y + x", x=3.0, y=2.0)
    x = by_label(nt, "x")
    steps = {nt.trace.nodes[s.node].op: s for s in nt.trace.backward}
    assert [nt.trace.nodes[s.node].op for s in nt.trace.backward] == ["add", "mul"]
    assert nt.completes(steps["add"]) == [] and nt.completes(steps["mul"]) == [x]
    assert nt.completes(steps["mul"]) == [x]  # y, used once, has no sum
    assert [(nt.trace.nodes[h].op, slot, float(c)) for h, slot, c in nt.contributions(x)] == [("add", 1, 1.0),
                                                                                              ("mul", 0, 2.0)]
    assert float(nt.grad(x)) == 3.0


@pytest.mark.parametrize("ulps,flushed", [(0, True), (64, True), (65, False), (1e6, False)])
def test_a_number_within_64_ulps_of_its_scale_is_shown_as_zero_and_not_beyond(ulps, flushed):
    from scenes.notation import _flush
    eps = np.finfo(float).eps
    for scale in (1.0, 1e6):
        for sign in (1, -1):
            x = sign * ulps * eps * scale
            assert float(_flush(np.asarray(x), scale)) == (0.0 if flushed else x)
    assert np.isnan(_flush(np.asarray(float("nan")), 1.0))
    assert _flush(np.asarray(float("inf")), np.inf) == np.inf  # at an overflowing scale too


@pytest.mark.parametrize("a,maxabs,minabs", [
    ([1.0, -3.0, 2.0], 3.0, 1.0), ([-5.0], 5.0, 5.0), ([float("nan"), -2.0, float("inf")], 2.0, 2.0),
    ([float("nan")], 0.0, None), ([], 0.0, 0.0), (0.0, 0.0, 0.0),
])
def test_a_scale_is_the_largest_finite_magnitude_and_a_divisor_s_the_smallest(a, maxabs, minabs):
    from scenes.notation import _maxabs, _minabs
    assert _maxabs(a) == maxabs
    if minabs is not None and np.all(np.isfinite(a)):
        assert _minabs(a) == minabs


@pytest.mark.parametrize("local,upstream,terms", [
    (np.float64(2.0), np.float64(1.0), 1), (np.ones(3), np.ones(3), 1),  # elementwise
    (np.ones((2, 3)), np.ones(2), 2), (np.ones((3, 4)), np.ones((2, 5)), 5), (np.ones((2, 3)), np.float64(1.0), 1),
])
def test_a_matrix_product_s_gradient_sums_as_many_terms_as_its_upstream_s_last_axis(local, upstream, terms):
    from scenes.notation import _inner
    assert _inner(local, upstream) == terms
