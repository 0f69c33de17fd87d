"""A render's size, frame rate and how much it says while it works."""
import subprocess
import sys

import av
import pytest

from render import CONFIG_DIR, ROOT

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
    from click.testing import CliRunner

    from render import cli
    r = CliRunner().invoke(cli, ["render", CHAIN, "-o", str(tmp_path / "x.mp4"), *args])
    assert r.exit_code == 2 and message in r.output and list(tmp_path.iterdir()) == []
