"""Where an op is not defined the engine says so, word for word; at the edges of its domain it computes."""
import numpy as np
import pytest

from infra.errors import ConfigError
from engine.trace import decode_value
from helpers import grads_of, node_by_label, torch_eval, trace_of


@pytest.mark.parametrize("expression,inputs,message", [
    ("log(x)", {"x": -1.0}, "log of a non-positive number (-1)"),
    ("log(x)", {"x": [2.0, 0.0]}, "log of a non-positive number (0)"),
    ("sqrt(x)", {"x": [4.0, -2.0]}, "sqrt of a negative number (-2)"),
    ("sqrt(x)", {"x": [0.0, 0.5, -0.5]}, "sqrt of a negative number (-0.5)"),  # the first bad one, not 0 or 0.5
    ("log(x)", {"x": [0.5, -0.5]}, "log of a non-positive number (-0.5)"),
    ("mean(x, axis=2)", {"x": [1.0, 2.0]}, "axis 2 is out of range for an input of shape (2,)"),
    ("x / y", {"x": 1.0, "y": 0.0}, "division by zero"),
    ("x ** y", {"x": 0.0, "y": -1.0}, "zero raised to a negative power"),
    ("x.T", {"x": [[[1.0]]]}, "transpose takes a vector or a matrix, got shape (1, 1, 1)"),
    ("mse(x, y)", {"x": [1.0, 2.0], "y": [1.0]}, "mse needs targets of the predictions' shape (2,), got (1,)"),
    ("x[3]", {"x": [1.0, 2.0, 3.0]}, "index 3 is out of range for axis 0 of size 3"),
    ("x[-4]", {"x": [1.0, 2.0, 3.0]}, "index -4 is out of range for axis 0 of size 3"),
    ("x[0, 1]", {"x": [1.0, 2.0]}, "2 indices for an input of shape (2,)"),
])
def test_outside_the_domain(expression, inputs, message):
    with pytest.raises(ConfigError) as e:
        trace_of(expression, inputs)
    assert str(e.value) == f"<config>: key 'expression': {message}"


@pytest.mark.parametrize("expression,inputs", [
    ("log(x)", {"x": 0.5}), ("sqrt(x)", {"x": 0.25}), ("x[-3] + x[2]", {"x": [1.0, 2.0, 3.0]}),
    ("sum(x.T * x.T)", {"x": [[1.0, 2.0]]}), ("x ** y", {"x": 1.0, "y": 2.5}), ("x ** y", {"x": 0.5, "y": 3.0}),
    ("x ** y", {"x": 2.0, "y": -1.0}), ("x ** y", {"x": 0.0, "y": 2.0}),
])
def test_at_the_edges_of_the_domain_as_torch(expression, inputs):
    value, grads = torch_eval(expression, inputs)
    trace = trace_of(expression, inputs)
    ours = grads_of(trace)
    for name, g in grads.items():
        np.testing.assert_allclose(ours[name], g, rtol=1e-9, atol=1e-12)


def test_local_gradients_recorded_for_mean_and_index():
    # what the scene writes as the local gradient: 1/n for each element of a mean, a one-hot for x[i]
    trace = trace_of("mean(x) + x[1]", {"x": [1.0, 2.0, 3.0, 4.0]})
    locals_by_op = {}
    for step in trace["backward"]:
        op = next(n["op"] for n in trace["nodes"] if n["id"] == step["node"])
        locals_by_op[op] = [None if v is None else decode_value(v) for v in step["local"]]
    np.testing.assert_array_equal(locals_by_op["mean"][0], [0.25, 0.25, 0.25, 0.25])
    np.testing.assert_array_equal(locals_by_op["index"][0], [0.0, 1.0, 0.0, 0.0])
    x = node_by_label(trace, "x")
    np.testing.assert_array_equal(decode_value(x["grad"]), [0.25, 1.25, 0.25, 0.25])


def test_max_over_a_vector_with_ties_shares_like_torch():
    _, grads = torch_eval("max(x)", {"x": [3.0, 1.0, 3.0]})
    ours = grads_of(trace_of("max(x)", {"x": [3.0, 1.0, 3.0]}))
    np.testing.assert_array_equal(grads["x"], [0.5, 0.0, 0.5])
    np.testing.assert_array_equal(ours["x"], grads["x"])
