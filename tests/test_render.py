"""Rendered files: every shipped scene renders, and the video is what the scene played."""
from pathlib import Path

import av
import pytest
from PIL import Image

from render import CONFIG_DIR
from pipeline.render_job import QUALITIES, RenderOptions, render_scene
from engine.source import trace_path_for
from helpers import run_cli, slow_except

SHIPPED = sorted(CONFIG_DIR.glob("*.yaml"))


def probe(path: Path) -> dict:
    with av.open(str(path)) as f:
        s = f.streams.video[0]
        frames = sum(1 for _ in f.decode(video=0))
        return {"codec": s.codec_context.name, "width": s.codec_context.width, "height": s.codec_context.height,
                "fps": float(s.average_rate), "frames": frames, "duration": float(f.duration / av.time_base)}


@pytest.mark.parametrize("config", slow_except(SHIPPED, {"gradcheck"}))
def test_scene_renders_valid_video(config, tmp_path):
    out = tmp_path / f"{config.stem}.mp4"
    result = render_scene(trace_path_for(config), out, RenderOptions(quality="low", progress=False))
    q = QUALITIES["low"]
    info = probe(out)
    assert info["codec"] == "h264"
    assert (info["width"], info["height"]) == (q.width, q.height)
    assert info["fps"] == q.fps
    assert result.animations > 5 and result.duration > 3
    # one frame per 1/fps of animation, give or take a frame per animation for rounding
    assert abs(info["frames"] - result.duration * q.fps) <= result.animations
    assert abs(info["duration"] - result.duration) < 0.5
    assert [p.name for p in tmp_path.iterdir()] == [out.name]  # no temporary files left beside it


def test_cli_still_is_a_png_of_the_preview_size(tmp_path):
    out = tmp_path / "still.png"
    r = run_cli(["render", str(CONFIG_DIR / "chain_rule.yaml"), "--still", "--upto", "13",
                                 "-o", str(out)])
    assert r.exit_code == 0, r.output
    with Image.open(out) as im:
        assert im.size == (854, 480)
        # something besides the background was drawn in the forward and the gradient colours
        colors = {c for _, c in im.convert("RGB").getcolors(maxcolors=1 << 20)}
        assert (0x56, 0xB4, 0xE9) in colors and (0xE6, 0x9F, 0x00) in colors


def test_render_refuses_bad_config_before_rendering(tmp_path):
    cfg = tmp_path / "bad.yaml"
    cfg.write_text("scene: graph\nexpression: x +\ninputs: {x: 1}\n")
    out = tmp_path / "o.mp4"
    r = run_cli(["render", str(cfg), "-o", str(out)])
    assert r.exit_code != 0 and "syntax error" in r.output and not out.exists()


@pytest.mark.slow
def test_scenes_render_with_plain_manim(tmp_path):
    """The scene classes work the way Manim users expect: `manim -s file.py Scene`."""
    import os
    import subprocess
    import sys

    from render import ROOT

    # a one-gate config of the kind: stock Manim copies the whole scene at every animation (gates.yaml's
    # 29 animations took 13-20 s here), and what is checked is that the class runs under `manim`
    config = tmp_path / "mul.yaml"
    config.write_text('scene: gates\ntitle: "Mul swaps"\nexpression: f = x * y\ninputs: {x: 3, y: -4}\n')
    env = {**os.environ, "BACKPROP_SOURCE": str(config)}
    r = subprocess.run([sys.executable, "-m", "manim", "render", "-ql", "-s", "--media_dir", str(tmp_path),
                        str(ROOT / "scenes" / "graph_scenes.py"), "GatePatterns"], env=env, capture_output=True,
                       text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    pngs = list(tmp_path.rglob("GatePatterns*.png"))
    assert len(pngs) == 1
    with Image.open(pngs[0]) as im:
        assert im.size == (854, 480)


def test_private_caches_publish_only_complete_new_files(tmp_path):
    """Parallel renders never write into the shared LaTeX/text cache directly (Manim's check-then-write races)."""
    from manim_patches.cache_seed import seed
    from pipeline.render_job import private_caches

    from infra.cache import write_entry

    shared = tmp_path / "cache"
    write_entry(shared / "text" / "old.svg", b"old", "old.svg")
    (shared / "text" / "unrecorded.svg").write_text("foreign")  # no checksum record: not trusted
    with private_caches(shared, ("text", "tex")) as dirs:
        assert not any(dirs["text"].iterdir())  # nothing copied before Manim asks
        seed(dirs["text"] / "old.svg")
        seed(dirs["text"] / "unrecorded.svg")
        assert (dirs["text"] / "old.svg").read_text() == "old"  # seeded from the shared cache when asked for
        assert not (dirs["text"] / "unrecorded.svg").exists()
        (dirs["text"] / "new.svg").write_text("new")
        (dirs["tex"] / "f.tex").write_text("tex")
        # nothing published yet; the unrecorded file, asked for, was removed (Pango makes it again)
        assert sorted(p.name for p in (shared / "text").iterdir()) == ["old.svg", "old.svg.sha256"]
    assert (shared / "text" / "new.svg").read_text() == "new"
    assert (shared / "tex" / "f.tex").read_text() == "tex"
    assert (shared / "tex" / "f.tex.sha256").exists()
    seed(tmp_path / "elsewhere.svg")  # after the render: no folder is seeded any more
    assert not (tmp_path / "elsewhere.svg").exists()


def test_a_render_takes_its_formulas_and_texts_from_the_shared_cache_without_making_them_again(tmp_path,
                                                                                               monkeypatch):
    """Manim's own lookups (MathTex, Text, MarkupText) find the shared entries through the on-demand seeding:
    the second render neither runs LaTeX nor Pango, and a shared SVG that does not verify is made again."""
    import manimpango
    from manim.mobject.text import text_mobject
    from manim import MarkupText, MathTex, Text, tempconfig
    from manim.utils import tex_file_writing

    from pipeline.render_job import private_caches

    shared = tmp_path / "cache"

    def build(dirs):
        with tempconfig({"tex_dir": str(dirs["tex"]), "text_dir": str(dirs["text"])}):
            return [MathTex(r"\frac{\partial f}{\partial x} = 3"), Text("seeded"), MarkupText("<b>on</b> demand")]

    with private_caches(shared, ("tex", "text")) as dirs:
        first = build(dirs)
    made = sorted(p.name for p in (shared / "text").glob("*.svg")) + sorted(p.name for p in (shared / "tex").glob("*.svg"))
    assert len(made) == 3

    def refuse(*args, **kwargs):
        raise AssertionError("made again although the shared cache has it")
    monkeypatch.setattr(tex_file_writing, "compile_tex", refuse)
    monkeypatch.setattr(manimpango, "text2svg", refuse)
    monkeypatch.setattr(text_mobject.MarkupUtils, "text2svg", refuse)
    with private_caches(shared, ("tex", "text")) as dirs:
        again = build(dirs)
        assert sorted(p.name for p in dirs["text"].glob("*.svg")) + sorted(p.name for p in dirs["tex"].glob("*.svg")) == made
    for a, b in zip(first, again):
        assert [len(m.points) for m in a.family_members_with_points()] == [len(m.points) for m in b.family_members_with_points()]

    svg = next((shared / "text").glob("*.svg"))
    svg.write_bytes(svg.read_bytes().replace(b"<svg", b"<svg data-edited='1'", 1))  # its record no longer matches
    monkeypatch.undo()
    with private_caches(shared, ("tex", "text")) as dirs:
        build(dirs)
        assert b"data-edited" not in (dirs["text"] / svg.name).read_bytes()  # made again by Pango, not copied


def test_a_file_written_again_in_a_private_cache_leaves_the_shared_entry_alone(tmp_path):
    """A render that rewrites a seeded file in place (Pango, LaTeX) must not reach the shared file: seeded
    entries are copies (hard links once let a chunked render empty shared SVGs)."""
    from infra.cache import verified, write_entry
    from manim_patches.cache_seed import seed
    from pipeline.render_job import private_caches

    shared = tmp_path / "cache"
    write_entry(shared / "text" / "a.svg", b"<svg/>", "a.svg")
    with private_caches(shared, ("text",)) as dirs:
        seed(dirs["text"] / "a.svg")  # as Manim's lookup does
        with open(dirs["text"] / "a.svg", "r+b") as f:  # in place, as a writer that truncates would
            f.truncate(0)
    assert (shared / "text" / "a.svg").read_bytes() == b"<svg/>"
    assert verified(shared / "text" / "a.svg", "a.svg")


def test_publishing_an_entry_another_render_published_first_keeps_the_first(tmp_path):
    from infra.cache import publish, verified, write_entry

    write_entry(tmp_path / "x.svg", b"first", "x.svg")
    late = tmp_path / ".late.part"
    late.write_bytes(b"second")
    assert publish(late, tmp_path / "x.svg", "x.svg", replace=False) is False
    assert not late.exists()
    assert (tmp_path / "x.svg").read_bytes() == b"first" and verified(tmp_path / "x.svg", "x.svg")
    write_entry(tmp_path / "x.svg", b"third", "x.svg")  # replacing is still the default
    assert (tmp_path / "x.svg").read_bytes() == b"third" and verified(tmp_path / "x.svg", "x.svg")


def test_a_scene_s_length_and_poster_animation_are_found_without_drawing():
    """scene_duration and poster_animation (the gallery's poster, the control frames) against the audit's
    record of every animation: chain_rule lasts until its last animation ends, half as long at pace 2, and
    its poster is the animation that ends its backward pass, where the summary starts."""
    from audit.run import audit_trace
    from engine.settings import Timing
    from pipeline.render_job import poster_animation, scene_duration

    trace = trace_path_for(CONFIG_DIR / "chain_rule.yaml")
    report = audit_trace(trace)
    assert scene_duration(trace) == pytest.approx(report.plays[-1].end) == pytest.approx(10.1)
    assert scene_duration(trace, RenderOptions(timing=Timing(2.0))) == pytest.approx(10.1 / 2)
    summary = next(start for name, start in report.steps if name.startswith("summary:"))
    index = poster_animation(trace)
    assert report.plays[index].end == pytest.approx(summary) and index == report.poster_index == 13


@pytest.mark.parametrize("text,size", [("16x16", (16, 16)), ("7680x4320", (7680, 4320)), (" 1280×720 ", (1280, 720))])
def test_a_resolution_is_width_by_height_even_from_16_to_7680(text, size):
    from pipeline.render_job import parse_resolution
    assert parse_resolution(text) == size


@pytest.mark.parametrize("text", ["14x16", "16x7682", "7682x16", "17x16", "16x15", "1280x", "x720", "1280*720"])
def test_a_resolution_out_of_range_odd_or_misspelt_is_refused(text):
    from pipeline.render_job import parse_resolution
    with pytest.raises(ValueError, match=r"must be even, from 16 to 7680|is not WIDTHxHEIGHT"):
        parse_resolution(text)
