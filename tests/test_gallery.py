"""The gallery page in a real headless Chromium: it loads, every video has its metadata, no console errors."""
import functools
import http.server
import shutil
import threading

import pytest
from click.testing import CliRunner

from render import CONFIG_DIR, cli
from pipeline.render_job import RenderOptions, render_scene
from engine.source import trace_path_for
from pipeline.video import probe_duration

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
    r = CliRunner().invoke(cli, ["gallery", str(out)])
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
    index = audit_trace(trace_path_for(CONFIG_DIR / "chain_rule.yaml")).poster_index
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
