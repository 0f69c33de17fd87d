"""A scene kind has one home: a kind defined here, in this module alone (its schema, tracer, trace check
and scene), and one registry entry, is listed, traced, checked and rendered through the CLI's normal path."""
import json
from typing import ClassVar, Literal

import pytest
from PIL import Image
from pydantic import Field

from manim import RIGHT, Text

from engine.config import KINDS, SceneConfig, SceneKind, load_config, register
from engine.trace import header
from engine.trace_check import InvalidTrace, check, check_values
from scenes import style
from scenes.animations import fade_in
from scenes.graph_scenes import TraceScene
from scenes.trace_data import validate
from helpers import run_cli


class CountdownConfig(SceneConfig):
    """Numbers counted down from start: the least a kind needs (its own keys and its own trace)."""

    kind: ClassVar[str] = "countdown"
    scene: Literal["countdown"]
    start: int = Field(3, ge=1, le=9, description="the first number")


def countdown_trace(cfg: CountdownConfig, source: str, allow_long: bool) -> dict:
    return {**header("countdown", cfg.model_dump()), "values": list(range(cfg.start, 0, -1))}


def check_countdown(d: dict) -> None:
    check_values(d, ("values",), "trace")
    check(len(d["values"]) <= 9, "trace.values", "at most 9 numbers")


class Countdown(TraceScene):
    """Its numbers, one by one: every one read from the trace."""

    trace_kind = "countdown"

    def story(self, trace: dict):
        self.show_title(trace)
        values = trace["values"]
        for i, v in enumerate(values):
            number = Text(str(v), font_size=72, color=style.TEXT).shift((2 * i - len(values) + 1) * RIGHT)
            self.play(fade_in(number), run_time=0.2)
        self.wait(0.2)


@pytest.fixture
def countdown(tmp_path, monkeypatch):
    from engine import source

    monkeypatch.setattr(source, "CACHE", tmp_path / "traces")
    kind = register(SceneKind("countdown", CountdownConfig, f"{__name__}:countdown_trace",
                              f"{__name__}:check_countdown", f"{__name__}:Countdown", "numbers counted down",
                              "countdown"))
    config = tmp_path / "countdown.yaml"
    config.write_text("scene: countdown\nstart: 4\ntitle: Count down\n")
    yield config
    assert KINDS.pop(kind.name) is kind


def run(*args):
    return run_cli(list(map(str, args)))


def test_a_new_kind_is_listed_loaded_and_traced(countdown, tmp_path):
    assert "countdown      numbers counted down" in run("list").output
    assert load_config(countdown).start == 4
    out = tmp_path / "t.json"
    r = run("trace", countdown, "-o", out)
    assert r.exit_code == 0, r.output
    trace = json.loads(out.read_text())
    assert trace["kind"] == "countdown" and trace["values"] == [4, 3, 2, 1]
    validate(trace)


def test_a_new_kind_validates_its_config_and_trace_by_its_own_rules(countdown, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("scene: countdown\nstart: 12\n")
    r = run("trace", bad)
    assert r.exit_code != 0 and "key 'start': Input should be less than or equal to 9" in r.output
    trace = {**header("countdown", {"scene": "countdown", "start": 3}), "values": list(range(12))}
    with pytest.raises(InvalidTrace, match=r"trace.values: at most 9 numbers"):
        validate(trace)
    del trace["values"]
    with pytest.raises(InvalidTrace, match="'values' is missing"):
        validate(trace)


def test_a_training_trace_is_checked_by_its_own_kind_not_as_histograms():
    """A zigzag trace whose runs lack the zigzag keys is refused as a zigzag (no kind falls to another's check)."""
    trace = {**header("zigzag", {"scene": "zigzag"}), "target": [1.0, -1.0],
             "runs": [{"activation": "sigmoid", "histograms": []}]}
    with pytest.raises(InvalidTrace, match=r"runs\[0\]: key 'weights' is missing"):
        validate(trace)


def test_a_new_kind_renders_a_still(countdown, tmp_path):
    out = tmp_path / "countdown.png"  # (a kind without a shipped config: its still is only looked at here)
    r = run("render", countdown, "--still", "--quality", "low", "-q", "-o", out)
    assert r.exit_code == 0, r.output
    with Image.open(out) as im:
        assert im.size == (426, 240)
        low, high = im.convert("L").getextrema()
        assert high - low > 100  # the numbers are drawn, not an empty frame
