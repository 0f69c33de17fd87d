"""Non-finite numbers survive the trace's JSON: written as strings any JSON reader loads, read back exactly."""
import json
import math

import numpy as np
import pytest

from engine.trace import decode_value, dumps, encode_value


@pytest.mark.parametrize("value,written", [(-math.inf, "-inf"), (math.inf, "inf"), (-0.0, 0.0), (1e-320, 1e-320)])
def test_special_floats_are_written_as_json_can_carry_them(value, written):
    assert encode_value(value) == written
    back = float(decode_value(json.loads(dumps({"v": encode_value(value)}))["v"]))
    assert back == value and math.copysign(1, back) == (1 if value == 0 else math.copysign(1, value))


def test_nan_and_nested_arrays_round_trip():
    a = np.array([[1.5, np.nan], [-np.inf, np.inf]])
    text = dumps({"a": encode_value(a)})
    assert '"nan"' in text and '"-inf"' in text and "NaN" not in text and "Infinity" not in text
    back = decode_value(json.loads(text)["a"])
    assert np.isnan(back[0, 1]) and back[1, 0] == -np.inf and back[1, 1] == np.inf and back[0, 0] == 1.5


def test_a_trace_keeps_korean_text_as_utf8_not_escapes():
    from engine.trace import dumps
    text = dumps({"title": "역전파: 첫 층", "x": 1.5})
    assert '"title": "역전파: 첫 층"' in text and "\\u" not in text and text.endswith("}\n")


def test_an_index_is_stored_in_the_trace_as_a_json_list():
    # what the API returns is the same data a trace file holds: W[1, 0]'s index is [1, 0], not a tuple
    from helpers import trace_of
    t = trace_of("W[1, 0] * 2", {"W": [[1.0, 2.0], [3.0, 4.0]]})
    node = next(n for n in t["nodes"] if n["op"] == "index")
    assert node["attrs"] == {"index": [1, 0]} and type(node["attrs"]["index"]) is list
