"""Bad configs and expressions: one line naming file, key and problem; nothing is executed."""
import math

import numpy as np
import yaml

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.config import ConfigError, load_config, parse_config
from engine.run import trace_config


def error_of(data) -> str:
    with pytest.raises(ConfigError) as e:
        trace_config(parse_config(data, "cfg.yaml"), "cfg.yaml")
    msg = str(e.value)
    assert "\n" not in msg and msg.startswith("cfg.yaml: ")
    return msg


def graph(expression, inputs=None, **extra):
    return {"scene": "graph", "expression": expression, "inputs": inputs or {"x": 1.0, "y": 2.0}, **extra}


@pytest.mark.parametrize("expression,fragment", [
    ("x.__class__", "attribute access is not allowed"),
    ("x[0:1]", "slices are not supported: index with integers"),
    ("x[y]", "an index must be an integer constant"),
    ("x ^ 2", "use x ** 2 for a power"),
    ("np.exp(x) + y", "use exp(...) without 'np.'"),
    ("pow(x, 2) + y", "unknown function 'pow': use x ** y"),
    ("x.real", "attribute access is not allowed (only W.T, the transpose)"),
    ("sum(x, axis=y)", "sum()'s axis must be an integer constant"),
    ("exp(x, axis=0)", "exp() takes no keyword arguments"),
    ("sum(x, dim=0) + y", "sum() takes only the keyword axis"),
    ("x + y + 1" + "0" * 400, "is too large (not a finite float)"),
    (" + ".join(["x"] * 1200) + " + y", "the graph has more than 500 nodes"),
    ("(lambda: x)()", "only calls of named functions"),
    ("[x for x in y]", "a comprehension is not allowed"),
    ("__import__('os')", "name '__import__' is not allowed"),
    ("import os", "Import statements are not allowed"),
    ("open('f')", "unknown function 'open'"),
    ("sigmod(x)", "did you mean 'sigmoid'"),
    ("exp(x, y)", "exp() takes 1 argument(s), got 2"),
    ("exp(x=y)", "takes no keyword arguments"),
    ("x if y else x", "a conditional expression is not allowed"),
    ("x < y", "a comparison is not allowed"),
    ("'text'", "only numbers are allowed as literals"),
    ("x + ", "syntax error"),
    ("x + zz", "undefined variable 'zz'"),
    ("x + y0", "did you mean 'y'"),
    ("x // y", "the operator FloorDiv is not allowed"),
    ("x = y + 1\nx", "input(s) 'x' not used by the expression"),  # rebound before its first use
    ("x / (y - 2)", "division by zero"),
    ("log(x - 1) + y", "log of a non-positive number"),
    ("x ** -1 + (y - 2) ** -1", "zero raised to a negative power"),
    ("exp(1000 * x) + y", "overflowed"),
    ("x", "not used by the expression"),
])
def test_bad_expressions(expression, fragment):
    msg = error_of(graph(expression))
    assert "key 'expression'" in msg and fragment in msg


def test_position_is_reported():
    assert "line 2, column 5" in error_of(graph("q = x + y\nf = q.real"))


@pytest.mark.parametrize("expression,inputs,fragment", [
    ("sum(A @ B)", {"A": [[[1, 2, 3], [4, 5, 6]], [[1, 2, 3], [4, 5, 6]]], "B": [[1], [2], [3]]},
     "matmul takes vectors or matrices (1-D or 2-D), got shapes (2, 2, 3) and (3, 1)"),
    ("softmax_cross_entropy(A, B)", {"A": [[[1.0, 2.0]]], "B": [[[0.0, 1.0]]]},
     "softmax_cross_entropy takes a vector (one example) or a matrix (one row per example), got shape (1, 1, 2)"),
    ("softmax_cross_entropy(A, B)", {"A": [[1.0, 2.0]], "B": [1.0, 0.0, 0.0]},
     "needs targets of the scores' shape (1, 2) (one-hot) or class indices of shape (1,), got (3,)"),
    ("sum(A * B)", {"A": [1.0, 2.0, 3.0], "B": [1.0, 2.0]}, "mul: operands could not be broadcast"),
    ("sum(A, axis=2) * B", {"A": [[1.0, 2.0]], "B": 1.0}, "axis 2 is out of range for an input of shape (1, 2)"),
    ("A[3] + B", {"A": [1.0, 2.0], "B": 1.0}, "index 3 is out of range for axis 0 of size 2"),
    ("transpose(A) * B", {"A": 1.0, "B": 1.0}, None),  # a scalar's transpose is itself: fine
])
def test_shape_errors_are_one_line(expression, inputs, fragment):
    if fragment is None:
        trace_config(parse_config(graph(expression, inputs), "cfg.yaml"), "cfg.yaml")
        return
    assert fragment in error_of(graph(expression, inputs))


def test_class_indices_must_be_in_range():
    msg = error_of(graph("softmax_cross_entropy(s, t)", {"s": [[1.0, 2.0]]}, constants={"t": [2]}))
    assert "class indices must be whole numbers from 0 to 1, got 2" in msg
    # each rule on its own: a fraction within range, and a negative whole number
    msg = error_of(graph("softmax_cross_entropy(s, t)", {"s": [[1.0, 2.0]]}, constants={"t": [0.5]}))
    assert "class indices must be whole numbers from 0 to 1, got 0.5" in msg
    msg = error_of(graph("softmax_cross_entropy(s, t)", {"s": [[1.0, 2.0]]}, constants={"t": [-1]}))
    assert "class indices must be whole numbers from 0 to 1, got -1" in msg


def test_a_long_flat_sum_is_no_recursion_error():
    t = trace_config(parse_config(graph(" + ".join(["x"] * 400) + " + y"), "cfg.yaml"))
    assert t["nodes"][-1]["value"] == 402.0  # 400 x + y, at x = 1 and y = 2


def test_matmul_shape_mismatch():
    msg = error_of(graph("sum(A @ b)", {"A": [[1, 2], [3, 4]], "b": [1, 2, 3]}))
    assert "matmul shape mismatch: (2, 2) @ (3,)" in msg


def test_non_scalar_output():
    assert "wrap it in sum" in error_of(graph("x * y", {"x": [1, 2], "y": 3}))


@pytest.mark.parametrize("data,fragment", [
    ({"expression": "x"}, "key 'scene' is missing; allowed: graph, gates, sigmoid_gate, vectors, layers, gradcheck, "
                          "vanishing, zigzag, histograms"),
    ({"scene": "grph", "expression": "x", "inputs": {}}, "unknown scene kind 'grph' (did you mean 'graph'?)"),
    (graph("x + y", inputz={}), "unknown key 'inputz' (did you mean 'inputs'?)"),
    ({"scene": "graph", "inputs": {"x": 1}}, "key 'expression' is missing"),
    (graph("x + y", {"x": "one", "y": 2}), "key 'inputs': 'x' must be a number"),
    (graph("x + y", {"x": [[1, 2], [3]], "y": 2}), "ragged"),
    (graph("x + y", {"x": float("nan"), "y": 2}), "non-finite"),
    (graph("x + y", {"x": True, "y": 2}), "key 'inputs': 'x' must be a number"),
    (graph("x + y", {"x": [0.0] * 20000, "y": 2}), "at most 10000"),
    (graph("x + y", h=-1), "key 'h'"),
    (graph("x + y", constants={"x": 1}), "given both as input and as constant"),
    ([1, 2], "must be a mapping"),
])
def test_bad_configs(data, fragment):
    with pytest.raises(ConfigError) as e:
        parse_config(data, "cfg.yaml")
    assert fragment in str(e.value) and str(e.value).startswith("cfg.yaml: ")


def test_yaml_syntax_error_names_line(tmp_path):
    p = tmp_path / "bad.yaml"
    p.write_text("scene: graph\ninputs: {x: 1\nexpression: x\n")
    with pytest.raises(ConfigError) as e:
        load_config(p)
    assert str(e.value).startswith(f"{p}: YAML syntax error: line")


def test_node_limit():
    expr = " + ".join(["x * y"] * 300)
    assert "at most 500" in error_of(graph(expr))


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="xy+-*/()@ .,=:\n01e[]_abcdefghijklmnopqrstuvwzT'", max_size=60))
def test_parser_fuzz_never_crashes(text):
    """Any text either traces or is refused with one line naming the file and key: nothing else escapes."""
    try:
        t = trace_config(parse_config(graph(text, {"x": 0.5, "y": [1.0, 2.0]}), "fuzz.yaml"), "fuzz.yaml")
    except ConfigError as e:
        assert "\n" not in str(e) and str(e).startswith("fuzz.yaml: key 'expression': "), str(e)
    else:
        assert t["output"] in {n["id"] for n in t["nodes"]}


def load(tmp_path, text: str):
    p = tmp_path / "c.yaml"
    p.write_text(text)
    return load_config(p)


def load_error(tmp_path, text: str) -> str:
    with pytest.raises(ConfigError) as e:
        load(tmp_path, text)
    msg = str(e.value)
    assert "\n" not in msg and msg.startswith(str(tmp_path / "c.yaml") + ": ")
    return msg


@pytest.mark.parametrize("written,value", [("1e-8", 1e-8), ("1e3", 1000.0), ("-2.5E+2", -250.0), (".5", 0.5),
                                           ("1e308", 1e308), ("010", 10), ("0x1F", 31), ("0o17", 15), ("+3", 3)])
def test_numbers_are_read_as_yaml_1_2_and_python_write_them(tmp_path, written, value):
    if isinstance(value, int):  # an integer key takes it as an integer
        assert load(tmp_path, f"scene: vanishing\nsteps: {written}\n").steps == value
    cfg = load(tmp_path, f"scene: graph\nexpression: x\ninputs: {{x: {written}}}\n")
    assert cfg.inputs["x"] == value


@pytest.mark.parametrize("text,fragment", [
    ("scene: graph\nexpression: x\ninputs: {x: yes}\n", "key 'inputs': 'x' must be a number"),  # 1.2: a string
    ("scene: graph\nexpression: x\ninputs: {x: 1}\nh: 1e3\n", "key 'h': Input should be less than or equal to 1"),
    ("scene: vanishing\nsteps: true\n", "key 'steps': Input should be a valid integer, got True"),
    ("scene: vanishing\ndepth: '3'\n", "key 'depth': Input should be a valid integer, got '3'"),
    ("scene: histograms\nbatch: 2.0\n", "key 'batch': Input should be a valid integer, got 2.0"),
    ("scene: zigzag\nlearning_rate: '0.5'\n", "key 'learning_rate': Input should be a valid number, got '0.5'"),
    ("scene: zigzag\nstart: [1, 2, 3]\n", "key 'start'"),
    ("scene: graph\nexpression: x\ninputs: {x: 1" + "0" * 400 + "}\n", "'x' holds a number too large for a float"),
    ("scene: graph\nexpression: x\ninputs: {x: 1" + "0" * 5000 + "}\n",
     "line 3, column 13: an integer with too many digits"),
    ("scene: graph\nexpression: x\ninputs: {x: " + "[" * 5000 + "1" + "]" * 5000 + "}\n", "nested too deeply"),
    ("scene: graph\nexpression: x\ninputs: {x: " + "[" * 6 + "1" + "]" * 6 + "}\n", "more than 4 dimensions"),
    ("scene: [graph]\n", "key 'scene': must be a name, got ['graph']"),
    ("scene: {a: 1}\n", "key 'scene': must be a name, got {'a': 1}"),
    ("x: &a [1, 2]\ny: *a\nscene: graph\n", "aliases (*name) are not allowed"),
])
def test_yaml_and_types_are_strict_with_one_line(tmp_path, text, fragment):
    assert fragment in load_error(tmp_path, text)


def test_alias_bomb_is_refused_at_once(tmp_path):
    import time
    bomb = "a: &a [" + ",".join(["1"] * 9) + "]\n" + "".join(
        f"{c}: &{c} [" + ",".join([f"*{p}"] * 9) + "]\n" for p, c in zip("abcdefgh", "bcdefghi"))
    start = time.monotonic()
    assert "aliases (*name) are not allowed" in load_error(tmp_path, "scene: graph\n" + bomb)
    assert time.monotonic() - start < 1.0


def test_values_in_messages_are_cut_short_at_fixed_lengths():
    from engine.config import _short
    assert _short(list(range(19))) == repr(list(range(19)))
    assert _short(list(range(20))) == "a list of 20 items"
    assert _short({str(i): i for i in range(25)}) == "a dict of 25 items"
    assert _short("a" * 78) == repr("a" * 78)  # 80 characters with its quotes: whole
    assert _short("a" * 79) == "'" + "a" * 76 + "..."  # 81: cut to 77 and an ellipsis


def test_a_misspelt_key_gets_one_suggestion_and_an_unknown_one_none():
    from engine.config import ConfigError, parse_config
    with pytest.raises(ConfigError) as e:
        parse_config({"scene": "vanishing", "stepz": 3})
    assert str(e.value).startswith("<config>: unknown key 'stepz' (did you mean 'steps'?); allowed: title, scene, ")
    with pytest.raises(ConfigError) as e:
        parse_config({"scene": "vanishing", "qqqq": 3})
    assert "unknown key 'qqqq'; allowed: title, scene, dataset" in str(e.value)
    with pytest.raises(ConfigError) as e:
        parse_config({"scene": "graph", "expression": "x", "inputs": {"x": 1}, "constants": 5})
    assert str(e.value) == "<config>: key 'constants': Input should be a valid dictionary, got 5"
    with pytest.raises(ConfigError) as e:
        parse_config({"scene": "vanishing", "depth": "abc"})
    assert str(e.value) == "<config>: key 'depth': Input should be a valid integer, got 'abc'"


def test_yaml_infinities_and_nan_are_read_as_floats(tmp_path):
    from engine.config import read_yaml
    p = tmp_path / "f.yaml"
    p.write_text("a: .inf\nb: -.Inf\nc: +.INF\nd: .NaN\ne: 1.5e3\n")
    got = read_yaml(p)
    assert (got["a"], got["b"], got["c"], got["e"]) == (math.inf, -math.inf, math.inf, 1500.0)
    assert math.isnan(got["d"])


@pytest.mark.parametrize("data,fragment", [
    ({"inputs": {"v" * 200: 3}, "expression": "v * 2"}, "key 'inputs': name 'vvvvvvvvvvvvvvvvvvvvvvvv...' is 200 "
                                                       "characters; a name is at most 24"),
    ({"inputs": {"x": 3}, "expression": "w" * 25 + " = x * 2\n" + "w" * 25 + " + 1"},
     "key 'expression': line 1, column 1: name 'wwwwwwwwwwwwwwwwwwwwwwww...' is 25 characters"),
])
def test_a_name_too_long_to_draw_is_one_line(tmp_path, data, fragment):
    from engine.config import load_config
    from engine.run import trace_config

    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump({"scene": "graph", **data}))
    with pytest.raises(ConfigError) as e:
        trace_config(load_config(path), path)
    assert fragment in str(e.value) and "\n" not in str(e.value)


def test_a_matrix_of_more_than_ten_columns_is_typeset():
    from scenes import style

    for cols in (10, 11, 40):
        tex = style.latex_array(np.arange(cols, dtype=float).reshape(1, cols))
        assert len(style.math(tex).submobjects[0]) > cols  # LaTeX ran, every entry drawn (amsmath stops at 10)


def test_a_lone_surrogate_given_through_the_api_names_its_key():
    with pytest.raises(ConfigError) as e:
        parse_config({"scene": "graph", "title": "fire \ud83d", "expression": "x * 2", "inputs": {"x": 3}})
    assert str(e.value).startswith("<config>: key 'title': U+D83D is half of a surrogate pair")
