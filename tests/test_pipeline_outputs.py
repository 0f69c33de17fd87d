"""What the pipeline writes, opened and read, without rendering: the gallery's page and posters, the
handout's HTML and PDF, the slides' notes, and the narration behind them all.

Each is made in process from chain_rule (cs231n's f = (x + y) z, x = -2, y = 5, z = -4) or a tiny trace.
The expected texts and numbers are written here by hand from that worked example, or read from the trace
JSON itself, never from the modules under test. A clip is a few 64x48 frames made with PyAV whose grey
level is 5 x its frame's index, so a poster says which frame it is. HTML is read with BeautifulSoup (Python's
html.parser), a PDF's text with poppler's pdftotext (scripts/setup.sh installs it; the lock has no PDF reader).
"""
import base64
import json
import os
import re
import shutil
import subprocess
from fractions import Fraction
from pathlib import Path
from urllib.parse import unquote

import av
import numpy as np
import pytest
from bs4 import BeautifulSoup

from engine.source import trace_path_for
from render import CONFIG_DIR
from helpers import trace_of
from test_slides import CHAIN_STEPS

# What is said over each of chain_rule's steps, worked by hand: q = 3, f = -12; df/dq = z = -4,
# df/dz = q = 3, and the add gate hands -4 to x and y alike.
CHAIN_SAID = [
    "Let's work through this one: Chain rule: f = (x + y) z.",
    "The input x is −2.",
    "The input y is 5.",
    "The add gate q takes x and y and computes 3.",
    "The input z is −4.",
    "The multiply gate f takes q and z and computes −12.",
    "The backward pass starts at the output f: its gradient with respect to itself is 1.",
    "The multiply gate f swaps its inputs: q gets the upstream gradient +1 times z's value −4, that is −4; "
    "z gets the upstream gradient +1 times q's value 3, that is +3.",
    "The add gate q distributes: x and y each get the upstream gradient −4, unchanged.",
    "To sum up, the gradients of f: x −4, y −4, z +3.",
]
CHAIN_SAID_KO = [
    "이번에 살펴볼 내용: Chain rule: f = (x + y) z.",
    "입력 x의 값은 −2입니다.",
    "입력 y의 값은 5입니다.",
    "덧셈 노드 q에서 x, y의 결과는 3입니다.",
    "입력 z의 값은 −4입니다.",
    "곱셈 노드 f에서 q, z의 결과는 −12입니다.",
    "역전파는 출력 f에서 시작합니다. 자기 자신에 대한 기울기는 1입니다.",
    "곱셈 노드 f에서는 입력을 바꿔 곱합니다. "
    "q의 기울기는 상류 기울기 +1 곱하기 z의 값 −4, 곧 −4입니다. "
    "z의 기울기는 상류 기울기 +1 곱하기 q의 값 3, 곧 +3입니다.",
    "덧셈 노드 q에서는 기울기가 분배됩니다. x, y의 기울기는 모두 상류 기울기와 같은 −4입니다.",
    "정리하면, f의 기울기는 x: −4, y: −4, z: +3입니다.",
]
MULTIPLY = 7  # chain_rule's step "backward: × gate f ..."
NUMBER = re.compile(r"(?<![\w.])[+\-−]?\d+(?:\.\d+)?(?:e[+\-−]?\d+)?")


def spoken(v: float, gradient: bool = False) -> str:
    """A number as the screen writes it, for this file's small numbers: a minus sign, a gradient's plus."""
    text = f"{v:.1e}" if v and abs(v) < 1e-3 else f"{v:.3g}"
    if "e" in text:
        mantissa, exp = text.split("e")
        text = f"{mantissa.rstrip('0').rstrip('.')}e{int(exp)}"
    text = text.replace("-", "−")
    return "+" + text if gradient and v > 0 else text


def numbers(text: str) -> list[str]:
    """The numbers a sentence says, in order (a name's digit, as in q1, is no number)."""
    return NUMBER.findall(text)


def grey_clip(path: Path, seconds: float, chapters=(), poster: float | None = None, first: int = 0) -> Path:
    """A 64x48 clip at 5 fps, frame i grey ``first`` + 5 i (losslessly coded), with ``chapters`` (name, start,
    end) and a poster moment written as a render tags its clip (pipeline/video.py: "backprop-anim poster=")."""
    fps = 5
    codec, options = ("libx264", {"qp": "0"}) if path.suffix == ".mp4" else ("libvpx-vp9", {"lossless": "1"})
    with av.open(str(path), "w") as out:
        if poster is not None:
            out.metadata["comment"] = f"backprop-anim poster={poster:.3f}"
        stream = out.add_stream(codec, rate=fps, options=options)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        for i in range(round(seconds * fps)):
            frame = av.VideoFrame.from_ndarray(np.full((48, 64, 3), first + 5 * i, np.uint8), format="rgb24")
            frame.pts, frame.time_base = i, Fraction(1, fps)
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))
        out.set_chapters([{"id": k + 1, "start": round(a * 1000), "end": round(b * 1000),
                           "time_base": Fraction(1, 1000), "metadata": {"title": name}}
                          for k, (name, a, b) in enumerate(chapters)])
    return path


def grey_of(image_or_video: Path) -> float:
    """The mean grey of a PNG, or of a video's first frame."""
    if image_or_video.suffix == ".png":
        from PIL import Image

        return float(np.asarray(Image.open(image_or_video).convert("L")).mean())
    with av.open(str(image_or_video)) as f:
        return float(next(f.decode(video=0)).to_ndarray(format="gray").mean())


# --- the gallery ------------------------------------------------------------------------------------

# chain_rule's steps as a clip's chapters, at starts chosen here; 10 s long
STARTS = [0.0, 1.4, 2.2, 2.7, 3.2, 3.7, 4.2, 5.0, 6.5, 8.0]
LESSON = list(zip(CHAIN_STEPS, STARTS, STARTS[1:] + [10.0]))
ODD = 'odd "name" <b> #2.webm'  # a quote would end an attribute, a # a URL
TITLE = '<i>Clips</i> & "notes"'  # markup, were it not escaped


@pytest.fixture
def gallery(tmp_path):
    """A clip named after a config in --configs (chain_rule's, copied), its poster marked at the start of the
    add gate's step; and a WebM of no config, with an odd name and no marked poster."""
    out, configs = tmp_path / "out", tmp_path / "configs"
    out.mkdir()
    configs.mkdir()
    shutil.copy(CONFIG_DIR / "chain_rule.yaml", configs / "lesson.yaml")
    grey_clip(out / "lesson.mp4", 10, LESSON, poster=6.5)
    grey_clip(out / ODD, 4, [("intro", 0, 1), ("middle", 1, 2), ("a & b <end>", 2, 4)])
    return out, configs


def figures_of(page: str) -> dict:
    """Each figure of the gallery as a reader meets it."""
    soup = BeautifulSoup(page, "html.parser")
    found = {}
    for fig in soup.find_all("figure"):
        video = fig.find("video")
        items = fig.select("ol.narration li")
        found[fig["data-clip"]] = dict(
            duration=fig["data-duration"], video=video.attrs, source=video.find("source").attrs,
            caption=fig.figcaption.get_text(), starts=[li["data-start"] for li in items],
            at=[li.find("span", class_="at").get_text() for li in items],
            said=[li.get_text()[len(li.find("span", class_="at").get_text()):] for li in items],
            embed=BeautifulSoup(fig.pre.get_text(), "html.parser"))  # the snippet is shown as text: HTML again
    return found


def test_the_gallery_lists_every_clip_with_its_poster_narration_and_the_step_its_poster_shows(gallery):
    from pipeline.gallery import build_gallery

    out, configs = gallery
    index = build_gallery(out, title=TITLE, configs=(configs,))
    soup = BeautifulSoup(index.read_text(encoding="utf-8"), "html.parser")
    assert soup.html["lang"] == "en" and soup.title.get_text() == soup.h1.get_text() == TITLE
    shown = figures_of(str(soup))
    assert list(shown) == ["lesson.mp4", ODD]  # every clip, sorted by name

    lesson = shown["lesson.mp4"]
    # the poster is marked at the add gate's start: it shows the multiply gate's step, ended
    assert lesson["video"]["aria-label"] == "lesson.mp4: " + CHAIN_SAID[MULTIPLY]
    assert (lesson["video"]["width"], lesson["video"]["height"]) == ("64", "48")
    assert lesson["source"] == {"src": "lesson.mp4", "type": "video/mp4"}
    assert lesson["said"] == CHAIN_SAID  # each step's narration, from lesson.yaml in --configs
    assert lesson["starts"] == [f"{s:.3f}" for s in STARTS]
    assert lesson["at"] == ["0:00.0", "0:01.4", "0:02.2", "0:02.7", "0:03.2", "0:03.7", "0:04.2", "0:05.0",
                            "0:06.5", "0:08.0"]
    assert lesson["duration"] == "10.000" and lesson["caption"] == "lesson.mp4 (10.0 s, 64×48)"
    # the poster frame is the one at 6.5 s: frame 32 of 50, grey 160
    assert abs(grey_of(out / unquote(lesson["video"]["poster"])) - 160) < 1.5

    odd = shown[ODD]
    assert unquote(odd["source"]["src"]) == ODD and "#" not in odd["source"]["src"]
    assert odd["source"]["type"] == "video/webm"
    # no config of its name: no narration; its poster, at 3/4 of its 4 s, shows the step from 2 s on, by name
    assert odd["video"]["aria-label"] == f"{ODD}: a & b <end>" and odd["said"] == []
    assert abs(grey_of(out / unquote(odd["video"]["poster"])) - 5 * 15) < 1.5  # frame 15 of 20
    assert odd["caption"].startswith(ODD + " (")

    for clip in shown.values():  # the embed snippet is the same video, its poster and text alternative
        video = clip["embed"].find("video")
        assert {k: video[k] for k in ("poster", "width", "height", "aria-label")} == \
            {k: clip["video"][k] for k in ("poster", "width", "height", "aria-label")}
        assert video.find("source").attrs == clip["source"]
    assert sorted(p.name for p in (out / "posters").iterdir()) == \
        sorted(unquote(c["video"]["poster"]).removeprefix("posters/") for c in shown.values())


def test_a_korean_gallery_says_each_step_in_korean_and_names_a_clip_of_no_config_by_its_step(gallery):
    from pipeline.gallery import build_gallery

    out, configs = gallery
    (out / ODD).unlink()
    index = build_gallery(out, configs=(configs,), lang="ko")
    soup = BeautifulSoup(index.read_text(encoding="utf-8"), "html.parser")
    assert soup.html["lang"] == "ko"
    lesson = figures_of(str(soup))["lesson.mp4"]
    assert lesson["said"] == CHAIN_SAID_KO
    assert lesson["video"]["aria-label"] == "lesson.mp4: " + CHAIN_SAID_KO[MULTIPLY]
    # without --configs the clip's name is no config's: its poster is named by its step
    soup = BeautifulSoup(build_gallery(out, lang="ko").read_text(encoding="utf-8"), "html.parser")
    assert figures_of(str(soup))["lesson.mp4"]["video"]["aria-label"] == "lesson.mp4: " + CHAIN_STEPS[MULTIPLY]


def test_a_gallery_in_korean_says_a_training_clip_s_steps_in_korean_though_the_clip_names_them_in_english(tmp_path):
    # a training scene's steps are its captions, so their names differ by language: a clip rendered in English
    # is recognised by its English names, and a Korean gallery says its steps in Korean all the same
    from pipeline.auto_narration import spoken_steps
    from pipeline.gallery import build_gallery

    out = tmp_path / "out"
    out.mkdir()
    trace = trace_path_for(CONFIG_DIR / "zigzag.yaml")
    english, korean = spoken_steps(trace, "en"), spoken_steps(trace, "ko")
    assert [s.name for s in english] != [s.name for s in korean]
    grey_clip(out / "zigzag.mp4", 2 * len(english), [(s.name, 2 * i, 2 * i + 2) for i, s in enumerate(english)])
    said = figures_of(build_gallery(out, lang="ko").read_text(encoding="utf-8"))["zigzag.mp4"]["said"]
    assert said == [s.narration for s in korean] and all(re.search("[가-힣]", text) for text in said)


# --- the handout --------------------------------------------------------------------------------------

def _hex_colours(svg: str) -> set[str]:
    """The colours an SVG of cairo's fills and strokes with, as #RRGGBB."""
    return {"#" + "".join(f"{round(float(p.rstrip('%')) * 2.55):02X}" for p in triple.split(","))
            for triple in re.findall(r"rgb\(([^)]*)\)", svg)}


def test_the_html_handout_has_every_step_s_figure_with_its_name_and_narration_in_order(tmp_path):
    from pipeline.handout import Chapter, html_page, make_handout
    from scenes.style import THEMES

    out = tmp_path / "chain.html"
    assert make_handout(CONFIG_DIR / "chain_rule.yaml", out, to="html", lang="en") == 10
    soup = BeautifulSoup(out.read_text(encoding="utf-8"), "html.parser")
    assert soup.html["lang"] == "en"
    assert soup.title.get_text() == soup.h1.get_text() == "Chain rule: f = (x + y) z"  # the config's title
    assert [h.get_text() for h in soup.find_all("h2")] == ["Chain rule: f = (x + y) z"]
    figures = soup.find_all("figure")
    assert [f["data-step"] for f in figures] == CHAIN_STEPS
    assert [f.figcaption.get_text() for f in figures] == [f.img["alt"] for f in figures] == CHAIN_SAID
    svgs = []
    for f in figures:
        kind, data = f.img["src"].split(",", 1)
        assert kind == "data:image/svg+xml;base64"
        svgs.append(base64.b64decode(data).decode())
        assert f'viewBox="0 0 {f.img["width"]} {f.img["height"]}"' in svgs[-1] and "<image" not in svgs[-1]
    # each figure is its step's last frame: the title's already drawn, one more path each step forward
    paths = [svg.count("<path") for svg in svgs]
    assert paths[0] > 10 and paths[:6] == sorted(set(paths[:6]))
    # the add gate's step shows values in the forward colour, gradients in the gradient colour (not BGR)
    light = THEMES["light"]
    colours = _hex_colours(svgs[8])
    assert {light["FORWARD"], light["GRADIENT"], light["BACKGROUND"]} <= colours
    assert not {"#" + c[5:7] + c[3:5] + c[1:3] for c in (light["FORWARD"], light["GRADIENT"])} & colours
    # a lecture's chapter says its card's text under its heading, in the page's language
    page = html_page("L", [Chapter("<i>C</i> & 1", "값이 <b>흐릅니다</b>.", [])], "ko", "light")
    soup = BeautifulSoup(page, "html.parser")
    assert soup.html["lang"] == "ko" and [(e.name, e.get_text()) for e in soup.body.find_all(True)] == [
        ("h1", "L"), ("h2", "<i>C</i> & 1"), ("p", "값이 <b>흐릅니다</b>.")]


def _pdftotext(pdf: Path) -> list[str]:
    """The PDF's text, page by page, as poppler reads it (whitespace flattened)."""
    text = subprocess.run(["pdftotext", "-enc", "UTF-8", str(pdf), "-"], check=True, capture_output=True,
                          text=True).stdout
    return [" ".join(page.split()) for page in text.split("\f")[:-1]]


def chain_lecture(folder: Path, text: str) -> Path:
    """A lecture file ``text`` in ``folder``, beside chain_rule.yaml copied as chain.yaml for its clips."""
    shutil.copy(CONFIG_DIR / "chain_rule.yaml", folder / "chain.yaml")
    lecture = folder / "l.yaml"
    lecture.write_text(text, encoding="utf-8")
    return lecture


@pytest.mark.skipif(not shutil.which("pdftotext"), reason="poppler-utils is installed by scripts/setup.sh")
def test_the_pdf_handout_of_a_lecture_says_every_step_in_korean_in_order_a_chapter_a_page(tmp_path):
    from pipeline.handout import make_handout

    lecture = chain_lecture(
        tmp_path,
        "title: Two chapters\nclips:\n  - config: chain.yaml\n    title: The chain rule\n"
        "    narration: {en: Values flow forward., ko: 값이 앞으로 흐릅니다.}\n"
        "    steps: [{step: 'backward: × gate',\n"
        "             narration: {en: 'z gets {grad.z}.', ko: 'z의 기울기는 {grad.z}입니다.'}}]\n"
        "  - config: chain.yaml\n    title: Said from the trace\n    narration: auto\n")
    out = tmp_path / "h.pdf"
    assert make_handout(lecture, out, to="pdf", lang="ko") == 20
    assert out.read_bytes().startswith(b"%PDF")
    pages = _pdftotext(out)
    # the authored step replaces the trace's sentence, its placeholder filled (df/dz = q = 3)
    first = ["The chain rule", "값이 앞으로 흐릅니다.", *CHAIN_SAID_KO[:MULTIPLY], "z의 기울기는 +3입니다.",
             *CHAIN_SAID_KO[MULTIPLY + 1:]]
    second = ["Said from the trace", *CHAIN_SAID_KO]
    # two figures a page, each chapter from a page of its own
    assert len(pages) == 10 and pages[0].startswith("The chain rule") and pages[5].startswith("Said from the trace")
    for chapter, said in ((" ".join(pages[:5]), first), (" ".join(pages[5:]), second)):
        at = 0
        for sentence in said:  # each there, in order
            found = chapter.find(sentence, at)
            assert found >= 0, (sentence, chapter[at:at + 200])
            at = found + len(sentence)
    assert CHAIN_SAID_KO[MULTIPLY] not in " ".join(pages[:5]) and "Values flow" not in " ".join(pages)


# --- the slides ---------------------------------------------------------------------------------------

@pytest.fixture
def step_videos(monkeypatch):
    """The clip renderer replaced: each "render" writes chain_rule's steps as one-frame videos, the k-th
    step video of the run grey 5 k, so that each slide's video can be told apart."""
    from pipeline import slides
    from pipeline.render_job import Rendered, Section

    made = []

    def render_scene(trace, out, options):
        options.sections_dir.mkdir(parents=True)
        for k, name in enumerate(CHAIN_STEPS):
            video = grey_clip(options.sections_dir / f"{k:03d}.mp4", 0.2, first=5 * len(made))  # one frame
            made.append(Section(name, video, 0.2))
        return Rendered(out, 2.0, len(CHAIN_STEPS), tuple(made[-len(CHAIN_STEPS):]))

    monkeypatch.setattr(slides, "render_scene", render_scene)


def test_the_html_deck_s_notes_and_labels_are_each_step_s_text_escaped_and_the_present_folder_its_videos(
        tmp_path, step_videos):
    from manim_slides.config import PresentationConfig

    from pipeline.slides import make_slides

    shutil.copy(CONFIG_DIR / "chain_rule.yaml", tmp_path / "chain.yaml")
    chapter, card = '<b>Chain</b> & "rule"', "Values <flow> forward & back."
    lecture = tmp_path / "l.yaml"
    lecture.write_text(f"title: Deck\nclips:\n  - config: chain.yaml\n    title: '{chapter}'\n"
                       f"    narration: '{card}'\n"
                       "    steps: [{step: 'forward: y', narration: 'Then y = {value.y}.'}]\n"
                       "  - config: chain.yaml\n    narration: auto\n", encoding="utf-8")
    deck = tmp_path / "deck.html"
    assert make_slides(lecture, deck, to="html", quality="low", lang="ko") == 20
    soup = BeautifulSoup(deck.read_text(encoding="utf-8"), "html.parser")
    slides = soup.select("div.slides > section")
    assert len(slides) == 20
    notes = [s.find("aside", class_="notes") for s in slides]
    # the notes are paragraphs of text: a title or narration with markup in it stays text
    assert all(child.name == "p" for n in notes for child in n.find_all(True))
    paragraphs = [[p.get_text() for p in n.find_all("p")] for n in notes]
    assert paragraphs[0] == [f"Chapter: {chapter}", CHAIN_STEPS[0], card]
    assert paragraphs[2] == [CHAIN_STEPS[2], "Then y = 5."]
    assert paragraphs[1] == [CHAIN_STEPS[1]] and paragraphs[3:10] == [[s] for s in CHAIN_STEPS[3:]]
    # the second clip says what the trace says, in the deck's language (Korean)
    assert paragraphs[10:] == [[step, said] for step, said in zip(CHAIN_STEPS, CHAIN_SAID_KO)]
    # a slide's text alternative: what is said over its step, else the step's name
    labels = [s["aria-label"] for s in slides]
    assert labels == [*CHAIN_STEPS[:2], "Then y = 5.", *CHAIN_STEPS[3:], *CHAIN_SAID_KO]
    # the folder `manim-slides present` plays: every step's own video, in order
    present = PresentationConfig.from_file(tmp_path / "deck_slides" / "Backprop.json")
    files = [s.file for s in present.slides]
    assert files == [tmp_path / "deck_slides" / f"{k:03d}.mp4" for k in range(20)]
    assert [round(grey_of(f) / 5) for f in files] == list(range(20))
    assert (tmp_path / "deck_slides" / ".backprop-slides").is_file()


@pytest.mark.parametrize("to", ["html", "pptx"])
def test_a_deck_s_clips_are_rendered_in_its_quality_theme_and_language(tmp_path, step_videos, monkeypatch, to):
    from pipeline import slides

    asked, fake = [], slides.render_scene
    monkeypatch.setattr(slides, "render_scene", lambda trace, out, options: asked.append(options) or fake(trace, out,
                                                                                                        options))
    shutil.copy(CONFIG_DIR / "chain_rule.yaml", tmp_path / "chain.yaml")
    assert slides.make_slides(tmp_path / "chain.yaml", tmp_path / f"d.{to}", to=to, quality="low", theme="light",
                              lang="ko") == 10
    assert [(o.quality, o.theme, o.lang) for o in asked] == [("low", "light", "ko")]


def test_a_deck_written_again_replaces_its_own_folder_and_a_failed_replace_leaves_the_old_one(
        tmp_path, step_videos, monkeypatch):
    # a lecture's deck (20 slides), then one config's deck (10) to the same output: its folder holds only its own
    # videos; a third deck whose folder cannot be moved into place leaves the second's folder as it was, and no
    # temporary folder beside it
    from manim_slides.config import PresentationConfig

    from pipeline import slides

    def folder_now():
        videos = [grey_of(s.file) for s in PresentationConfig.from_file(folder / "Backprop.json").slides]
        return sorted(p.name for p in folder.iterdir()), videos

    shutil.copy(CONFIG_DIR / "chain_rule.yaml", tmp_path / "chain.yaml")
    lecture = tmp_path / "l.yaml"
    lecture.write_text("title: Deck\nclips:\n  - config: chain.yaml\n  - config: chain.yaml\n", encoding="utf-8")
    deck, folder = tmp_path / "deck.html", tmp_path / "deck_slides"
    assert slides.make_slides(lecture, deck, to="html", quality="low") == 20
    assert slides.make_slides(tmp_path / "chain.yaml", deck, to="html", quality="low") == 10
    second = folder_now()
    assert second[0] == sorted([".backprop-slides", "Backprop.json", *(f"{k:03d}.mp4" for k in range(10))])
    real_replace = os.replace

    def replace(a, b):
        fresh = Path(a).name.startswith(".deck_slides.") and ".old." not in Path(a).name
        if fresh and Path(b) == folder:  # the new folder's move into place
            raise OSError(28, "No space left on device")
        return real_replace(a, b)
    monkeypatch.setattr(slides.os, "replace", replace)
    with pytest.raises(OSError):
        slides.make_slides(lecture, deck, to="html", quality="low")
    assert folder_now() == second
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".deck_slides")] == []


# --- the narration ----------------------------------------------------------------------------------

def _node(trace: dict, label: str) -> dict:
    return next(n for n in trace["nodes"] if n["label"] == label)


def test_a_multiply_gate_s_narration_names_the_other_input_s_value_and_korean_says_the_same_numbers():
    from pipeline.narration_text import graph_story, narrate

    trace = trace_of("p = x * y\nf = p * w", {"x": 2, "y": -3, "w": 5})
    x, y, w, p, f = (_node(trace, k) for k in "xywpf")
    up = next(s["upstream"] for s in trace["backward"] if s["node"] == p["id"])
    en = narrate(trace, [("", a) for a in graph_story(trace, "en")], "en")
    gate = next(text for text in en if text.startswith("The multiply gate p swaps"))
    # x's gradient is the upstream times y's value, and y's the upstream times x's (-15 and +10)
    assert (x["grad"], y["grad"]) == (up * y["value"], up * x["value"]) == (-15, 10)
    assert gate == (f"The multiply gate p swaps its inputs: x gets the upstream gradient {spoken(up, True)} times "
                    f"y's value {spoken(y['value'])}, that is {spoken(x['grad'], True)}; y gets the upstream "
                    f"gradient {spoken(up, True)} times x's value {spoken(x['value'])}, that is "
                    f"{spoken(y['grad'], True)}.")
    assert en[-1] == (f"To sum up, the gradients of f: x {spoken(x['grad'], True)}, y {spoken(y['grad'], True)}, "
                      f"w {spoken(w['grad'], True)}.")
    # the forward pass says each value in the trace's order, one number a step
    by_id = {n["id"]: n for n in trace["nodes"]}
    assert [numbers(text) for text in en[1:6]] == [[spoken(by_id[i]["value"])] for i in trace["forward"]]
    assert numbers(en[6]) == [spoken(f["grad"])]
    ko = narrate(trace, [("", a) for a in graph_story(trace, "ko")], "ko")
    assert len(ko) == len(en)
    for e, k in zip(en, ko):
        assert k != e and re.search("[가-힣]", k) and numbers(k) == numbers(e), (e, k)


def test_a_vector_is_said_by_its_entries_a_longer_one_and_a_matrix_by_their_shape():
    from pipeline.narration_text import graph_story, narrate

    trace = trace_of("q = W @ x\nf = sum(q * v)", {"W": [[1, 2, 3], [4, 5, 6]], "x": [1, -1, 2], "v": [0.5, -2]})
    said = narrate(trace, [("", a) for a in graph_story(trace, "en")], "en")
    W, x = _node(trace, "W"), _node(trace, "x")
    assert (len(W["value"]), len(W["value"][0])) == (2, 3)
    assert "The input W is a 2×3 matrix." in said
    assert f"The input x is [{', '.join(spoken(v) for v in x['value'])}]." in said
    assert said[-1].startswith("To sum up, the gradients of f: W a 2×3 matrix, x [" +
                               ", ".join(spoken(g, True) for g in x["grad"]) + "]")
    long = trace_of("f = sum(x * w)", {"x": [1, 2, 3, 4, 5, 6], "w": [1, 1, 1, 1, 1, -1]})
    said = narrate(long, [("", a) for a in graph_story(long, "en")], "en")
    assert "The input x is a 6-vector." in said and "The sum gate f takes q1 and computes 9." in said
    ko = narrate(long, [("", a) for a in graph_story(long, "ko")], "ko")
    assert "입력 x의 값은 6차원 벡터입니다." in ko


def test_a_gradient_check_says_each_input_s_analytic_and_numeric_gradient_error_and_verdict():
    from pipeline.narration_text import graph_story, narrate

    trace = trace_of("f = x * y + relu(z)", {"x": 2, "y": -3, "z": 0}, scene="gradcheck")
    x, y = _node(trace, "x"), _node(trace, "y")
    assert x["grad"] == -3 and y["grad"] == 2  # by hand: df/dx = y, df/dy = x
    # x's check made to fail, as a wrong backward rule would: the central difference says -2.5, not -3
    x.update(numeric_grad=-2.5, relative_error=0.2, excess_error=0.2)
    en = narrate(trace, [("", a) for a in graph_story(trace, "en")], "en")
    h = spoken(trace["config"]["h"])
    assert en[1].startswith(f"To check the gradients, we nudge each input by h = {h} both ways")
    assert en[2:] == [
        f"For x, backpropagation gives {spoken(x['grad'], True)} and the central difference −2.5: "
        "a relative error of 0.2, a failure.",
        f"For y, backpropagation gives {spoken(y['grad'], True)} and the central difference "
        f"{spoken(y['numeric_grad'], True)}: a relative error of {spoken(y['relative_error'])}, a pass.",
        "z could not be checked numerically here."]  # relu's kink at 0
    ko = narrate(trace, [("", a) for a in graph_story(trace, "ko")], "ko")
    assert ko[2] == "x: 역전파는 −3, 중심 차분은 −2.5, 상대 오차는 0.2입니다. 실패입니다."
    assert ko[3].endswith("통과입니다.") and ko[4] == "z의 기울기는 여기서 수치적으로 확인할 수 없습니다."


def test_the_placeholders_an_authored_narration_may_use_are_the_trace_s_numbers_as_on_screen():
    from pipeline.narration_text import trace_fields

    trace = json.loads(trace_path_for(CONFIG_DIR / "chain_rule.yaml").read_text())
    fields = trace_fields(trace)
    for n in trace["nodes"]:
        assert fields[f"value.{n['label']}"] == spoken(n["value"])
        assert fields[f"grad.{n['label']}"] == spoken(n["grad"], gradient=True)
        assert (f"error.{n['label']}" in fields) == (n["op"] == "input")
        if n["op"] == "input":
            assert fields[f"error.{n['label']}"] == spoken(n["relative_error"])
    assert (fields["grad.x"], fields["grad.z"], fields["value.q"]) == ("−4", "+3", "3")  # worked by hand
    assert fields["output"] == "f" and fields["h"] == "1e−4" == spoken(trace["config"]["h"])


def test_a_training_caption_is_said_with_its_lead_in_and_the_path_s_count_from_the_trace():
    from pipeline.narration_text import caption_key, narrate

    assert caption_key("largest local gradient: sigmoid 0.25, tanh 1", "en") == "slopes"
    assert caption_key("after 500 steps", "en") == "curves"
    assert caption_key("step 0: sigmoid's first layer gets a gradient 3 orders of magnitude below its last",
                       "en") == "vanish"
    assert caption_key("가장 큰 국소 기울기: 시그모이드 0.25", "ko") == "slopes"
    assert caption_key("largest local gradient: sigmoid 0.25", "ko") is None  # English is not a Korean caption
    assert caption_key("a caption of no template", "en") is None
    trace = {"kind": "training", "config": {}, "runs": [
        {"activation": "tanh", "same_sign_steps": 2, "grads": [0] * 9},
        {"activation": "sigmoid", "same_sign_steps": 7, "grads": [0] * 9}]}
    zigzag = "sigmoid inputs are all positive: each step moves w1 and w2 the same way (↗ or ↙)"
    steps = [("largest local gradient: sigmoid 0.25, tanh 1", {"kind": "caption"}), (zigzag, {"kind": "caption"}),
             ("title: Zig-zag", {"kind": "title", "text": "Zig-zag."})]
    assert narrate(trace, steps, "en") == [
        "Each layer multiplies the gradient by its activation's slope. "
        "Largest local gradient: sigmoid 0.25, tanh 1.",
        "Follow the path of the two weights. Sigmoid inputs are all positive: each step moves w1 and w2 the same "
        "way (↗ or ↙). Sigmoid inputs: 7 of 9 steps with one sign.",
        "Let's work through this one: Zig-zag."]
    assert narrate(trace, [("가장 큰 국소 기울기: 시그모이드 0.25", {"kind": "caption"})], "ko") == [
        "각 층은 기울기에 활성화 함수의 기울기를 곱합니다. 가장 큰 국소 기울기: 시그모이드 0.25."]


# --- narration of a scene, as a render marks its steps ------------------------------------------------

def test_a_scene_s_spoken_steps_are_its_steps_in_order_from_zero_each_with_its_sentence(monkeypatch):
    """Built afresh, past the narration cache: its key covers the trace, the scenes' code and the sentences'
    (narration_text.py), not this module's, so a cached entry would hide a mistake in how steps are built."""
    import infra.cache

    from pipeline.auto_narration import spoken_steps, step_texts

    written = []
    monkeypatch.setattr(infra.cache, "verified", lambda *args, **kwargs: False)
    monkeypatch.setattr(infra.cache, "write_entry", lambda path, data, key, replace=True: written.append(data))
    path = trace_path_for(CONFIG_DIR / "chain_rule.yaml")
    steps = spoken_steps(path, "en")
    assert [s.name for s in steps] == CHAIN_STEPS and [s.narration for s in steps] == CHAIN_SAID
    starts = [s.start for s in steps]
    assert starts[0] == 0 and all(a < b for a, b in zip(starts, starts[1:])) and starts[-1] > 5
    assert all(s == round(s, 3) for s in starts)
    # what is cached is what was said, and a graph scene's steps read from its trace say the same
    assert json.loads(written[0]) == [[s.name, s.start, s.narration] for s in steps]
    assert step_texts(path, "ko") == CHAIN_SAID_KO


@pytest.mark.parametrize("module", ["pipeline/auto_narration.py", "engine/numfmt.py"])
def test_the_narration_cache_s_key_changes_with_the_code_that_builds_its_steps_and_writes_their_numbers(
        module, monkeypatch):
    import infra.cache

    from pipeline.auto_narration import spoken_steps

    class Asked(Exception):
        """The cache was asked for an entry: enough to know its key."""

    def verified(path, key, what=""):
        raise Asked(key)

    monkeypatch.setattr(infra.cache, "verified", verified)
    trace = trace_path_for(CONFIG_DIR / "chain_rule.yaml")

    def key() -> str:
        with pytest.raises(Asked) as asked:
            spoken_steps(trace, "en")
        return asked.value.args[0]

    before = key()
    edited, read = (Path(__file__).resolve().parent.parent / module), Path.read_bytes
    monkeypatch.setattr(Path, "read_bytes", lambda self: read(self) + (b"#" if self.resolve() == edited else b""))
    assert key() != before  # as if the module had been edited


@pytest.mark.parametrize("module", ["scenes/style.py", "engine/numfmt.py", "manim_patches/svg_fast.py",
                                    "infra/manim_import.py", "pipeline/video.py", "pipeline/render_job.py",
                                    "requirements.lock"])
def test_a_cached_clip_s_key_changes_with_any_code_that_makes_its_pixels_or_its_file(module, monkeypatch):
    # a clip made by older code must not be joined: the number format, the patches that draw, the encoder's
    # settings (a new CRF) and the library versions all change the clip, not only the scenes' code
    from pipeline import lecture
    from pipeline.render_job import RenderOptions, code_fingerprint

    item = lecture.Item("scene", str(trace_path_for(CONFIG_DIR / "chain_rule.yaml")))
    before = lecture._key(code_fingerprint(), item, RenderOptions())
    edited, read = (Path(__file__).resolve().parent.parent / module), Path.read_bytes
    monkeypatch.setattr(Path, "read_bytes", lambda self: read(self) + (b"#" if self.resolve() == edited else b""))
    assert lecture._key(code_fingerprint(), item, RenderOptions()) != before


def test_a_lecture_clip_s_narration_fills_placeholders_and_auto_keeps_an_authored_step_among_generated(tmp_path):
    from pipeline.auto_narration import clip_narration
    from pipeline.lecture import load_lecture

    lecture = chain_lecture(
        tmp_path,
        "title: L\nclips:\n"
        "  - config: chain.yaml\n    narration: {en: 'f is {value.f}.', ko: 'f는 {value.f}입니다.'}\n"
        "    steps: [{step: 'summary', narration: 'x gets {grad.x}, z gets {grad.z}.'}]\n"
        "  - config: chain.yaml\n    narration: auto\n"
        "    steps: [{step: 'forward: q', narration: {en: 'q is {value.q}.', ko: 'q는 {value.q}입니다.'}}]\n")
    spec, configs = load_lecture(lecture)
    card, steps, auto = clip_narration(spec.clips[0], 0, configs[0], lecture, "en")
    assert card == {"en": "f is −12.", "ko": "f는 −12입니다."} and not auto
    assert [(st.step, st.narration) for st in steps] == [("summary", "x gets −4, z gets +3.")]
    card, steps, auto = clip_narration(spec.clips[1], 1, configs[1], lecture, "ko")
    assert card == "" and auto and [st.step for st in steps] == list(range(10))
    assert steps[3].narration == {"en": "q is 3.", "ko": "q는 3입니다."}  # the authored step, at its place
    others = [st.narration for i, st in enumerate(steps) if i != 3]
    assert [n["en"] for n in others] == CHAIN_SAID[:3] + CHAIN_SAID[4:]
    assert [n["ko"] for n in others] == CHAIN_SAID_KO[:3] + CHAIN_SAID_KO[4:]


def test_each_chapter_card_counts_its_chapter_from_one_of_all(tmp_path):
    from pipeline.lecture import load_lecture, plan

    lecture = chain_lecture(tmp_path, "title: L\nclips:\n"
                            + "".join(f"  - config: chain.yaml\n    title: C{k}\n" for k in (1, 2, 3)))
    spec, configs = load_lecture(lecture)
    items = plan(spec, configs, lecture, "en", 1.0, "none")
    cards = [(i.arg, i.sub) for i in items if i.kind == "title"]
    assert cards == [("L", None), ("C1", "1 / 3"), ("C2", "2 / 3"), ("C3", "3 / 3")]  # the lecture's, then each chapter's


def test_a_training_trace_s_placeholders_are_its_final_numbers():
    # what the legend and the outcome caption show: each run's last recorded accuracy, the last step, the seeds
    from pipeline.narration_text import trace_fields

    trace = {"kind": "vanishing", "config": {},
             "runs": [{"activation": "tanh", "steps": [0, 100, 200], "accuracy": [0.5, 0.75, 1.0]},
                      {"activation": "relu", "steps": [0, 100, 200], "accuracy": [0.25, 0.5, 0.75]}],
             "seed_summary": [{"activation": "tanh", "seeds": 10, "solved": 9, "diverged": 0, "dead_at_init": 0,
                               "median_ratio": None},
                              {"activation": "relu", "seeds": 10, "solved": 5, "diverged": 3, "dead_at_init": 1,
                               "median_ratio": None}]}
    fields = trace_fields(trace)
    assert (fields["accuracy.tanh"], fields["accuracy.relu"], fields["steps"], fields["seeds"]) == ("1", "0.75", "200", "10")
    assert (fields["solved.relu"], fields["diverged.relu"], fields["dead.relu"]) == ("5", "3", "1")


def test_a_clip_joined_from_chunks_has_its_steps_and_poster_timed_from_its_own_start(tmp_path):
    # two chunks of 2 s (animations 0-1, then 2-3), each rendered with the scene's times (the animations
    # before a chunk counted undrawn): the joined clip's steps and poster are counted from the clip's start
    from pipeline.chunks import Plan, join_chunks
    from pipeline.render_job import Rendered, StepTime

    scene_steps = tuple(StepTime(name, t, t + 1.0) for name, t in (("a", 0.0), ("b", 1.0), ("c", 2.0), ("d", 3.0)))
    chunks = [grey_clip(tmp_path / "c0.mp4", 2.0), grey_clip(tmp_path / "c1.mp4", 2.0, first=50)]
    rendered = [Rendered(chunks[0], 2.0, 2, steps=scene_steps), Rendered(chunks[1], 4.0, 4, steps=scene_steps, poster=3.5)]
    plan_ = Plan(costs=(1.0,) * 4, frames=(5,) * 4, step_plays=(0, 1, 2, 3))
    steps, poster = join_chunks(chunks, rendered, [0, 2], plan_, tmp_path / "clip.mp4", fps=5)
    assert [(s.name, s.start, s.end) for s in steps] == [("a", 0.0, 1.0), ("b", 1.0, 2.0), ("c", 2.0, 3.0), ("d", 3.0, 4.0)]
    assert poster == pytest.approx(3.5)


def test_the_gallery_reads_a_clip_s_config_from_the_user_s_folders_before_the_shipped_ones(tmp_path):
    from pipeline.gallery import find_config

    mine = tmp_path / "chain_rule.yaml"  # the user's own chain_rule, named as the shipped one is
    shutil.copy(CONFIG_DIR / "chain_rule.yaml", mine)
    assert find_config("chain_rule", (tmp_path,)) == mine
    assert find_config("chain_rule", (tmp_path / "empty",)) == CONFIG_DIR / "chain_rule.yaml"
    assert find_config("no_such_config", (tmp_path,)) is None
