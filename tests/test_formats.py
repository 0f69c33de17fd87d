"""Clips to embed: each format opens with the expected size; themes, transparency and Korean text."""
import av
import numpy as np
import pytest
from PIL import Image

from render import CONFIG_DIR
from helpers import run_cli, slow_except

CHAIN = str(CONFIG_DIR / "chain_rule.yaml")


def render(tmp_path, name, *args):
    out = tmp_path / name
    r = run_cli(["render", CHAIN, "--quality", "low", "-o", str(out), *args])
    assert r.exit_code == 0, r.output
    return out


@pytest.mark.slow
def test_webm_and_transparent_webm(tmp_path):
    for name, extra in (("c.webm", []), ("t.webm", ["--transparent"])):
        out = render(tmp_path, name, "--format", "webm", *extra)
        with av.open(str(out)) as f:
            s = f.streams.video[0]
            assert s.codec_context.name == "vp9" and (s.codec_context.width, s.codec_context.height) == (426, 240)
            alpha = s.metadata.get("alpha_mode") or s.metadata.get("ALPHA_MODE")
            assert (alpha == "1") == bool(extra)
            assert sum(1 for _ in f.decode(video=0)) > 30


@pytest.mark.slow
def test_gif(tmp_path):
    out = render(tmp_path, "c.gif", "--format", "gif")
    with Image.open(out) as im:
        assert im.format == "GIF" and im.size == (426, 240) and im.n_frames > 30


def test_transparent_png_and_light_theme(tmp_path):
    clear = render(tmp_path, "t.png", "--still", "--transparent")
    with Image.open(clear) as im:
        alpha = np.asarray(im.convert("RGBA"))[..., 3]
        assert alpha[0, 0] == 0 and alpha.max() == 255  # background see-through, drawing opaque
    light = render(tmp_path, "l.png", "--still", "--theme", "light")
    with Image.open(light) as im:
        rgb = np.asarray(im.convert("RGB"))
        assert tuple(rgb[0, 0]) == (255, 255, 255)
        assert (rgb.sum(axis=2) < 200).any()  # dark text on the white background


def test_transparent_mp4_is_refused(tmp_path):
    r = run_cli(["render", CHAIN, "--transparent", "-o", str(tmp_path / "x.mp4")])
    assert r.exit_code != 0 and "MP4 has no alpha channel" in r.output


def test_korean_captions_are_hangul_glyphs_not_boxes(monkeypatch):
    from manim import Text

    from scenes import style

    monkeypatch.setenv("BACKPROP_LANG", "ko")
    caption = style.caption("backward")
    assert caption.startswith("역전파") and style.caption_font() == "NanumGothic"
    text = Text("역전파", font=style.caption_font())
    assert len(text.submobjects) == 3
    for glyph in text.submobjects:
        # A missing glyph is drawn as a rectangle (tofu): every point on its bounding box. Hangul is not.
        pts = glyph.points[:, :2]
        lo, hi = pts.min(axis=0), pts.max(axis=0)
        on_box = np.isclose(pts[:, 0], lo[0]) | np.isclose(pts[:, 0], hi[0]) | \
            np.isclose(pts[:, 1], lo[1]) | np.isclose(pts[:, 1], hi[1])
        assert on_box.mean() < 0.5


@pytest.mark.parametrize("fmt", slow_except(["mp4", "webm", "mov"], {"mp4"}))
def test_clips_carry_their_poster_moment_in_their_own_container(tmp_path, fmt):
    from pipeline.video import poster_time
    out = render(tmp_path, f"c.{fmt}", "--format", fmt)
    with av.open(str(out)) as f:
        assert f.format.name.split(",")[0] in {"mp4": ("mov",), "webm": ("matroska",), "mov": ("mov",)}[fmt]
        duration = float(f.duration / av.time_base)
        if fmt == "webm":  # the EBML doctype says webm, not matroska, so that browsers take it
            with open(out, "rb") as raw:
                assert b"webm" in raw.read(64)
    marked = poster_time(out)
    assert marked is not None and 0 < marked < duration
