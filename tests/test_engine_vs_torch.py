"""Values and gradients of the engine against torch autograd (float64, 1e-6)."""
import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from engine.config import ConfigError
from helpers import grads_of, output_value, torch_reference, trace_of

CASES = [
    ("(x + y) * z", {"x": -2, "y": 5, "z": -4}),
    ("1/(1+exp(-(w0*x0 + w1*x1 + w2)))", {"w0": 2, "x0": -1, "w1": -3, "x1": -2, "w2": -3}),
    ("x - y / z", {"x": 1.5, "y": -2, "z": 0.7}),
    ("x ** 3 + 2 ** y", {"x": -1.3, "y": 0.6}),
    ("x ** y", {"x": 1.7, "y": -0.4}),
    ("log(x) * exp(-y)", {"x": 2.5, "y": 0.3}),
    ("max(x, y) + min(x, y) * abs(x)", {"x": -0.5, "y": 0.25}),
    ("sigmoid(x) * tanh(y) + relu(x) + relu(y)", {"x": -1.2, "y": 0.8}),
    ("leaky_relu(x) + leaky_relu(y, 0.2)", {"x": -3.0, "y": 2.0}),
    ("q = x * y\nq = q + x\nf = q * q", {"x": 0.3, "y": -1.1}),  # reassignment and reuse
    ("sum((W @ x) ** 2)", {"W": [[0.1, 0.5], [-0.3, 0.8]], "x": [0.2, 0.4]}),
    ("sum(tanh(X @ W + b))", {"X": [[1, 2, 3], [0, -1, 2]], "W": [[0.1, -0.2], [0.3, 0.4], [-0.5, 0.6]],
                              "b": [0.1, -0.1]}),
    ("sum(x * y + 3)", {"x": [1.0, -2.0, 0.5], "y": 2.0}),  # scalar broadcast
    ("sum(abs(v) / (1 + v ** 2))", {"v": [[1.0, -2.0], [0.5, -0.1]]}),
    ("softmax_cross_entropy(x @ W, t)", {"x": [[1.0, 2.0], [-1.0, 0.5]], "W": [[0.3, -0.2, 0.1], [0.5, 0.4, -0.6]],
                                         "t": [[0, 0, 1], [1, 0, 0]]}),
    ("softmax_cross_entropy(s, t)", {"s": [2.0, 1.0, 0.1], "t": [0, 1, 0]}),
]


def assert_matches_torch(expression, inputs):
    trace = trace_of(expression, inputs)
    value, grads = torch_reference(expression, inputs)
    np.testing.assert_allclose(output_value(trace), value, rtol=1e-6, atol=1e-12)
    ours = grads_of(trace)
    for name, g in grads.items():
        np.testing.assert_allclose(ours[name], g, rtol=1e-6, atol=1e-12, err_msg=f"d/d{name} of {expression}")


@pytest.mark.parametrize("expression,inputs", CASES)
def test_matches_torch(expression, inputs):
    assert_matches_torch(expression, inputs)


@pytest.mark.parametrize("expression,inputs", CASES)
def test_numerical_gradient_agrees(expression, inputs):
    trace = trace_of(expression, inputs)
    for n in trace["nodes"]:
        if n["op"] == "input":
            np.testing.assert_allclose(n["numeric_grad"], n["grad"], rtol=1e-5, atol=1e-7)


def test_ties_split_like_torch():
    assert_matches_torch("max(x, y) + min(x, y)", {"x": 2.0, "y": 2.0})


def test_kinks_follow_torch_at_zero():
    assert_matches_torch("relu(x) + abs(y) + leaky_relu(z)", {"x": 0.0, "y": 0.0, "z": 0.0})


# Random scalar expressions over three variables.
VARS = ["x", "y", "z"]
UNARY = ["exp", "sigmoid", "tanh", "relu", "abs", "leaky_relu", "neg"]
BINARY = ["+", "-", "*", "/", "max", "min"]


def expressions(depth: int):
    leaf = st.sampled_from(VARS) | st.floats(-3, 3, allow_nan=False).map(lambda v: f"({v!r})")
    if depth == 0:
        return leaf
    sub = expressions(depth - 1)
    unary = st.tuples(st.sampled_from(UNARY), sub).map(lambda t: f"(-{t[1]})" if t[0] == "neg" else f"{t[0]}({t[1]})")
    binary = st.tuples(st.sampled_from(BINARY), sub, sub).map(
        lambda t: f"{t[0]}({t[1]}, {t[2]})" if t[0] in ("max", "min") else f"({t[1]} {t[0]} {t[2]})")
    return leaf | unary | binary


values = st.floats(-2, 2, allow_nan=False).filter(lambda v: abs(v) > 1e-3)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(expressions(4), st.fixed_dictionaries({v: values for v in VARS}))
def test_random_expressions_match_torch(expression, inputs):
    used = {v: inputs[v] for v in VARS if v in expression}
    assume(used)
    try:
        trace = trace_of(expression, used)
    except ConfigError:
        assume(False)  # a division by zero or overflow is refused, not a mismatch
    value, grads = torch_reference(expression, used)
    assume(np.all(np.isfinite(value)) and abs(value) < 1e6)
    np.testing.assert_allclose(output_value(trace), value, rtol=1e-6, atol=1e-9)
    ours = grads_of(trace)
    for name, g in grads.items():
        assume(np.all(np.isfinite(g)))
        np.testing.assert_allclose(ours[name], g, rtol=1e-6, atol=1e-9)


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 4), st.integers(1, 4), st.integers(1, 4), st.randoms(use_true_random=False))
def test_random_matmul_shapes_match_torch(n, k, m, rnd):
    rng = np.random.default_rng(rnd.randint(0, 2**31))
    inputs = {"A": rng.normal(size=(n, k)).tolist(), "B": rng.normal(size=(k, m)).tolist(),
              "c": rng.normal(size=(m,)).tolist()}
    assert_matches_torch("sum(sigmoid(A @ B + c) * (A @ B))", inputs)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(expressions(4), st.fixed_dictionaries({v: st.floats(-1e6, 1e6, allow_nan=False) | st.just(0.0) for v in VARS}))
def test_engine_fuzz_never_crashes(expression, inputs):
    """Any values, including zeros and huge ones: a trace (NaN or infinity recorded as such) or a ConfigError."""
    used = {v: inputs[v] for v in VARS if v in expression}
    assume(used)
    try:
        trace = trace_of(expression, used)
    except ConfigError:
        return
    assert trace["backward"] is not None and trace["output"]
