"""Worked examples from cs231n and "Deep Learning from Scratch", with their published numbers."""
import numpy as np
import pytest

from engine.trace import decode_value
from helpers import grads_of, node_by_label, output_value, trace_of


def test_cs231n_add_mul_example():
    t = trace_of("q = x + y\nf = q * z", {"x": -2, "y": 5, "z": -4})
    assert output_value(t) == -12
    assert grads_of(t) == {"x": -4, "y": -4, "z": 3}
    assert node_by_label(t, "q")["grad"] == -4


def test_cs231n_sigmoid_neuron():
    t = trace_of("1/(1+exp(-(w0*x0 + w1*x1 + w2)))", {"w0": 2, "x0": -1, "w1": -3, "x1": -2, "w2": -3})
    assert output_value(t) == pytest.approx(0.73, abs=5e-3)
    g = grads_of(t)
    # The lecture's rounded numbers: dw = [-0.2, -0.39, 0.2], dx = [0.39, -0.59].
    assert [round(float(g[k]), 2) for k in ("w0", "w1", "w2", "x0", "x1")] == [-0.2, -0.39, 0.2, 0.39, -0.59]


def test_cs231n_vector_example():
    t = trace_of("q = W @ x\nf = sum(q ** 2)", {"W": [[0.1, 0.5], [-0.3, 0.8]], "x": [0.2, 0.4]})
    q = decode_value(node_by_label(t, "q")["value"])
    np.testing.assert_allclose(q, [0.22, 0.26])
    np.testing.assert_allclose(output_value(t), 0.116)
    g = grads_of(t)
    np.testing.assert_allclose(g["W"], 2 * np.outer(q, [0.2, 0.4]))  # dW = 2 q x^T
    np.testing.assert_allclose(g["W"], [[0.088, 0.176], [0.104, 0.208]])
    np.testing.assert_allclose(g["x"], [-0.112, 0.636])  # dx = 2 W^T q


def test_softmax_with_loss_backward_is_y_minus_t_over_batch():
    x = np.array([[0.3, 2.9, 4.0], [1.0, -1.0, 0.5]])
    tt = np.array([[0, 0, 1], [0, 1, 0]], dtype=float)
    t = trace_of("L = softmax_cross_entropy(a, t)", {"a": x.tolist()}, {"t": tt.tolist()})
    y = np.exp(x) / np.exp(x).sum(axis=1, keepdims=True)
    np.testing.assert_allclose(grads_of(t)["a"], (y - tt) / 2)
    step = t["backward"][0]
    np.testing.assert_allclose(decode_value(step["local"][0]), (y - tt) / 2)
    assert step["local"][1] is None and step["downstream"][1] is None  # labels get no gradient


def test_dlfs_sigmoid_local_is_y_times_one_minus_y():
    t = trace_of("y = sigmoid(x)", {"x": 0.5})
    y = float(output_value(t))
    assert t["backward"][0]["local"] == [pytest.approx(y * (1 - y))]


def test_relu_local_gradient_is_the_mask():
    t = trace_of("h = sum(relu(x))", {"x": [1.0, -0.5, 0.0, 2.0]})
    relu_step = next(s for s in t["backward"] if node_by_label(t, "relu")["id"] == s["node"])
    assert relu_step["local"] == [[1.0, 0.0, 0.0, 1.0]]
