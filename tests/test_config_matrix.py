"""Every key of every scene kind, given values of the wrong type or out of range: one line naming the
file and the key, and no traceback, whatever the value."""
import math

import pytest

from engine.config import KINDS, ConfigError, parse_config
from helpers import run_cli, slow_except

WRONG = {"null": None, "text": "text", "list": [1, 2], "nested": [[[]]], "mapping": {"a": 1}, "bool": True,
         "nan": math.nan, "inf": -math.inf, "huge": 10 ** 400, "negative": -7}
BASE = {"graph": {"expression": "x", "inputs": {"x": 1.0}}}

SCHEMAS = {name: kind.schema for name, kind in KINDS.items()}
CASES = [(kind, key, name) for kind, schema in SCHEMAS.items() for key in schema.model_fields
         if key != "scene" for name in WRONG]


@pytest.mark.parametrize("kind,key,name", CASES, ids=[f"{k}-{f}-{n}" for k, f, n in CASES])
def test_wrong_values_are_one_line(kind, key, name):
    data = {**BASE.get(SCHEMAS[kind].kind, {}), "scene": kind, key: WRONG[name]}
    try:
        parse_config(data, "m.yaml")
    except ConfigError as e:
        msg = str(e)
        assert "\n" not in msg and msg.startswith(f"m.yaml: key '{key}") and len(msg) < 400, msg
    else:  # accepted: then it must be a sensible value for that key
        assert (name, key) in ACCEPTED, f"{kind}.{key} accepted {WRONG[name]!r}"


# Values that are right for their key: a title may be absent, constants empty, a target negative.
ACCEPTED = {("null", "title"), ("null", "alternative"), ("negative", "target"), ("mapping", "constants"),
            ("mapping", "inputs"), ("text", "title"), ("text", "expression"), ("text", "alternative"),
            ("list", "start"), ("list", "target")}  # an expression is parsed when traced, not here


def test_nan_start_is_refused_not_a_serialisation_error():
    with pytest.raises(ConfigError) as e:
        parse_config({"scene": "zigzag", "start": [math.nan, math.nan]}, "z.yaml")
    assert "key 'start.0'" in str(e.value)


@pytest.mark.parametrize("title", slow_except(['""', None], {None}))
def test_a_training_scene_without_a_title_renders(tmp_path, title):
    cfg = tmp_path / "h.yaml"
    cfg.write_text("scene: histograms\ndepth: 2\nwidth: 10\n" + (f"title: {title}\n" if title else ""))
    r = run_cli(["render", str(cfg), "--still", "--upto", "1", "--quality", "low",
                                 "-o", str(tmp_path / "h.png")])
    assert r.exit_code == 0, r.output
