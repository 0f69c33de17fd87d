"""The CLI through click's CliRunner: outputs, one-line errors, exit codes, no partial files."""
import json

import pytest

from helpers import run_cli, shipped_params
from render import CONFIG_DIR

SHIPPED = sorted(CONFIG_DIR.glob("*.yaml"))


def run(*args):
    return run_cli(args)


def test_list_shows_every_shipped_config():
    r = run("list")
    assert r.exit_code == 0
    for p in SHIPPED:
        assert p.name in r.output
    assert "INVALID" not in r.output


@pytest.mark.parametrize("config", shipped_params(SHIPPED))
def test_shipped_configs_trace_and_check(config, tmp_path):
    out = tmp_path / "t.json"
    assert run("trace", config, "-o", out).exit_code == 0
    trace = json.loads(out.read_text())
    assert trace["format"] == "backprop-trace" and trace["version"] == 1
    assert {"config", "versions", "kind"} <= trace.keys()
    if trace["kind"] == "graph":
        assert {"nodes", "output", "forward", "backward"} <= trace.keys()
        r = run("check", config)
        assert r.exit_code == 0, r.output
        assert "FAIL" not in r.output
    else:
        assert trace["runs"] and all("activation" in r for r in trace["runs"])


@pytest.mark.parametrize("name", ["layers", "vanishing", "zigzag", "histograms"])
def test_trace_is_byte_identical_across_runs(tmp_path, name):
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    run("trace", CONFIG_DIR / f"{name}.yaml", "-o", a)
    run("trace", CONFIG_DIR / f"{name}.yaml", "-o", b)
    assert a.read_bytes() == b.read_bytes()


def test_trace_to_stdout_is_json():
    r = run("trace", CONFIG_DIR / "chain_rule.yaml")
    assert json.loads(r.stdout)["output"]


def test_bad_config_one_line_no_output(tmp_path):
    cfg = tmp_path / "bad.yaml"
    cfg.write_text("scene: graph\nexpression: x + xx\ninputs: {x: 1}\n")
    out = tmp_path / "t.json"
    r = run("trace", cfg, "-o", out)
    assert r.exit_code != 0
    assert r.output.strip().splitlines() == [f"Error: {cfg}: key 'expression': line 1, column 5: "
                                             "undefined variable 'xx' (did you mean 'x'?); defined: x"]
    assert not out.exists() and list(tmp_path.iterdir()) == [cfg]


def test_failed_trace_keeps_previous_file(tmp_path):
    cfg = tmp_path / "bad.yaml"
    cfg.write_text("scene: graph\nexpression: log(x)\ninputs: {x: -1}\n")
    out = tmp_path / "t.json"
    out.write_text("previous")
    assert run("trace", cfg, "-o", out).exit_code != 0
    assert out.read_text() == "previous"


def test_missing_output_folders_are_made_by_every_command_alike(tmp_path):
    r = run("trace", CONFIG_DIR / "chain_rule.yaml", "-o", tmp_path / "new" / "deep" / "t.json")
    assert r.exit_code == 0, r.output
    assert (tmp_path / "new" / "deep" / "t.json").read_text().startswith("{")
    r = run("render", CONFIG_DIR / "chain_rule.yaml", "--still", "--quality", "low", "--upto", "0",
            "-o", tmp_path / "stills" / "x.png")
    assert r.exit_code == 0, r.output
    assert (tmp_path / "stills" / "x.png").read_bytes()[:4] == b"\x89PNG"


def test_missing_config_file():
    r = run("trace", "no/such.yaml")
    assert r.exit_code != 0 and "no/such.yaml: cannot read" in r.output


def test_check_at_a_kink_says_kink(tmp_path):
    cfg = tmp_path / "kink.yaml"  # abs's kink at 0: one-sided slopes 0 and 2, the analytic 1 lies between
    cfg.write_text("scene: gradcheck\nexpression: abs(x) + x\ninputs: {x: 0.0}\n")
    r = run("check", cfg, "--json")
    assert r.exit_code == 0
    row = json.loads(r.stdout)[0]
    assert row["status"] == "kink" and row["relative_error"] is None
    assert row["note"] == "kink at x: not differentiable, one-sided slopes 0 and 2"


def test_help_everywhere():
    for cmd in ([], ["list"], ["trace"], ["check"]):
        r = run(*cmd, "--help")
        assert r.exit_code == 0 and "Usage" in r.output


def test_the_batch_progress_counts_cached_clips_as_done():
    from render import _BatchProgress
    progress = _BatchProgress()
    progress.stop()  # before start: nothing to stop, no error
    progress.start(total=5, cached=2)
    task = progress.bar.tasks[0]
    assert (task.total, task.completed) == (5, 2)
    progress.advance()
    assert progress.bar.tasks[0].completed == 3
    columns = [type(c).__name__ for c in progress.bar.columns]
    assert columns == ["TextColumn", "BarColumn", "MofNCompleteColumn", "TimeElapsedColumn", "TextColumn",
                       "TimeRemainingColumn"]
    assert progress.bar.columns[0].text_format == "rendering clips" and progress.bar.columns[4].text_format == "left"
    progress.stop()
    assert progress.bar.live.is_started is False


@pytest.mark.parametrize("command", ["render", "lecture"])
def test_pace_nan_is_one_line(tmp_path, command):
    r = run(command, CONFIG_DIR / "chain_rule.yaml", "--pace", "nan", "-o", tmp_path / "x.mp4")
    assert r.exit_code == 2 and "Invalid value for '--pace': nan is not a number from 0.5 to 2" in r.output, r.output
    assert list(tmp_path.iterdir()) == []


def test_upto_past_the_last_animation_is_one_line_and_writes_nothing(tmp_path):
    import re

    config = tmp_path / "c.yaml"
    config.write_text("scene: graph\nexpression: x * 2\ninputs: {x: 3}\n")
    listed = run("info", config)
    count = int(re.search(r": (\d+) animations", listed.output)[1])
    r = run("render", config, "--still", "--quality", "low", "--upto", count, "-o", tmp_path / "past.png")
    assert r.exit_code == 1 and f"--upto {count}: the scene has {count} animations (0 to {count - 1})" in r.output
    assert not (tmp_path / "past.png").exists()
    r = run("render", config, "--still", "--quality", "low", "--upto", count - 1, "-o", tmp_path / "last.png")
    assert r.exit_code == 0, r.output
