"""The printable handout: a figure per step drawn as vectors, its narration beneath, chapter headings.

The PDF is read with poppler-utils (Debian): pdfinfo for pages, pdfimages for raster images (none may be
there), pdffonts for the Korean font being embedded, pdftotext for the narration. The HTML page is opened
in headless Chromium."""
import math
import shutil
import subprocess

import pytest

from pipeline.auto_narration import step_texts
from engine.source import trace_path_for
from render import CONFIG_DIR
from helpers import run_cli

POPPLER = shutil.which("pdftotext") and shutil.which("pdfimages")
CHROMIUM = shutil.which("chromium")


def run(*args) -> str:
    return subprocess.run(args, check=True, capture_output=True, text=True).stdout


def flat(text: str) -> str:
    return " ".join(text.split())


@pytest.fixture(scope="module")
def lecture(tmp_path_factory):
    folder = tmp_path_factory.mktemp("handout")
    for name in ("chain_rule", "gradcheck"):
        (folder / f"{name}.yaml").write_bytes((CONFIG_DIR / f"{name}.yaml").read_bytes())
    lec = folder / "l.yaml"
    lec.write_text("title: Handout\nclips:\n  - config: chain_rule.yaml\n    title: The chain rule\n"
                   "  - config: gradcheck.yaml\n    title: Checking\n    narration: {en: Check it., ko: 확인합니다.}\n"
                   "    steps: [{step: 'gradient check: b1', narration: {en: 'b1 gets {grad.b1}.', "
                   "ko: 'b1의 기울기는 {grad.b1}입니다.'}}]\n")
    return lec


@pytest.mark.slow
@pytest.mark.skipif(not POPPLER, reason="poppler-utils is installed by scripts/setup.sh")
@pytest.mark.parametrize("lang", ["en", "ko"])
def test_the_pdf_has_every_step_s_vector_figure_and_narration(lecture, lang):
    out = lecture.parent / f"h-{lang}.pdf"
    r = run_cli(["handout", str(lecture), "--lang", lang, "-o", str(out)])
    assert r.exit_code == 0, r.output
    chain = step_texts(trace_path_for(lecture.parent / "chain_rule.yaml"), lang)
    check = step_texts(trace_path_for(lecture.parent / "gradcheck.yaml"), lang)
    steps = len(chain) + len(check)
    assert f"({steps} figures)" in r.output
    pages = int(next(line.split()[-1] for line in run("pdfinfo", str(out)).splitlines() if line.startswith("Pages:")))
    # two figures a page at most, each chapter from a new page
    assert math.ceil(len(chain) / 2) + math.ceil(len(check) / 2) <= pages <= steps
    assert run("pdfimages", "-list", str(out)).strip().splitlines()[2:] == []  # not one raster image
    text = flat(run("pdftotext", str(out), "-"))
    b1 = "b1 gets +0.214." if lang == "en" else "b1의 기울기는 +0.214입니다."  # the authored step, its placeholder filled
    said = chain + check[:3] + [b1] + check[4:]
    for sentence in said + ["The chain rule", "Checking", "Check it." if lang == "en" else "확인합니다."]:
        assert flat(sentence) in text
    assert check[3] not in text  # replaced by the authored narration
    if lang == "ko":  # the Korean font embedded (a subset), so the page prints as it reads
        fonts = run("pdffonts", str(out))
        assert any("Nanum" in line and " yes " in line for line in fonts.splitlines()), fonts


@pytest.mark.slow
@pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is installed by scripts/setup.sh")
def test_the_html_handout_is_one_page_with_an_alt_text_per_figure(tmp_path):
    from playwright.sync_api import sync_playwright

    from test_slides import CHROMIUM_ARGS

    out = tmp_path / "gates.html"
    r = run_cli(["handout", str(CONFIG_DIR / "gates.yaml"), "-o", str(out)])
    assert r.exit_code == 0, r.output
    said = step_texts(trace_path_for(CONFIG_DIR / "gates.yaml"), "en")
    requests = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page()
        page.on("request", lambda req: requests.append(req.url))
        page.goto(out.as_uri())
        page.wait_for_load_state("load")
        figures = page.evaluate("[...document.querySelectorAll('figure img')].map(i => "
                                "[i.alt, i.complete && i.naturalWidth > 0, i.src.slice(0, 26)])")
        captions = page.evaluate("[...document.querySelectorAll('figcaption')].map(c => c.textContent)")
        browser.close()
    assert [alt for alt, _, _ in figures] == said == captions
    assert all(loaded and src == "data:image/svg+xml;base64," for _, loaded, src in figures)
    assert [url for url in requests if not url.startswith(("file:", "data:"))] == []  # self-contained


@pytest.mark.slow
@pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is installed by scripts/setup.sh")
def test_titles_and_narration_are_text_in_the_html_handout_and_its_alt_texts_never_markup(tmp_path):
    from playwright.sync_api import sync_playwright

    from test_slides import CHROMIUM_ARGS, PAYLOADS

    (tmp_path / "c.yaml").write_text(f"scene: graph\ntitle: '{PAYLOADS['config title']}'\nexpression: x * 2\n"
                                     "inputs: {x: 3}\n")
    # a narration that would close the alt attribute and open a handler, were it not escaped
    step = PAYLOADS["step narration"] + ' " src=x onerror="document.title=3'
    (tmp_path / "l.yaml").write_text(f"title: '{PAYLOADS['chapter title']}'\nclips:\n  - config: c.yaml\n"
                                     f"    title: '{PAYLOADS['chapter title']}'\n    narration: auto\n"
                                     f"    steps: [{{step: 1, narration: '{step}'}}]\n")
    out = tmp_path / "h.html"
    r = run_cli(["handout", str(tmp_path / "l.yaml"), "-o", str(out)])
    assert r.exit_code == 0, r.output
    said = step_texts(trace_path_for(tmp_path / "c.yaml"), "en")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page()
        page.goto(out.as_uri())
        page.wait_for_load_state("load")
        page.wait_for_timeout(300)
        title = page.evaluate("document.title")
        alts = page.evaluate("[...document.querySelectorAll('img')].map(i => i.alt)")
        captions = page.evaluate("[...document.querySelectorAll('figcaption')].map(c => c.textContent)")
        headings = page.evaluate("[...document.querySelectorAll('h1, h2')].map(h => h.textContent)")
        handlers = page.evaluate("[...document.querySelectorAll('*')].flatMap(e => [...e.attributes])"
                                 ".filter(a => a.name.startsWith('on')).map(a => a.name)")
        tags = page.evaluate("[...new Set([...document.body.querySelectorAll('*')].map(e => e.tagName))].sort()")
        browser.close()
    assert title == PAYLOADS["chapter title"] and headings == [PAYLOADS["chapter title"]] * 2
    # every figure's alt text is its step's sentence as written: the authored one, the trace's elsewhere
    assert alts == captions == [said[0], step, *said[2:]]
    assert PAYLOADS["config title"] in said[0]
    assert handlers == [] and tags == ["FIGCAPTION", "FIGURE", "H1", "H2", "IMG"]


def test_a_handout_s_output_must_be_pdf_or_html(tmp_path):
    r = run_cli(["handout", str(CONFIG_DIR / "gates.yaml"), "-o", str(tmp_path / "x.png")])
    assert r.exit_code == 2 and "x.png: a handout is .pdf or .html" in r.output
    r = run_cli(["handout", str(CONFIG_DIR / "gates.yaml"), "--to", "html", "-o", str(tmp_path / "x.pdf")])
    assert r.exit_code == 2 and "--to html but -o" in r.output
    assert list(tmp_path.iterdir()) == []


def _pixels(fig):
    """A figure drawn to pixels, as (R, G, B) rows (cairo's ARGB32 is B, G, R, A in memory)."""
    import cairo
    import numpy as np

    image = cairo.ImageSurface(cairo.FORMAT_ARGB32, fig.width, fig.height)
    ctx = cairo.Context(image)
    ctx.set_source_surface(fig.drawing, 0, 0)
    ctx.paint()
    image.flush()
    data = np.frombuffer(image.get_data(), np.uint8).reshape(fig.height, image.get_stride() // 4, 4)
    return data[:, :fig.width, 2::-1].astype(int)


def _near(pixels, hex_color: str, tolerance: int = 12) -> int:
    import numpy as np

    rgb = np.array([int(hex_color[i:i + 2], 16) for i in (1, 3, 5)])
    return int((np.abs(pixels - rgb).max(axis=2) <= tolerance).sum())


def test_a_figure_keeps_the_screen_s_colours_forward_blue_and_gradients_orange():
    """Manim's camera writes colours as BGR for its pixel array; drawn on a true cairo surface they must not
    come out swapped (gradients blue, values orange)."""
    from pipeline.handout import scene_figures
    from scenes.style import THEMES

    figures = scene_figures(trace_path_for(CONFIG_DIR / "chain_rule.yaml"), "en", "light")
    last = _pixels(figures[-2])  # the last backward step: values and gradients on every edge
    light = THEMES["light"]
    swapped = {k: "#" + light[k][5:7] + light[k][3:5] + light[k][1:3] for k in ("FORWARD", "GRADIENT")}
    assert _near(last, light["FORWARD"]) > 50 and _near(last, light["GRADIENT"]) > 50
    assert _near(last, swapped["FORWARD"]) < 5 and _near(last, swapped["GRADIENT"]) < 5
    assert _near(_pixels(figures[0]), light["BACKGROUND"], 2) > 0.8 * figures[0].width * figures[0].height


def test_each_character_of_the_narration_is_set_in_a_font_that_has_it():
    """NanumGothic has no − (U+2212) and DejaVu Sans no Hangul: cairo's text API has no fallback, so a
    missing glyph printed as a box; each run is in a font that has all of its characters."""
    import cairo

    from pipeline.handout import _Type
    from scenes.style import FONTS

    ctx = cairo.Context(cairo.ImageSurface(cairo.FORMAT_ARGB32, 10, 10))
    runs = _Type(ctx, [FONTS["ko"], FONTS["en"]]).runs("x의 기울기는 −10입니다, ∂f/∂x = −4")
    assert "".join(text for _, text in runs) == "x의 기울기는 −10입니다, ∂f/∂x = −4"
    for font, text in runs:
        ctx.select_font_face(font)
        glyphs = ctx.get_scaled_font().text_to_glyphs(0, 0, text, False)
        assert all(g.index != 0 for g in glyphs), (font, text)
    assert {font for font, text in runs if "−" in text} == {FONTS["en"]}


def test_a_narration_with_quotes_stays_inside_the_html_handout_s_alt_attribute():
    """The alt text is an attribute: a narration's double quote, left bare, would end it and start attributes
    of its own (an onerror handler). Fast, without a browser: the page as Python's HTML parser reads it."""
    from html.parser import HTMLParser

    import cairo

    from pipeline.handout import Chapter, Figure, html_page

    said = 'x gets "+2" " onerror="alert(1)'
    drawing = cairo.RecordingSurface(cairo.CONTENT_COLOR_ALPHA, cairo.Rectangle(0, 0, 8, 6))
    page = html_page("T", [Chapter("C", "", [Figure("step", said, drawing, 8, 6)])], "en", "light")

    images = []

    class Images(HTMLParser):
        def handle_starttag(self, tag, attrs):
            if tag == "img":
                images.append(dict(attrs))

    Images().feed(page)
    assert len(images) == 1
    assert images[0]["alt"] == 'x gets "+2" " onerror="alert(1)'
    assert "onerror" not in images[0]


def test_a_trace_file_makes_the_handout_its_config_makes(tmp_path):
    # `render` and `slides` take a trace JSON as they take its config; the handout read it as YAML and asked
    # for its key 'scene'. Its figures and title are its config's, and a damaged trace is one line
    config = CONFIG_DIR / "chain_rule.yaml"
    trace = tmp_path / "chain.json"
    trace.write_bytes(trace_path_for(config).read_bytes())
    shouting = tmp_path / "CHAIN.JSON"  # the suffix in any case
    shouting.write_bytes(trace.read_bytes())
    for source, out in ((config, tmp_path / "a.html"), (trace, tmp_path / "b.html"), (shouting, tmp_path / "d.html")):
        r = run_cli(["handout", str(source), "-o", str(out)])
        assert r.exit_code == 0, r.output
    from bs4 import BeautifulSoup

    def shown(page):  # its headings, figures' text alternatives and captions (each SVG's ids vary by run)
        soup = BeautifulSoup(page.read_text(), "html.parser")
        return ([h.get_text() for h in soup.find_all(["title", "h1", "h2"])], [i["alt"] for i in soup.find_all("img")],
                [c.get_text() for c in soup.find_all("figcaption")])
    assert shown(tmp_path / "a.html") == shown(tmp_path / "b.html") == shown(tmp_path / "d.html")
    assert len(shown(tmp_path / "b.html")[1]) == 10 and "Chain rule" in shown(tmp_path / "b.html")[0][0]
    trace.write_text(trace.read_text()[:-40])
    r = run_cli(["handout", str(trace), "-o", str(tmp_path / "c.html")])
    assert r.exit_code == 1 and r.output.strip().startswith(f"Error: {trace}: not a readable trace: ")
    assert not (tmp_path / "c.html").exists()


def _figure(name="step", narration="said", width=8, height=6):
    import cairo

    from pipeline.handout import Figure
    return Figure(name, narration, cairo.RecordingSurface(cairo.CONTENT_COLOR_ALPHA, cairo.Rectangle(0, 0, width, height)),
                  width, height)


@pytest.mark.parametrize("lang,theme,font,text,background", [
    ("en", "light", "DejaVu Sans", "#111111", "#FFFFFF"),
    ("en", "dark", "DejaVu Sans", "#FFFFFF", "#000000"),
    ("ko", "light", "NanumGothic", "#111111", "#FFFFFF"),  # Korean in a font that has Hangul
    ("ko", "dark", "NanumGothic", "#FFFFFF", "#000000"),
])
def test_the_html_handout_is_in_the_language_s_font_and_the_theme_s_colours(lang, theme, font, text, background):
    from pipeline.handout import Chapter, html_page

    page = html_page("T", [Chapter("C", "", [_figure()])], lang, theme)
    assert f'<html lang="{lang}">' in page
    assert f"font-family: {font}, sans-serif;" in page
    assert f"color: {text}; background: {background};" in page


def test_the_html_handout_has_a_heading_per_chapter_its_intro_when_it_has_one_and_each_figure_s_size():
    from pipeline.handout import Chapter, html_page

    page = html_page("A & B", [Chapter("One <1>", "Intro & more.", [_figure("s1", "n1", 40, 30)]),
                               Chapter("Two", "", [_figure("s2", "n2"), _figure("s3", "n3")])], "en", "light")
    assert "<title>A &amp; B</title>" in page and "<h1>A &amp; B</h1>" in page
    assert page.count("<h2>") == 2 and "<h2>One &lt;1&gt;</h2>\n<p>Intro &amp; more.</p>\n<figure" in page
    assert "<h2>Two</h2>\n<figure" in page  # no empty paragraph for a chapter without an intro
    assert '<figure data-step="s1">' in page and 'width="40" height="30"><figcaption>n1</figcaption>' in page
    assert page.count("<figure") == 3 and page.count("<p>") == 1


@pytest.mark.parametrize("text,lines", [
    ("ab cd ef", ["ab cd", "ef"]),  # "ab cd" is exactly the 50 points: it fits
    ("ab cde f", ["ab", "cde f"]),
    ("abcdefghijk x", ["abcdefghijk", "x"]),  # a word wider than the column stays whole
    ("  a  \n b ", ["a b"]),  # any whitespace is a break point
    ("", []),
])
def test_handout_text_is_broken_at_spaces_to_the_column_s_width(text, lines):
    from pipeline.handout import _Type

    typeset = _Type(None, ["DejaVu Sans"])
    typeset.width = lambda s: 10 * len(s)  # every character 10 points: widths worked by hand
    assert typeset.wrap(text, 50) == lines


@pytest.mark.parametrize("lang,fonts", [("en", ["DejaVu Sans", "NanumGothic"]), ("ko", ["NanumGothic", "DejaVu Sans"])])
def test_the_pdf_sets_text_in_the_language_s_font_first_then_the_others(tmp_path, monkeypatch, lang, fonts):
    from pipeline import handout

    used = []

    class Recorded(handout._Type):
        def __init__(self, ctx, fonts):
            used.append(fonts)
            super().__init__(ctx, fonts)

    monkeypatch.setattr(handout, "_Type", Recorded)
    handout.write_pdf(tmp_path / "h.pdf", "T", [handout.Chapter("C", "", [_figure()])], lang)
    assert used == [fonts]


@pytest.mark.skipif(not shutil.which("pdfinfo"), reason="poppler-utils is installed by scripts/setup.sh")
@pytest.mark.parametrize("heights,pages", [
    # A4 holds a heading and two figures 300 points tall, each with its line of narration and its space
    ([300], 1), ([300, 300], 1),
    ([300, 300, 300], 2),  # the third goes on the next page
    ([300] * 4, 2), ([300] * 5, 3),  # two a page after the first
    # below the first, 380.9 points to the bottom margin: a figure with 42.2 of narration and space under it
    ([300, 338], 1), ([300, 339], 2),
])
def test_a_pdf_figure_that_does_not_fit_below_the_last_starts_a_new_page(tmp_path, heights, pages):
    from pipeline.handout import MARGIN, PAGE, Chapter, write_pdf

    inner = int(PAGE[0] - 2 * MARGIN)  # a figure the column's width is drawn at its own size
    # (each says something: cairo leaves out a last page with nothing visible on it)
    write_pdf(tmp_path / "h.pdf", "Its title", [Chapter("C", "", [_figure(f"s{i}", "n", inner, h)
                                                                 for i, h in enumerate(heights)])], "en")
    info = run("pdfinfo", str(tmp_path / "h.pdf"))
    assert f"Pages:           {pages}\n" in info and "Title:           Its title\n" in info


@pytest.mark.skipif(not shutil.which("pdfinfo"), reason="poppler-utils is installed by scripts/setup.sh")
def test_each_chapter_of_the_pdf_starts_a_page(tmp_path):
    from pipeline.handout import Chapter, write_pdf

    write_pdf(tmp_path / "h.pdf", "T", [Chapter("A", "intro", [_figure()]), Chapter("B", "", [_figure()]),
                                        Chapter("C", "", [])], "en")  # (a chapter's heading is on its page)
    assert "Pages:           3\n" in run("pdfinfo", str(tmp_path / "h.pdf"))


def _fake_figures(monkeypatch):
    """scene_figures replaced: three steps, each with the narration the trace would give ("gen k")."""
    from pipeline import handout

    monkeypatch.setattr(handout, "scene_figures", lambda trace, lang, theme: [
        _figure(name, f"gen {k}") for k, name in enumerate(["title: From trace", "forward: a", "backward: b"])])


@pytest.mark.parametrize("lang,auto,steps,said", [
    ("ko", False, [("backward", {"en": "B", "ko": "비"})], ["gen 0", "gen 1", "비"]),  # authored keys by name
    ("en", False, [("forward", "F")], ["gen 0", "F", "gen 2"]),
    ("ko", False, [("forward", {"en": "F"})], ["gen 0", "F", "gen 2"]),  # no Korean: the English, as subtitles do
    ("ko", True, [(0, "s0"), (2, {"en": "e2", "ko": "k2"})], ["s0", "gen 1", "k2"]),  # written from the trace: by index
    ("en", True, [(1, {"ko": "k1"})], ["gen 0", "gen 1", "gen 2"]),  # nothing in English: the figure's own
])
def test_a_lecture_handout_s_figures_say_the_authored_narration_in_the_language_else_the_trace_s(
        tmp_path, monkeypatch, lang, auto, steps, said):
    from pipeline import auto_narration
    from pipeline.handout import chapters_of
    from pipeline.narration import StepNarration

    _fake_figures(monkeypatch)
    monkeypatch.setattr(auto_narration, "clip_narration", lambda clip, k, cfg, lecture, language: (
        {"en": "Intro.", "ko": "소개."}, [StepNarration(step=key, narration=text) for key, text in steps], auto))
    (tmp_path / "c.yaml").write_text("scene: graph\ntitle: Tiny\nexpression: f = x * 2\ninputs: {x: 3}\n")
    (tmp_path / "l.yaml").write_text("title: Lecture\nclips:\n  - {config: c.yaml, title: One}\n")
    title, chapters, inputs = chapters_of(tmp_path / "l.yaml", lang, "light")
    assert title == "Lecture" and [c.title for c in chapters] == ["One"]
    assert inputs == [tmp_path / "l.yaml", (tmp_path / "c.yaml").resolve()]  # the lecture and its clip's config
    assert chapters[0].intro == {"en": "Intro.", "ko": "소개."}[lang]
    assert [f.narration for f in chapters[0].figures] == said


@pytest.mark.parametrize("config,title", [
    ("scene: graph\ntitle: Tiny\nexpression: f = x * 2\ninputs: {x: 3}\n", "Tiny"),
    ("scene: graph\nexpression: f = x * 2\ninputs: {x: 3}\n", "From trace"),  # no title: the title step's text
])
def test_a_config_s_handout_is_one_chapter_titled_by_the_config_else_its_title_step(tmp_path, monkeypatch, config,
                                                                                   title):
    from pipeline.handout import chapters_of

    _fake_figures(monkeypatch)
    (tmp_path / "c.yaml").write_text(config)
    got, chapters, inputs = chapters_of(tmp_path / "c.yaml", "en", "light")
    assert got == title and [(c.title, c.intro, len(c.figures)) for c in chapters] == [(title, "", 3)]
    assert inputs == [tmp_path / "c.yaml"]
