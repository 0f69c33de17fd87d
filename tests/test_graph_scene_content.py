"""What the graph scenes say, step by step, built without drawing a pixel (the audit's renderer): each
step's values against numbers worked out by hand, and every paused frame through the whole screen audit.
Fast (about a second a scene), so a change to a scene is checked by `make test-fast`, not only by renders."""
import pytest

from audit.run import audit_trace
from engine.source import trace_path_for
from render import CONFIG_DIR


@pytest.fixture(scope="module")
def gates():
    return audit_trace(trace_path_for(CONFIG_DIR / "gates.yaml"))


def steps(report, kind: str) -> list[str]:
    return [name.split(": ", 1)[1] for name, _ in report.steps if name.startswith(kind + ": ")]


# gates.yaml by hand: x = 3, y = -4, z = 2, w = -1; q = xy = -12, m = max(z, w) = 2, s = q + m = -10,
# f = sx = -30. Backward: f's mul gate swaps (s gets x = 3, x gets s = -10); the add gate distributes 3 to
# q and m; max routes 3 to z (the larger) and 0 to w; q's mul gate swaps (x gets 3y = -12, y gets 3x = 9);
# x is used twice, so df/dx = -10 + -12 = -22.
def test_the_gates_scene_steps_forward_in_topological_order_with_each_value(gates):
    assert steps(gates, "forward") == ["x = 3", "y = −4", "q = −12", "z = 2", "w = −1", "m = 2", "s = −10",
                                       "f = −30"]


def test_each_gate_passes_local_times_upstream_to_each_input_signed(gates):
    assert steps(gates, "backward") == [
        "∂f/∂f = 1", "× gate f, s gets +3, x gets −10", "+ gate s, q gets +3, m gets +3",
        "max gate m, z gets +3, w gets 0", "× gate q, x gets −12, y gets +9"]


def test_only_an_input_used_twice_is_a_branch_and_its_shares_add_up(gates):
    assert [name for name, _ in gates.steps if name.startswith("a branch")] == [
        "a branch sums: x collect every path's share"]
    sums = {t.string for f in gates.frames for t in f.texts if t.kind == "equation" and "(-10) + (-12)" in t.string}
    assert sums and all(t.endswith("{-22}") for t in sums)


def test_the_summary_gives_every_inputs_total_gradient(gates):
    assert steps(gates, "summary") == ["∂f/∂x = −22, ∂f/∂y = +9, ∂f/∂z = +3, ∂f/∂w = 0"]


def test_every_paused_frame_of_the_gates_scene_passes_the_audit_seed_colour_included(gates):
    assert gates.violations == []
    seed = [t.string for f in gates.frames for t in f.texts if t.string.startswith(r"\frac{\partial f}{\partial f}")]
    assert seed and all(s.endswith(r"\textcolor[HTML]{E69F00}{1}") for s in seed)  # dark: orange


def test_cs231n_s_first_example_in_the_light_theme_and_in_korean():
    # f = (x + y) z at x = -2, y = 5, z = -4: df/dx = df/dy = z = -4, df/dz = x + y = 3 (cs231n's numbers)
    report = audit_trace(trace_path_for(CONFIG_DIR / "chain_rule.yaml"), theme="light", lang="ko")
    assert report.violations == []
    assert steps(report, "summary") == ["∂f/∂x = −4, ∂f/∂y = −4, ∂f/∂z = +3"]
    captions = {t.string for f in report.frames for t in f.texts if t.kind == "caption"}
    # the Korean captions, the add gate's as "Deep Learning from Scratch" names it (덧셈 노드), the mul gate's
    assert "덧셈 노드: 기울기를 그대로 분배한다 (국소 기울기 1)" in captions and "곱셈 노드: 입력을 서로 바꾼 값을 곱한다" in captions
    assert all(any("\uac00" <= ch <= "\ud7a3" for ch in c) for c in captions)
    seed = [t.string for f in report.frames for t in f.texts if t.string.startswith(r"\frac{\partial f}{\partial f}")]
    assert seed and all(s.endswith(r"\textcolor[HTML]{AD5A00}{1}") for s in seed)  # light: dark orange


def table_cells(report) -> list[tuple[str, str]]:
    """(text, colour) of every table cell and label on the scene's last paused frame, in reading order."""
    texts = [t for t in report.frames[-1].texts if t.kind == "text"]
    return [(t.string, t.color) for t in sorted(texts, key=lambda t: (round(t.bbox[1] / 8), t.bbox[0]))]


def test_both_routes_through_the_sigmoid_give_cs231n_s_gradients_in_one_table():
    # cs231n's sigmoid neuron, w = (2, -3, -3), x = (-1, -2): dw0 -0.20, dx0 0.39, dw1 -0.39, dx1 -0.59,
    # dw2 0.20, the gate chain's and the sigmoid gate's alike (published to two digits)
    report = audit_trace(trace_path_for(CONFIG_DIR / "sigmoid_gate.yaml"))
    assert report.violations == []
    cells = table_cells(report)
    rows = [[s for s, _ in cells if s not in ("−, exp, +1, 1/x", "σ")][i:i + 5] for i in (0, 5)]
    published = [-0.20, 0.39, -0.39, -0.59, 0.20]
    for row in rows:
        assert [round(float(s.replace("−", "-")), 2) for s in row] == published
        assert all(s[0] in "+−" for s in row)  # signed, not by colour alone
    assert {c for s, c in cells if s[0] in "+−" and s[1:2].isdigit()} == {"#E69F00"}  # gradients' colour
    assert [s for s, _ in cells if s in ("−, exp, +1, 1/x", "σ")] == ["−, exp, +1, 1/x", "σ"]


def test_the_gradient_check_table_shows_torch_s_gradients_and_a_passing_error_per_input():
    import torch

    # gradcheck.yaml written in torch by hand: h = tanh(w1 x + b1), y = sigmoid(w2 h + b2), L = (y - t)^2
    w1, b1, w2, b2 = (torch.tensor(v, dtype=torch.float64, requires_grad=True) for v in (0.8, -0.3, -1.5, 0.2))
    x, t = 1.5, 1.0
    loss = (torch.sigmoid(w2 * torch.tanh(w1 * x + b1) + b2) - t) ** 2
    loss.backward()
    report = audit_trace(trace_path_for(CONFIG_DIR / "gradcheck.yaml"))
    assert report.violations == []
    cells = [s for s, _ in table_cells(report)]
    assert cells[:4] == ["input", "analytic", "numerical", "relative error"]
    rows = [cells[i:i + 4] for i in range(4, len(cells), 4)]
    assert [r[0] for r in rows] == ["w1", "b1", "w2", "b2"]
    for row, p in zip(rows, (w1, b1, w2, b2)):
        expected = f"{p.grad.item():+.3g}".replace("-", "−")
        assert row[1] == row[2] == expected
        error, mark = row[3].split()
        assert float(error.replace("−", "-")) < 1e-6 and mark == "✓"
    colours = dict(table_cells(report))
    assert all(colours[r[3]] == "#009E73" for r in rows)  # the passing colour


def equations(report) -> set[str]:
    return {t.string for f in report.frames for t in f.texts if t.kind == "equation"}


def test_matrix_gates_show_local_times_upstream_with_cs231n_s_numbers():
    # f = ||W x||^2, W = [[0.1, 0.5], [-0.3, 0.8]], x = (0.2, 0.4): q = Wx = (0.22, 0.26), dq = 2q,
    # dW = dq xᵀ = [[0.088, 0.176], [0.104, 0.208]], dx = Wᵀ dq = (-0.112, 0.636)
    report = audit_trace(trace_path_for(CONFIG_DIR / "vectors.yaml"))
    assert report.violations == []  # the audit reads each product as written (audit.equations)
    shown = {" ".join(e.replace(r"\textcolor[HTML]{E69F00}", "").split()) for e in equations(report)}
    assert (r"\frac{\partial f}{\partial W} = \frac{\partial f}{\partial q} \cdot x^{T} = {\begin{bmatrix} +0.44 \\ "
            r"+0.52 \end{bmatrix}} \cdot \begin{bmatrix} 0.2 & 0.4 \end{bmatrix} = {\begin{bmatrix} +0.088 & +0.176 \\ "
            r"+0.104 & +0.208 \end{bmatrix}}") in shown
    assert (r"\frac{\partial f}{\partial x} = W^{T} \cdot \frac{\partial f}{\partial q} = \begin{bmatrix} 0.1 & -0.3 \\ "
            r"0.5 & 0.8 \end{bmatrix} \cdot {\begin{bmatrix} +0.44 \\ +0.52 \end{bmatrix}} = {\begin{bmatrix} -0.112 \\ "
            r"+0.636 \end{bmatrix}}") in shown
    # a 2x2 matrix reads on its edge: W's entries and dW's are drawn there, not their shape
    edges = {(t.kind, t.string) for f in report.frames for t in f.texts if t.kind in ("value", "gradient")}
    assert ("value", r"\begin{bmatrix} 0.1 & 0.5 \\ -0.3 & 0.8 \end{bmatrix}") in edges
    assert ("gradient", r"\begin{bmatrix} +0.088 & +0.176 \\ +0.104 & +0.208 \end{bmatrix}") in edges


def test_layers_show_relu_s_mask_sigmoid_s_y_one_minus_y_and_softmax_s_y_minus_t():
    import numpy as np

    # layers.yaml by hand ("Deep Learning from Scratch" ch. 5): h = relu(a), s = sigmoid(h), L = CE(softmax(s), t)
    a = np.array([[1.0, -0.5, 2.0], [-1.5, 0.8, 0.3]])
    s = 1 / (1 + np.exp(-np.maximum(a, 0)))
    report = audit_trace(trace_path_for(CONFIG_DIR / "layers.yaml"))
    assert report.violations == []
    shown = " ".join(equations(report))

    def written(m):
        return r"\begin{bmatrix} " + r" \\ ".join(" & ".join(f"{v:.3g}" for v in row) for row in m) + r" \end{bmatrix}"

    assert r"\mathbf{1}[a > 0] \odot" in shown and written((a > 0).astype(int)) in shown  # ReLU's mask
    assert written(s * (1 - s)) in shown and r"s\,(1 - s)" in shown  # Sigmoid's local gradient
    y = np.exp(s) / np.exp(s).sum(axis=1, keepdims=True)
    assert written(y) in shown and r"\frac{y - t}{N} = \frac{1}{2}" in shown  # softmax, over a batch of 2
    # an input (it gets a gradient) is named in the text colour, a constant (data, no gradient) in the muted one
    names = {t.string.split(r"\,")[0]: t.color for f in report.frames for t in f.texts if t.kind == "name"}
    assert (names["a"], names["t"]) == ("#FFFFFF", "#999999")


def test_an_nn_linear_step_shows_the_bias_s_sum_and_upstream_times_w_with_torch_s_numbers():
    import torch
    import torch.nn.functional as F

    from scenes import style

    # torch_mlp.yaml by hand: after torch.manual_seed(0), h = relu(x W1ᵀ + b1), z = h W2ᵀ + b2, f = CE(z, 1).
    # nn.Linear is torch's addmm(b, x, Wᵀ), drawn as an addmm gate (q5 = fc2.bias + q3 q4, q4 = fc2.weightᵀ): the
    # bias gets the upstream (one row: nothing to sum), q3 gets upstream · q4ᵀ, q4 gets q3ᵀ · upstream
    torch.manual_seed(0)
    fc1, fc2 = torch.nn.Linear(3, 2).double(), torch.nn.Linear(2, 2).double()
    h = torch.relu(torch.tensor([[1.0, -2.0, 0.5]], dtype=torch.float64) @ fc1.weight.T + fc1.bias)
    z = h @ fc2.weight.T + fc2.bias
    for v in (h, z):
        v.retain_grad()
    F.cross_entropy(z, torch.tensor([1])).backward()

    def written(m, signed: bool) -> str:  # three significant digits, a gradient with its sign, 0 unsigned
        m = m.detach().numpy().reshape(len(m), -1) if m.dim() == 2 else m.detach().numpy().reshape(1, -1)
        cell = (lambda v: "0" if v == 0 else f"{v:+.3g}") if signed else (lambda v: f"{v:.3g}")
        return r"\begin{bmatrix} " + r" \\ ".join(" & ".join(map(cell, row)) for row in m) + r" \end{bmatrix}"

    def grad(m) -> str:
        return "{" + written(m, True) + "}"

    report = audit_trace(trace_path_for(CONFIG_DIR / "torch_mlp.yaml"))
    assert report.violations == []
    assert steps(report, "backward")[3] == "addmm gate q5, fc2.bias gets [+0.493, −0.493], q3 gets 1×2, q4 gets 2×2"
    shown = {" ".join(e.replace(r"\textcolor[HTML]{E69F00}", "").replace(r" \\ =", " =").split())
             for e in equations(report)}
    f, q5 = r"\frac{\partial f}", r"\frac{\partial f}{\partial q_{5}}"
    assert rf"{f}{{\partial \mathrm{{fc2.bias}}}} = {q5} = {grad(fc2.bias.grad)}" in shown
    assert (rf"{f}{{\partial q_{{3}}}} = {q5} \cdot q_{{4}}^{{T}} = {grad(z.grad)} \cdot {written(fc2.weight, False)} = "
            rf"{grad(h.grad)}") in shown
    assert (rf"{f}{{\partial q_{{4}}}} = q_{{3}}^{{T}} \cdot {q5} = {written(h.T, False)} \cdot {grad(z.grad)} = "
            rf"{grad(fc2.weight.grad.T)}") in shown
    # one example, one row: the bias gets the upstream as it is, and the caption says so (no sum to speak of)
    captions = {t.string for f in report.frames for t in f.texts if t.kind == "caption"}
    assert style.CAPTIONS["en"]["addmm_one"] in captions and style.CAPTIONS["en"]["addmm"] not in captions
