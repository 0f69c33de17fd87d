"""The small functions viewers see through, case by case: each option, each boundary, each sign.

Every expectation is written from what a viewer should see (the palette's roles in scenes/style.py, the
docstrings, hand-worked numbers), never produced by the code under test.
"""
import numpy as np
import pytest

from scenes import style
from scenes.formulas import _one_hot_terms, _window, bias_summed, magnified_line, pages, too_large
from scenes.trace_data import Step


# --- scenes/style.py: numbers, arrays, names and shapes as a formula writes them ---

@pytest.mark.parametrize("x,signed,tex", [
    (0.5, False, "0.5"), (0.5, True, "+0.5"), (-0.5, False, "-0.5"), (-0.5, True, "-0.5"),
    (0.0, True, "0"), (-0.0, True, "0"),  # zero has no sign
    (float("inf"), True, r"+\infty"), (float("-inf"), True, r"-\infty"), (float("-inf"), False, r"-\infty"),
    (float("nan"), True, r"\mathrm{NaN}"),  # a NaN is never signed
    (123456.0, False, r"1.2\times 10^{5}"), (123456.0, True, r"+1.2\times 10^{5}"),
    (-123456.0, True, r"-1.2\times 10^{5}"), (1e-4, True, r"+1\times 10^{-4}"),
])
def test_a_number_in_a_formula_has_its_sign_infinity_and_power_of_ten_written_out(x, signed, tex):
    assert style.latex_number(x, signed) == tex


@pytest.mark.parametrize("value,shown", [(-0.0, "0"), (float("nan"), "NaN"), (float("-inf"), "−∞"),
                                         (1e-17, "+1e−17"), (-1e-4, "−1e−4"), (123456.0, "+1.2e5")])
def test_a_gradient_label_is_signed_except_zero_and_nan_and_uses_the_typographic_minus(value, shown):
    assert style.fmt_grad(value) == shown


@pytest.mark.parametrize("a,signed,tex", [
    (np.array([1.0, -2.0]), False, r"\begin{bmatrix} 1 \\ -2 \end{bmatrix}"),  # a vector is a column
    (np.array([1.0, -2.0]), True, r"\begin{bmatrix} +1 \\ -2 \end{bmatrix}"),
    (np.array([[1.0, 2.0], [3.0, 0.0]]), True, r"\begin{bmatrix} +1 & +2 \\ +3 & 0 \end{bmatrix}"),
    (np.array([[1.0, 2.0, 3.0]]), False, r"\begin{bmatrix} 1 & 2 & 3 \end{bmatrix}"),  # a row stays a row
    (np.array(0.25), True, "+0.25"),
    (np.arange(8.0).reshape(2, 2, 2), False,  # a higher rank: its first axis as rows
     r"\begin{bmatrix} 0 & 1 & 2 & 3 \\ 4 & 5 & 6 & 7 \end{bmatrix}"),
])
def test_an_array_in_a_formula_is_a_bmatrix_with_vectors_as_columns(a, signed, tex):
    assert style.latex_array(a, signed) == tex


@pytest.mark.parametrize("cols,widened", [(1, False), (10, False), (11, True), (12, True)])
def test_a_matrix_wider_than_amsmath_s_ten_columns_says_how_many_it_has(cols, widened):
    tex = style.latex_array(np.ones((1, cols)))
    assert tex.startswith(rf"\setcounter{{MaxMatrixCols}}{{{cols}}}") == widened
    assert tex.count("&") == cols - 1


@pytest.mark.parametrize("tex,sep,parts", [
    (r"a \\ b", r" \\ ", ["a", "b"]),
    (r"a", r" \\ ", ["a"]),
    (r"", r" \\ ", [""]),
    (r"{a \\ b} \\ c", r" \\ ", [r"{a \\ b}", "c"]),  # not inside a group
    (r"\begin{bmatrix} 1 \\ 2 \end{bmatrix} \\ c", r" \\ ", [r"\begin{bmatrix} 1 \\ 2 \end{bmatrix}", "c"]),
    (r"x = 1 \qquad y = {2 \qquad 3} \qquad z", r" \qquad ", ["x = 1", r"y = {2 \qquad 3}", "z"]),
    (r"a \\ b \\ c", r" \\ ", ["a", "b", "c"]),  # the last part kept too
])
def test_a_formula_splits_only_where_no_brace_or_matrix_is_open(tex, sep, parts):
    assert style.split_top_level(tex, sep) == parts


@pytest.mark.parametrize("label,tex", [
    ("x", "x"), ("W", "W"), ("w10", "w_{10}"), ("ab12", r"\mathrm{ab}_{12}"), ("x_1", "x_{1}"),
    ("x_alpha", r"x_{\alpha}"), ("theta", r"\theta"), ("omega_out", r"\omega_{\mathrm{out}}"),
    ("lambda", r"\mathrm{lambda}"),  # not one of the Greek letters written as symbols
    ("a_b_c", r"a_{\mathrm{b\_c}}"), ("dx_dy_dz", r"\mathrm{dx}_{\mathrm{dy\_dz}}"),  # every _ after the first escaped
    ("x_a_b_c", r"x_{\mathrm{a\_b\_c}}"),
    ("a b", r"\text{?}"), ("a-b", r"\text{?}"),
])
def test_a_name_is_written_with_its_subscript_greek_letter_and_escaped_underscores(label, tex):
    assert style.latex_name(label) == tex


@pytest.mark.parametrize("label,module,lines", [
    ("fc_1.weight", None, [r"\mathrm{fc\_1.}", r"\mathrm{weight}"]),
    ("fc1.running_mean", None, [r"\mathrm{fc1.}", r"\mathrm{running\_mean}"]),
    ("layers.0.bias", None, [r"\mathrm{layers}_{0}.", r"\mathrm{bias}"]),
    ("my_net.0.weight", None, [r"\mathrm{my\_net}_{0}.", r"\mathrm{weight}"]),
    ("w_in", None, [r"w_{\mathrm{in}}"]),  # not a parameter: one line
])
def test_a_parameter_s_name_breaks_after_its_last_dot_with_underscores_escaped(label, module, lines):
    assert style.parameter_lines(label, module) == lines


@pytest.mark.parametrize("label,value,tex", [("x", 2.0, "x"), ("2", 2.0, "2"), ("0.5", 0.5, "0.5"),
                                             ("-3", -3.0, "-3"), ("fc1.weight", 0.0, r"\mathrm{fc1.weight}")])
def test_a_leaf_is_written_by_its_name_and_a_constant_by_its_number(label, value, tex):
    assert style.node_tex(label, value) == tex


@pytest.mark.parametrize("a,text,tex", [
    (np.float64(2.0), "scalar", r"\text{scalar}"),
    (np.zeros(1), "1-vector", r"\mathbb{R}^{\scriptstyle 1}"),
    (np.zeros(4), "4-vector", r"\mathbb{R}^{\scriptstyle 4}"),  # a vector named by its space, not a bare 4
    (np.zeros((2, 3)), "2×3", r"2\times 3"),
    (np.zeros((3, 2)), "3×2", r"3\times 2"),  # rows first
    (np.zeros((1, 4)), "1×4", r"1\times 4"),
    (np.zeros((2, 3, 4)), "2×3×4", r"2\times 3\times 4"),
])
def test_a_shape_is_said_in_words_and_in_a_formula(a, text, tex):
    assert style.shape_text(a) == text and style.latex_shape(a) == tex


@pytest.mark.parametrize("color", ["#E69F00", "E69F00"])
def test_a_coloured_part_names_its_colour_in_hex_without_the_hash(color):
    assert style.colored("x", color) == r"\textcolor[HTML]{E69F00}{x}"


# The palette's roles, as the module's docstring states them: forward blue, gradients orange, per theme.
ROLES = {"dark": {"FORWARD": "#56B4E9", "GRADIENT": "#E69F00", "TEXT": "#FFFFFF", "MUTED": "#999999",
                  "BACKGROUND": "#000000", "GOOD": "#009E73", "BAD": "#D55E00", "HIGHLIGHT": "#F0E442"},
         "light": {"FORWARD": "#0072B2", "GRADIENT": "#AD5A00", "TEXT": "#111111", "MUTED": "#555555",
                   "BACKGROUND": "#FFFFFF", "GOOD": "#007A5A", "BAD": "#C24E00", "HIGHLIGHT": "#8A7500"}}
ACTIVATIONS = {"dark": {"sigmoid": "#D55E00", "tanh": "#009E73", "relu": "#CC79A7", "leaky_relu": "#F0E442"},
               "light": {"sigmoid": "#C24E00", "tanh": "#007A5A", "relu": "#A8528A", "leaky_relu": "#8A7500"}}


@pytest.mark.parametrize("theme", ["dark", "light"])
def test_a_theme_sets_every_role_colour_each_activation_s_colour_and_the_default_text_colour(theme):
    from manim import MathTex, Text
    other = "light" if theme == "dark" else "dark"
    with style.themed(other), style.themed(theme):
        assert {role: getattr(style, role) for role in ROLES[theme]} == ROLES[theme]
        assert {k: style.ACTIVATION[k] for k in ACTIVATIONS[theme]} == ACTIVATIONS[theme]
        assert style.THEME == theme
        assert Text("a").color.to_hex().upper() == ROLES[theme]["TEXT"]
        assert MathTex("a").color.to_hex().upper() == ROLES[theme]["TEXT"]


@pytest.mark.parametrize("theme", ["dark", "light"])
def test_a_theme_used_for_one_scene_is_undone_afterwards_even_when_the_scene_fails(theme):
    other = "light" if theme == "dark" else "dark"
    with style.themed(other):
        with pytest.raises(RuntimeError), style.themed(theme):
            raise RuntimeError
        assert style.THEME == other and style.GRADIENT == ROLES[other]["GRADIENT"]
        assert style.ACTIVATION["relu"] == ACTIVATIONS[other]["relu"]


@pytest.mark.parametrize("theme", ["dark", "light"])
def test_a_text_built_once_is_not_handed_out_in_the_other_theme_s_colour(theme):
    from manim import Text
    other = "light" if theme == "dark" else "dark"
    with style.themed(other):
        style.once(Text, "cached across themes")
    with style.themed(theme):
        assert style.once(Text, "cached across themes").color.to_hex().upper() == ROLES[theme]["TEXT"]


def _env(monkeypatch, name, value):
    """The variable ``name`` set to ``value``, or unset for None."""
    if value is None:
        monkeypatch.delenv(name, raising=False)
    else:
        monkeypatch.setenv(name, value)


@pytest.mark.parametrize("env,theme", [("dark", "dark"), ("light", "light"), ("sepia", "dark"), ("", "dark"),
                                       (None, "dark")])
def test_the_theme_comes_from_its_variable_and_an_unknown_one_is_dark(monkeypatch, env, theme):
    from engine.settings import THEME_ENV
    _env(monkeypatch, THEME_ENV, env)
    assert style.theme() == theme


@pytest.mark.parametrize("env,lang", [("en", "en"), ("ko", "ko"), ("xx", "en"), (None, "en")])
def test_the_caption_language_and_its_font_come_from_the_variable_and_an_unknown_one_is_english(monkeypatch, env, lang):
    from engine.languages import LANGUAGES
    from engine.settings import LANG_ENV
    _env(monkeypatch, LANG_ENV, env)
    assert style.language() == lang
    assert style.caption_font() == LANGUAGES[lang].font == style.FONTS[lang]
    assert style.caption("curves", steps=7) == {"en": "after 7 steps", "ko": "7 스텝 후"}[lang]


def test_a_caption_missing_in_korean_falls_back_to_english_with_its_fields(monkeypatch):
    from engine.settings import LANG_ENV
    monkeypatch.setenv(LANG_ENV, "ko")
    monkeypatch.delitem(style.CAPTIONS["ko"], "step_stamp")
    assert style.caption("step_stamp", step=12) == "step 12"
    assert style.caption("layer", layer=2) == "2층"


def test_the_korean_font_differs_from_the_english_one():
    # Latin fonts have no Hangul: a Korean caption set in the English font draws boxes
    from engine.languages import LANGUAGES
    assert LANGUAGES["ko"].font != LANGUAGES["en"].font and "Nanum" in LANGUAGES["ko"].font


# --- scenes/formulas.py: what is too large to read, the block shown instead, pages ---

@pytest.mark.parametrize("n,at,size,indices", [
    (9, 0, 4, [0, 1, 2, 3]), (9, 1, 4, [0, 1, 2, 3]), (9, 4, 4, [2, 3, 4, 5]),  # centred where it can be
    (9, 8, 4, [5, 6, 7, 8]), (9, 7, 4, [5, 6, 7, 8]),  # the end stops it
    (4, 3, 4, [0, 1, 2, 3]), (3, 2, 4, [0, 1, 2]), (1, 0, 6, [0]),  # fewer than the size: all of them
    (12, 10, 6, [6, 7, 8, 9, 10, 11]), (12, 5, 6, [2, 3, 4, 5, 6, 7]),
])
def test_a_window_of_indices_is_centred_on_its_entry_and_kept_inside_the_array(n, at, size, indices):
    assert list(range(n))[_window(n, at, size)] == indices


@pytest.mark.parametrize("a,large", [
    (None, False), (np.float64(3.0), False), (np.zeros(4), False), (np.zeros(5), True),  # a vector is a column
    (np.zeros(6), True), (np.zeros((4, 6)), False), (np.zeros((5, 6)), True), (np.zeros((4, 7)), True),
    (np.zeros((1, 6)), False), (np.zeros((6, 1)), True), (np.zeros((2, 2, 2)), True),
])
def test_more_than_four_rows_or_six_columns_is_too_large_to_read_in_the_equation_area(a, large):
    assert too_large(a) == large


def test_a_long_vector_is_magnified_around_its_largest_entry_in_size_with_rows_only():
    grad = np.array([0.1, 0.2, 0.3, 0.1, 0.2, -0.9, 0.1])
    line = magnified_line("g", grad)
    assert r"\left[g\right]_{4..7} =" in line  # rows 4 to 7 (from 1): the -0.9 at row 6, the end stops it
    assert r"\begin{bmatrix} +0.1 \\ +0.2 \\ -0.9 \\ +0.1 \end{bmatrix}" in line
    assert line.endswith(r"\;\; (\mathbb{R}^{\scriptstyle 7})")
    assert style.colored("", style.GRADIENT)[:-2] in line  # the gradient's colour by default


def test_a_magnified_block_shows_a_non_finite_entry_and_takes_the_colour_and_sign_it_is_given():
    grad = np.zeros((6, 8))
    grad[5, 0] = float("nan")  # what went wrong is what must be in view
    grad[0, 7] = 5.0
    grad[4, 1] = 0.5  # in the block: written unsigned, as asked
    line = magnified_line("g", grad, color="#123456", signed=False)
    assert r"_{3..6,\ 1..6}" in line and r"\mathrm{NaN}" in line and " 0.5 " in line and "+" not in line
    assert r"\textcolor[HTML]{123456}" in line and line.endswith(r"(6\times 8)")


@pytest.mark.parametrize("upstream,bias,summed", [
    ((2, 3), (3,), True), ((1, 3), (3,), False), ((3,), (3,), False), ((4, 1), (1,), True), ((1, 1), (1,), False),
])
def test_addmm_s_bias_gets_its_upstream_summed_only_when_it_was_added_to_more_than_one_row(upstream, bias, summed):
    step = Step("q", np.ones(upstream), [None, None, None], [np.ones(bias), None, None])
    assert bias_summed(step) == summed


@pytest.mark.parametrize("lines,paged", [
    ([], []),
    (["a"], ["a"]),
    (["a", "b"], [r"a \qquad b"]),
    (["a", "b", "c"], [r"a \qquad b \\ c"]),  # scalars two to a row, all on one page
    (["a", "b", "c", "d", "e"], [r"a \qquad b \\ c \qquad d \\ e"]),
    ([r"\begin{bmatrix} 1 \end{bmatrix}", "b"], [r"\begin{bmatrix} 1 \end{bmatrix}", "b"]),  # a matrix: a page each
])
def test_scalar_formulas_share_a_page_two_to_a_row_and_a_matrix_gets_a_page_of_its_own(lines, paged):
    assert pages(lines) == paged


@pytest.mark.parametrize("terms,one_hot", [
    (None, False), ({"y": [0.5, 0.5], "t": [0.0, 1.0]}, False),  # no N
    ({"y": [0.5, 0.5], "t": [0.0, 1.0], "N": 1}, True),
    ({"y": [[0.5, 0.5], [0.2, 0.8]], "t": [[0.3, 0.7], [1.0, 0.0]], "N": 2}, True),  # soft targets sum to 1
    ({"y": [0.5, 0.5], "t": [0.0, 2.0], "N": 1}, False),  # a row that does not sum to 1
    ({"y": [[0.5, 0.5], [0.5, 0.5]], "t": [[0.0, 1.0], [0.0, 0.0]], "N": 2}, False),  # the last row does not
    ({"y": [[0.5, 0.5], [0.5, 0.5]], "t": [[0.0, 2.0], [0.0, 0.0]], "N": 2}, False),  # 2 in all, not 1 a row
    ({"y": [0.5, 0.5], "t": [float("nan"), 1.0], "N": 1}, False),
])
def test_softmax_loss_is_written_as_y_minus_t_over_n_only_when_every_target_row_sums_to_one(terms, one_hot):
    terms = None if terms is None else {k: np.asarray(v, dtype=float) for k, v in terms.items()}
    step = Step("L", np.float64(1.0), [None], [None], terms)
    assert _one_hot_terms(step) == one_hot


# --- scenes/training_scenes.py: axis ranges and the captions written from the trace's summary ---

@pytest.mark.parametrize("lo,hi,most,expected", [
    (0.0, 1.0, 6, [0.0, 1.0, 0.25]), (0.0, 1.5, 6, [0.0, 1.5, 0.25]),  # 6 steps of 0.25: still the finest
    (0.0, 1.6, 6, [0.0, 2.0, 0.5]), (0.0, 3.0, 6, [0.0, 3.0, 0.5]), (-0.3, 0.3, 6, [-0.5, 0.5, 0.25]),
    (0.0, 30.0, 6, [0.0, 30.0, 5.0]), (0.0, 31.0, 6, [0.0, 40.0, 10.0]),
    (0.0, 100.0, 6, [0.0, 100.0, 100.0 / 6]),  # past every step: six equal ones
    (0.0, 1.0, 2, [0.0, 1.0, 0.5]),
])
def test_an_axis_range_takes_the_finest_round_step_that_needs_at_most_most_steps(lo, hi, most, expected):
    from scenes.training_scenes import nice_range
    assert nice_range(lo, hi, most) == pytest.approx(expected)


def _summary(activation, seeds=1, solved=0, diverged=0, dead=0, ratio=None):
    return {"activation": activation, "seeds": seeds, "solved": solved, "diverged": diverged, "dead_at_init": dead,
            "median_ratio": ratio}


@pytest.fixture(params=["en", "ko"])
def lang(request, monkeypatch):
    from engine.settings import LANG_ENV
    monkeypatch.setenv(LANG_ENV, request.param)
    return request.param


def test_one_seed_s_outcome_names_the_solved_the_unsolved_and_the_diverged_in_that_order(lang):
    from scenes.training_scenes import VanishingGradients
    summary = [_summary("leaky_relu", solved=1, diverged=1),  # solved, then diverged: diverged is how it ended
               _summary("sigmoid"), _summary("tanh", solved=1), _summary("relu", solved=1)]
    said = VanishingGradients.outcome_caption({"seed_summary": summary}, 500)
    assert said == {"en": "after 500 steps: solved XOR: tanh, ReLU; not solved: sigmoid; diverged (NaN): leaky ReLU",
                    "ko": "500 스텝 후: XOR 해결: tanh, ReLU; 해결 못함: sigmoid; 발산 (NaN): leaky ReLU"}[lang]
    assert VanishingGradients.outcome_caption({"seed_summary": [_summary("tanh", solved=1)]}, 9) == {
        "en": "after 9 steps: solved XOR: tanh", "ko": "9 스텝 후: XOR 해결: tanh"}[lang]


def test_several_seeds_outcome_counts_each_activation_s_solved_runs_and_its_diverged_ones_only_if_any(lang):
    from scenes.training_scenes import VanishingGradients
    summary = [_summary("sigmoid", seeds=10, solved=3), _summary("tanh", seeds=10, solved=9, diverged=1)]
    assert VanishingGradients.outcome_caption({"seed_summary": summary}, 2000) == {
        "en": "after 2000 steps, runs at accuracy 1 out of 10 seeds: sigmoid 3, tanh 9 (1 diverged to NaN)",
        "ko": "2000 스텝 후 시드 10개 중 정확도 1에 도달한 실행: sigmoid 3개, tanh 9개 (1개는 NaN으로 발산)"}[lang]


@pytest.mark.parametrize("entries,said", [
    ([_summary("sigmoid", ratio=1e-3)], "step 0: sigmoid's first layer gets a gradient 3 orders of magnitude below its last"),
    ([_summary("sigmoid", ratio=0.0099)], "step 0: sigmoid's first layer gets a gradient 2 orders of magnitude below its last"),
    ([_summary("sigmoid", ratio=0.01)], "step 0: no activation here loses more than a factor of 100 from the last layer to the first"),
    ([_summary("sigmoid", ratio=0.0)], "step 0: no activation here loses more than a factor of 100 from the last layer to the first"),
    ([_summary("relu", seeds=3, dead=3, ratio=0.0)], "ReLU: dead at initialisation (no gradient reaches the first layer)"),
    ([_summary("relu", seeds=3, dead=2, ratio=0.5)],  # two of three seeds dead: not the activation's verdict
     "step 0: no activation here loses more than a factor of 100 from the last layer to the first"),
    ([_summary("relu", seeds=0, dead=0)], "step 0: no activation here loses more than a factor of 100 from the last layer to the first"),
    ([_summary("sigmoid", ratio=1e-5), _summary("tanh", ratio=2e-3), _summary("relu", dead=1, ratio=0.0),
      _summary("leaky_relu", dead=1, ratio=None)],
     "step 0: sigmoid's first layer gets a gradient 5 orders of magnitude below its last; tanh's first layer gets a "
     "gradient 2 orders of magnitude below its last  ReLU, leaky ReLU: dead at initialisation (no gradient reaches "
     "the first layer)"),
])
def test_step_zero_s_caption_calls_a_ratio_under_one_hundredth_vanished_and_every_seed_dead_dead(entries, said):
    from scenes.training_scenes import VanishingGradients
    assert VanishingGradients.vanish_caption({"seed_summary": entries}) == said


# --- scenes/graph_scenes.py: the gradient check's verdict, a step's name, an equation's other forms ---

@pytest.mark.parametrize("relative,excess,kinks,ok", [
    (1e-6, None, [], True), (1.1e-6, None, [], False),  # the tolerance itself passes
    (1e-3, 1e-7, [], True),  # what fails is the error beyond the estimate's own
    (1e-7, 1e-5, [], False), (1e-6, 1e-6, [], True),
    (None, None, [], True), (None, None, [{"subgradient": True}], True),
    (None, None, [{"subgradient": True}, {"subgradient": False}], False),
    (1e-9, None, [{"subgradient": False}], False), (float("nan"), None, [], False),
])
def test_the_gradient_check_passes_an_input_within_tolerance_whose_kinks_all_have_subgradients(relative, excess,
                                                                                                kinks, ok):
    from types import SimpleNamespace
    from scenes.graph_scenes import GradientCheck
    n = SimpleNamespace(relative_error=relative, excess_error=excess, kinks=kinks)
    assert GradientCheck.passes(n) == ok


@pytest.mark.parametrize("value,gradient,said", [
    (np.float64(0.5), True, "+0.5"), (np.float64(0.5), False, "0.5"), (np.float64(-0.5), False, "−0.5"),
    (np.float64(0.0), True, "0"),
    (np.array([0.5, -0.25]), True, "[+0.5, −0.25]"), (np.array([0.5, -0.25]), False, "[0.5, −0.25]"),
    (np.array([1.0, 2.0, 3.0, 4.0]), False, "[1, 2, 3, 4]"), (np.arange(5.0), False, "5-vector"),
    (np.zeros((2, 2)), True, "2×2"),  # a matrix by its shape, however few its entries
])
def test_a_step_s_name_writes_a_number_signed_if_a_gradient_a_short_vector_s_entries_and_else_a_shape(value,
                                                                                                      gradient, said):
    from scenes.graph_scenes import plain_number
    assert plain_number(value, gradient) == said


@pytest.mark.parametrize("tex,forms", [
    ("a = 1", ["a = 1"]),
    (r"a = 1 \qquad b = 2", [r"a = 1 \qquad b = 2", r"a = 1 \\ b = 2", "a = 1", "b = 2"]),
    ("a = b = c", ["a = b = c", r"a = b \\ = c"]),  # the result on a line of its own
    (r"a = b = c \\ d", [r"a = b = c \\ d", "a = b = c", r"a = b \\ = c", "d"]),
    (r"a = {b = c}", [r"a = {b = c}"]),  # an = inside a group is no side
])
def test_an_equation_may_be_drawn_stacked_broken_before_its_result_or_a_line_at_a_time(tex, forms):
    from scenes.graph_scenes import equation_forms
    assert equation_forms(tex) == forms


# --- scenes/graph_mobject.py: what an edge can show, and how ---

@pytest.mark.parametrize("value,every,chip", [
    (np.float64(1.0), True, False),  # a number always reads
    (np.zeros(4), False, False), (np.zeros(5), False, True),  # a column of up to 4 entries
    (np.zeros((2, 2)), False, False), (np.zeros((4, 1)), False, False), (np.zeros((5, 1)), False, True),
    (np.zeros((1, 2)), False, True),  # a row of signed numbers is too wide
    (np.zeros((2, 3)), False, True), (np.zeros((3, 3)), False, True), (np.zeros(2), True, True),
])
def test_a_value_too_large_to_read_on_an_edge_is_drawn_as_its_shape(value, every, chip):
    from scenes.graph_mobject import is_chip
    assert is_chip(value, every) == chip


@pytest.mark.parametrize("value,every,size", [
    (np.float64(1.0), False, (0.8, 0.5)), (np.zeros(5), False, (0.8, 0.5)), (np.zeros(2), True, (0.8, 0.5)),
    (np.zeros(3), False, (0.82, 1.7)), (np.zeros((2, 2)), False, (1.48, 1.2)), (np.zeros(1), False, (0.82, 0.7)),
])
def test_an_edge_keeps_room_for_its_labels_by_their_rows_and_columns(value, every, size):
    from scenes.graph_mobject import _label_size_inches
    assert _label_size_inches(value, every) == pytest.approx(size)


@pytest.mark.parametrize("symbol,lines", [
    ("addmm", "add\nmm"), ("logsm", "log\nsm"), ("nll_loss", "nll_\nloss"), ("a_b_cdef", "a_b_\ncdef"),
    ("abc_de", "abc_\nde"), ("ab_cd", "ab_cd"),  # five characters or fewer stay on one line
    ("_abcdef", "_abcdef"), ("abcdef_", "abcdef_"), ("+", "+"), ("sigmoid", "sigmoid"),
])
def test_a_gate_s_word_breaks_at_its_seam_or_last_underscore_only_when_long(symbol, lines):
    from scenes.graph_mobject import word_lines
    assert word_lines(symbol) == lines


@pytest.mark.parametrize("theme", ["dark", "light"])
@pytest.mark.parametrize("value,gradient,compact,texts", [
    (np.float64(0.5), False, False, ["0.5"]), (np.float64(0.5), True, False, ["+0.5"]),
    (np.float64(-0.5), True, False, ["−0.5"]),
    (np.arange(5.0), False, False, ["ℝ", "5"]), (np.arange(5.0), True, False, ["∂ ℝ", "5"]),
    (np.arange(5.0), True, True, ["∂\u2009ℝ", "5"]),  # compact: a thin space
    (np.zeros((2, 3)), True, False, ["∂ 2×3"]), (np.zeros((2, 3)), False, False, ["2×3"]),
])
def test_an_edge_label_is_in_the_forward_or_gradient_colour_and_says_a_large_value_s_shape(theme, value, gradient,
                                                                                          compact, texts):
    from scenes.graph_mobject import EdgeLabel
    with style.themed(theme):
        label = EdgeLabel(value, gradient, compact=compact)
        colour = ROLES[theme]["GRADIENT" if gradient else "FORWARD"]
    assert label.audit_kind == ("gradient" if gradient else "value")
    assert [p.original_text for p in label.submobjects] == texts
    assert {p.submobjects[0].get_fill_color().to_hex().upper() for p in label.submobjects} == {colour}
    assert label.submobjects[0].font_size == pytest.approx(22)  # MIN_UNIT is worked out for 22-point labels
    if len(texts) == 2:  # ℝ's exponent: nearly a digit's size, raised beside it
        base, exponent = label.submobjects
        assert exponent.font_size == pytest.approx(0.85 * 22)
        assert exponent.get_left()[0] > base.get_right()[0] and exponent.get_bottom()[1] > base.get_bottom()[1]


# --- scenes/text_fit.py: a title or caption shrinks through its sizes, then wraps, never cut ---

def test_each_superscript_is_drawn_as_its_own_ordinary_character():
    from scenes.text_fit import SUPERSCRIPT_CHARS, SUPERSCRIPTS
    assert SUPERSCRIPTS.translate(SUPERSCRIPT_CHARS) == "0123456789+−T"  # ⁺ a plus, ⁻ a typographic minus


def _width(text, size):
    from manim import Text
    return Text(text, font=style.caption_font(), font_size=size, line_spacing=0.8).width


SIZES = (34, 30, 26, 24)


@pytest.mark.parametrize("fits_at", [34, 30, 24])
def test_a_line_is_set_at_the_largest_size_that_fits_before_it_is_wrapped(fits_at):
    from scenes.text_fit import fitted_text
    text = f"Gradient check {fits_at}"
    mob = fitted_text(text, SIZES, _width(text, fits_at) + 1e-3, 2, "caption", "#123456")
    assert mob.font_size == pytest.approx(fits_at) and "\n" not in mob.original_text


def test_a_line_too_wide_at_every_size_is_wrapped_at_spaces_at_the_largest_size_it_then_fits():
    from scenes.text_fit import fitted_text
    text = "alpha beta gamma deltaepsilon"
    width = _width("alpha beta gamma\ndeltaepsilon", 34) + 1e-3  # the whole line is wider at 24 too
    assert _width(text, 24) > width
    mob = fitted_text(text, SIZES, width, 2, "caption", "#123456")
    assert mob.original_text == "alpha beta gamma\ndeltaepsilon" and mob.font_size == pytest.approx(34)
    assert mob.width <= width + 1e-6
    one = fitted_text(text, SIZES, width, 1, "caption", "#123456")  # wrapped, it needs 2 lines: not at 34
    assert one.font_size == pytest.approx(24) and one.width <= width + 1e-6


def test_a_text_s_own_lines_are_kept_and_more_lines_than_allowed_are_wrapped_then_scaled_never_cut():
    from scenes.text_fit import fitted_text
    mob = fitted_text("first\nsecond", SIZES, 12.0, 2, "caption", "#123456")
    assert mob.original_text == "first\nsecond" and mob.font_size == pytest.approx(34)
    many = fitted_text("one\ntwo\nthree", SIZES, 12.0, 2, "caption", "#123456")  # three lines, two allowed
    assert many.original_text == "one\ntwo\nthree" and many.font_size == pytest.approx(24)  # the smallest size
    huge = fitted_text("unbreakable" * 6, SIZES, 3.0, 1, "caption", "#123456")  # no space to wrap at
    assert huge.original_text == "unbreakable" * 6 and huge.width == pytest.approx(3.0)  # scaled: smaller, whole


@pytest.mark.parametrize("lang", ["en", "ko"])
def test_a_fitted_text_has_its_colour_kind_and_language_s_font(monkeypatch, lang):
    from engine.languages import LANGUAGES
    from engine.settings import LANG_ENV
    from scenes.text_fit import fitted_text, title_mobject
    monkeypatch.setenv(LANG_ENV, lang)
    mob = fitted_text("역전파 backprop", SIZES, 12.0, 2, "caption", "#123456")
    assert mob.audit_kind == "caption" and mob.font == LANGUAGES[lang].font
    assert {p.get_fill_color().to_hex().upper() for p in mob.submobjects} == {"#123456"}
    with style.themed("light"):
        title = title_mobject("Backprop")
    assert title.audit_kind == "title" and title.font_size == pytest.approx(34)
    assert {p.get_fill_color().to_hex().upper() for p in title.submobjects} == {ROLES["light"]["TEXT"]}


# --- scenes/pacing.py: a step held long enough, in seconds of video whatever the pace ---

def _paced(pace, started, now, hold):
    """A PacedScene's hold bookkeeping without a renderer, at scene time ``now``: records what it asks to wait."""
    from scenes.pacing import PacedScene

    class Held(PacedScene):
        time = now  # (Scene.time is the renderer's)

    scene = Held.__new__(Held)
    scene.pace, scene.step_marks, scene._hold = pace, [("s", started)] if started is not None else [], hold
    scene.waited = []
    scene.wait = scene.waited.append
    return scene


@pytest.mark.parametrize("pace,started,now,hold,waited", [
    (1.0, 0.0, 0.0, 0.8, [0.85]),  # 8 frames at 10 fps, and half a frame against Manim's truncation
    (2.0, 0.0, 0.0, 0.8, [1.7]),  # the pace divides every wait: a hold is in seconds of video
    (1.0, 1.0, 1.5, 0.8, [0.35]),  # the step has already lasted 0.5 s
    (1.0, 0.0, 0.8, 0.8, []), (1.0, 0.0, 0.9, 0.8, []),  # lasted its hold, or longer
    (1.0, 0.0, 0.0, 0.0, []), (1.0, None, 0.0, 0.8, []),  # no hold; no step yet
    (0.5, 0.0, 0.0, 0.25, [0.175]),  # 2.5 frames: 3 of them
])
def test_a_step_that_ends_before_its_hold_waits_the_whole_frames_it_misses(monkeypatch, pace, started, now, hold,
                                                                           waited):
    from manim import config
    monkeypatch.setattr(config, "frame_rate", 10)
    scene = _paced(pace, started, now, hold)
    scene.wait_for_hold()
    assert scene.waited == pytest.approx(waited)
    if started is not None:
        assert scene._hold == 0.0  # a hold is spent once
        scene.wait_for_hold()
        assert scene.waited == pytest.approx(waited)


@pytest.mark.parametrize("env,holds", [(None, []), ("", []), ('[[0, 2]]', [(0, 2.0)]),
                                       ('[["backward: × gate", 4.2], [3, "1.5"]]', [("backward: × gate", 4.2), (3, 1.5)])])
def test_holds_are_read_as_step_keys_and_seconds(monkeypatch, env, holds):
    from engine.settings import HOLDS_ENV
    from scenes.pacing import holds_from_env
    _env(monkeypatch, HOLDS_ENV, env)
    assert holds_from_env() == holds and all(isinstance(s, float) for _, s in holds_from_env())


@pytest.mark.parametrize("env,pace", [(None, 1.0), ("", 1.0), ("0.5", 0.5), ("2", 2.0), ("0.49", None), ("2.01", None)])
def test_the_pace_is_read_within_its_range_and_one_by_default(monkeypatch, env, pace):
    from engine.settings import PACE_ENV
    from scenes.pacing import pace_from_env
    _env(monkeypatch, PACE_ENV, env)
    if pace is None:
        with pytest.raises(ValueError, match=f"a pace of {float(env):g} is outside 0.5 to 2"):
            pace_from_env()
    else:
        assert pace_from_env() == pace


# --- scenes/training_scenes.py: a gradient histogram and the zig-zag's marks ---

def _histogram(counts, edges, theme="dark"):
    from scenes.training_scenes import GradientHistograms
    h = {"counts": counts, "edges": edges, "positive": 5, "negative": 3, "zero": 1}
    with style.themed(theme):
        return GradientHistograms.histogram(h, 2.0, 1.0)


@pytest.mark.parametrize("theme", ["dark", "light"])
def test_a_histogram_s_bars_frame_zero_line_range_and_counts_take_their_roles(theme):
    frame, bars, zero, scale, *counts = _histogram([0, 2, 4, 0], [-2.0, -1.0, 0.0, 1.0, 2.0], theme)
    role = ROLES[theme]
    assert frame.get_stroke_color().to_hex().upper() == role["MUTED"]
    assert bars.audit_shape == "bar" and {b.get_fill_color().to_hex().upper() for b in bars.submobjects} == {role["GRADIENT"]}
    assert zero.get_color().to_hex().upper() == role["TEXT"]
    assert scale.original_text == "±2" and scale.font_size == pytest.approx(24)
    assert {p.get_fill_color().to_hex().upper() for p in scale.submobjects} == {role["MUTED"]}
    assert [c.original_text for c in counts] == ["+5", "−3", "0: 1"]  # the typographic minus
    assert all(c.font_size == pytest.approx(20) for c in counts)
    assert {p.get_fill_color().to_hex().upper() for c in counts for p in c.submobjects} == {role["TEXT"]}
    assert scale.get_top()[1] < frame.get_bottom()[1] and counts[0].get_top()[1] < scale.get_bottom()[1]


def test_a_histogram_draws_a_bar_per_non_empty_bin_its_tallest_at_085_of_the_height_and_zero_where_0_is():
    frame, bars, zero, *_ = _histogram([0, 2, 4, 0], [-2.0, -1.0, 0.0, 1.0, 2.0])
    pieces = bars.submobjects[0].get_subpaths()  # one merged path: a rectangle per bar
    heights = sorted(round(float(np.ptp(p[:, 1])), 6) for p in pieces)
    assert heights == [0.425, 0.85]  # 2 of 4 and 4 of 4, at 0.85 of the 1.0 height
    lefts = sorted(round(float(p[:, 0].min() - frame.get_left()[0]), 6) for p in pieces)
    assert lefts == [0.525, 1.025]  # bins 1 and 2 of four 0.5-wide bins, each bar 0.9 of its bin, centred
    assert zero.get_start()[0] == pytest.approx(frame.get_center()[0])  # 0 is the middle of -2..2
    _, _, off, scale, *_ = _histogram([1, 1], [-1.0, 0.0, 3.0])
    assert off.get_start()[0] == pytest.approx(frame.get_left()[0] + 2.0 * 1 / 4) and scale.original_text == "±3"
    assert _histogram([1, 1], [-4.0, 0.0, 1.0])[3].original_text == "±4"  # the larger side, either side
    _, empty, middle, *_ = _histogram([0, 0], [0.0, 0.0, 0.0])  # all zero: no bars, the line in the middle
    assert not any(m.has_points() for m in empty.get_family())
    assert middle.get_start()[0] == pytest.approx(frame.get_center()[0])


@pytest.mark.parametrize("theme", ["dark", "light"])
def test_the_zig_zag_s_legend_names_each_path_in_its_activation_s_colour_with_its_one_sign_count(theme):
    from scenes.training_scenes import SigmoidZigZag
    runs = {"sigmoid": {"same_sign_steps": 9, "grads": [0] * 10}, "tanh": {"same_sign_steps": 4, "grads": [0] * 10}}
    scene = SigmoidZigZag.__new__(SigmoidZigZag)
    with style.themed(theme):
        legend = scene.legend(runs, 10)
    star, quadrant, sigmoid, tanh = legend
    assert star[0].get_fill_color().to_hex().upper() == ROLES[theme]["HIGHLIGHT"]
    assert quadrant[0].get_fill_color().to_hex().upper() == ACTIVATIONS[theme]["sigmoid"]
    for row, name in ((sigmoid, "sigmoid"), (tanh, "tanh")):
        assert (row.audit_shape, row.audit_label) == ("legend", name)
        assert row[0].get_color().to_hex().upper() == ACTIVATIONS[theme][name]
        assert {p.get_fill_color().to_hex().upper() for p in row[1].submobjects} == {ACTIVATIONS[theme][name]}
    assert sigmoid[1].original_text == "sigmoid inputs: 9 of 10 steps with one sign"
    assert tanh[1].original_text == "tanh inputs: 4 of 10 steps with one sign"


@pytest.mark.parametrize("theme", ["dark", "light"])
def test_a_sigmoid_step_s_quadrants_are_up_right_and_down_left_of_a_point_with_room_inside_the_plot(theme):
    from manim import PI, Axes, Sector
    from scenes.training_scenes import SigmoidZigZag
    ax = Axes(x_range=[0, 4, 1], y_range=[0, 4, 1], x_length=4, y_length=4)
    weights = np.array([[0.1, 0.1], [2.0, 2.0], [3.0, 3.5], [3.9, 3.9]])  # (2, 2) has the most room
    with style.themed(theme):
        up_right, down_left, dot = SigmoidZigZag.allowed_quadrants(ax, weights)
    assert isinstance(up_right, Sector) and up_right.start_angle == 0 and down_left.start_angle == pytest.approx(PI)
    assert up_right.angle == pytest.approx(PI / 2) and up_right.width == pytest.approx(0.75)  # a quarter disc
    assert np.allclose(dot.get_center(), ax.c2p(2, 2))
    assert {m.get_fill_color().to_hex().upper() for m in (up_right, down_left, dot)} == {ACTIVATIONS[theme]["sigmoid"]}
    # the first half of the path is where the zig-zag starts: a point there with room, though a later one has more
    early = SigmoidZigZag.allowed_quadrants(ax, np.array([[0.1, 0.1], [1.5, 1.5], [0.2, 0.3], [2, 2], [3.9, 3.9],
                                                          [3.8, 3.8]]))
    assert np.allclose(early[2].get_center(), ax.c2p(1.5, 1.5))
    cramped = SigmoidZigZag.allowed_quadrants(ax, np.array([[0.2, 0.2], [0.4, 0.5], [0.3, 3.9]]))
    assert cramped[0].width == pytest.approx(0.4)  # as large as its room: (0.4, 0.5) is 0.4 from the left edge


@pytest.mark.parametrize("ys,at_step,at_y", [
    ([0.5, 0.7, float("nan"), float("nan")], 1, 0.7),  # the last value before NaN
    ([0.5, 9.0, float("nan")], 1, 2.0),  # above the axis: at its top
    ([float("nan"), 0.5], 0, 0.0),  # NaN from the start: at the first step, on the axis
    ([0.5, float("inf"), float("nan")], 0, 0.5),  # an infinity ends the curve too
])
def test_a_diverged_run_s_cross_is_in_its_colour_where_its_curve_ends(ys, at_step, at_y):
    from manim import Axes
    from scenes.training_scenes import VanishingGradients
    ax = Axes(x_range=[0, 300, 100], y_range=[0, 2, 1], x_length=3, y_length=2)
    steps = np.array([0.0, 100.0, 200.0, 300.0])[:len(ys)]
    cross = VanishingGradients._end_mark(ax, steps, np.array(ys), "#123456")
    assert np.allclose(cross.get_center(), ax.c2p(steps[at_step], at_y))
    assert all(line.get_color().to_hex().upper() == "#123456" and line.get_stroke_width() == 4 for line in cross)
    assert cross.width == pytest.approx(0.22) and cross.height == pytest.approx(0.22)


@pytest.mark.parametrize("theme", ["dark", "light"])
def test_a_training_label_is_text_coloured_at_24_points_and_a_formula_label_a_muted_36_point_axis_label(theme):
    from scenes.training_scenes import label, tex_label
    with style.themed(theme):
        words, formula = label("loss"), tex_label("w_1")
        coloured = label("loss", 20, "#123456")
    assert words.font_size == pytest.approx(24) and {p.get_fill_color().to_hex().upper() for p in words} == {
        ROLES[theme]["TEXT"]}
    assert coloured.font_size == pytest.approx(20) and {p.get_fill_color().to_hex().upper() for p in coloured} == {
        "#123456"}
    assert formula.audit_kind == "axis label" and formula.font_size == pytest.approx(36)
    assert {p.get_fill_color().to_hex().upper() for p in formula} == {ROLES[theme]["MUTED"]}


# --- scenes/graph_scenes.py: a step's name, its caption, the seed's and a forward step's formulas ---

def _graph_of(expression, inputs, scene="graph"):
    from helpers import trace_of
    from scenes.graph_mobject import ComputationalGraph
    from scenes.trace_data import GraphTrace
    g = GraphTrace.from_dict(trace_of(expression, inputs, scene=scene))
    return g, ComputationalGraph(g, width=13.2, height=4.1)


@pytest.mark.parametrize("lang", ["en", "ko"])
def test_a_backward_step_is_named_by_its_gate_and_what_each_input_gets_and_captioned_by_its_pattern(monkeypatch, lang):
    from engine.settings import LANG_ENV
    from scenes.graph_scenes import GraphScene
    monkeypatch.setenv(LANG_ENV, lang)
    g, graph = _graph_of("x * 2 + y", {"x": 3.0, "y": -1.0})  # f = q1 + y, q1 = x * 2 at x = 3
    scene = GraphScene.__new__(GraphScene)
    add, mul = g.backward
    assert scene.step_name(graph, add) == "backward: + gate f, q1 gets +1, y gets +1"
    assert scene.step_name(graph, mul) == "backward: × gate q1, x gets +2"  # a constant gets no gradient
    assert scene.step_note(graph, add) == style.CAPTIONS[lang]["add"]
    assert scene.step_note(graph, mul) == style.CAPTIONS[lang]["mul"]


@pytest.mark.parametrize("theme", ["dark", "light"])
def test_the_seed_is_one_in_the_gradient_colour_and_a_number_needs_no_forward_formula(theme):
    from scenes.graph_scenes import GraphScene
    with style.themed(theme):
        g, graph = _graph_of("x * 2 + y", {"x": 3.0, "y": -1.0})
        seed = GraphScene.seed_formula(graph)
    assert seed == r"\frac{\partial f}{\partial f} = \textcolor[HTML]{" + ROLES[theme]["GRADIENT"][1:] + "}{1}"
    assert [GraphScene.forward_formula(graph, n) for n in g.forward] == [None] * len(g.forward)


@pytest.mark.parametrize("theme", ["dark", "light"])
def test_a_value_drawn_as_its_shape_shows_its_entries_unsigned_in_the_forward_colour(theme):
    from scenes.graph_scenes import GraphScene
    forward = ROLES[theme]["FORWARD"][1:]
    with style.themed(theme):
        g, graph = _graph_of("sum(W @ x)", {"W": [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], "x": [1.0, 0.0, -1.0]}, "vectors")
        W = next(n for n in g.nodes if g.nodes[n].label == "W")
        matrix = GraphScene.forward_formula(graph, W)
        g5, graph5 = _graph_of("sum(x * y)", {"x": [1.0, 2, 3, 4, 5], "y": [1.0, 1, 1, 1, 1]}, "vectors")
        x = next(n for n in g5.nodes if g5.nodes[n].label == "x")
        long = GraphScene.forward_formula(graph5, x)
    assert matrix == (r"W = \textcolor[HTML]{" + forward + r"}{\begin{bmatrix} 1 & 2 & 3 \\ 4 & 5 & 6 \end{bmatrix}}"
                      r"\;\; (2\times 3)")
    assert long == (r"\left[x\right]_{2..5} = \textcolor[HTML]{" + forward + r"}{\begin{bmatrix} 2 \\ 3 \\ 4 \\ 5 "
                    r"\end{bmatrix}}\;\; (\mathbb{R}^{\scriptstyle 5})")  # too long: the block around its largest


@pytest.mark.parametrize("pace,run_time", [(1.0, 1.0), (2.0, 0.5), (0.5, 2.0)])
def test_the_pace_divides_every_animation_s_run_time(monkeypatch, pace, run_time):
    from manim import FadeIn, Square, tempconfig
    from engine.settings import HOLDS_ENV, PACE_ENV
    from scenes.pacing import PacedScene
    monkeypatch.setenv(PACE_ENV, str(pace))
    monkeypatch.setenv(HOLDS_ENV, '[[0, 1.0], ["second", 2.0]]')
    with tempconfig({"dry_run": True, "disable_caching": True}):
        scene = PacedScene()
        scene.setup()
        assert [a.run_time for a in scene.compile_animations(FadeIn(Square()), run_time=1.0)] == [run_time]
        scene.step("  first \n  step  " + "x" * 400, about={"kind": "title"})
        assert scene.step_marks[0][0].startswith("first step x") and len(scene.step_marks[0][0]) == 300
        assert scene._hold == 1.0  # step 0's hold
        scene.step("not the second")  # a key names a step by the start of its name
        assert scene._hold == 0.0
        scene.step("second: the hold's step")
        assert scene._hold == 2.0 and scene.step_about == [{"kind": "title"}, None, None]
        assert scene.step_plays == [0, 1, 1]  # step 0 held: its wait is a play before the next step


@pytest.mark.parametrize("config,title", [
    ({"scene": "graph", "title": "Chain rule", "expression": "f = x * y"}, "Chain rule"),  # the config's title
    ({"scene": "graph", "expression": "a = x * y\nf = a + 1\n\n  "}, "f = a + 1"),  # else its expression's last line
    ({"scene": "vanishing"}, {"en": "Vanishing gradients", "ko": "기울기 소실"}),  # else its scene's, in the language
    ({"scene": "zigzag", "expression": ""}, {"en": "Sigmoid's zig-zag", "ko": "시그모이드의 지그재그"}),
])
@pytest.mark.parametrize("lang", ["en", "ko"])
def test_a_scene_s_title_is_its_config_s_its_expression_s_last_line_or_its_kind_s(monkeypatch, config, title, lang):
    from engine.settings import LANG_ENV
    from scenes.graph_scenes import CONTENT_TOP, TITLE_Y, GraphScene
    monkeypatch.setenv(LANG_ENV, lang)
    scene = GraphScene.__new__(GraphScene)
    steps = []
    scene.step = lambda name, about=None: steps.append((name, about))
    scene.play = lambda *a, **k: None
    scene.show_title({"config": config})
    said = title if isinstance(title, str) else title[lang]
    assert steps == [(f"title: {said}", {"kind": "title", "text": said})]
    assert scene.title.original_text == said and scene.title.get_y() == pytest.approx(TITLE_Y)
    assert scene.content_top == CONTENT_TOP  # one line: the content starts where it always does


@pytest.mark.parametrize("title", ["Chain rule\nf = (x + y) z", "a title long enough to need three lines " * 3])
def test_a_title_of_several_lines_hangs_from_the_top_and_the_content_starts_below_it(title):
    from scenes.graph_scenes import CONTENT_TOP, GraphScene
    scene = GraphScene.__new__(GraphScene)
    scene.step = lambda name, about=None: None
    scene.play = lambda *a, **k: None
    scene.show_title({"config": {"scene": "graph", "title": title}})
    assert scene.title.original_text.count("\n") >= 1
    assert scene.title.get_top()[1] == pytest.approx(4.0 - 0.2)  # 0.2 units from the frame's top
    assert scene.content_top == pytest.approx(scene.title.get_bottom()[1] - 0.2) and scene.content_top < CONTENT_TOP


@pytest.mark.parametrize("rows", [1, 2])
def test_a_legend_entry_is_its_curve_s_colour_and_tagged_with_its_curve(rows):
    from scenes.training_scenes import VanishingGradients
    entries = [("sigmoid: final accuracy 0.5", "#D55E00"), ("tanh: final accuracy 1", "#009E73"),
               ("ReLU: NaN from step 40", "#CC79A7"), ("leaky ReLU: final accuracy 1", "#F0E442")]
    legend = VanishingGradients.legend(entries, rows=rows, curves=["sigmoid", "tanh", "ReLU", "leaky ReLU"])
    assert [(e.audit_shape, e.audit_label, e.audit_kind) for e in legend] == [
        ("legend", name, "legend") for name in ("sigmoid", "tanh", "ReLU", "leaky ReLU")]
    assert [{p.get_fill_color().to_hex().upper() for p in e} for e in legend] == [{c} for _, c in entries]
    assert all(e.font_size == pytest.approx(24) for e in legend)
    assert len({round(e.get_y(), 6) for e in legend}) == rows  # one row, or a grid of two
    named = VanishingGradients.legend([("tanh", "#009E73")])
    assert named[0].audit_label == "tanh"  # without curves: the entry's own text names its curve


def test_a_training_caption_starts_a_step_and_fades_out_the_last_caption_with_what_was_retired():
    from manim import Square
    from scenes.animations import Fade
    from scenes.training_scenes import VanishingGradients
    scene = VanishingGradients.__new__(VanishingGradients)
    scene.caption, scene.leaving, steps, plays = None, [], [], []
    scene.step = lambda name, about=None: steps.append((name, about))
    scene.play = lambda *anims, **kwargs: plays.append((anims, kwargs))
    scene.set_caption("first caption")
    first = scene.caption
    assert steps == [("first caption", {"kind": "caption"})] and first.audit_kind == "caption"
    (anims, kwargs), = plays
    assert [(type(a), a.fade_in) for a in anims] == [(Fade, True)] and kwargs == {"run_time": 0.4}
    chart = Square()
    scene.retire(chart)
    scene.set_caption("second caption")
    anims, _ = plays[-1]
    assert [(a.mobject, a.fade_in) for a in anims] == [(chart, False), (first, False), (scene.caption, True)]
    assert scene.leaving == [] and len(steps) == 2
    scene.set_caption(None)  # no caption: no step, the last one fades
    assert len(steps) == 2 and scene.caption is None and [a.fade_in for a in plays[-1][0]] == [False]


@pytest.mark.parametrize("above", [True, False])
def test_a_label_clears_its_own_wire_where_it_bends_under_or_over_it_not_only_at_its_anchor(above):
    from manim import Text
    g, graph = _graph_of("x * 2 + y", {"x": 3.0, "y": -1.0})
    key = next(iter(graph.edges))
    bend = 1 if above else -1  # a wire that bulges towards the label's side between its ends
    graph.edges[key].points = np.array([[-1.0, 0, 0], [-0.3, 0.6 * bend, 0], [0.3, 0.6 * bend, 0], [1.0, 0, 0]])
    graph._label_anchor[key] = np.zeros(3)
    label = Text("0.5", font_size=20).move_to(np.zeros(3))
    graph._clear_own_edge(label, key, above, pad=0.05)
    ys = graph._edge_ys(key, label.get_left()[0] - 0.03, label.get_right()[0] + 0.03)
    if above:
        assert label.get_bottom()[1] == pytest.approx(max(ys) + 0.05 * graph.unit) and max(ys) > 0.4
    else:
        assert label.get_top()[1] == pytest.approx(min(ys) - 0.05 * graph.unit) and min(ys) < -0.4
