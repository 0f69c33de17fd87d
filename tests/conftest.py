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
                     help="Rewrite tests/control_frames/*.png from the current scenes (then look at them).")


def pytest_configure(config):
    # Each process of the run (each xdist worker) gets a Manim media folder of its own: Manim writes a text's
    # SVG under media/texts by a name made from its content and removes temporary files there, so two
    # workers making the same text at once could read or delete each other's file (seen as a flaky
    # FileNotFoundError). Renders through render.py already use a temporary media folder each.
    from manim import config as manim_config

    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    config._backprop_media = tempfile.mkdtemp(prefix=f"backprop-test-media-{worker}-")
    manim_config.media_dir = config._backprop_media
    # Formulas and texts that tests build directly (not through render.py) look for LaTeX's and Pango's SVGs
    # in that folder: each is copied in from the checkout's cache, verified, when there is one, as a
    # render's would be (manim_patches.cache_seed), instead of running LaTeX again in every worker.
    # Read only: nothing a test makes there is published to the shared cache.
    from infra.cache import CACHE
    from manim_patches.cache_seed import seeding

    folders = {}
    for name, key in (("tex", "tex_dir"), ("text", "text_dir")):
        private = Path(config._backprop_media) / name
        private.mkdir()
        setattr(manim_config, key, str(private))
        folders[private] = CACHE / name
    config._backprop_seeding = seeding(folders)
    config._backprop_seeding.__enter__()


def pytest_unconfigure(config):
    seeding = getattr(config, "_backprop_seeding", None)
    if seeding is not None:
        seeding.__exit__(None, None, None)
    media = getattr(config, "_backprop_media", None)
    if media:
        shutil.rmtree(media, ignore_errors=True)


def pytest_collection_modifyitems(config, items):
    # The slow tests (renders) first, so that two workers start on the long ones and the short ones fill in
    # at the end (xdist's worksteal hands a worker's queue over in halves). Stable: the order within each
    # group is the files' own.
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)
