"""The numerical gradient check: it never refuses a config whose forward and backward passes are valid,
recognises kinks, and `render.py check` exits 1 exactly when a gradient disagrees (or nothing was checked)."""
import json
import math

import numpy as np
import pytest
import torch

from engine.trace import decode_value
from helpers import node_by_label, run_cli, trace_of


def torch_grad(fn, *values):
    """Gradients of fn at values, in torch float64, written per case by hand."""
    xs = [torch.tensor(v, dtype=torch.float64, requires_grad=True) for v in values]
    fn(*xs).backward()
    return [x.grad.item() for x in xs]


# Each: the ±h probe of the default h = 1e-4 leaves the function's domain, the passes themselves are fine.
DOMAIN_EDGE = [
    ("log(x) * 2", {"x": 5e-5}, lambda x: torch.log(x) * 2),
    ("x / y", {"x": 1.0, "y": 1e-4}, lambda x, y: x / y),
    ("x ** 0.5", {"x": 5e-5}, lambda x: x ** 0.5),
    ("sqrt(x) + log(y)", {"x": 2e-6, "y": 3e-5}, lambda x, y: torch.sqrt(x) + torch.log(y)),
]


@pytest.mark.parametrize("expression,inputs,reference", DOMAIN_EDGE, ids=[c[0] for c in DOMAIN_EDGE])
def test_probe_stays_in_the_domain(expression, inputs, reference):
    t = trace_of(expression, inputs)
    expected = torch_grad(reference, *inputs.values())
    for (name, _), g in zip(inputs.items(), expected):
        n = node_by_label(t, name)
        assert float(decode_value(n["grad"])) == pytest.approx(g, rel=1e-12)
        assert float(decode_value(n["numeric_grad"])) == pytest.approx(g, rel=1e-6)
        assert n["relative_error"] < 1e-6 and "numeric_unavailable" not in n


def test_negative_base_exponent_is_unavailable_not_refused():
    t = trace_of("x ** y", {"x": -2.0, "y": 3.0})
    gx, _ = torch_grad(lambda x, y: x ** y, -2.0, 3.0)
    x, y = node_by_label(t, "x"), node_by_label(t, "y")
    assert float(decode_value(x["numeric_grad"])) == pytest.approx(gx, rel=1e-6) == 12.0
    assert y["relative_error"] is None
    assert y["numeric_unavailable"] == {
        "count": 1, "reason": "probing it leaves the function's domain (negative number raised to a non-integer power)"}


def test_vertical_tangent_is_unavailable():
    # sqrt at 0: only the right side exists and the slope there is infinite (torch says inf too)
    assert torch_grad(lambda x: torch.sqrt(x), 0.0) == [math.inf]
    t = trace_of("y * sqrt(x)", {"x": 0.0, "y": 2.0})
    y = node_by_label(t, "y")
    assert float(decode_value(y["numeric_grad"])) == 0.0 and y["relative_error"] == 0.0
    x = node_by_label(t, "x")  # a vertical tangent: infinite analytic gradient, nothing to compare
    assert decode_value(x["grad"]) == math.inf and x["relative_error"] is None
    assert x["numeric_unavailable"]["reason"] == "the analytic gradient is infinite there"


@pytest.mark.parametrize("expression,inputs,kinked", [
    ("relu(x) + y", {"x": 0.0, "y": 1.0}, "x"),
    ("abs(x) + y", {"x": 0.0, "y": 1.0}, "x"),
    ("max(x, y)", {"x": 2.0, "y": 2.0}, "x"),
    ("min(x, y)", {"x": 2.0, "y": 2.0}, "y"),
])
def test_kinks_are_named_not_failed(expression, inputs, kinked, tmp_path):
    n = node_by_label(trace_of(expression, inputs), kinked)
    assert n["kinks"] and n["kinks"][0]["subgradient"] is True
    left, right = sorted((n["kinks"][0]["left"], n["kinks"][0]["right"]))
    assert left < right  # the one-sided slopes differ: that is what a kink is
    cfg = tmp_path / "k.yaml"
    cfg.write_text(f"scene: gradcheck\nexpression: '{expression}'\ninputs: {json.dumps(inputs)}\n")
    r = run_cli(["check", str(cfg)])
    assert r.exit_code == 0, r.output
    row = next(line for line in r.output.splitlines() if line.startswith(kinked))
    assert "kink" in row and "not differentiable" in row and "FAIL" not in r.output


def test_smooth_points_are_not_kinks():
    t = trace_of("x ** 2 + exp(20 * y) + relu(z)", {"x": 0.0, "y": 0.3, "z": 5e-5})
    for name in "xyz":
        n = node_by_label(t, name)
        assert "kinks" not in n and n["relative_error"] < 1e-6, name


def run_check(tmp_path, text, *args):
    cfg = tmp_path / "c.yaml"
    cfg.write_text(text)
    return run_cli(["check", str(cfg), *args])


@pytest.mark.parametrize("op,expression,inputs", [
    ("exp", "exp(x) * c\nconstants: {c: 2.0}", {"x": 0.3}),
    ("sqrt", "sqrt(abs(v))", {"v": -0.004}),  # where the step's truncation error is allowed for (below)
])
def test_check_fails_with_exit_1_when_a_local_gradient_is_corrupted(tmp_path, monkeypatch, op, expression, inputs):
    from dataclasses import replace

    from engine.ops import OPS
    text = f"scene: graph\nexpression: {expression}\ninputs: {json.dumps(inputs)}\n"
    assert run_check(tmp_path, text).exit_code == 0  # the true gradient passes
    right = OPS[op].local
    monkeypatch.setitem(OPS, op, replace(OPS[op], local=lambda i, o: [g * (1 + 1e-3) for g in right(i, o)]))
    r = run_check(tmp_path, text)
    assert r.exit_code == 1
    assert "FAIL" in r.output and f"gradient check failed for {next(iter(inputs))}" in r.output


def test_a_truncation_error_of_the_numerical_estimate_does_not_fail_a_correct_gradient(tmp_path):
    # sqrt(|v|) at v = -0.004: the central difference at h = 1e-4 is -7.909713..., 7.8e-5 from the truth,
    # because the function curves on the scale of |v| (its error is about the third derivative x h^2 / 6)
    (g,) = torch_grad(lambda v: torch.sqrt(torch.abs(v)), -0.004)
    n = node_by_label(trace_of("sqrt(abs(v))", {"v": -0.004}), "v")
    assert float(decode_value(n["grad"])) == pytest.approx(g, rel=1e-12)
    assert abs(float(decode_value(n["numeric_grad"])) / g - 1) > 1e-5  # the estimate itself is that far off
    r = run_check(tmp_path, "scene: graph\nexpression: sqrt(abs(v))\ninputs: {v: -0.004}\n", "--json")
    assert r.exit_code == 0, r.output
    row = json.loads(r.stdout)[0]
    assert row["status"] == "ok" and row["note"] == "within the numerical estimate's own error"


def test_gradients_zero_within_rounding_on_both_sides_agree(tmp_path):
    # BatchNorm1d in training mode subtracts the batch mean, so the bias of the layer before it has gradient
    # 0; torch computes about 1e-17, central differences 0 or a rounding error of the loss
    (tmp_path / "bn.py").write_text(
        "import torch\n\nclass Net(torch.nn.Module):\n    def __init__(self):\n        super().__init__()\n"
        "        self.fc1 = torch.nn.Linear(3, 3)\n        self.bn = torch.nn.BatchNorm1d(3)\n"
        "        self.fc2 = torch.nn.Linear(3, 2)\n\n    def forward(self, x):\n"
        "        return self.fc2(torch.relu(self.bn(self.fc1(x))))\n")
    x = [[1.0, -2.0, 0.5], [0.3, 0.2, -1.0], [2.0, 1.0, 0.0], [-1.0, 0.5, 0.7]]
    cfg = tmp_path / "c.yaml"
    cfg.write_text(f"scene: gradcheck\ntorch: bn.py:Net\nseed: 0\ninputs: {{}}\nconstants: {{x: {x}}}\n"
                   "loss: cross_entropy\ntarget: [1, 0, 1, 0]\n")
    torch.manual_seed(0)  # the same network by hand, in training mode
    fc1, bn, fc2 = torch.nn.Linear(3, 3).double(), torch.nn.BatchNorm1d(3).double(), torch.nn.Linear(3, 2).double()
    loss = torch.nn.functional.cross_entropy(fc2(torch.relu(bn(fc1(torch.tensor(x, dtype=torch.float64))))),
                                             torch.tensor([1, 0, 1, 0]))
    loss.backward()
    assert fc1.bias.grad.abs().max() < 1e-15 and fc1.weight.grad.abs().max() > 1e-3
    r = run_cli(["check", str(cfg), "--json"])
    assert r.exit_code == 0, r.output
    rows = {row["input"]: row for row in json.loads(r.stdout)}
    np.testing.assert_allclose(decode_value(rows["fc1.bias"]["analytic"]), fc1.bias.grad.numpy(), atol=1e-15)
    assert rows["fc1.bias"]["status"] == "ok" and rows["fc1.bias"]["relative_error"] < 1e-6
    assert all(row["status"] == "ok" and "kink" not in row["note"] for row in rows.values()), rows


def test_a_smooth_point_inside_a_tiny_curvature_scale_is_not_a_kink(tmp_path):
    # sqrt(y^2 + 1e-20) is smooth; at y = 1e-9 it curves within 1e-10, so at the step 1e-4 its one-sided
    # slopes are -1 and 1, as at a kink; below its scale they agree, on y / sqrt(y^2 + 1e-20) = 0.995
    (g,) = torch_grad(lambda y: torch.sqrt(y * y + 1e-20), 1e-9)
    n = node_by_label(trace_of("sqrt(y*y + 1e-20)", {"y": 1e-9}), "y")
    assert "kinks" not in n
    assert float(decode_value(n["numeric_grad"])) == pytest.approx(g, rel=1e-4)
    r = run_check(tmp_path, "scene: graph\nexpression: sqrt(y*y + 1e-20)\ninputs: {y: 1e-9}\n")
    assert r.exit_code == 0 and "kink" not in r.output, r.output


def test_check_passes_with_exit_0(tmp_path):
    r = run_check(tmp_path, "scene: graph\nexpression: exp(x) * c\ninputs: {x: 0.3}\nconstants: {c: 2.0}\n", "--json")
    assert r.exit_code == 0
    row = json.loads(r.stdout)[0]
    assert row["status"] == "ok" and 0 < row["relative_error"] < 1e-6


def test_check_with_nothing_checkable_is_an_error(tmp_path):
    r = run_check(tmp_path, "scene: graph\nexpression: sqrt(x)\ninputs: {x: 0.0}\n")
    assert r.exit_code == 1
    assert "no gradient could be checked numerically; x: 1 element(s) not checked" in r.output


def test_unavailable_element_is_reported_not_failed(tmp_path):
    r = run_check(tmp_path, "scene: graph\nexpression: x ** y\ninputs: {x: -2.0, y: 3.0}\n")
    assert r.exit_code == 0, r.output
    assert "n/a (1 element(s) not checked: probing it leaves the function's domain" in r.output


def test_check_json_rows_are_complete(tmp_path):
    r = run_check(tmp_path, "scene: graph\nexpression: relu(x) + w ** v + y\ninputs: {x: 0.0, w: -2.0, v: 3.0, y: 1.5}\n",
                  "--json")
    assert r.exit_code == 0, r.output
    rows = {row["input"]: row for row in json.loads(r.stdout)}
    assert rows["x"] == {"input": "x", "analytic": 0.0, "numeric": rows["x"]["numeric"], "relative_error": None,
                         "status": "kink", "ok": True,
                         "note": "kink at x: not differentiable, one-sided slopes 0 and 1"}
    assert rows["x"]["numeric"] == pytest.approx(0.5)
    assert rows["v"]["status"] == "n/a" and rows["v"]["ok"] is True and rows["v"]["relative_error"] is None
    assert rows["v"]["note"] == ("1 element(s) not checked: probing it leaves the function's domain "
                                 "(negative number raised to a non-integer power)")
    assert rows["w"]["status"] == "ok" and rows["w"]["analytic"] == 12.0 and 0 < rows["w"]["relative_error"] < 1e-6
    assert rows["y"]["status"] == "ok" and rows["y"]["note"] == ""


def test_check_names_a_kink_outside_its_slopes_as_a_failure():
    from render import _check_row
    node = {"label": "v", "grad": [1.0, 5.0], "numeric_grad": [1.0, 0.5], "relative_error": 1e-9,
            "kinks": [{"index": [1], "left": 0.0, "right": 1.0, "subgradient": False}]}
    row = _check_row(node, 1e-6)
    assert row["status"] == "FAIL" and row["ok"] is False
    assert row["note"] == "kink at v[1]: not differentiable, one-sided slopes 0 and 1"


def test_check_table_text(tmp_path):
    r = run_check(tmp_path, "scene: graph\nexpression: sum(W * W) + abs(s)\ninputs: {W: [[1.0, 2.0]], s: 0.0}\n")
    lines = r.output.splitlines()
    assert lines[0].split() == ["input", "analytic", "numeric", "rel.", "error"]
    assert lines[1].split()[:4] == ["W", "shape", "1x2", lines[1].split()[3]] and lines[1].rstrip().endswith("ok")
    assert lines[2].split()[:5] == ["s", "0", "0", "-", "kink"]


def test_an_overflowing_difference_quotient_is_unavailable_not_silent():
    # found by the fuzz test: at x = 0 the left probe gives 1 / -1e-4, the right 1 / -1e-308
    n = node_by_label(trace_of("1.0 / min(x, -1.1125369292536007e-308)", {"x": 0.0}), "x")
    assert n["relative_error"] is None
    assert n["numeric_unavailable"] == {"count": 1, "reason": "no finite difference works here "
                                                              "(the difference quotient overflows)"}


def test_check_rows_at_the_tolerance_and_with_several_kinks():
    from render import _check_row
    base = {"label": "W", "grad": [[1.0, 2.0]], "numeric_grad": [[1.0, 2.0]]}
    assert _check_row({**base, "relative_error": 1e-6}, 1e-6)["status"] == "ok"  # at the tolerance passes
    assert _check_row({**base, "relative_error": 1.0000001e-6}, 1e-6)["status"] == "FAIL"
    kinks = [{"index": [0, i], "left": -0.123456, "right": 1.98765, "subgradient": True} for i in range(5)]
    row = _check_row({**base, "relative_error": None, "kinks": kinks}, 1e-6)
    assert row["status"] == "kink" and row["ok"] is True
    # the first three places named, slopes to three significant digits
    assert row["note"] == ("kink at W[0, 0], W[0, 1], W[0, 2]: not differentiable, one-sided slopes -0.123 "
                           "and 1.99")


@pytest.mark.parametrize("analytic,left,right,ok", [
    (0.5, 0.0, 1.0, True), (0.0, 0.0, 1.0, True), (1.0, 1.0, 0.0, True),  # ends included, in either order
    (1.0 + 0.9e-6, 0.0, 1.0, True), (1.0 + 1.1e-6, 0.0, 1.0, False),  # slack: 1e-6 of max(|slope|, 1)
    (-0.9e-6, 0.0, 1.0, True), (-1.1e-6, 0.0, 1.0, False),
    (100.0 + 0.9e-4, 100.0, 2.0, True), (100.0 + 1.1e-4, 100.0, 2.0, False),  # scaled by the larger slope
    (-100.0 - 0.9e-4, 0.0, -100.0, True), (-100.0 - 1.1e-4, 0.0, -100.0, False),
    (0.5 + 0.9e-6, 0.0, 0.5, True),  # slopes below 1 still get a slack of 1e-6
    (-1e-6, 0.0, 1.0, True), (1.0 + 1e-6, 0.0, 1.0, True),  # exactly at the slack: still inside
])
def test_a_subgradient_lies_between_the_one_sided_slopes(analytic, left, right, ok):
    from engine.gradcheck import Kink, is_subgradient
    assert is_subgradient(analytic, Kink(index=(), left=left, right=right)) is ok


def test_check_row_joins_its_notes():
    from render import _check_row
    node = {"label": "v", "grad": [1.0, 0.5], "numeric_grad": [1.0, 0.5], "relative_error": 1e-9,
            "kinks": [{"index": [0], "left": 0.0, "right": 1.0, "subgradient": True}],
            "numeric_unavailable": {"count": 1, "reason": "the difference quotient overflows"}}
    assert _check_row(node, 1e-6)["note"] == ("kink at v[0]: not differentiable, one-sided slopes 0 and 1; "
                                              "1 element(s) not checked: the difference quotient overflows")


def _numeric(expression: str, x, h: float):
    from engine.gradcheck import numerical_gradient
    from engine.run import build_graph
    graph = build_graph(expression, {"x": x}, {})
    node = next(n for n in graph.inputs if n.label == "x")
    return numerical_gradient(graph, node, h)


@pytest.mark.parametrize("expression,slope", [("1 + sqrt(x) * sqrt(x)", 1.0), ("1 + sqrt(-x) * sqrt(-x)", -1.0)])
def test_at_the_edge_of_the_domain_a_one_sided_difference_is_exact_for_a_line(expression, slope):
    # f is 1 + x (or 1 - x) where defined, only on one side of 0: (-3 f(0) + 4 f(s) - f(2s)) / 2s, signed
    g = _numeric(expression, 0.0, 1e-3)
    assert g.value[()] == pytest.approx(slope, rel=1e-9) and not g.unavailable


def test_the_one_sided_difference_takes_the_smallest_step():
    # exp(x) through sqrt(-x)^2, defined for x <= 0 only: at 0 with h = 0.1 the step h's second-order error
    # is about h^2 / 3 = 3e-3; the last, absolute step h * 1e-3 brings it to 3e-9
    g = _numeric("exp(-(sqrt(-x) * sqrt(-x)))", 0.0, 0.1)
    assert g.value[()] == pytest.approx(1.0, abs=1e-7)


def test_relu_s_corner_is_found_as_a_kink_with_its_two_slopes():
    g = _numeric("relu(x)", 0.0, 1e-5)
    assert [(k.left, k.right) for k in g.kinks] == [(0.0, pytest.approx(1.0))]


def test_the_one_sided_difference_moves_only_the_element_it_probes():
    # x = (0, 4): the first element sits at sqrt's edge, the second does not; each slope of sum(x) is 1
    g = _numeric("sum(sqrt(x) * sqrt(x))", [0.0, 4.0], 1e-3)
    np.testing.assert_allclose(g.value, [1.0, 1.0], rtol=1e-9)


def test_real_kinks_in_torch_code_are_still_named(tmp_path):
    # relu and abs at 0 and a tie in maximum: torch's subgradients, by hand, are 0, 0 and 0.5 each
    body = "def f(x, y, a, b):\n    return torch.relu(x) + torch.abs(y) + torch.maximum(a, b) + 10 * x * y\n"
    (tmp_path / "m.py").write_text("import torch\n\n" + body)
    cfg = tmp_path / "c.yaml"
    cfg.write_text("scene: gradcheck\ntorch: m.py:f\ninputs: {x: 0.0, y: 0.0, a: 2.0, b: 2.0}\n")
    grads = torch_grad(lambda x, y, a, b: torch.relu(x) + torch.abs(y) + torch.maximum(a, b) + 10 * x * y,
                       0.0, 0.0, 2.0, 2.0)
    assert grads == [0.0, 0.0, 0.5, 0.5]
    r = run_cli(["check", str(cfg), "--json"])
    assert r.exit_code == 0, r.output
    rows = {row["input"]: row for row in json.loads(r.stdout)}
    for name, g in zip("xyab", grads):
        assert float(decode_value(rows[name]["analytic"])) == g
        assert rows[name]["status"] == "kink" and "not differentiable" in rows[name]["note"], rows[name]


def test_the_scene_s_table_gives_a_kink_its_verdict_and_its_colour(tmp_path):
    # relu(x) at x = 0: no relative error (a corner), judged by its one-sided slopes: the row says "kink ✓"
    # in the good colour, as a checked input does, not muted as an input that was not checked
    from audit.run import audit_trace
    from engine.source import trace_path_for
    from scenes import style

    config = tmp_path / "kink.yaml"
    config.write_text("scene: gradcheck\nexpression: f = relu(x) * y\ninputs: {x: 0.0, y: 2.0}\n")
    texts = {t.string: t.color.upper() for t in audit_trace(trace_path_for(config)).frames[-1].texts}
    assert texts["kink  ✓"] == style.THEMES["dark"]["GOOD"].upper()
