"""The gallery page in a real headless Chromium: it loads, every video has its metadata, no console errors."""
import functools
import http.server
import shutil
import threading

import numpy as np
import pytest

from render import CONFIG_DIR
from pipeline.render_job import RenderOptions, render_scene
from engine.source import trace_path_for
from pipeline.video import probe_duration
from helpers import run_cli

CHROMIUM = shutil.which("chromium")
# Debian's Chromium, headless; background networking off since this machine has no network to reach.
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@pytest.fixture(scope="module")
def gallery_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("gallery")
    render_scene(trace_path_for(CONFIG_DIR / "chain_rule.yaml"), out / "chain_rule.mp4",
                 RenderOptions(quality="low", progress=False))
    render_scene(trace_path_for(CONFIG_DIR / "gradcheck.yaml"), out / "gradcheck.webm",
                 RenderOptions(quality="low", progress=False, fmt="webm"))
    r = run_cli(["gallery", str(out)])
    assert r.exit_code == 0, r.output
    return out


@pytest.fixture(scope="module")
def server(gallery_dir):
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(gallery_dir))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


@pytest.mark.slow
def test_the_poster_is_the_moment_the_scene_marked(gallery_dir):
    from PIL import Image
    from pipeline.video import poster_time

    # chain_rule marks the end of its backward pass: every gradient on the graph, before the summary
    marked = poster_time(gallery_dir / "chain_rule.mp4")
    assert marked is not None and 0 < marked < probe_duration(gallery_dir / "chain_rule.mp4") - 1.5
    still = gallery_dir / "still.png"
    from audit.run import audit_trace
    from pipeline.render_job import poster_animation
    index = audit_trace(trace_path_for(CONFIG_DIR / "chain_rule.yaml")).poster_index
    # the cheap count the control frames use agrees with the audit's record of every animation
    assert poster_animation(trace_path_for(CONFIG_DIR / "chain_rule.yaml")) == index
    render_scene(trace_path_for(CONFIG_DIR / "chain_rule.yaml"), still,
                 RenderOptions(quality="low", progress=False, fmt="png", upto=index))
    poster = Image.open(next((gallery_dir / "posters").glob("chain_rule*.png"))).convert("RGB")
    expected = Image.open(still).convert("RGB")
    import numpy as np
    diff = np.abs(np.asarray(poster, dtype=float) - np.asarray(expected, dtype=float)).mean()
    assert diff < 6, diff  # the same frame, up to video compression
    still.unlink()


@pytest.mark.slow
def test_gallery_files(gallery_dir):
    page = (gallery_dir / "index.html").read_text()
    assert page.count("<video") == 2 and page.count("Copy embed code") == 2
    assert len(list((gallery_dir / "posters").glob("*.png"))) == 2
    assert "&lt;source src=&quot;chain_rule.mp4&quot; type=&quot;video/mp4&quot;&gt;" in page


@pytest.mark.slow
@pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is installed by scripts/setup.sh")
def test_gallery_in_chromium(gallery_dir, server):
    from playwright.sync_api import sync_playwright

    errors = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page()
        page.on("console", lambda m: m.type == "error" and errors.append(m.text))
        page.on("pageerror", lambda e: errors.append(str(e)))
        response = page.goto(f"{server}/index.html")
        assert response.ok
        page.wait_for_function("[...document.querySelectorAll('video')].every(v => v.readyState >= 1)",
                               timeout=20_000)
        found = page.eval_on_selector_all(
            "figure", "fs => fs.map(f => [f.dataset.clip, f.querySelector('video').duration,"
                      " f.querySelector('video').videoWidth])")
        # the box the page draws keeps the clip's 16:9 (no tall letterbox)
        boxes = page.eval_on_selector_all("video", "vs => vs.map(v => { const r = v.getBoundingClientRect();"
                                                   " return [r.width, r.height]; })")
        for w, h in boxes:
            assert abs(w / h - 426 / 240) < 0.02, (w, h)
        posters = page.eval_on_selector_all("video", "vs => vs.map(v => v.poster)")
        for poster in posters:
            assert page.request.get(poster).ok
        browser.close()
    assert errors == []
    assert {name for name, _, _ in found} == {"chain_rule.mp4", "gradcheck.webm"}
    for name, duration, width in found:
        assert abs(duration - probe_duration(gallery_dir / name)) < 0.15
        assert width == 426


def _shown(page) -> list[tuple[str, str | None, list[str]]]:
    """Each figure as a reader meets it: the clip, its video's text alternative, each step's narration."""
    return page.eval_on_selector_all(
        "figure", "fs => fs.map(f => [f.dataset.clip, f.querySelector('video').getAttribute('aria-label'),"
                  " [...f.querySelectorAll('ol.narration li')].map(li => li.childNodes[1].textContent)])")


@pytest.mark.slow
@pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is installed by scripts/setup.sh")
def test_each_clip_s_narration_is_on_the_page_and_its_poster_has_a_text_alternative(gallery_dir, server):
    """No clip here has authored narration: each step's is written from its config's trace (the shipped config
    of the clip's name), and the poster's text is what is said over the step it shows."""
    from playwright.sync_api import sync_playwright

    from pipeline.auto_narration import step_texts

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page()
        page.goto(f"{server}/index.html")
        shown = {clip: (label, said) for clip, label, said in _shown(page)}
        browser.close()
    chain = step_texts(trace_path_for(CONFIG_DIR / "chain_rule.yaml"), "en")
    check = step_texts(trace_path_for(CONFIG_DIR / "gradcheck.yaml"), "en")
    # chain_rule's poster: the end of the backward pass (the add gate's step), before the summary;
    # gradcheck's: every gradient checked, at the end of its last step
    assert shown == {"chain_rule.mp4": ("chain_rule.mp4: " + chain[-2], chain),
                     "gradcheck.webm": ("gradcheck.webm: " + check[-1], check)}


@pytest.fixture(scope="module")
def hostile_gallery(tmp_path_factory, gallery_dir):
    """A clip whose config's title is markup, with the config beside it; a clip whose name's shipped config
    has other steps (no narration from it); one with no config at all."""
    out = tmp_path_factory.mktemp("hostile")
    configs = tmp_path_factory.mktemp("hostile-configs")
    (configs / "c.yaml").write_text(f"scene: graph\ntitle: '{TITLE}'\nexpression: x * 2\ninputs: {{x: 3}}\n")
    render_scene(trace_path_for(configs / "c.yaml"), out / "c.mp4", RenderOptions(quality="low", progress=False))
    shutil.copy(gallery_dir / "chain_rule.mp4", out / "gates.mp4")
    shutil.copy(gallery_dir / "chain_rule.mp4", out / "no_such_config.mp4")
    shutil.copy(gallery_dir / "chain_rule.mp4", out / QUOTED)
    r = run_cli(["gallery", str(out), "--configs", str(configs), "--title", TITLE])
    assert r.exit_code == 0, r.output
    return out, configs


# quote-free, as an attacker writes it to get past attribute escaping; it would change the page's title
TITLE = "<img src=x alt=PWNED onerror=document.title=this.alt>"
# a file name that would close an attribute and open a handler; its # would end a URL
QUOTED = 'q" onmouseover="document.title=3 #1.mp4'


@pytest.mark.slow
@pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is installed by scripts/setup.sh")
def test_narration_from_a_config_is_text_on_the_gallery_never_markup(hostile_gallery):
    from playwright.sync_api import sync_playwright

    from pipeline.auto_narration import step_texts

    out, configs = hostile_gallery
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page()
        page.goto((out / "index.html").as_uri())
        page.wait_for_load_state("load")
        page.wait_for_timeout(300)
        title = page.evaluate("document.title")
        heading = page.evaluate("document.querySelector('h1').textContent")
        images = page.evaluate("document.querySelectorAll('img').length")
        handlers = page.evaluate("[...document.querySelectorAll('*')].flatMap(e => [...e.attributes])"
                                 ".filter(a => a.name.startsWith('on')).map(a => a.name)")
        page.wait_for_function("[...document.querySelectorAll('video')].every(v => v.readyState >= 1)",
                               timeout=20_000)  # every clip found by its URL, the odd name's too
        posters = page.evaluate("Promise.all([...document.querySelectorAll('video')].map(v => new Promise(done => {"
                                " const i = new Image(); i.onload = () => done(i.naturalWidth);"
                                " i.onerror = () => done(0); i.src = v.poster; })))")
        shown = {clip: (label, said) for clip, label, said in _shown(page)}
        browser.close()
    assert title == heading == TITLE and images == 0 and handlers == []
    assert posters == [426] * 4  # every poster found by its URL
    said = step_texts(trace_path_for(configs / "c.yaml"), "en")
    assert any(TITLE in sentence for sentence in said)  # the title step says it
    label, narration = shown["c.mp4"]
    assert narration == said and label.startswith("c.mp4: ") and label[len("c.mp4: "):] in said
    # gates.yaml's steps are not this clip's: no narration, the poster's text is its step's name (the clip's chapter)
    assert shown["gates.mp4"] == ("gates.mp4: backward: + gate q, x gets −4, y gets −4", [])
    assert shown["no_such_config.mp4"] == ("no_such_config.mp4: backward: + gate q, x gets −4, y gets −4", [])
    assert shown[QUOTED] == (QUOTED + ": backward: + gate q, x gets −4, y gets −4", [])


@pytest.mark.slow
def test_a_bad_config_of_a_clip_s_name_is_one_line_and_no_output(gallery_dir, tmp_path):
    out, configs = tmp_path / "out", tmp_path / "configs"
    out.mkdir()
    configs.mkdir()
    shutil.copy(gallery_dir / "chain_rule.mp4", out / "c.mp4")
    (configs / "c.yaml").write_text("scene: grpah\n")
    r = run_cli(["gallery", str(out), "--configs", str(configs)])
    assert r.exit_code == 1 and r.output.strip().splitlines() == [
        f"Error: {configs / 'c.yaml'}: key 'scene': unknown scene kind 'grpah' (did you mean 'graph'?); allowed: "
        + r.output.split("allowed: ")[1].strip()]
    assert [p.name for p in out.iterdir()] == ["c.mp4"]  # no poster, no page


def test_each_step_s_narration_is_listed_with_its_start_in_minutes_and_seconds():
    from pipeline.gallery import ClipStep, narration_html

    steps = [ClipStep("title", 3.0, "It starts."), ClipStep("forward", 59.96, "Values <flow>."),
             ClipStep("backward", 65.0, "Gradients."), ClipStep("summary", 754.2, "Done.")]
    page = narration_html(steps)
    assert '<li data-start="3.000"><span class="at">0:03.0</span>It starts.</li>' in page
    assert '<span class="at">1:00.0</span>Values &lt;flow&gt;.</li>' in page  # rounded first: never 0:60.0
    assert '<li data-start="65.000"><span class="at">1:05.0</span>Gradients.</li>' in page
    assert '<span class="at">12:34.2</span>Done.</li>' in page


@pytest.mark.parametrize("seconds,said", [(0.0, "0:00.0"), (9.94, "0:09.9"), (59.94, "0:59.9"), (59.95, "1:00.0"),
                                          (60.0, "1:00.0"), (61.26, "1:01.3"), (599.99, "10:00.0"),
                                          (3600.0, "60:00.0")])
def test_a_step_s_start_is_minutes_and_seconds_to_the_tenth(seconds, said):
    from pipeline.gallery import _minutes
    assert _minutes(seconds) == said


def _steps():
    from pipeline.gallery import ClipStep
    return [ClipStep("title", 0.0, "It starts."), ClipStep("forward", 1.0, None), ClipStep("backward", 2.0, "Grads.")]


@pytest.mark.parametrize("at,label", [
    (0.0, "c.mp4: It starts."),  # before any step has started: the first
    (0.5, "c.mp4: It starts."),
    (1.0, "c.mp4: It starts."),  # at a step's start: the step before it, ended
    (1.0004, "c.mp4: It starts."),  # the same start, as read to the millisecond
    (1.001, "c.mp4: forward"),  # a step with no narration: its name
    (2.5, "c.mp4: Grads."),
    (99.0, "c.mp4: Grads."),  # past the last step's start: the last
])
def test_a_poster_s_text_alternative_is_said_over_the_step_it_shows(at, label):
    from pathlib import Path

    from pipeline.gallery import poster_label
    assert poster_label(Path("out/c.mp4"), _steps(), at) == label


def test_a_poster_of_a_clip_without_steps_says_it_is_a_clip():
    from pathlib import Path

    from pipeline.gallery import poster_label
    assert poster_label(Path("c.webm"), [], 3.0) == "c.webm: a clip"


def test_a_clip_without_narration_has_no_narration_list():
    from pipeline.gallery import ClipStep, narration_html

    assert narration_html([]) == "" and narration_html([ClipStep("a", 0.0, None)]) == ""
    assert narration_html([ClipStep("a", 0.0, None), ClipStep("b", 1.5, "B & c")]) == (
        '  <ol class="narration">\n    <li data-start="1.500"><span class="at">0:01.5</span>B &amp; c</li>\n  </ol>\n')


@pytest.mark.parametrize("files,found", [
    ({"user/c.yaml", "user/c.yml"}, "user/c.yaml"),  # .yaml before .yml
    ({"user/c.yml"}, "user/c.yml"),
    ({"user/c.yaml", "other/c.yaml"}, "user/c.yaml"),  # the first folder given
    ({"other/c.yaml"}, "other/c.yaml"),
    (set(), None),
])
def test_a_clip_s_config_is_found_in_the_folders_given_in_order(tmp_path, files, found):
    from pipeline.gallery import find_config

    for name in files:
        (tmp_path / name).parent.mkdir(exist_ok=True)
        (tmp_path / name).write_text("scene: graph\n")
    (tmp_path / "user").mkdir(exist_ok=True)
    (tmp_path / "other").mkdir(exist_ok=True)
    assert find_config("c", (tmp_path / "user", tmp_path / "other")) == (tmp_path / found if found else None)


def test_a_user_config_wins_over_the_shipped_config_of_the_same_name(tmp_path):
    from pipeline.gallery import find_config
    from render import CONFIG_DIR

    assert find_config("chain_rule") == CONFIG_DIR / "chain_rule.yaml"  # none given: the shipped one
    (tmp_path / "chain_rule.yml").write_text("scene: graph\n")
    assert find_config("chain_rule", (tmp_path,)) == tmp_path / "chain_rule.yml"


def _poster_clip(path, poster=None, frames=20):
    """A 64x48 clip whose frame i is grey level 10 i (the poster chosen is read from its shade)."""
    from helpers import write_clip
    from pipeline.video import tag_clip

    write_clip(path, frames, ramp=True)
    if poster is not None:
        tag_clip(path, poster)
    return path


@pytest.mark.parametrize("poster,frame", [(None, 15), (0.0, 0), (0.5, 5), (1.2, 12), (5.0, 19)])
def test_the_poster_frame_is_the_marked_moment_else_three_quarters_in(tmp_path, poster, frame):
    # 20 frames at 10 fps: unmarked, frame 15 (0.75 of the way); marked at 1.2 s, frame 12; past the end, the last
    from PIL import Image

    from pipeline.gallery import save_poster

    clip = _poster_clip(tmp_path / "c.mp4", poster)
    assert save_poster(clip, tmp_path / "p.png") == (64, 48)
    shade = np.asarray(Image.open(tmp_path / "p.png").convert("L"), dtype=float).mean()
    assert abs(shade - 10 * frame) < 4, (shade, frame)


def test_the_gallery_shows_every_mp4_and_webm_whatever_the_case_of_their_suffix(tmp_path):
    """Clips named as `render -o` accepts them (.MP4 too): each is a figure with its own type; hidden files and
    other formats are not."""
    from pipeline.gallery import build_gallery

    for name in ("zz_a.mp4", "zz_b.MP4", "zz_c.webm", "zz_d.WebM", ".zz_hidden.mp4"):
        _poster_clip(tmp_path / name, frames=4)
    (tmp_path / "zz_e.mov").write_bytes(b"")
    (tmp_path / "notes.txt").write_text("x")
    page = build_gallery(tmp_path, lang="ko").read_text()
    assert page.count("<figure") == 4 and '<html lang="ko">' in page
    for name, mime in (("zz_a.mp4", "video/mp4"), ("zz_b.MP4", "video/mp4"), ("zz_c.webm", "video/webm"),
                       ("zz_d.WebM", "video/webm")):
        assert f'<source src="{name}" type="{mime}">' in page, name
    assert sorted(p.name for p in (tmp_path / "posters").iterdir()) == [
        "zz_a-mp4.png", "zz_b-MP4.png", "zz_c-webm.png", "zz_d-WebM.png"]


@pytest.mark.parametrize("chapters,config,lang,said", [
    ([], True, "en", []),  # a clip without steps
    ([("a", 0.0, 1.0), ("b", 1.0, 2.0)], False, "en", [("a", 0.0, None), ("b", 1.0, None)]),  # no config of its name
    ([("a", 0.0, 1.0), ("b", 1.0, 2.0)], True, "en", [("a", 0.0, "A."), ("b", 1.0, "B.")]),
    ([("a", 0.0, 1.0), ("b", 1.0, 2.0)], True, "ko", [("a", 0.0, "에이."), ("b", 1.0, "비.")]),  # named in English
    ([("가", 0.0, 1.0), ("나", 1.0, 2.0)], True, "en", [("가", 0.0, "A."), ("나", 1.0, "B.")]),  # rendered in Korean
    ([("a", 0.0, 1.0), ("c", 1.0, 2.0)], True, "en", [("a", 0.0, None), ("c", 1.0, None)]),  # other steps: not its
])
def test_a_clip_s_steps_are_narrated_from_the_config_of_its_name_when_their_names_agree(tmp_path, monkeypatch,
                                                                                      chapters, config, lang, said):
    from pipeline import auto_narration, gallery
    from pipeline.auto_narration import SpokenStep

    steps = {"en": [SpokenStep("a", 0.0, "A."), SpokenStep("b", 1.0, "B.")],
             "ko": [SpokenStep("가", 0.0, "에이."), SpokenStep("나", 1.0, "비.")]}
    monkeypatch.setattr(gallery, "read_chapters", lambda clip: chapters)
    monkeypatch.setattr(auto_narration, "spoken_steps", lambda trace, language: steps[language])
    monkeypatch.setattr("engine.source.trace_path_for", lambda config: config)
    if config:
        (tmp_path / "zz_clip.yaml").write_text("scene: graph\n")
    got = gallery.clip_steps(tmp_path / "zz_clip.mp4", (tmp_path,), lang)
    assert [(s.name, s.start, s.narration) for s in got] == said
