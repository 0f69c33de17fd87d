"""Control frames, as Manim's own graphical tests keep them: each scene kind's most informative frame (the
one its scene marks as the gallery's poster) at 426x240, compared with a stored PNG within a tolerance.

A change that moves what is drawn fails here: look at the new frame, and if it is right, rewrite the
controls with `pytest tests/test_control_frames.py --regenerate-controls`.
"""
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from engine.config import KINDS as SCENE_KINDS
from render import CONFIG_DIR
from pipeline.render_job import RenderOptions, poster_animation, render_scene
from engine.source import trace_path_for
from helpers import slow_except

CONTROLS = Path(__file__).parent / "control_frames"
# one config per scene kind, its example (sigmoid_neuron is a graph too, drawn by the same scene as chain_rule)
KINDS = [kind.example for kind in SCENE_KINDS.values()]
# mean absolute difference per channel (0-255), and the share of pixels allowed to differ by more than 64:
# anti-aliasing and font hinting move edges by a pixel, a moved label or a changed number does not pass
MEAN_TOLERANCE, PIXEL_TOLERANCE = 1.5, 0.004


# the fast subset draws the cheapest kinds' frames, one theme each
FAST = {("chain_rule", "dark"), ("gradcheck", "light"), ("zigzag", "dark"), ("gates", "light"), ("vectors", "dark")}


@pytest.mark.parametrize("name,theme", slow_except([(n, t) for n in KINDS for t in ("dark", "light")], FAST))
def test_key_frame_matches_its_control(name, theme, tmp_path, request):
    trace = trace_path_for(CONFIG_DIR / f"{name}.yaml")
    index = poster_animation(trace, RenderOptions(quality="low", theme=theme))
    out = tmp_path / "frame.png"
    render_scene(trace, out, RenderOptions(quality="low", fmt="png", upto=index, theme=theme, progress=False))
    control = CONTROLS / f"{name}-{theme}.png"
    if request.config.getoption("--regenerate-controls"):
        CONTROLS.mkdir(exist_ok=True)
        control.write_bytes(out.read_bytes())
        pytest.skip(f"rewrote {control}")
    got = np.asarray(Image.open(out).convert("RGB"), dtype=float)
    want = np.asarray(Image.open(control).convert("RGB"), dtype=float)
    assert got.shape == want.shape
    diff = np.abs(got - want)
    far = float((diff.max(axis=2) > 64).mean())
    assert diff.mean() <= MEAN_TOLERANCE and far <= PIXEL_TOLERANCE, (
        f"{name} ({theme}) differs from {control.name}: mean {diff.mean():.2f}, {100 * far:.2f}% of pixels")
