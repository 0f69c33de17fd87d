"""Golden traces: the engine's output for two shipped configs, kept as data so any change is reviewed.

Regenerate with `render.py trace assets/configs/NAME.yaml -o tests/golden/NAME.json` when a change is meant.
"""
import json
import math
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
    assert _differences(ours, golden) == []


def _differences(a, b, where: str = "trace") -> list[str]:
    """Where two traces differ: structure, strings and integers exactly; floats to 1e-9 relative.

    BLAS picks its kernels by processor, so a matrix product may differ in the last bit from one machine
    to another (seen: -0.11200000000000002 against ...03); any error the engine could make is far larger.
    """
    if isinstance(a, float) or isinstance(b, float):
        ok = isinstance(a, (int, float)) and isinstance(b, (int, float)) and math.isclose(a, b, rel_tol=1e-9,
                                                                                       abs_tol=1e-12)
        return [] if ok else [f"{where}: {a!r} != {b!r}"]
    if type(a) is not type(b):
        return [f"{where}: {a!r} != {b!r}"]
    if isinstance(a, dict):
        if a.keys() != b.keys():
            return [f"{where}: keys {sorted(a)} != {sorted(b)}"]
        return [d for k in a for d in _differences(a[k], b[k], f"{where}.{k}")]
    if isinstance(a, list):
        if len(a) != len(b):
            return [f"{where}: {len(a)} items != {len(b)}"]
        return [d for i, (x, y) in enumerate(zip(a, b)) for d in _differences(x, y, f"{where}[{i}]")]
    return [] if a == b else [f"{where}: {a!r} != {b!r}"]


def test_golden_comparison_sees_a_wrong_number_a_missing_key_and_a_changed_label():
    golden = json.loads((GOLDEN / "chain_rule.json").read_text())
    assert _differences(golden, golden) == []
    wrong = json.loads(json.dumps(golden))
    wrong["nodes"][0]["value"] = golden["nodes"][0]["value"] + 1e-6
    assert _differences(wrong, golden) == [f"trace.nodes[0].value: {wrong['nodes'][0]['value']!r} != "
                                           f"{golden['nodes'][0]['value']!r}"]
    wrong["nodes"][1]["label"] = "zz"
    assert len(_differences(wrong, golden)) == 2
    del wrong["output"]
    assert _differences(wrong, golden)[0].startswith("trace: keys")
