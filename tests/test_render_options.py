"""A render's size, frame rate and how much it says while it works."""
import subprocess
import sys

import av
import pytest

from render import CONFIG_DIR, ROOT
from helpers import run_cli

CHAIN = str(CONFIG_DIR / "chain_rule.yaml")


def _render(*args):
    return subprocess.run([sys.executable, str(ROOT / "render.py"), "render", CHAIN, *map(str, args)],
                          capture_output=True, text=True, cwd=ROOT, timeout=600)


@pytest.mark.slow
def test_a_custom_resolution_and_frame_rate_and_a_quiet_render(tmp_path):
    out = tmp_path / "c.mp4"
    r = _render("--resolution", "640x360", "--fps", "12", "-o", out, "--quiet")
    assert r.returncode == 0, r.stderr
    assert r.stderr == f"wrote {out}\n"  # nothing else: no progress at all
    with av.open(str(out)) as f:
        s = f.streams.video[0]
        assert (s.codec_context.width, s.codec_context.height, float(s.average_rate)) == (640, 360, 12.0)


@pytest.mark.slow
def test_the_default_says_one_line_and_verbose_shows_manim_s_own_bars(tmp_path):
    r = _render("--quality", "low", "-o", tmp_path / "a.mp4")
    assert r.returncode == 0 and r.stderr == f"wrote {tmp_path / 'a.mp4'}\n"  # not a terminal: no progress line
    r = _render("--quality", "low", "-o", tmp_path / "b.mp4", "--verbose")
    assert r.returncode == 0 and "Animation 0:" in r.stderr and r.stderr.count("Animation ") > 10  # a bar per animation


@pytest.mark.parametrize("args,message", [
    (["--resolution", "641x360"], "641x360: width and height must be even, from 16 to 7680"),
    (["--resolution", "wide"], "'wide' is not WIDTHxHEIGHT, e.g. 1280x720"),
    (["--fps", "0"], "0 is not in the range 1<=x<=120"),
    (["--quiet", "--verbose"], "choose one of --quiet and --verbose"),
])
def test_bad_render_options_are_one_line(tmp_path, args, message):
    r = run_cli(["render", CHAIN, "-o", str(tmp_path / "x.mp4"), *args])
    assert r.exit_code == 2 and message in r.output and list(tmp_path.iterdir()) == []


def test_render_options_are_one_frozen_object_that_carries_the_scene_s_environment():
    import dataclasses

    from engine.settings import HOLDS_ENV, LANG_ENV, PACE_ENV, THEME_ENV, RenderOptions, Timing

    options = RenderOptions(quality="low", theme="light", lang="ko", timing=Timing(0.5, (("forward", 2.0),)))
    with pytest.raises(dataclasses.FrozenInstanceError):
        options.theme = "dark"
    assert (options.size.width, options.size.height, options.size.fps) == (426, 240, 10)
    assert options.env() == {LANG_ENV: "ko", THEME_ENV: "light", PACE_ENV: "0.5", HOLDS_ENV: '[["forward", 2.0]]'}


def test_every_command_offers_the_values_the_constants_hold():
    """The CLI's choices are the constants themselves, not copies that drift apart from them."""
    import click

    from engine.settings import (FORMATS, HANDOUT_FORMATS, LANGS, LECTURE_FORMATS, PACE_RANGE, QUALITIES,
                                 SLIDE_FORMATS, THEMES, VOICES)
    from render import cli

    expected = {"quality": set(QUALITIES), "theme": set(THEMES), "lang": set(LANGS), "voice": set(VOICES)}
    formats = {"render": FORMATS, "lecture": LECTURE_FORMATS, "slides": SLIDE_FORMATS, "handout": HANDOUT_FORMATS}
    seen = set()
    for name, command in cli.commands.items():
        for param in command.params:
            if isinstance(param.type, click.Choice) and param.name in expected:
                assert set(param.type.choices) == expected[param.name], (name, param.name)
                seen.add(param.name)
            elif isinstance(param.type, click.Choice) and param.name in ("fmt", "to"):
                assert tuple(param.type.choices) == formats[name], name
                seen.add(name)
            elif param.name == "pace":
                assert (param.type.min, param.type.max) == PACE_RANGE, name
                seen.add(f"{name} pace")
    assert {"quality", "theme", "lang", "voice", *formats, "render pace", "lecture pace"} <= seen


def test_one_pace_range_for_the_cli_the_scene_and_a_recorded_voice(monkeypatch):
    """--pace, what a scene accepts from its environment, and how far a lecture stretches a chapter to its
    recorded voice are the one PACE_RANGE."""
    from engine.settings import PACE_ENV, PACE_RANGE
    from scenes.pacing import pace_from_env

    lo, hi = PACE_RANGE
    for pace in (lo, hi):
        monkeypatch.setenv(PACE_ENV, repr(pace))
        assert pace_from_env() == pace
    for pace in (lo / 2, hi * 2):
        monkeypatch.setenv(PACE_ENV, repr(pace))
        with pytest.raises(ValueError, match="outside"):
            pace_from_env()


def test_the_scenes_have_a_palette_a_font_and_captions_for_every_theme_and_language():
    from engine.settings import LANGS, THEMES
    from scenes import style

    assert set(style.THEMES) == set(THEMES)
    assert set(style.FONTS) == set(style.CAPTIONS) == set(LANGS)
