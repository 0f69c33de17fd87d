"""Slides: one per step, with notes, as a presenter steps through them (headless Chromium, python-pptx)."""
import base64
import re
import shutil
from pathlib import Path

import pytest

from render import CONFIG_DIR
from helpers import run_cli

CHROMIUM = shutil.which("chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--autoplay-policy=no-user-gesture-required"]  # a presenter's click is the user gesture
# chain_rule.yaml's steps, as cs231n tells the example: x = -2, y = 5, z = -4, q = 3, f = -12
CHAIN_STEPS = ["title: Chain rule: f = (x + y) z", "forward: x = −2", "forward: y = 5", "forward: q = 3",
               "forward: z = −4", "forward: f = −12", "backward: ∂f/∂f = 1", "backward: × gate f, q gets −4, z gets +3",
               "backward: + gate q, x gets −4, y gets −4", "summary: ∂f/∂x = −4, ∂f/∂y = −4, ∂f/∂z = +3"]


def chain_notes() -> list[str]:
    """A config's slides: each step's notes are its name and its narration written from the trace."""
    from pipeline.auto_narration import step_texts
    from engine.source import trace_path_for

    said = step_texts(trace_path_for(CONFIG_DIR / "chain_rule.yaml"), "en")
    assert len(said) == len(CHAIN_STEPS) and "To sum up, the gradients of f: x −4, y −4, z +3." in said
    return [f"{step}\n\n{text}" for step, text in zip(CHAIN_STEPS, said)]


@pytest.fixture(scope="module")
def decks(tmp_path_factory):
    # each deck in a folder of its own, with its own chain_slides/ beside it: the HTML deck's embedded videos are
    # compared with the files its own run wrote (two decks in one folder share chain_slides/, the last one's)
    out = tmp_path_factory.mktemp("slides")
    for to in ("html", "pptx"):
        deck = out / to / f"chain.{to}"
        deck.parent.mkdir()
        r = run_cli(["slides", str(CONFIG_DIR / "chain_rule.yaml"), "-o", str(deck), "--quality", "low"])
        assert r.exit_code == 0, r.output
        assert r.output.strip().splitlines()[-1] == (f"wrote {deck} (10 slides) and chain_slides/ "
                                                     "for `manim-slides present`")
    return out


@pytest.mark.slow
@pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is installed by scripts/setup.sh")
def test_the_html_deck_steps_through_every_step_with_its_video_and_notes(decks):
    from playwright.sync_api import sync_playwright

    from bs4 import BeautifulSoup

    soup = BeautifulSoup((decks / "html" / "chain.html").read_text(), "html.parser")
    # one offline file: reveal.js inlined, nothing loaded from anywhere (commented-out template lines aside)
    assert soup.find_all("script", src=True) == [] and soup.find_all("link", href=True) == []
    assert len(soup.find_all("script")) >= 3 and soup.find("style") is not None
    videos = sorted((decks / "html" / "chain_slides").glob("*.mp4"))
    assert len(videos) == len(CHAIN_STEPS)
    errors = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page()
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto((decks / "html" / "chain.html").as_uri())
        page.wait_for_function("window.Reveal && Reveal.isReady()", timeout=20_000)
        assert page.evaluate("Reveal.getTotalSlides()") == len(CHAIN_STEPS)
        # each slide's text alternative (its video has none of its own): what is said over its step
        labels = page.evaluate("[...document.querySelectorAll('.slides > section')].map(s => s.ariaLabel)")
        assert labels == [notes.split("\n\n")[1] for notes in chain_notes()]
        for k, (step, video) in enumerate(zip(chain_notes(), videos)):
            assert page.evaluate("Reveal.getIndices().h") == k
            notes = page.evaluate("Reveal.getSlideNotes()")
            # the notes are our escaped HTML: the text, no markup
            assert notes == "".join(f"<p>{par}</p>" for par in step.split("\n\n"))
            page.wait_for_function("(() => { const v = document.querySelector('.slide-background.present video');"
                                   " return v && !v.paused && v.currentTime > 0; })()", timeout=10_000)
            src = page.evaluate("document.querySelector('.slide-background.present video source, "
                                ".slide-background.present video').getAttribute('src')")
            assert src == "data:video/mp4;base64," + base64.b64encode(video.read_bytes()).decode()
            page.keyboard.press("ArrowRight")
        page.keyboard.press("ArrowLeft")  # back, as a presenter would to show a step again
        page.keyboard.press("ArrowLeft")
        assert page.evaluate("Reveal.getIndices().h") == len(CHAIN_STEPS) - 3
        browser.close()
    assert errors == []


@pytest.mark.slow
def test_the_pptx_deck_has_a_slide_and_notes_per_step(decks):
    from pptx import Presentation

    deck = Presentation(str(decks / "pptx" / "chain.pptx"))
    assert [s.notes_slide.notes_text_frame.text for s in deck.slides] == chain_notes()
    assert all(any(sh.shape_type == 16 for sh in s.shapes) for s in deck.slides)  # MSO_SHAPE_TYPE.MEDIA


# quote-free, as an attacker writes them to get past attribute escaping; each would change the page's title
PAYLOADS = {"config title": "<svg onload=document.title=document.title+1>",
            "chapter title": "<b id=chapter>Chapter</b> *emphasis*",
            "narration": "<img src=x alt=PWNED onerror=document.title=this.alt>",
            "step narration": "<iframe srcdoc=<script>parent.document.title=2</script>></iframe>"}


@pytest.mark.slow
@pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is installed by scripts/setup.sh")
def test_titles_and_narration_are_text_in_the_deck_s_notes_never_markup(tmp_path):
    from playwright.sync_api import sync_playwright

    (tmp_path / "c.yaml").write_text(f"scene: graph\ntitle: '{PAYLOADS['config title']}'\nexpression: x * 2\n"
                                     "inputs: {x: 3}\n")
    (tmp_path / "l.yaml").write_text(f"title: L\nclips:\n  - config: c.yaml\n    title: '{PAYLOADS['chapter title']}'\n"
                                     f"    narration: '{PAYLOADS['narration']}'\n"
                                     f"    steps: [{{step: 1, narration: '{PAYLOADS['step narration']}'}}]\n")
    r = run_cli(["slides", str(tmp_path / "l.yaml"), "-o", str(tmp_path / "d.html"),
                                 "--quality", "low"])
    assert r.exit_code == 0, r.output
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page()
        page.goto((tmp_path / "d.html").as_uri())
        page.wait_for_function("window.Reveal && Reveal.isReady()", timeout=20_000)
        title = page.evaluate("document.title")
        labels = page.evaluate("[...document.querySelectorAll('.slides > section')].map(s => s.ariaLabel)")
        notes = page.evaluate("[...document.querySelectorAll('aside.notes')].map(a => a.textContent).join(' ')")
        live = page.evaluate("[...document.querySelectorAll('aside.notes *')].filter(e => e.tagName != 'P')"
                             ".map(e => e.tagName)")
        handlers = page.evaluate("[...document.querySelectorAll('*')].flatMap(e => [...e.attributes])"
                                 ".filter(a => a.name.startsWith('on')).map(a => a.name)")
        for k in range(page.evaluate("Reveal.getTotalSlides()")):  # every slide shown, as a presenter would
            page.evaluate(f"Reveal.slide({k})")
        page.wait_for_timeout(300)
        title_after = page.evaluate("document.title")
        browser.close()
    assert title == title_after and "PWNED" not in title and not title.endswith(("1", "2"))
    assert live == [] and handlers == [] and page_has_no("chapter", tmp_path)
    for text in PAYLOADS.values():  # each shown as written, in the notes
        assert text in notes
    # the slides' text alternatives: a step's name (the config's title in the first), a step's narration
    assert labels[:2] == ["title: " + PAYLOADS["config title"], PAYLOADS["step narration"]]


def page_has_no(element_id: str, tmp_path) -> bool:
    """No element of that id in the deck's HTML as parsed (escaped text has none)."""
    from bs4 import BeautifulSoup

    return BeautifulSoup((tmp_path / "d.html").read_text(), "html.parser").find(id=element_id) is None


def test_slides_refuse_an_unknown_format_and_a_contradiction(tmp_path):
    r = run_cli(["slides", str(CONFIG_DIR / "chain_rule.yaml"), "-o", str(tmp_path / "d.key")])
    assert r.exit_code == 2 and f"{tmp_path / 'd.key'}: slides are .html, .pptx or .pdf" in r.output
    r = run_cli(["slides", str(CONFIG_DIR / "chain_rule.yaml"), "--to", "pdf", "-o",
                                 str(tmp_path / "d.html")])
    assert r.exit_code == 2 and "--to pdf but -o" in r.output
    assert list(tmp_path.iterdir()) == []


@pytest.mark.slow
def test_a_lecture_s_deck_has_every_clip_s_steps_with_its_chapter_and_narration(tmp_path):
    from manim_slides.config import PresentationConfig
    from pptx import Presentation

    lecture = tmp_path / "l.yaml"
    lecture.write_text(f"title: Two clips\nclips:\n  - config: {CONFIG_DIR / 'chain_rule.yaml'}\n    title: First\n"
                       f"    narration: {{en: Values flow forward., ko: 값이 앞으로 흐릅니다.}}\n"
                       f"  - config: {CONFIG_DIR / 'gradcheck.yaml'}\n    title: Second\n"
                       f"    steps: [{{step: 'gradient check: b1', narration: 'The bias, checked.'}}]\n")
    out = tmp_path / "deck.pptx"
    r = run_cli(["slides", str(lecture), "-o", str(out), "--quality", "low", "--lang", "ko",
                                 "--allow-outside"])
    assert r.exit_code == 0, r.output
    notes = [s.notes_slide.notes_text_frame.text for s in Presentation(str(out)).slides]
    assert notes[0] == "Chapter: First\n\ntitle: Chain rule: f = (x + y) z\n\n값이 앞으로 흐릅니다."
    assert notes[1:10] == CHAIN_STEPS[1:]
    second = notes[10:]
    assert second[0].startswith("Chapter: Second\n\ntitle: ") and second[1] == "gradient check: central differences"
    assert [n.split(",")[0] for n in second[2:]] == [f"gradient check: {k}" for k in ("w1", "b1", "w2", "b2")]
    assert second[3].endswith("\n\nThe bias, checked.") and "checked" not in second[2] + second[4]
    # the folder `manim-slides present --folder deck_slides Backprop` plays
    deck = PresentationConfig.from_file(tmp_path / "deck_slides" / "Backprop.json")
    assert len(deck.slides) == len(notes) and all(s.file.parent == tmp_path / "deck_slides" for s in deck.slides)


@pytest.fixture
def fake_sections(monkeypatch):
    """The clip renderer replaced: each "render" writes chain_rule's steps as tiny one-grey videos (step k at
    grey 20 k), as a render with sections does, so a deck is built in a second, without Manim."""
    from helpers import write_clip
    from pipeline import slides
    from pipeline.render_job import Rendered, Section

    def render_scene(trace, out, options):
        options.sections_dir.mkdir(parents=True)
        sections = tuple(Section(name, write_clip(options.sections_dir / f"{k:03d}.mp4", 3, shade=20 * k), 0.3)
                         for k, name in enumerate(CHAIN_STEPS))
        return Rendered(out, 3.0, len(sections), sections)

    monkeypatch.setattr(slides, "render_scene", render_scene)


def test_a_config_s_pptx_has_the_title_slide_and_every_step_s_notes_without_rendering(tmp_path, fake_sections):
    from pptx import Presentation

    from pipeline.slides import make_slides

    out = tmp_path / "chain.pptx"
    assert make_slides(CONFIG_DIR / "chain_rule.yaml", out, to="pptx", quality="low") == len(CHAIN_STEPS)
    assert [s.notes_slide.notes_text_frame.text for s in Presentation(str(out)).slides] == chain_notes()


def test_a_lecture_s_pptx_notes_carry_the_chapter_and_its_narration_on_the_title_slide(tmp_path, fake_sections):
    from pptx import Presentation

    from pipeline.slides import make_slides

    lecture = tmp_path / "l.yaml"
    lecture.write_text(f"title: Two clips\nclips:\n  - config: {CONFIG_DIR / 'chain_rule.yaml'}\n    title: First\n"
                       "    narration: Values flow forward.\n"
                       f"  - config: {CONFIG_DIR / 'chain_rule.yaml'}\n    title: Second\n"
                       "    steps: [{step: 'forward: y', narration: Then y.}]\n")
    out = tmp_path / "deck.pptx"
    assert make_slides(lecture, out, to="pptx", quality="low", allow_outside=True) == 2 * len(CHAIN_STEPS)
    notes = [s.notes_slide.notes_text_frame.text for s in Presentation(str(out)).slides]
    assert notes[0] == f"Chapter: First\n\n{CHAIN_STEPS[0]}\n\nValues flow forward."
    assert notes[1:10] == CHAIN_STEPS[1:]
    assert notes[10] == f"Chapter: Second\n\n{CHAIN_STEPS[0]}" and notes[12] == f"{CHAIN_STEPS[2]}\n\nThen y."
    assert all(notes)


def test_a_pdf_deck_is_a_page_per_step_title_first_without_rendering(tmp_path, fake_sections):
    import subprocess

    import numpy as np
    from PIL import Image

    from pipeline.slides import make_slides

    shutil.which("pdfinfo") or pytest.skip("poppler-utils is installed by scripts/setup.sh")
    out = tmp_path / "chain.pdf"
    assert make_slides(CONFIG_DIR / "chain_rule.yaml", out, to="pdf", quality="low") == len(CHAIN_STEPS)
    info = subprocess.run(["pdfinfo", str(out)], capture_output=True, text=True, check=True).stdout
    assert re.search(r"^Pages:\s+(\d+)$", info, re.M)[1] == str(len(CHAIN_STEPS))
    for page in (1, len(CHAIN_STEPS)):  # each page is its step's picture: the title's grey first, the summary's last
        subprocess.run(["pdftoppm", "-r", "20", "-f", str(page), "-l", str(page), "-png", str(out),
                        str(tmp_path / f"p{page}")], check=True)
        [png] = tmp_path.glob(f"p{page}*.png")
        assert abs(np.asarray(Image.open(png).convert("L")).mean() - 20 * (page - 1)) < 4


@pytest.mark.parametrize("text,html", [
    ("title: a", "<p>title: a</p>"),
    ("name\n\nsaid", "<p>name</p><p>said</p>"),  # a paragraph per paragraph
    ("one\ntwo", "<p>one\ntwo</p>"),  # a line break stays within its paragraph
    ("a < b & \"c\" 'd'", "<p>a &lt; b &amp; &quot;c&quot; &#x27;d&#x27;</p>"),
    ("", "<p></p>"),
])
def test_speaker_notes_are_a_paragraph_each_and_every_character_escaped(text, html):
    from pipeline.slides import notes_html
    assert notes_html(text) == html


@pytest.mark.parametrize("deck,folder", [("d.html", "d_slides"), ("out/My deck.pptx", "out/My deck_slides"),
                                         ("a.b.pdf", "a.b_slides"), ("D.HTML", "D_slides")])
def test_the_present_folder_is_named_after_the_deck(deck, folder):
    from pathlib import Path

    from pipeline.slides import present_folder
    assert present_folder(Path(deck)) == Path(folder)


@pytest.mark.parametrize("names,foreign", [
    ([], None),
    (["000.mp4", "001.webm", "1000.mov", "Backprop.json"], None),  # what it writes: the steps' videos, the deck file
    (["00.mp4"], "00.mp4"),  # not a name it gives (three digits at least)
    (["000.mkv"], "000.mkv"),
    (["Backprop.json.bak"], "Backprop.json.bak"),
    (["000.mp4", "zz.txt", "aa.txt"], "aa.txt"),  # the first in order is named
    (["dir:000.mp4"], "000.mp4"),  # a folder of a video's name
    (["link:001.mp4"], "001.mp4"),  # a link of a video's name
])
def test_a_slides_folder_is_replaced_only_when_it_holds_nothing_but_what_slides_write(tmp_path, names, foreign):
    from infra.io import OutputError
    from pipeline.slides import PRESENT_MARKER, check_present_folder

    folder = tmp_path / "d_slides"
    folder.mkdir()
    (folder / PRESENT_MARKER).write_text("")
    (tmp_path / "elsewhere.mp4").write_bytes(b"")
    for name in names:
        kind, _, name = name.rpartition(":")
        if kind == "dir":
            (folder / name).mkdir()
        elif kind == "link":
            (folder / name).symlink_to(tmp_path / "elsewhere.mp4")
        else:
            (folder / name).write_bytes(b"")
    if foreign is None:
        check_present_folder(folder, [tmp_path / "c.yaml"])
        check_present_folder(tmp_path / "new_slides")  # a new path: nothing to check
    else:
        with pytest.raises(OutputError, match=f"d_slides: holds {re.escape(foreign)}, which render.py slides did not "
                                              "write; it is left alone"):
            check_present_folder(folder)


@pytest.mark.parametrize("lang,chapter,narration,notes,labels", [
    ("en", "Ch", "Said over it.", ["Chapter: Ch\n\ntitle: T\n\nSaid over it.", "forward: a\n\nA first.", "backward: b"],
     ["title: T", "A first.", "backward: b"]),
    ("ko", None, "", ["title: T", "forward: a\n\n에이 먼저.", "backward: b"], ["title: T", "에이 먼저.", "backward: b"]),
])
def test_a_slide_s_notes_and_text_alternative_say_its_step_chapter_and_narration_in_the_language(
        tmp_path, monkeypatch, lang, chapter, narration, notes, labels):
    from pathlib import Path

    from pipeline import slides
    from pipeline.narration import StepNarration
    from pipeline.render_job import RenderOptions, Rendered, Section

    names = ["title: T", "forward: a", "backward: b"]
    seen = []

    def render_scene(trace, out, options):
        seen.append((options.lang, options.progress, options.sections_dir))
        return Rendered(out, 1.0, 3, tuple(Section(n, Path(f"{k:03d}.mp4"), 0.3) for k, n in enumerate(names)))

    monkeypatch.setattr(slides, "render_scene", render_scene)
    monkeypatch.setattr(slides, "trace_path_for", lambda config: config)
    said = [StepNarration(step="forward", narration={"en": "A first.", "ko": "에이 먼저."})]
    steps = slides.clip_steps(Path("c.yaml"), tmp_path, RenderOptions(lang=lang), narration, chapter, said)
    assert [s.notes for s in steps] == notes and [s.label for s in steps] == labels
    assert [s.video for s in steps] == [Path("000.mp4"), Path("001.mp4"), Path("002.mp4")]
    assert seen == [(lang, False, tmp_path / "sections")]


@pytest.mark.parametrize("to,theme,quality,reveal_theme", [
    ("html", "dark", "low", "black"), ("html", "light", "preview", "white"),
    ("pptx", "dark", "hd", None), ("pptx", "light", "low", None), ("pdf", "light", "preview", None),
])
def test_a_deck_is_in_the_theme_s_colours_at_the_quality_s_size_with_notes_as_its_format_takes_them(
        tmp_path, monkeypatch, to, theme, quality, reveal_theme):
    """manim-slides' converters replaced by recorders (the deck's HTML a slide per step, as its template
    writes it): what each is asked for is the theme's, the quality's and the format's."""
    import contextlib

    import manim_slides.convert as convert

    from pipeline import slides
    from pipeline.render_job import QUALITIES
    from scenes.style import THEMES

    asked = {}

    class Converter:
        def __init__(self, **kwargs):
            self.kwargs = kwargs
            asked.setdefault("converters", []).append((type(self).__name__, kwargs))

        def load_template(self):
            return f"<html>{slides.NOTES_MARKDOWN}</aside></html>"

        def convert_to(self, dest):
            count = len(self.kwargs["presentation_configs"][0].slides)
            Path(dest).write_text("<div class='slides'>" + "<section data-background-video='v'></section>" * count +
                                  "</div>")

    for name in ("RevealJS", "PowerPoint", "PDF"):
        monkeypatch.setattr(convert, name, type(name, (Converter,), {}))
    monkeypatch.setattr(slides, "_reveal_assets", contextlib.nullcontext)
    steps = [slides.Step(helpers_clip(tmp_path, k), f"step {k}\n\nsaid <{k}>", f"label {k}") for k in range(2)]
    from scenes import style

    before = style.THEME
    try:
        slides.write_deck(steps, tmp_path / f"d.{to}", to, quality, theme, tmp_path)
    finally:
        style.apply_theme(before)  # the deck applies its theme: the next test gets the one it had
    name, kwargs = asked["converters"][-1]
    assert name == {"html": "RevealJS", "pptx": "PowerPoint", "pdf": "PDF"}[to]
    [presentation] = kwargs["presentation_configs"]
    q = QUALITIES[quality]
    assert presentation.resolution == (q.width, q.height)
    assert presentation.background_color.as_hex(format="long").upper() == THEMES[theme]["BACKGROUND"]
    notes = [s.notes for s in presentation.slides]
    if to == "html":
        assert kwargs["reveal_theme"] == reveal_theme and kwargs["background_color"] == THEMES[theme]["BACKGROUND"]
        assert notes == ["<p>step 0</p><p>said &lt;0&gt;</p>", "<p>step 1</p><p>said &lt;1&gt;</p>"]
        assert (tmp_path / "d.html").read_text().count('aria-label="label ') == 2
    else:
        assert notes == ["step 0\n\nsaid <0>", "step 1\n\nsaid <1>"]  # PowerPoint's notes are text
    if to == "pptx":
        assert (kwargs["width"], kwargs["height"]) == (q.width, q.height)
    assert (tmp_path / "d_slides" / "Backprop.json").is_file()


def helpers_clip(tmp_path, k):
    from helpers import write_clip
    return write_clip(tmp_path / f"s{k}.mp4", 2, shade=40 * k)


def test_a_config_s_notes_are_said_in_the_language_asked_for(tmp_path, fake_sections, monkeypatch):
    from pptx import Presentation

    from pipeline import slides

    asked, fake = [], slides.render_scene
    monkeypatch.setattr(slides, "render_scene", lambda trace, out, options: asked.append(options) or
                        fake(trace, out, options))
    from scenes import style

    out, before = tmp_path / "chain.pptx", style.THEME
    try:
        slides.make_slides(CONFIG_DIR / "chain_rule.yaml", out, to="pptx", quality="low", lang="ko", theme="light")
    finally:
        style.apply_theme(before)  # the deck applies its theme: the next test gets the one it had
    assert [(o.lang, o.theme, o.quality) for o in asked] == [("ko", "light", "low")]  # the clip's captions in Korean
    notes = [s.notes_slide.notes_text_frame.text for s in Presentation(str(out)).slides]
    assert [n.split("\n\n")[0] for n in notes] == CHAIN_STEPS  # the clip's step names
    said = [n.split("\n\n")[1] for n in notes]
    assert all(re.search("[가-힣]", text) for text in said) and said[-1].startswith("정리하면, f의 기울기는")


def test_a_scene_that_marks_no_steps_makes_no_deck(tmp_path, monkeypatch):
    from pipeline import slides
    from pipeline.render_job import Rendered

    monkeypatch.setattr(slides, "render_scene", lambda trace, out, options: Rendered(out, 1.0, 1, ()))
    with pytest.raises(slides.SlidesError, match=r"chain_rule.yaml: the scene marks no steps$"):
        slides.make_slides(CONFIG_DIR / "chain_rule.yaml", tmp_path / "d.pptx", to="pptx", quality="low")
    assert not (tmp_path / "d.pptx").exists()
