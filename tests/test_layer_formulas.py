"""Vector and layer gates write their rule with its numbers (issue 26): every matrix of the equation at a
backward step is checked against torch written by hand from the config, never against our own trace."""
import re

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from audit.equations import check_equation, parse_value
from engine.config import load_config
from engine.numfmt import format_number
from engine.run import trace_config
from render import CONFIG_DIR
from scenes.formulas import chain_rule_pages
from scenes.notation import Notation
from scenes.trace_data import GraphTrace

MATRIX = re.compile(r"\\begin\{bmatrix\}.*?\\end\{bmatrix\}", re.S)


def traced(name: str):
    trace = trace_config(load_config(CONFIG_DIR / f"{name}.yaml"))
    g = GraphTrace.from_dict(trace)
    return trace, g, Notation(g)


def matrices(tex: str) -> list[np.ndarray]:
    """Every bmatrix of a formula, in reading order, as the audit reads numbers."""
    return [parse_value(m) for m in MATRIX.findall(tex)]


def close(shown: np.ndarray, truth) -> bool:
    """``shown`` is ``truth`` as the project's one formatter writes it (3 significant digits, 2 in
    scientific notation)."""
    truth = np.asarray(truth, dtype=float)
    written = np.vectorize(lambda v: float(format_number(v)))(truth) if truth.size else truth
    return shown.size == truth.size and np.allclose(shown.reshape(truth.shape), written, rtol=1e-9, atol=0)


def step_of(g: GraphTrace, op: str):
    return next(s for s in g.backward if g.nodes[s.node].op == op)


def audited(nt: Notation, page: str) -> list[str]:
    grads = {nt.tex(i): [n.grad] for i, n in nt.trace.nodes.items() if n.grad is not None}
    return check_equation(page, nt.output_tex, grads)


@pytest.fixture(scope="module")
def vectors_torch():
    cfg = load_config(CONFIG_DIR / "vectors.yaml")
    W = torch.tensor(cfg.inputs["W"], dtype=torch.float64, requires_grad=True)
    x = torch.tensor(cfg.inputs["x"], dtype=torch.float64, requires_grad=True)
    q = W @ x
    q.retain_grad()
    (q ** 2).sum().backward()
    return W, x, q


@pytest.mark.parametrize("compact", [False, True])
def test_matmul_step_writes_upstream_times_x_transposed_and_w_transposed_times_upstream(vectors_torch, compact):
    # f = ||W x||^2: df/dW = df/dq x^T and df/dx = W^T df/dq, each with the numbers torch gets
    W, x, q = vectors_torch
    _, g, nt = traced("vectors")
    dW, dx = chain_rule_pages(nt, step_of(g, "matmul"), compact)
    assert dW.startswith(r"\frac{\partial f}{\partial W} = ") and dx.startswith(r"\frac{\partial f}{\partial x} = ")
    if not compact:
        assert r"\frac{\partial f}{\partial q} \cdot x^{T} = " in dW and r"W^{T} \cdot \frac{\partial f}{\partial q} = " in dx
    up, x_t, product = matrices(dW)
    assert close(up, q.grad.numpy()) and up.shape == (2, 1)  # the upstream as a column
    assert close(x_t, x.detach().numpy()) and x_t.shape == (1, 2)  # x^T as a row
    assert close(product, W.grad.numpy()) and product.shape == (2, 2)
    w_t, up2, result = matrices(dx)
    assert close(w_t, W.detach().numpy().T) and close(up2, q.grad.numpy()) and close(result, x.grad.numpy())
    assert audited(nt, dW) == [] and audited(nt, dx) == []


@pytest.fixture(scope="module")
def layers_torch():
    cfg = load_config(CONFIG_DIR / "layers.yaml")
    a = torch.tensor(cfg.inputs["a"], dtype=torch.float64, requires_grad=True)
    t = torch.tensor(cfg.constants["t"], dtype=torch.float64)
    h = torch.relu(a)
    s = torch.sigmoid(h)
    for v in (h, s):
        v.retain_grad()
    F.cross_entropy(s, t.argmax(dim=1)).backward()
    return a, t, h, s


@pytest.mark.parametrize("compact", [False, True])
def test_softmax_with_loss_shows_y_and_t(layers_torch, compact):
    a, t, h, s = layers_torch
    _, g, nt = traced("layers")
    first, rule = chain_rule_pages(nt, step_of(g, "softmax_cross_entropy"), compact)
    (y,) = matrices(first)
    assert close(y, torch.softmax(s, dim=1).detach().numpy())
    y2, t_shown, grad = matrices(rule)
    assert close(y2, y) and close(t_shown, t.numpy()) and close(grad, s.grad.numpy())
    assert r"\frac{1}{2}" in rule  # N, the batch
    assert audited(nt, first) == [] and audited(nt, rule) == []


@pytest.mark.parametrize("compact", [False, True])
def test_sigmoid_shows_y_then_y_times_one_minus_y_times_upstream(layers_torch, compact):
    a, t, h, s = layers_torch
    _, g, nt = traced("layers")
    local, rule = chain_rule_pages(nt, step_of(g, "sigmoid"), compact)
    y, y_again, factor = matrices(local)
    sig = s.detach().numpy()
    assert close(y, sig) and close(y_again, sig) and close(factor, sig * (1 - sig))
    factor2, up, grad = matrices(rule)
    assert close(factor2, sig * (1 - sig)) and close(up, s.grad.numpy()) and close(grad, h.grad.numpy())
    assert audited(nt, local) == [] and audited(nt, rule) == []


@pytest.mark.parametrize("compact", [False, True])
def test_relu_shows_its_mask_times_upstream(layers_torch, compact):
    a, t, h, s = layers_torch
    _, g, nt = traced("layers")
    (rule,) = chain_rule_pages(nt, step_of(g, "relu"), compact)
    mask, up, grad = matrices(rule)
    assert close(mask, (a.detach().numpy() > 0).astype(float)) and close(up, h.grad.numpy())
    assert close(grad, a.grad.numpy())
    assert r"\mathbf{1}[a > 0]" in rule and audited(nt, rule) == []


LINEAR_X = [[1.0, -2.0, 0.5], [0.0, 3.0, -1.0], [2.5, 1.0, 1.0]]


@pytest.mark.parametrize("rows", [1, 3])
@pytest.mark.parametrize("compact", [False, True])
def test_an_nn_linear_step_writes_the_bias_sum_and_matmul_s_products(rows, compact):
    # torch's nn.Linear is addmm(b, x, Wᵀ): db = Σ_rows upstream (one row: the upstream itself), dx = upstream · W,
    # d(Wᵀ) = xᵀ · upstream, each matrix as the same layer written by hand, x @ W.T + b, gets it from torch
    from audit.equations import arithmetic_problems
    from engine.torch_trace import trace_torch

    torch.manual_seed(0)
    lin = torch.nn.Linear(3, 2).double()
    x_in = LINEAR_X[:rows]
    trace = trace_torch(lambda x: torch.tanh(lin(x)).sum(), {"x": x_in},
                        names={id(p): n for n, p in lin.named_parameters()}, check_numeric=False)
    g = GraphTrace.from_dict(trace)
    nt = Notation(g)
    x, w, b = (torch.tensor(v, dtype=torch.float64, requires_grad=True)
               for v in (x_in, lin.weight.detach().numpy(), lin.bias.detach().numpy()))
    y = x @ w.T + b
    y.retain_grad()
    torch.tanh(y).sum().backward()
    step = step_of(g, "addmm")
    q, (bias, _, w_t) = nt.tex(step.node), g.nodes[step.node].inputs
    d_bias, d_x, d_wt = chain_rule_pages(nt, step, compact)
    assert d_bias.startswith(rf"\frac{{\partial f}}{{\partial {nt.tex(bias)}}} = ")
    if rows == 1:  # nothing to sum: the upstream, written as the row the bias is added to
        assert r"\sum" not in d_bias
        (result,) = matrices(d_bias)
    else:
        assert d_bias.count(r"\sum_{\textstyle\text{rows}}") == (1 if compact else 2)
        up, result = matrices(d_bias)
        assert close(up, y.grad.numpy()) and up.shape == (rows, 2)
    assert close(result, b.grad.numpy()) and result.shape == (1, 2)
    if not compact:
        assert rf"\frac{{\partial f}}{{\partial {q}}} \cdot {nt.tex(w_t)}^{{T}} = " in d_x
        assert rf"x^{{T}} \cdot \frac{{\partial f}}{{\partial {q}}} = " in d_wt
    up, w_shown, dx = matrices(d_x)
    assert close(up, y.grad.numpy()) and close(w_shown, w.detach().numpy()) and close(dx, x.grad.numpy())
    x_t, up2, dwt = matrices(d_wt)
    assert close(x_t, x.detach().numpy().T) and close(up2, y.grad.numpy()) and close(dwt, w.grad.numpy().T)
    for page in (d_bias, d_x, d_wt):
        assert audited(nt, page) == [] and arithmetic_problems(page) == []


def test_softmax_with_loss_terms_in_the_trace_are_torchs(tmp_path):
    # class indices as targets: the trace's t is their one-hot, y torch's softmax, N the batch
    from engine.config import parse_config
    cfg = parse_config({"scene": "layers", "expression": "L = softmax_cross_entropy(s, t)",
                        "inputs": {"s": [[2.0, -1.0, 0.5], [0.1, 0.2, -0.3]]}, "constants": {"t": [2, 0]}})
    trace = trace_config(cfg)
    step = next(s for s in trace["backward"] if s["node"] == trace["output"])
    s = torch.tensor([[2.0, -1.0, 0.5], [0.1, 0.2, -0.3]], dtype=torch.float64, requires_grad=True)
    labels = torch.tensor([2, 0])
    F.cross_entropy(s, labels).backward()
    y, t, n = (np.asarray(step["terms"][k], dtype=float) for k in ("y", "t", "N"))
    assert np.allclose(y, torch.softmax(s, dim=1).detach().numpy(), rtol=1e-12)
    assert np.array_equal(t, F.one_hot(labels, 3).numpy())
    assert n == 2 and np.allclose((y - t) / n, s.grad.numpy(), rtol=1e-12)


def test_a_vector_is_drawn_as_a_vector_never_as_a_bare_number():
    # torch LayerNorm's x, gamma and beta were each drawn as "3", and a step was named "forward: x = 3"
    from manim import Text

    from scenes.graph_mobject import EdgeLabel
    from scenes.graph_scenes import plain_number
    from scenes.style import latex_shape, shape_text

    v = np.array([1.0, -2.0, 0.5])
    for gradient, base in [(False, "ℝ"), (True, "∂ ℝ")]:
        label = EdgeLabel(v, gradient=gradient, chip=True)
        parts = [m for m in label.submobjects if isinstance(m, Text)]
        assert [m.text.replace(" ", "") for m in parts] == [base.replace(" ", ""), "3"]
        ref, exponent = parts
        # the exponent is raised and nearly as large as a digit (a typeset superscript is too small to read)
        digit = Text("0", font_size=ref.font_size, font=ref.font).height
        assert exponent.get_bottom()[1] > ref.get_bottom()[1] + 0.2 * digit and exponent.height >= 0.8 * digit
    assert r"\mathbb{R}" in latex_shape(v) and "3" in latex_shape(v)  # a leaf's shape, and an equation's
    assert shape_text(v) == "3-vector" and shape_text(np.zeros((2, 3))) == "2×3"
    assert plain_number(v, gradient=False) == "[1, −2, 0.5]" and plain_number(v, gradient=True) == "[+1, −2, +0.5]"
    assert plain_number(np.arange(5.0), gradient=False) == "5-vector"
    # up to four entries are read out (a step's name, a slide's, the narration), from five on the shape
    assert plain_number(np.array([1.0, -2.0, 0.5, 3.0]), gradient=True) == "[+1, −2, +0.5, +3]"


@pytest.mark.parametrize("lang", ["en", "ko"])
@pytest.mark.parametrize("size", [34, 24, 22])
def test_a_superscript_in_a_title_or_caption_reads_at_10_px(monkeypatch, lang, size):
    # "||W x||²" in a Korean title: NanumGothic's own ² was about 4 px at 854x480
    from manim import config

    from scenes.text_fit import fitted_text

    monkeypatch.setenv("BACKPROP_LANG", lang)
    mob = fitted_text("f = ||W x||²", (size,), 13.0, 1, "title", "#FFFFFF")
    contours = [p for m in mob.family_members_with_points() for p in m.get_subpaths() if len(p)]
    two = max(contours, key=lambda p: p[:, 0].min())  # the last glyph: the exponent, one contour
    height_px = (two[:, 1].max() - two[:, 1].min()) * 480 / config.frame_height
    assert height_px >= 10
    bars = [p for p in contours if p[:, 0].max() < two[:, 0].min()]
    baseline = float(np.median([p[:, 1].min() for p in bars]))  # where most glyphs before it stand
    assert two[:, 1].min() > baseline + 0.2 * (two[:, 1].max() - two[:, 1].min())  # raised: an exponent


def test_each_superscript_is_drawn_as_the_character_unicode_says_it_is_raised():
    # x⁻¹ in a caption is set as x−1 with the −1 shrunk and raised: each superscript's ordinary character is its
    # Unicode compatibility form (a superscript minus is a minus sign, not a plus)
    import unicodedata

    from scenes.text_fit import SUPERSCRIPT_CHARS, SUPERSCRIPTS

    assert [c.translate(SUPERSCRIPT_CHARS) for c in SUPERSCRIPTS] == [unicodedata.normalize("NFKC", c)
                                                                      for c in SUPERSCRIPTS]
    assert "x⁻¹ + y⁺".translate(SUPERSCRIPT_CHARS) == "x−1 + y+"


def test_a_matrix_of_up_to_four_rows_and_six_columns_is_written_whole():
    # the equation area reads 4 rows and 6 columns at 38 points: a 4x6 gradient is written entry by entry,
    # a 5th row or a 7th column makes it a magnified block
    from engine.config import parse_config
    for shape, whole in (((4, 6), True), ((2, 6), True), ((6, 4), False), ((2, 7), False)):
        W0 = np.arange(1, shape[0] * shape[1] + 1, dtype=float).reshape(shape) / 10
        x0 = np.linspace(-1, 1, shape[1]).round(2)
        trace = trace_config(parse_config({"scene": "vectors", "expression": "f = sum(W @ x)",
                                           "inputs": {"W": W0.tolist(), "x": x0.tolist()}}))
        g = GraphTrace.from_dict(trace)
        page = next(p for p in chain_rule_pages(Notation(g), step_of(g, "matmul")) if r"\partial W}" in p)
        shown = [m.shape for m in matrices(page)]
        assert (tuple(shape) in shown) == whole and ("magnif" not in page and r"\left[" not in page) == whole, (shape, page[:90])


def test_the_magnified_block_is_around_the_entry_largest_in_size_negative_or_not():
    from scenes.formulas import magnified_line
    grad = np.full((9, 12), 0.5)
    grad[0, 0] = 2.0  # the largest positive entry, in a corner
    grad[7, 10] = -9.0  # the largest in size
    page = magnified_line(r"\frac{\partial f}{\partial W}", grad)
    (block,) = matrices(page)
    assert block.shape == (4, 6) and block.min() == -9.0 and r"_{6..9,\ 7..12}" in page


def test_a_matrix_too_large_to_read_gets_a_magnified_block_around_its_largest_entry():
    from engine.config import parse_config
    rng = np.random.default_rng(3)
    W0, x0 = rng.normal(size=(8, 9)).round(2), rng.normal(size=9).round(2)
    trace = trace_config(parse_config({"scene": "vectors", "expression": "f = sum(tanh(W @ x))",
                                       "inputs": {"W": W0.tolist(), "x": x0.tolist()}}))
    g = GraphTrace.from_dict(trace)
    nt = Notation(g)
    W = torch.tensor(W0, requires_grad=True)
    torch.tanh(W @ torch.tensor(x0)).sum().backward()
    pages = chain_rule_pages(nt, step_of(g, "matmul"))
    (page,) = [p for p in pages if p.startswith(r"\left[\frac{\partial f}{\partial W}\right]")]
    (block,) = matrices(page)
    rows, cols = (int(a) for a in re.search(r"_\{(\d+)\.\.\d+,\\ (\d+)\.\.\d+\}", page).groups())
    truth = W.grad.numpy()
    assert block.shape == (4, 6)
    assert close(block, truth[rows - 1:rows + 3, cols - 1:cols + 5])
    assert np.abs(truth).max() == pytest.approx(np.abs(block).max(), rel=6e-3)  # the largest entry is in view
    assert audited(nt, page) == []
    from scenes.formulas import summary_pages
    for p in [p for s in g.backward for p in chain_rule_pages(nt, s)] + summary_pages(nt):  # none unreadable
        assert all(m.shape[0] <= 4 and m.shape[1] <= 6 for m in matrices(p)), p[:80]


def test_a_raised_superscript_closes_the_gap_on_its_own_line_only():
    # "x² ab" over "cdef": the ² shrinks and the rest of its line moves left into the room it freed; the
    # line below stays where it was set
    from manim import Text

    from scenes.text_fit import SUPERSCRIPT_CHARS, raise_superscripts

    original = "x² ab\ncdef"
    mob = Text(original.translate(SUPERSCRIPT_CHARS), font_size=30)
    before = [g.get_left()[0] for g in mob.submobjects]
    raise_superscripts(mob, original)
    after = [g.get_left()[0] for g in mob.submobjects]
    assert after[:2] == before[:2] and all(a < b for a, b in zip(after[2:4], before[2:4]))  # x, ², then a b
    assert after[4:] == before[4:]  # c d e f
