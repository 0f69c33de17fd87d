import os
import shutil
import sys
import tempfile
from pathlib import Path

# Tests import the project's packages and helpers.py from a plain checkout.
ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(Path(__file__).resolve().parent)]
# The shipped torch configs run our own example models (assets/configs/models): trusted in the suite, as a
# user's --trust would. Tests of the refusal take the variable away (tests/test_torch_trace.py).
os.environ["BACKPROP_TRUST"] = "1"


def pytest_addoption(parser):
    parser.addoption("--regenerate-controls", action="store_true",
                     help="Rewrite tests/control_frames/*.png and tests/screens/*.txt from the current scenes (look at them first).")


def pytest_configure(config):
    # Each process of the run (each xdist worker) gets a Manim media folder of its own: Manim writes a text's
    # SVG under media/texts by a name made from its content and removes temporary files there, so two
    # workers making the same text at once could read or delete each other's file (seen as a flaky
    # FileNotFoundError). Renders through render.py already use a temporary media folder each.
    from infra.manim_import import lighter

    lighter()  # Manim imported as a render imports it (without SciPy's spatial package and IPython)
    from manim import config as manim_config

    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    config._backprop_media = tempfile.mkdtemp(prefix=f"backprop-test-media-{worker}-")
    manim_config.media_dir = config._backprop_media
    # ... filled from the shared LaTeX/text cache as a render's private folders are (verified entries copied
    # in on demand, manim_patches.cache_seed): a test that builds formulas itself does not run LaTeX again
    # for each of them every session (graph30's graph: 23 s to build in a fresh media folder, 9.5 s seeded).
    from infra.cache import CACHE
    from manim_patches.cache_seed import seeding

    config._backprop_text_caches = {Path(manim_config.get_dir(key)): CACHE / name
                                     for key, name in (("tex_dir", "tex"), ("text_dir", "text"))}
    for folder in config._backprop_text_caches:
        folder.mkdir(parents=True, exist_ok=True)
    config._backprop_seeding = seeding(config._backprop_text_caches)
    config._backprop_seeding.__enter__()
    # ... and a text's or formula's glyphs come from the glyph cache, as in every render (which installs it
    # for the rest of its process anyway): parsing graph30's 400 label SVGs again was half of its test.
    from manim_patches import svg_cache

    svg_cache.install(CACHE / "svg")
    # ... and a formula is typeset once whatever its colours (each theme's), and a scene's announced formulas
    # in one LaTeX run, as in every render
    from manim_patches import tex_batch, tex_colours
    from scenes import style

    tex_colours.install()
    style.PREFETCH_TEX = tex_batch.prefetch
    # ... and tempconfig's setting the renderer it already has switches nothing (12 ms a time otherwise)
    from manim_patches import speedups

    speedups.keep_renderer()


def pytest_unconfigure(config):
    seeding = getattr(config, "_backprop_seeding", None)
    if seeding:
        seeding.__exit__(None, None, None)
        _publish(config._backprop_text_caches)
    media = getattr(config, "_backprop_media", None)
    if media:
        shutil.rmtree(media, ignore_errors=True)


def _publish(folders):
    """The session's new LaTeX/text SVGs into the shared cache, as a render publishes its own (record first)."""
    from infra.cache import CacheDirError
    from pipeline.render_job import publish_new_entries

    for private, shared in folders.items():
        if private.is_dir():
            try:
                publish_new_entries(private, shared)
            except (OSError, CacheDirError):  # a convenience here: a full or read-only cache fails no test
                pass


def pytest_collection_modifyitems(config, items):
    # The slow tests (renders) first, so that two workers start on the long ones and the short ones fill in
    # at the end (xdist's worksteal hands a worker's queue over in halves). Stable: the order within each
    # group is the files' own.
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)
