"""Narration written from the trace: every number said is one the trace holds, as the screen writes it.

The numbers a sentence may say are collected here from the trace JSON itself (json.loads, not the scenes'
structures): every value, gradient, upstream, local and downstream gradient, relative error, the gradient
check's h, and the counts a scene shows (shapes, how often a variable is used, a ReLU mask's ones), each
written by engine.numfmt.format_number, the formatter behind every number on screen. A training trace's
numbers are all of its numbers (curves, norms, counts), plus the orders of magnitude its step-0 caption
states (floor(-log10(median first/last ratio))).
"""
import json
import math
import re
import srt
from pathlib import Path

import numpy as np
import pytest

from engine.config import ConfigError
from engine.numfmt import format_number
from engine.ops import TORCH_OP
from pipeline.auto_narration import fill, spoken_steps, step_texts
from engine.source import trace_path_for
from render import CONFIG_DIR
from helpers import run_cli

GRAPH_CONFIGS = ["chain_rule", "gates", "sigmoid_gate", "sigmoid_neuron", "vectors", "layers", "gradcheck",
                 "torch_mlp", "torch_sigmoid_neuron", "torch_sequential", "torch_layer_norm"]
TRAINING_CONFIGS = ["vanishing", "zigzag", "histograms", "histograms_torch", "vanishing_torch", "xor_seeds"]
# formulas said as formulas, not numbers of the trace
FORMULAS = ("y(1−y)", "(y − t)")
NUMBER = re.compile(r"(?<![\w.])[+\-−]?\d+(?:\.\d+)?(?:e[+\-−]?\d+)?")


def said_numbers(text: str, title: str) -> list[str]:
    text = text.replace(title, "")
    for formula in FORMULAS:
        text = text.replace(formula, "")
    return [n.replace("−", "-").lstrip("+") for n in NUMBER.findall(text)]


def _floats(v) -> list[float]:
    if v is None:
        return []
    if isinstance(v, list):
        return [x for item in v for x in _floats(item)]
    if isinstance(v, str):  # "nan", "inf"
        return [float(v)]
    return [float(v)]


def _shape(v) -> list[int]:
    return list(np.shape(np.array(v, dtype=object if not isinstance(v, list) else float))) if isinstance(v, list) else []


def graph_numbers(trace: dict) -> set[str]:
    """The numbers a graph trace's scene may show: written as on screen."""
    values, counts = [], {0, 1}
    parts = [trace] + ([trace["alternative"]] if "alternative" in trace else [])
    for part in parts:
        uses = {}
        for n in part["nodes"]:
            for key in ("value", "grad", "numeric_grad", "relative_error"):
                values += _floats(n.get(key))
                counts.update(_shape(n.get(key)))
                counts.update([len(_floats(n.get(key)))])
            for src in n["inputs"]:
                uses[src] = uses.get(src, 0) + 1
        counts.update(uses.values())
        for s in part["backward"]:
            for key in ("upstream",):
                values += _floats(s[key])
            for v in s["local"] + s["downstream"] + list(s.get("terms", {}).values()):
                values += _floats(v)
                counts.update(_shape(v))
            for v in s["local"]:
                if v is not None:
                    counts.add(int(np.count_nonzero(np.asarray(_floats(v)))))
    if trace["config"].get("h") is not None:
        values.append(float(trace["config"]["h"]))
    return {format_number(v) for v in values} | {str(c) for c in counts} | {"0"}


def training_numbers(trace: dict) -> set[str]:
    found = set()

    def walk(v):
        if isinstance(v, dict):
            for item in v.values():
                walk(item)
        elif isinstance(v, list):
            found.add(str(len(v)))  # a count: of steps, of layers
            for item in v:
                walk(item)
        elif isinstance(v, bool):
            pass
        elif isinstance(v, int):
            found.add(str(v))
            found.add(format_number(v))
        elif isinstance(v, float):
            found.add(format_number(v))
    walk(trace)
    for s in trace.get("seed_summary", []):
        if s.get("median_ratio") not in (None, "nan", "inf"):
            found.add(str(int(math.floor(-math.log10(float(s["median_ratio"]))))))
    return found | {"0"}


def trace_json(config: str) -> dict:
    return json.loads(Path(trace_path_for(CONFIG_DIR / f"{config}.yaml")).read_text())


@pytest.mark.parametrize("lang", ["en", "ko"])
@pytest.mark.parametrize("config", GRAPH_CONFIGS)
def test_every_number_a_graph_scene_says_is_the_trace_s_as_on_screen(config, lang):
    trace = trace_json(config)
    allowed = graph_numbers(trace)
    texts = step_texts(trace_path_for(CONFIG_DIR / f"{config}.yaml"), lang)
    title = trace["config"].get("title") or ""
    assert len(texts) > 3 and all(texts)
    said = [(n, text) for text in texts for n in said_numbers(text, title)]
    assert said, "the narration says no number at all"
    assert [(n, text) for n, text in said if n not in allowed] == []


@pytest.mark.parametrize("lang", ["en", "ko"])
@pytest.mark.parametrize("config", TRAINING_CONFIGS)
def test_every_number_a_training_scene_says_is_the_trace_s(config, lang):
    trace = trace_json(config)
    allowed = training_numbers(trace)
    steps = spoken_steps(trace_path_for(CONFIG_DIR / f"{config}.yaml"), lang)
    assert steps[0].name.startswith("title: ") and len(steps) >= 3
    said = [(n, s.narration) for s in steps for n in said_numbers(s.narration, trace["config"].get("title") or "")]
    assert said and [(n, text) for n, text in said if n not in allowed] == []
    if lang == "ko":  # said in Korean: Hangul in every step but the title
        assert all(re.search("[가-힣]", s.narration) for s in steps[1:])


def test_a_gate_s_sentence_says_its_rule_with_the_trace_s_numbers():
    """gates.yaml, worked by hand (cs231n): f = (x y + max(z, w)) x with x=3, y=-4, z=2, w=-1."""
    texts = step_texts(trace_path_for(CONFIG_DIR / "gates.yaml"), "en")
    joined = "\n".join(texts)
    assert "The add gate s distributes: q and m each get the upstream gradient +3, unchanged." in joined
    assert "the larger input, z = 2, gets the whole upstream gradient +3; w gets 0." in joined
    assert "x gets the upstream gradient +3 times y's value −4, that is −12" in joined
    assert "−10 and −12 add up to −22" in joined  # the branch's sum
    assert texts[-1] == "To sum up, the gradients of f: x −22, y +9, z +3, w 0."
    ko = step_texts(trace_path_for(CONFIG_DIR / "gates.yaml"), "ko")
    assert len(ko) == len(texts) and "x: −22, y: +9, z: +3, w: 0" in ko[-1]


def test_sigmoid_and_matmul_and_gradcheck_say_their_rules():
    sig = "\n".join(step_texts(trace_path_for(CONFIG_DIR / "sigmoid_gate.yaml"), "en"))
    # sigma(1) = 0.731, its local gradient 0.731 (1 - 0.731) = 0.197
    assert "the local gradient is y(1−y), with the output y = 0.731: 0.197" in sig
    vec = "\n".join(step_texts(trace_path_for(CONFIG_DIR / "vectors.yaml"), "en"))
    assert "W gets the upstream gradient times xᵀ: a 2×2 matrix" in vec
    # torch's nn.Linear (addmm, bias + x Wᵀ) at torch_mlp's second layer: one row, so the bias gets the upstream
    mlp = "\n".join(step_texts(trace_path_for(CONFIG_DIR / "torch_mlp.yaml"), "en"))
    assert ("At the affine gate q5, fc2.bias was added, so it gets the upstream gradient as it is: [+0.493, −0.493]. "
            "q3 gets the upstream gradient times q4ᵀ: a 1×2 matrix. q4 gets q3ᵀ times the upstream gradient: "
            "a 2×2 matrix.") in mlp
    check = step_texts(trace_path_for(CONFIG_DIR / "gradcheck.yaml"), "en")
    assert check[1].startswith("To check the gradients, we nudge each input by h = 1e−4")
    assert all(text.endswith("a pass.") for text in check[2:])


@pytest.mark.parametrize("config", GRAPH_CONFIGS)
def test_the_story_read_from_the_trace_is_the_scene_s_own_steps(config):
    """step_texts reads a graph scene's steps from its trace without building it: the same steps, in the same
    order, saying the same, as the scene built (spoken_steps)."""
    path = trace_path_for(CONFIG_DIR / f"{config}.yaml")
    assert step_texts(path, "en") == [s.narration for s in spoken_steps(path, "en")]


def test_narrate_prints_steps_and_json_with_the_title_first():
    config = str(CONFIG_DIR / "gates.yaml")
    r = run_cli(["narrate", config, "--json"])
    assert r.exit_code == 0, r.output
    steps = json.loads(r.output)["steps"]
    assert all(set(s) == {"name", "start", "narration"} for s in steps)
    assert steps[0]["name"] == "title: Patterns in backward flow" and steps[0]["start"] == 0
    assert [s["start"] for s in steps] == sorted(s["start"] for s in steps) and steps[-1]["start"] > 5
    assert steps[-1]["name"].startswith("summary") and "−22" in steps[-1]["narration"]
    r = run_cli(["narrate", config, "--lang", "ko"])
    assert r.exit_code == 0 and "title: Patterns in backward flow" in r.output and "정리하면" in r.output


def test_placeholders_are_filled_and_an_unknown_one_is_one_line():
    fields = {"grad.x": "−22", "seeds": "10"}
    assert fill("x gets {grad.x} over {seeds} seeds", fields, "l.yaml: key 'k'") == "x gets −22 over 10 seeds"
    assert fill("{grad.x} and {{braces}}", fields, "w") == "−22 and {braces}"
    # without a placeholder a text is as written, braces and all
    for text in ("a set {x, y}", "{{as written}}", "σ(1−σ) and {} and { x }"):
        assert fill(text, fields, "w") == text
    with pytest.raises(ConfigError) as e:
        fill("x gets {grad.xx}", fields, "l.yaml: key 'clips.0.steps.1.narration.en'")
    assert str(e.value).startswith("l.yaml: key 'clips.0.steps.1.narration.en': unknown placeholder {grad.xx}")
    assert "\n" not in str(e.value) and "{grad.x}" in str(e.value)


def _lecture(tmp_path, clip: str) -> Path:
    (tmp_path / "c.yaml").write_bytes((CONFIG_DIR / "gates.yaml").read_bytes())
    p = tmp_path / "l.yaml"
    p.write_text(f"title: L\nclips:\n  - config: c.yaml\n{clip}")
    return p


def test_lecture_placeholders_come_from_the_trace_and_an_unknown_one_names_file_and_key(tmp_path):
    from pipeline.lecture import load_lecture, plan

    lec = _lecture(tmp_path, "    narration: {en: 'f is {value.f}'}\n"
                             "    steps: [{step: summary, narration: 'x gets {grad.x}, y gets {grad.y}'}]\n")
    spec, configs = load_lecture(lec)
    items = plan(spec, configs, lec, "en", 1.0, "none")
    card, scene = items[1], items[2]
    assert card.narration_by_lang["en"] == "f is −30"
    assert scene.steps[0].narration == "x gets −22, y gets +9" and not scene.auto
    lec = _lecture(tmp_path, "    steps: [{step: summary, narration: {ko: '{grad.q} 그리고 {grad.nope}'}}]\n")
    spec, configs = load_lecture(lec)
    with pytest.raises(ConfigError) as e:
        plan(spec, configs, lec, "en", 1.0, "none")
    assert str(e.value).startswith(f"{lec}: key 'clips.0.steps.0.narration.ko': unknown placeholder {{grad.nope}}")
    r = run_cli(["lecture", str(lec), "-o", str(tmp_path / "o.mp4")])
    assert r.exit_code == 1 and "unknown placeholder {grad.nope}" in r.output and not (tmp_path / "o.mp4").exists()


def test_the_shipped_lecture_s_narration_stays_as_written():
    from pipeline.auto_narration import has_placeholders
    from pipeline.lecture import load_lecture

    spec, _ = load_lecture(CONFIG_DIR.parent / "lectures" / "default.yaml")
    texts = [t for clip in spec.clips for n in [clip.narration, *(st.narration for st in clip.steps)]
             for t in (n.values() if isinstance(n, dict) else [n])]
    assert len(texts) > 30 and not any(has_placeholders(t) for t in texts)
    assert not any(clip.auto_narrated for clip in spec.clips)


def test_a_clip_without_narration_is_narrated_from_its_trace_in_both_languages(tmp_path):
    from pipeline.lecture import load_lecture, plan
    from pipeline.narration import reading_seconds

    lec = _lecture(tmp_path, "")
    spec, configs = load_lecture(lec)
    scene = plan(spec, configs, lec, "ko", 1.0, "none")[-1]
    en = step_texts(trace_path_for(tmp_path / "c.yaml"), "en")
    assert scene.auto and [st.step for st in scene.steps] == list(range(len(en)))
    assert [st.narration["en"] for st in scene.steps] == en
    assert "정리하면" in scene.steps[-1].narration["ko"]
    # each step held while its Korean text is read
    assert scene.timing.holds == tuple((i, reading_seconds(st.narration["ko"], "ko")) for i, st in enumerate(scene.steps))
    silent = _lecture(tmp_path, '    narration: ""\n')
    spec, configs = load_lecture(silent)
    assert plan(spec, configs, silent, "en", 1.0, "none")[-1].steps == []


@pytest.mark.slow
def test_a_lecture_without_narration_renders_subtitles_from_the_trace(tmp_path, monkeypatch):
    """A real render (low quality) of a one-clip lecture with no narration: its subtitles are the generated
    sentences, each at its step."""
    from pipeline import lecture as lecture_mod
    from pipeline.video import read_chapters

    monkeypatch.setattr(lecture_mod, "CLIP_CACHE", tmp_path / "clips")
    (tmp_path / "c.yaml").write_text("scene: graph\ntitle: Tiny\nexpression: f = x * y\ninputs: {x: 3, y: -2}\n")
    lec = tmp_path / "l.yaml"
    lec.write_text("title: L\nchapter_cards: false\nclips:\n  - config: c.yaml\n")
    out = tmp_path / "l.mp4"
    r = run_cli(["lecture", str(lec), "--quality", "low", "-j", "1", "-o", str(out)])
    assert r.exit_code == 0, r.output
    cues = list(srt.parse(out.with_suffix(".srt").read_text()))
    texts = step_texts(trace_path_for(tmp_path / "c.yaml"), "en")
    assert [c.content for c in cues] == texts
    assert "The multiply gate f swaps its inputs: x gets the upstream gradient +1 times y's value −2, that is −2" \
        in cues[-2].content
    # each cue starts at its step (the lecture's title card first)
    scene = [p for p in sorted((tmp_path / "clips").glob("*.mp4")) if len(read_chapters(p)) > 1][0]
    card = cues[0].start.total_seconds()
    starts = [round(start + card, 1) for _, start, _ in read_chapters(scene)]
    assert [round(c.start.total_seconds(), 1) for c in cues] == starts


def test_a_clip_without_narration_gets_a_draft_voice_for_every_step_held_as_long_as_it_speaks(tmp_path):
    import shutil

    from pipeline.lecture import load_lecture, plan
    from pipeline.voice import GAP_SECONDS, seconds

    shutil.which("espeak-ng") or pytest.skip("espeak-ng is installed by scripts/setup.sh")
    lec = _lecture(tmp_path, "")
    spec, configs = load_lecture(lec)
    scene = plan(spec, configs, lec, "en", 1.0, "draft")[-1]
    assert scene.auto and sorted(scene.voice) == list(range(len(scene.steps)))  # every step spoken
    for (key, hold), (index, samples) in zip(scene.timing.holds, sorted(scene.voice.items())):
        assert key == index and hold >= seconds(samples) + GAP_SECONDS - 1e-9 and seconds(samples) > 1.0


def test_a_config_title_that_cannot_be_a_subtitle_is_one_line_not_a_traceback(tmp_path):
    (tmp_path / "c.yaml").write_text("scene: graph\ntitle: 'x --> y'\nexpression: f = x * 2\ninputs: {x: 3}\n")
    lec = tmp_path / "l.yaml"
    lec.write_text("title: L\nclips:\n  - config: c.yaml\n")
    r = run_cli(["lecture", str(lec), "-o", str(tmp_path / "o.mp4")])
    assert r.exit_code == 1 and "Traceback" not in r.output
    assert "c.yaml: the narration written for its step 0 must not contain '-->'" in r.output
    assert not (tmp_path / "o.mp4").exists()


def test_every_shipped_config_is_narrated_in_both_languages():
    # the lists above are every shipped config: a new one is narrated (and its numbers checked) too
    assert sorted(GRAPH_CONFIGS + TRAINING_CONFIGS) == sorted(p.stem for p in CONFIG_DIR.glob("*.yaml"))


# What each sentence a lecturer says means, written by hand: a word of the English template and the Korean
# words that say the same (a string: the whole Korean text), as for the captions (test_graph_mobject.SAYS).
SAY_MEANS = {
    "title": ("work through", ("살펴볼",)), "forward_input": ("input {name}", ("입력 {name}",)),
    "forward_const": ("constant {value}", "상수의 값은 {value}입니다."),
    "forward_named_const": ("constant {name}", ("상수 {name}",)),
    "matrix": ("matrix", "{shape} 행렬"), "vector": ("vector", "{size}차원 벡터"),
    "sigmoid_each": ("each entry", ("시그모이드", "각 원소", "원소별로")), "relu": ("positive", ("ReLU", "양수")),
    "forward_gate": ("computes {value}", ("{gate} 노드 {name}", "{inputs}의 결과는 {value}")),
    "seed": ("starts at the output {out}", ("역전파는 출력 {out}에서 시작",)),
    "local": ("times the local gradient {local}", ("곱하기 국소 기울기 {local}",)),
    "passes": ("the upstream gradient {up} gives", ("상류 기울기 {up}에서 온",)),
    "add": ("distributes", ("덧셈", "분배")), "mul": ("swaps", ("곱셈", "바꿔")),
    "mul_one": ("times {other}'s value", ("곱하기 {other}의 값",)), "clauses": ("; ", ". "),
    "max": ("the larger input", ("max", "큰 입력")), "sigmoid": ("output y = {y}", ("시그모이드", "출력 y = {y}")),
    "matmul_w": ("xᵀ", ("행렬 곱", "xᵀ")), "matmul_x": ("Wᵀ", ("Wᵀ",)),
    "addmm_sum": ("summed over the rows", ("{gate} 노드 {name}", "모든 행에", "행끼리 더한")),
    "addmm_one": ("as it is", ("{gate} 노드 {name}", "그대로", "같은")),
    "addmm_left": ("upstream gradient times {other}ᵀ", ("상류 기울기와 {other}ᵀ의 곱",)),
    "addmm_right": ("{other}ᵀ times the upstream", ("{other}ᵀ와 상류 기울기의 곱",)),
    "loss": ("over the batch", ("Softmax-with-Loss", "배치 크기")),
    "branch_one": ("the sum of what each use", ("{uses}번", "합은")), "summary": ("To sum up", ("정리하면",)),
    "grad_of": ("{name} {grad}", "{name}: {grad}"), "alternative": ("single sigmoid gate", ("시그모이드 노드 하나",)),
    "routes": ("Both routes", ("두 방법", "같은 기울기")), "gradcheck": ("central difference", ("중심 차분", "h = {h}")),
    "check": ("relative error of {error}", ("역전파는 {analytic}", "중심 차분은 {numeric}")),
    "check_matrix": ("largest relative error", ("가장 큰 상대 오차",)),
    "check_none": ("could not be checked", ("확인할 수 없습니다",)),
    "pass": ("a pass", "통과입니다."), "fail": ("a failure", "실패입니다."),
}
JOINERS = {"and", "list"}  # punctuation between names: Korean joins both lists with a comma
LEAD_MEANS = {
    "slopes": ("activation's slope", ("활성화 함수의 기울기",)), "norms": ("how large", ("기울기 크기",)),
    "vanish": ("fades", ("사라집니다",)), "dead": ("dead from the start", ("처음부터 죽어",)),
    "norms_training": ("training run", ("학습을 진행",)), "curves": ("outcome", "결과를 봅시다."),
    "outcome_seeds": ("outcome", "결과를 봅시다."), "seed_summary": ("many seeds", ("여러 시드",)),
    "zigzag_sigmoid": ("path of the two weights", ("두 가중치", "경로")), "zigzag_tanh": ("tanh", "이번에는 tanh입니다."),
    "hist_intro": ("sign of every weight's gradient", ("가중치 기울기의 부호",)),
}
GATE_MEANS = {op: (op_en, ko) for op, op_en, ko in [
    ("add", "add", "덧셈"), ("sub", "subtract", "뺄셈"), ("mul", "multiply", "곱셈"), ("div", "divide", "나눗셈"),
    ("neg", "negate", "부호 반전"), ("pow", "power", "거듭제곱"), ("exp", "exponential", "지수"), ("log", "log", "로그"),
    ("sqrt", "square-root", "제곱근"), ("abs", "absolute-value", "절댓값"), ("reciprocal", "one-over-x", "역수"),
    ("sigmoid", "sigmoid", "시그모이드"), ("matmul", "matrix-product", "행렬 곱"), ("addmm", "affine", "Affine"), ("transpose", "transpose", "전치"),
    ("sum", "sum", "합"), ("mean", "mean", "평균"), ("mse", "mean-squared-error", "평균 제곱 오차"),
    ("index", "index", "인덱스"), ("max", "max", "max"), ("min", "min", "min"), ("amax", "max", "max"),
    ("amin", "min", "min"), ("tanh", "tanh", "tanh"), ("relu", "ReLU", "ReLU"), ("leaky_relu", "leaky ReLU", "leaky ReLU"),
    ("softmax", "softmax", "softmax"), ("log_softmax", "log-softmax", "log-softmax"),
    ("softmax_cross_entropy", "softmax-with-loss", "Softmax-with-Loss"), (TORCH_OP, "PyTorch", "PyTorch")]}


@pytest.mark.parametrize("table,texts", [(SAY_MEANS, "SAY"), (LEAD_MEANS, "LEADS"), (GATE_MEANS, "GATE_NAMES")])
def test_each_korean_sentence_says_what_its_english_one_says(table, texts):
    """The Korean narration's templates, lead-ins and gate names against hand-written words: a Korean text
    swapped with another (the add and multiply gates', the seed's and the summary's) fails."""
    from helpers import translation_problems
    from pipeline import narration_text

    english, korean = ({k: v for k, v in getattr(narration_text, texts)[lang].items() if k not in JOINERS}
                       for lang in ("en", "ko"))
    assert translation_problems(table, english, korean) == []
