"""Golden traces: the engine's output for two shipped configs, kept as data so any change is reviewed.

Regenerate with `render.py trace assets/configs/NAME.yaml -o tests/golden/NAME.json` when a change is meant.
"""
import json
from pathlib import Path

import pytest

from engine.config import load_config
from engine.run import trace_config
from engine.trace import dumps
from render import CONFIG_DIR

GOLDEN = Path(__file__).parent / "golden"


@pytest.mark.parametrize("name", ["chain_rule", "vectors"])
def test_trace_matches_golden(name):
    ours = json.loads(dumps(trace_config(load_config(CONFIG_DIR / f"{name}.yaml"), str(CONFIG_DIR / f"{name}.yaml"))))
    golden = json.loads((GOLDEN / f"{name}.json").read_text())
    ours.pop("versions"), golden.pop("versions")  # the same numbers whatever the patch versions
    assert ours == golden
