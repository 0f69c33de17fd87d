"""Visual conventions shared by every scene: palette, number formats, caption text.

Palette: Okabe-Ito, which stays distinguishable under the common colour-vision deficiencies. Forward
values are always sky blue, gradients always orange; a gradient's sign is also written out (+0.39,
−0.59), so colour is never the only carrier of meaning.
"""
from __future__ import annotations

import contextlib
import os
from collections import OrderedDict
from collections.abc import Callable, Iterable

import numpy as np
from manim import MathTex, Mobject, TexTemplate

from engine.expr import NAME, PARAM_NAME
from engine.languages import DEFAULT_LANG, LANGUAGES
from engine.numfmt import format_number
from engine.settings import LANG_ENV, THEME_ENV

# Okabe-Ito hues; the light theme darkens them just enough to read on white. Forward is always the
# blue family and gradients the orange family, so the meaning survives a change of theme.
THEMES = {
    "dark": {"BACKGROUND": "#000000", "FORWARD": "#56B4E9", "GRADIENT": "#E69F00", "HIGHLIGHT": "#F0E442",
             "GOOD": "#009E73", "BAD": "#D55E00", "NODE_STROKE": "#BBBBBB", "TEXT": "#FFFFFF", "MUTED": "#999999",
             "RELU": "#CC79A7"},
    "light": {"BACKGROUND": "#FFFFFF", "FORWARD": "#0072B2", "GRADIENT": "#AD5A00", "HIGHLIGHT": "#8A7500",
              "GOOD": "#007A5A", "BAD": "#C24E00", "NODE_STROKE": "#444444", "TEXT": "#111111", "MUTED": "#555555",
              "RELU": "#A8528A"},
}
BACKGROUND = FORWARD = GRADIENT = HIGHLIGHT = GOOD = BAD = NODE_STROKE = TEXT = MUTED = ""
THEME = "dark"  # the theme applied last: what every colour of a scene follows
ACTIVATION: dict[str, str] = {}


def apply_theme(name: str) -> None:
    """Switch the palette (before a scene is built); Manim's default text colours follow it."""
    from manim import MathTex, Paragraph, Tex, Text

    palette = THEMES[name]
    globals().update({k: v for k, v in palette.items() if k != "RELU"}, THEME=name)
    # One colour per activation in the training scenes, always with its name written beside it.
    ACTIVATION.update(sigmoid=palette["BAD"], tanh=palette["GOOD"], relu=palette["RELU"],
                      leaky_relu=palette["HIGHLIGHT"])
    for cls in (Text, MathTex, Tex, Paragraph):
        cls.set_default(color=palette["TEXT"])


@contextlib.contextmanager
def themed(name: str):
    """``name``'s palette while a scene is built, and the one before it afterwards: one process may build
    scenes in both themes (the audit, the tests), and a later one must not inherit the last palette."""
    before = THEME
    apply_theme(name)
    try:
        yield
    finally:
        apply_theme(before)


def theme() -> str:
    """The theme in force: BACKPROP_THEME (set by the CLI's --theme), dark by default."""
    name = os.environ.get(THEME_ENV, "dark")
    return name if name in THEMES else "dark"


apply_theme(theme())

MINUS = "\u2212"


# Manim's default template plus xcolor, so one MathTex can colour its gradient parts.
TEX_TEMPLATE = TexTemplate()
TEX_TEMPLATE.add_to_preamble(r"\usepackage{xcolor}")


def math(tex: str, **kwargs) -> MathTex:
    """A MathTex in the project's template (one LaTeX run for the whole formula), built once (see ``once``)."""
    return once(MathTex, tex, tex_template=TEX_TEMPLATE, **kwargs)


# Set by a render (to manim_patches.tex_batch.prefetch): typesets formulas it is told of in one LaTeX run.
PREFETCH_TEX: Callable[[Callable[[str], Mobject], list[str]], object] | None = None


def expect_math(texs: Iterable[str], **kwargs) -> None:
    """Formulas ``math(tex, **kwargs)`` is about to build. Only a hint: a plain Manim render ignores it, and
    a formula not announced (or announced but never built) costs what it did before."""
    if PREFETCH_TEX is not None:
        PREFETCH_TEX(lambda tex: MathTex(tex, tex_template=TEX_TEMPLATE, **kwargs), list(texs))


def expect_tex(texs: Iterable[str], **kwargs) -> None:
    """As ``expect_math``, for formulas built as Manim's own ``MathTex(tex, **kwargs)`` (its default template)."""
    if PREFETCH_TEX is not None:
        PREFETCH_TEX(lambda tex: MathTex(tex, **kwargs), list(texs))


_BUILT: OrderedDict[tuple, Mobject] = OrderedDict()  # by once's key, the least recently used first
BUILT_MAX = 2048  # a lecture's worth of labels; a process that renders course after course stays bounded


def once(cls: type[Mobject], first: str, **kwargs) -> Mobject:
    """``cls(first, **kwargs)`` (a Text, MathTex, ...), built once per process and copied after that.

    A scene writes the same labels, numbers and formulas again and again (each step, each theme and
    language of an audit, each clip of a lecture): turning text into glyphs takes 4-8 ms, a copy under one.
    What is kept is a copy that is never handed out; the key holds everything the result depends on: the
    arguments, and the theme's text colour (Manim's default colour, which apply_theme sets).
    """
    template = kwargs.get("tex_template")
    key = (cls, first, repr(sorted((k, v) for k, v in kwargs.items() if k != "tex_template")),
           None if template is None else (template.body, template.tex_compiler, template.output_format), TEXT)
    kept = _BUILT.get(key)
    if kept is not None:
        _BUILT.move_to_end(key)
        return kept.copy()
    mob = cls(first, **kwargs)
    _BUILT[key] = mob.copy()
    if len(_BUILT) > BUILT_MAX:
        _BUILT.popitem(last=False)
    return mob


def colored(tex: str, color: str) -> str:
    """Colour part of a formula, e.g. colored(x, GRADIENT)."""
    return rf"\textcolor[HTML]{{{color.lstrip('#')}}}{{{tex}}}"


def fmt_value(x: float) -> str:
    """A forward value as shown on screen (typographic minus)."""
    return format_number(x).replace("-", MINUS)


def fmt_grad(x: float) -> str:
    """A gradient as shown on screen: always signed, so its sign does not rest on colour."""
    s = format_number(x)
    if s in ("0", "NaN"):
        return s
    return (s if s.startswith("-") else "+" + s).replace("-", MINUS)


def latex_number(x: float, signed: bool = False) -> str:
    """A number for MathTex, in the same format as the on-screen labels."""
    s = format_number(x)
    if s == "NaN":
        return r"\mathrm{NaN}"
    s = s.replace("∞", r"\infty")
    if "e" in s:
        mant, exp = s.split("e")
        s = rf"{mant}\times 10^{{{int(exp)}}}"
    if signed and not s.startswith("-") and s != "0":
        s = "+" + s
    return s


def latex_array(a: np.ndarray, signed: bool = False) -> str:
    """A vector or matrix as a bmatrix (vectors as columns, as in the lecture notes)."""
    a = np.asarray(a)
    if a.ndim == 0:
        return latex_number(float(a), signed)
    rows = a.reshape(-1, 1) if a.ndim == 1 else a.reshape(a.shape[0], -1)
    body = r" \\ ".join(" & ".join(latex_number(float(v), signed) for v in row) for row in rows)
    # amsmath's matrices stop at 10 columns (an 11th is a LaTeX error) unless told how many there are
    widen = rf"\setcounter{{MaxMatrixCols}}{{{rows.shape[1]}}}" if rows.shape[1] > 10 else ""
    return rf"{widen}\begin{{bmatrix}} {body} \end{{bmatrix}}"


def split_top_level(tex: str, sep: str) -> list[str]:
    """Split a formula at ``sep`` (a row break, a \\qquad) where no brace or matrix is open."""
    parts, depth, env, start, i = [], 0, 0, 0, 0
    while i < len(tex):
        if tex.startswith(r"\begin{", i):
            env += 1
        elif tex.startswith(r"\end{", i):
            env -= 1
        c = tex[i]
        if c == "{":
            depth += 1
        elif c == "}":
            depth -= 1
        elif depth == 0 and env == 0 and tex.startswith(sep, i):
            parts.append(tex[start:i])
            start = i + len(sep)
            i = start
            continue
        i += 1
    parts.append(tex[start:])
    return parts


GREEK = {g: "\\" + g for g in ("alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta", "iota",
                                 "kappa", "mu", "nu", "xi", "pi", "rho", "sigma", "tau", "phi", "chi", "psi", "omega")}


def latex_name(label: str, module: str | None = None) -> str:
    """A variable's name in a formula: w0 -> w_{0}, w_in -> w_{\\mathrm{in}}, alpha -> \\alpha.

    Only names of letters, digits and _ reach here (configs and traces are checked for that); anything
    else is drawn as a question mark rather than handed to LaTeX. A torch parameter's name is drawn as it
    reads (fc1.weight), an index in it as a subscript (layers.0.bias -> layers₀.bias); one that starts with
    an index, as an nn.Sequential's 0.weight, is led by ``module``, the class of the layer that holds it
    (Linear₀.weight).
    """
    if PARAM_NAME.fullmatch(label) and not NAME.fullmatch(label):  # a torch parameter: fc1.weight, 0.bias
        return _parameter_tex(label, module if module and NAME.fullmatch(module) else None)
    if not NAME.fullmatch(label):
        return r"\text{?}"
    base, _, sub = label.partition("_")
    if not sub:
        stripped = base.rstrip("0123456789")
        base, sub = (stripped, base[len(stripped):]) if stripped else (base, "")

    def part(text: str) -> str:
        if text in GREEK:
            return GREEK[text]
        return text if len(text) <= 1 or text.isdigit() else rf"\mathrm{{{text}}}".replace("_", r"\_")

    return part(base) + (f"_{{{part(sub)}}}" if sub else "")


def parameter_lines(label: str, module: str | None = None) -> list[str]:
    """A torch parameter's name broken after its last dot, as lines of a formula (fc1.weight -> fc1. over
    weight): a graph of a network keeps its names at a readable size in half the width. Any other name is
    one line, as latex_name writes it."""
    full = latex_name(label, module)
    if not (PARAM_NAME.fullmatch(label) and not NAME.fullmatch(label) and "." in label):
        return [full]
    head, tail = label.rsplit(".", 1)
    tail_tex = r"\mathrm{" + tail.replace("_", r"\_") + "}"
    if full.endswith("." + tail_tex):  # \mathrm{Linear}_{0}.\mathrm{weight}
        return [full[:-len(tail_tex)], tail_tex]
    if full == r"\mathrm{" + label.replace("_", r"\_") + "}":  # \mathrm{fc1.weight}
        return [r"\mathrm{" + head.replace("_", r"\_") + ".}", tail_tex]
    return [full]


def _parameter_tex(label: str, module: str | None) -> str:
    """fc1.weight -> \\mathrm{fc1.weight}; layers.0.1.bias -> \\mathrm{layers}_{0,1}.\\mathrm{bias};
    0.weight -> \\mathrm{Linear}_{0}.\\mathrm{weight} (``module`` None: 0.\\mathrm{weight})."""
    def word(text: str) -> str:
        return r"\mathrm{" + text.replace("_", r"\_") + "}"

    parts = label.split(".")
    if not any(p.isdigit() for p in parts):
        return word(label)
    groups: list[tuple[str, list[str]]] = []  # (a name, the indices after it)
    for p in parts:
        if p.isdigit() and (groups or module):
            if not groups:
                groups.append((word(module), []))
            groups[-1][1].append(p)
        else:
            groups.append((p if p.isdigit() else word(p), []))
    return ".".join(name + (f"_{{{','.join(indices)}}}" if indices else "") for name, indices in groups)


def node_tex(label: str, value, module: str | None = None) -> str:
    """A leaf or named gate in a formula: its name (w_{0}), or the number a literal constant holds."""
    return latex_name(label, module) if PARAM_NAME.fullmatch(label) else latex_number(float(value))


def shape_text(a: np.ndarray) -> str:
    """A shape in words: 2×3, or 3-vector (a bare 3 would read as a value)."""
    if np.ndim(a) == 1:
        return f"{np.size(a)}-vector"
    return "×".join(map(str, np.shape(a))) if np.ndim(a) else "scalar"


def latex_shape(a: np.ndarray) -> str:
    """A shape in a formula: 2\times 3, or a vector's space R^3, its exponent as large as the R beside it
    (a bare 3 would read as a value, and a script-size exponent is too small to read beside a name)."""
    if np.ndim(a) == 1:
        return rf"\mathbb{{R}}^{{\scriptstyle {np.size(a)}}}"
    return r"\times ".join(map(str, np.shape(a))) if np.ndim(a) else r"\text{scalar}"


# Captions, one table per language of engine/languages.py: English and Korean (cs231n and "Deep Learning from
# Scratch" are read in both).
CAPTIONS = {
    "en": {
        "forward": "Forward pass: values flow left to right",
        "backward": "Backward pass: downstream = local × upstream",
        "add": "add gate: a gradient distributor (local gradient 1)",
        "sub": "sub gate: passes +upstream and −upstream",
        "mul": "mul gate: a swap multiplier (each input gets the other's value)",
        "max": "max gate: a router (all to the larger input, 0 to the other)",
        "min": "min gate: a router (all to the smaller input)",
        "branch": "branch: gradients from several uses add up",
        "relu": "ReLU: the local gradient is the mask x > 0",
        "sigmoid": "Sigmoid: local gradient y(1 − y) from the cached output y",
        "softmax_cross_entropy": "Softmax-with-Loss: the gradient is (y − t) / batch",
        "matmul": "matmul: dA = upstream · Bᵀ, dB = Aᵀ · upstream",
        "addmm": "addmm (nn.Linear), c + A B: the bias c gets the upstream summed over rows",
        "addmm_one": "addmm (nn.Linear), c + A B: the bias c gets the upstream as it is",
        "summary": "Gradients of the inputs",
        "alternative": "The same function with one sigmoid gate",
        "same": "Both routes give the same gradients",
        "gradcheck": "Backpropagation against central differences",
        "input": "input",
        "analytic": "analytic",
        "numeric": "numerical",
        "relerr": "relative error",
        "kink": "kink",
        "title_vanishing": "Vanishing gradients",
        "title_zigzag": "Sigmoid's zig-zag",
        "title_histograms": "Gradient signs per layer",
        "seed_activation": "activation",
        "seed_solved": "solved XOR",
        "seed_diverged": "diverged (NaN)",
        "seed_dead": "dead at start",
        "seed_ratio": "first/last layer\ngradient (median)",
        "seed_summary": "{seeds} seeds per activation: one run is an anecdote",
        "slopes": "largest local gradient: {slopes}",
        "norms": "gradient norm of each layer's weights, first layer left (log scale)",
        "vanish": "step 0: {which}",
        "vanish_one": "{name}'s first layer gets a gradient {orders} orders of magnitude below its last",
        "dead": "{names}: dead at initialisation (no gradient reaches the first layer)",
        "no_vanish": "step 0: no activation here loses more than a factor of 100 from the last layer to the first",
        "norm_note": "first {first}, last {last}",
        "nan_norm": "× = NaN: the run diverged",
        "norms_training": "as training goes on: each layer's gradient norm at the step shown above",
        "step_stamp": "step {step}",
        "curves": "after {steps} steps",
        "outcome_solved": "solved XOR: {names}",
        "outcome_unsolved": "not solved: {names}",
        "outcome_diverged": "diverged (NaN): {names}",
        "final_accuracy": "{name}: final accuracy {accuracy}",
        "nan_from": "{name}: NaN from step {step}",
        "outcome_seeds": "after {steps} steps, runs at accuracy 1 out of {seeds} seeds: {outcomes}",
        "outcome_count": "{name} {solved}",
        "outcome_count_nan": " ({diverged} diverged to NaN)",
        "curves_seed": "curves: seed {seed}, one of the {seeds} seeds",
        "panel_activation": "activation f(x)",
        "panel_derivative": "its derivative f′(x): the local gradient",
        "axis_input": "input x",
        "axis_step": "step",
        "axis_layer": "layer",
        "axis_norm": "gradient norm",
        "axis_count": "count of weights",
        "axis_gradient": "gradient",
        "loss": "loss",
        "accuracy": "accuracy",
        "zigzag_sigmoid": "sigmoid inputs are all positive: each step moves w1 and w2 the same way (↗ or ↙)",
        "zigzag_tanh": "tanh's zero-centred inputs mix signs: a straighter path to the optimum ★",
        "zigzag_min": "minimum of the loss",
        "zigzag_quadrants": "where a sigmoid step can go from a point:\nboth weights up or both down",
        "zigzag_path": "{name} inputs: {same} of {steps} steps with one sign",
        "hist_intro": "weight gradients of each layer after one backward pass; the vertical line marks 0, under each: its range, the counts of +, − and 0",
        "hist_one_sign": "{name}, last layer: {pos}+ / {neg}− / {zero} zero, one sign: a step moves all these weights the same way",
        "hist_mixed": "{name}, last layer: {pos}+ / {neg}− / {zero} zero, the signs mix: weights can move different ways",
        "layer": "layer {layer}",
        "hist_zero": "{name}, last layer: every gradient is 0, so these weights do not move",
    },
    "ko": {
        "forward": "순전파: 값이 왼쪽에서 오른쪽으로 흐른다",
        "backward": "역전파: 하류 기울기 = 국소 기울기 × 상류 기울기",
        "add": "덧셈 노드: 기울기를 그대로 분배한다 (국소 기울기 1)",
        "sub": "뺄셈 노드: +상류와 −상류를 전달한다",
        "mul": "곱셈 노드: 입력을 서로 바꾼 값을 곱한다",
        "max": "max 노드: 큰 입력으로만 기울기를 보낸다 (라우터)",
        "min": "min 노드: 작은 입력으로만 기울기를 보낸다",
        "branch": "분기: 여러 경로의 기울기는 더해진다",
        "relu": "ReLU: 국소 기울기는 마스크 x > 0",
        "sigmoid": "Sigmoid: 순전파 출력 y로 국소 기울기 y(1 − y)",
        "softmax_cross_entropy": "Softmax-with-Loss: 기울기는 (y − t) / 배치 크기",
        "matmul": "행렬 곱: dA = 상류 · Bᵀ, dB = Aᵀ · 상류",
        "addmm": "addmm (nn.Linear), c + A B: 편향 c는 상류 기울기를 행끼리 더해 받는다",
        "addmm_one": "addmm (nn.Linear), c + A B: 편향 c는 상류 기울기를 그대로 받는다",
        "summary": "입력에 대한 기울기",
        "alternative": "시그모이드 노드 하나로 나타낸 같은 함수",
        "same": "두 경로의 기울기가 같다",
        "gradcheck": "역전파와 중심 차분 수치 미분의 비교",
        "input": "입력",
        "analytic": "해석적",
        "numeric": "수치적",
        "relerr": "상대 오차",
        "kink": "꺾인 점",
        "title_vanishing": "기울기 소실",
        "title_zigzag": "시그모이드의 지그재그",
        "title_histograms": "층별 기울기 부호",
        "seed_activation": "활성화 함수",
        "seed_solved": "XOR 해결",
        "seed_diverged": "발산 (NaN)",
        "seed_dead": "시작부터 죽은 망",
        "seed_ratio": "첫 층/마지막 층\n기울기 (중앙값)",
        "seed_summary": "활성화 함수마다 시드 {seeds}개: 한 번의 실행은 일화일 뿐이다",
        "slopes": "가장 큰 국소 기울기: {slopes}",
        "norms": "각 층 가중치의 기울기 노름, 왼쪽이 첫 층 (로그 스케일)",
        "vanish": "스텝 0: {which}",
        "vanish_one": "{name}의 첫 층 기울기는 마지막 층보다 {orders}자릿수 작다",
        "dead": "{names}: 초기화부터 죽은 망 (첫 층에 기울기가 도달하지 않는다)",
        "no_vanish": "스텝 0: 어떤 활성화 함수도 마지막 층에서 첫 층까지 100배 넘게 줄지 않는다",
        "norm_note": "첫 층 {first}, 끝 층 {last}",
        "nan_norm": "× = NaN: 발산했다",
        "norms_training": "학습이 진행되면서: 위에 표시된 스텝에서 각 층의 기울기 노름",
        "step_stamp": "스텝 {step}",
        "curves": "{steps} 스텝 후",
        "outcome_solved": "XOR 해결: {names}",
        "outcome_unsolved": "해결 못함: {names}",
        "outcome_diverged": "발산 (NaN): {names}",
        "final_accuracy": "{name}: 최종 정확도 {accuracy}",
        "nan_from": "{name}: 스텝 {step}부터 NaN",
        "outcome_seeds": "{steps} 스텝 후 시드 {seeds}개 중 정확도 1에 도달한 실행: {outcomes}",
        "outcome_count": "{name} {solved}개",
        "outcome_count_nan": " ({diverged}개는 NaN으로 발산)",
        "curves_seed": "곡선: 시드 {seeds}개 중 시드 {seed}",
        "panel_activation": "활성화 함수 f(x)",
        "panel_derivative": "도함수 f′(x): 국소 기울기",
        "axis_input": "입력 x",
        "axis_step": "스텝",
        "axis_layer": "층",
        "axis_norm": "기울기 노름",
        "axis_count": "가중치 개수",
        "axis_gradient": "기울기",
        "loss": "손실",
        "accuracy": "정확도",
        "zigzag_sigmoid": "시그모이드 입력은 모두 양수: 매 스텝 w1과 w2가 같은 방향으로 움직인다 (↗ 또는 ↙)",
        "zigzag_tanh": "tanh 입력은 0 중심이라 부호가 섞인다: 최적점 ★까지 더 곧은 경로",
        "zigzag_min": "손실의 최솟값",
        "zigzag_quadrants": "한 점에서 시그모이드 한 스텝이 갈 수 있는 방향:\n두 가중치가 함께 증가 또는 감소",
        "zigzag_path": "{name} 입력: {steps} 스텝 중 {same} 스텝이 한 부호",
        "hist_intro": "역전파 한 번 후 각 층의 가중치 기울기; 세로선이 0, 아래는 범위와 +, −, 0의 개수",
        "hist_one_sign": "{name} 마지막 층: {pos}+ / {neg}− / 0인 것 {zero}개, 부호가 하나: 한 번의 갱신에 모든 가중치가 같은 방향으로 움직인다",
        "hist_mixed": "{name} 마지막 층: {pos}+ / {neg}− / 0인 것 {zero}개, 부호가 섞인다: 가중치가 서로 다른 방향으로 움직일 수 있다",
        "layer": "{layer}층",
        "hist_zero": "{name} 마지막 층: 기울기가 모두 0이라 가중치가 움직이지 않는다",
    },
}

FONTS = {code: lang.font for code, lang in LANGUAGES.items()}  # each language's captions' font


def language() -> str:
    """Caption language: BACKPROP_LANG (set by the CLI's --lang), the default language otherwise."""
    lang = os.environ.get(LANG_ENV, DEFAULT_LANG)
    return lang if lang in LANGUAGES else DEFAULT_LANG


def caption(key: str, **fields) -> str:
    """The caption ``key`` in the current language, with ``fields`` (numbers from the trace) filled in."""
    return CAPTIONS[language()].get(key, CAPTIONS[DEFAULT_LANG][key]).format(**fields)


def caption_font() -> str:
    return LANGUAGES[language()].font
