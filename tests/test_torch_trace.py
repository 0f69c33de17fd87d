"""Tracing torch autograd: every number against torch itself, written by hand here, or published values."""
import json
import os
import subprocess
import sys
import time

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from engine.torch_trace import trace_torch
from engine.trace import decode_value
from helpers import grads_of, output_value, run_cli, trace_of
from render import CONFIG_DIR, ROOT
from scenes.trace_data import validate


def _t(v):
    return torch.tensor(v, dtype=torch.float64, requires_grad=True)


def _node(trace, **match):
    return [n for n in trace["nodes"] if all(n.get(k) == v for k, v in match.items())]


def _sums_hold(trace):
    """Each node's gradient is the sum of what the backward steps sent it (checked again, from the JSON)."""
    got = {}
    nodes = {n["id"]: n for n in trace["nodes"]}
    for s in trace["backward"]:
        for src, d in zip(nodes[s["node"]]["inputs"], s["downstream"]):
            if d is not None:
                got[src] = got.get(src, 0) + decode_value(d)
    for n in trace["nodes"]:
        if n["grad"] is not None and n["id"] != trace["output"]:
            np.testing.assert_allclose(got[n["id"]], decode_value(n["grad"]), rtol=1e-12)


def test_the_cs231n_neuron_gives_the_published_gradients():
    # cs231n, "Backpropagation, Intuitions": w = [2, -3, -3], x = [-1, -2]; f = 0.73, dw = [-0.2, -0.39, 0.2],
    # dx = [0.39, -0.59]
    def neuron(w0, x0, w1, x1, w2):
        return 1 / (1 + torch.exp(-(w0 * x0 + w1 * x1 + w2)))

    t = trace_torch(neuron, dict(w0=2.0, x0=-1.0, w1=-3.0, x1=-2.0, w2=-3.0))
    validate(t)
    assert round(float(output_value(t)), 2) == 0.73
    g = {k: round(float(v), 2) for k, v in grads_of(t).items()}
    assert g == {"w0": -0.2, "x0": 0.39, "w1": -0.39, "x1": -0.59, "w2": 0.2}
    _sums_hold(t)
    # torch's own graph, where 1 / a is reciprocal then a multiplication by 1: drawn as cs231n's 1/x gate,
    # the multiply by 1 (torch's way of computing 1 / a, not the user's gate) left out; each op is a gate of ours
    assert [n["op"] for n in t["nodes"] if n["op"] not in ("input", "const")] == [
        "mul", "mul", "add", "add", "neg", "exp", "add", "reciprocal"]
    assert next(n for n in t["nodes"] if n["id"] == t["output"])["op"] == "reciprocal"
    assert [n["value"] for n in t["nodes"] if n["op"] == "const"] == [1.0]  # the + 1's constant only
    for step in t["backward"]:
        node = next(n for n in t["nodes"] if n["id"] == step["node"])
        for local, down in zip(step["local"], step["downstream"]):
            if down is not None:  # every gate here has its local factor, and local x upstream is what torch sent
                np.testing.assert_allclose(decode_value(local) * decode_value(step["upstream"]), decode_value(down))
        assert node["torch_op"].endswith("Backward0")


def test_only_torch_s_own_multiply_by_one_after_a_reciprocal_is_left_out():
    def f(x, y):  # 2 / x: reciprocal times 2; 1 / y used twice: its reciprocal feeds two ops
        r = 1 / y
        return 2 / x + r * r

    leaves = {"x": _t(0.5), "y": _t(-4.0)}
    t = trace_torch(f, {"x": 0.5, "y": -4.0})
    validate(t)
    ops = sorted(n["op"] for n in t["nodes"] if n["op"] not in ("input", "const"))
    assert ops == ["add", "mul", "mul", "reciprocal", "reciprocal"]  # 2/x's multiply and r*r's kept
    consts = sorted(float(n["value"]) for n in t["nodes"] if n["op"] == "const")
    assert consts == [2.0]  # 1/y's multiply by 1 is gone, and its constant with it
    _sums_hold(t)
    grads = torch.autograd.grad(f(**leaves), list(leaves.values()))
    for name, g in zip(leaves, grads):
        np.testing.assert_allclose(grads_of(t)[name], g.numpy(), rtol=1e-12)


SHARED = [  # (expression, the same written in torch by hand, inputs)
    ("x * y + x", lambda x, y: x * y + x, {"x": 1.5, "y": -2.0}),
    ("(x - y) / y", lambda x, y: (x - y) / y, {"x": 1.5, "y": -2.0}),
    ("exp(x) + log(y) + sqrt(y)", lambda x, y: torch.exp(x) + torch.log(y) + torch.sqrt(y), {"x": 0.3, "y": 2.0}),
    ("x ** 3 + abs(y)", lambda x, y: x ** 3 + torch.abs(y), {"x": 0.7, "y": -2.0}),
    ("sigmoid(x) * tanh(y) + relu(x - y)", lambda x, y: torch.sigmoid(x) * torch.tanh(y) + torch.relu(x - y),
     {"x": 0.4, "y": -0.3}),
    ("max(x, y) + min(x, y)", lambda x, y: torch.maximum(x, y) + torch.minimum(x, y), {"x": 0.4, "y": -0.3}),
    ("leaky_relu(x) + leaky_relu(-x)", lambda x: F.leaky_relu(x) + F.leaky_relu(-x), {"x": 0.8}),
    ("sum(W @ v) + mean(v)", lambda W, v: (W @ v).sum() + v.mean(), {"W": [[1.0, 2.0], [-0.5, 3.0]], "v": [0.2, -1.0]}),
    ("sum(A @ B)", lambda A, B: (A @ B).sum(), {"A": [[1.0, 2.0], [-0.5, 3.0]], "B": [[0.2, 1.0], [-1.0, 0.5]]}),
    ("max(v) + sum(transpose(A) @ v)", lambda v, A: torch.max(v) + (A.T @ v).sum(),
     {"v": [0.2, -1.0], "A": [[1.0, 2.0], [-0.5, 3.0]]}),
    ("sum(softmax(z) * w)", lambda z, w: (F.softmax(z, dim=-1) * w).sum(), {"z": [0.5, -1.0, 2.0], "w": [1.0, 2.0, 3.0]}),
    ("sum(log_softmax(z))", lambda z: F.log_softmax(z, dim=-1).sum(), {"z": [[0.5, -1.0, 2.0]]}),
]


@pytest.mark.parametrize("expression,fn,inputs", SHARED, ids=[s[0] for s in SHARED])
def test_an_expression_and_its_torch_code_give_the_same_numbers(expression, fn, inputs):
    ours = trace_of(expression, inputs)
    traced = trace_torch(fn, inputs)
    validate(traced)
    np.testing.assert_allclose(output_value(traced), output_value(ours), rtol=1e-12)
    for name, g in grads_of(ours).items():
        np.testing.assert_allclose(grads_of(traced)[name], g, rtol=1e-10, atol=1e-14)
    # and both against torch.autograd, asked directly
    leaves = {k: _t(v) for k, v in inputs.items()}
    grads = torch.autograd.grad(fn(**leaves), list(leaves.values()))
    for (name, _), g in zip(leaves.items(), grads):
        np.testing.assert_allclose(grads_of(traced)[name], g.numpy(), rtol=1e-12)
    _sums_hold(traced)
    for n in traced["nodes"]:
        if "numeric_grad" in n:
            assert n["relative_error"] < 1e-6


def test_views_in_place_ops_and_several_outputs_keep_the_trace_whole():
    def f(x, W):
        h = torch.relu(W @ x)
        z = (h * 2.0).clone()
        z.mul_(3)  # in place on a non-leaf
        a, b = torch.split(z, 1)  # two outputs of one op, both used
        return torch.logsumexp(a + b * b, 0) + F.cross_entropy(z.unsqueeze(0), torch.tensor([1])) + (x * x).sum()

    inputs = {"x": [1.0, -2.0], "W": [[0.1, 0.5], [-0.3, 0.8]]}
    t = trace_torch(f, inputs)
    validate(t)
    leaves = {k: _t(v) for k, v in inputs.items()}
    out = f(**leaves)
    out.backward()
    np.testing.assert_allclose(output_value(t), out.item(), rtol=1e-12)
    for name, leaf in leaves.items():
        np.testing.assert_allclose(grads_of(t)[name], leaf.grad.numpy(), rtol=1e-12)
    _sums_hold(t)
    splits = _node(t, torch_op="SplitBackward0")
    assert len(splits) == 2 and {json.dumps(n["value"]) for n in splits} == {"[6.0]", "[0.0]"}.__class__(
        json.dumps(n["value"]) for n in splits)
    muls = [n for n in t["nodes"] if n.get("torch_op") == "MulBackward0"]
    assert any(n["inputs"][0] == n["inputs"][1] for n in muls)  # x * x: one node feeding both slots
    assert [n["op"] for n in _node(t, torch_op="LogsumexpBackward0")] == ["torch"]
    assert _node(t, torch_op="LogsumexpBackward0")[0]["symbol"] == "logsumexp"


def test_a_module_s_parameters_are_inputs_named_as_torch_names_them():
    class Net(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.fc1 = torch.nn.Linear(3, 2)
            self.fc2 = torch.nn.Linear(2, 2)

        def forward(self, x):
            return self.fc2(torch.relu(self.fc1(x)))

    torch.manual_seed(0)
    net = Net().double()
    x, target = torch.tensor([[1.0, -2.0, 0.5]], dtype=torch.float64), torch.tensor([1])
    t = trace_torch(lambda x: F.cross_entropy(net(x), target), {}, {"x": x},
                    names={id(p): n for n, p in net.named_parameters()})
    validate(t)
    loss = F.cross_entropy(net(x), target)
    loss.backward()
    params = dict(net.named_parameters())
    assert list(grads_of(t)) == ["fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"]
    for name, g in grads_of(t).items():
        np.testing.assert_allclose(g, params[name].grad.numpy(), rtol=1e-12)
    assert _node(t, op="const")[0]["label"] == "x"


def test_a_non_scalar_output_and_an_output_without_gradient_are_one_line_errors():
    from infra.errors import ConfigError
    with pytest.raises(ConfigError, match=r"^the function must return a scalar float tensor, got a torch.float64 "
                                          r"tensor of shape \(2,\) \(reduce it"):
        trace_torch(lambda x: x * 2, {"x": [1.0, 2.0]})
    with pytest.raises(ConfigError, match="^the output does not depend on any input that gets a gradient$"):
        trace_torch(lambda x, c: c.sum(), {"x": 1.0}, {"c": [1.0]})


def test_an_in_place_change_through_a_view_is_refused_with_the_reason():
    from infra.errors import ConfigError

    def f(x):
        y = x * 1.0
        y[0].mul_(2.0)  # rewrites y's history through a view: CopySlices
        return y.sum()

    with pytest.raises(ConfigError, match="forward value was not recorded"):
        trace_torch(f, {"x": [1.0, 2.0]})


# --- configs: code is not data ------------------------------------------------------------------------
def _run(args, env_trust: bool):
    # In process (torch is imported once per session, not once per call); CliRunner reports the exit code
    # and the standard error the command line would, and the trust variable is unset for the call only.
    r = run_cli([*map(str, args)], env={"BACKPROP_TRUST": "1" if env_trust else None})
    return subprocess.CompletedProcess(args, r.exit_code, r.stdout, r.stderr)


def _model(tmp_path, body: str, extra: str = ""):
    (tmp_path / "model.py").write_text("import torch\n\n" + body)
    cfg = tmp_path / "c.yaml"
    cfg.write_text(f"scene: graph\ntorch: model.py:f\ninputs: {{x: 2.0}}\n{extra}")
    return cfg


def test_torch_code_runs_only_when_trusted_and_says_what_it_runs(tmp_path):
    marker = tmp_path / "ran"
    cfg = _model(tmp_path, f"open({str(marker)!r}, 'w').close()\n\ndef f(x):\n    return x * x\n")
    out = tmp_path / "t.json"
    r = _run(["trace", cfg, "-o", out], env_trust=False)
    assert r.returncode == 1 and not marker.exists() and not out.exists()
    assert r.stderr.strip() == (f"Error: {cfg}: key 'torch' runs Python code (model.py:f); run it only if you "
                                "trust it, with --trust (or BACKPROP_TRUST=1)")
    r = _run(["trace", cfg, "-o", out, "--trust"], env_trust=False)
    assert r.returncode == 0, r.stderr
    assert f"running {tmp_path / 'model.py'}:f" in r.stderr and marker.exists()
    assert grads_of(json.loads(out.read_text())) == {"x": 4.0}


def test_untrusted_code_is_refused_before_torch_is_imported(tmp_path):
    cfg = _model(tmp_path, "def f(x):\n    return x * x\n")
    code = ("import sys; from click.testing import CliRunner; from render import cli; "
            f"r = CliRunner().invoke(cli, ['trace', {str(cfg)!r}]); print(r.exit_code, 'torch' in sys.modules)")
    env = {k: v for k, v in os.environ.items() if k != "BACKPROP_TRUST"}
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=ROOT, timeout=60)
    assert r.stdout.split() == ["1", "False"], r.stderr


def test_the_user_s_exception_is_shown_as_their_own_traceback(tmp_path):
    cfg = _model(tmp_path, "def helper(x):\n    return x / undefined_name\n\n\ndef f(x):\n    return helper(x)\n")
    out = tmp_path / "t.json"
    r = _run(["trace", cfg, "-o", out, "--trust"], env_trust=False)
    assert r.returncode == 1 and not out.exists()
    lines = r.stderr.splitlines()
    assert lines[1] == "Error: the torch code raised an exception:"
    assert f'File "{tmp_path / "model.py"}", line 8, in f' in r.stderr
    assert f'File "{tmp_path / "model.py"}", line 4, in helper' in r.stderr
    assert lines[-1] == "NameError: name 'undefined_name' is not defined" and "" not in lines
    assert "engine" not in r.stderr.replace("Error:", "")  # none of our frames


def test_code_outside_the_config_s_folder_is_refused(tmp_path):
    (tmp_path / "model.py").write_text("def f(x):\n    return x * x\n")
    sub = tmp_path / "configs"
    sub.mkdir()
    cfg = sub / "c.yaml"
    cfg.write_text("scene: graph\ntorch: ../model.py:f\ninputs: {x: 2.0}\n")
    r = run_cli(["trace", str(cfg), "--trust"])
    assert r.exit_code == 1
    assert f"key 'torch': ../model.py is outside the config's folder ({sub})" in r.output


def test_config_errors_of_a_torch_config_are_one_line(tmp_path):
    from engine.config import parse_config
    from infra.errors import ConfigError
    cases = [
        ({"scene": "graph", "torch": "m.py:f", "expression": "x", "inputs": {"x": 1}},
         "c.yaml: give either 'expression' (a formula, data) or 'torch' (Python code), not both"),
        ({"scene": "graph", "torch": "m.py", "inputs": {"x": 1}}, "c.yaml: key 'torch': String should match pattern"),
        ({"scene": "graph", "torch": "m.py:f", "inputs": {"x": 1}, "loss": "mse"}, "c.yaml: loss 'mse' needs a target"),
        ({"scene": "graph", "torch": "m.py:f", "inputs": {"x": 1}, "target": [1, "a"]},
         "c.yaml: key 'target': 'target' must be a number or a nested list of numbers"),
    ]
    for data, start in cases:
        with pytest.raises(ConfigError) as e:
            parse_config(data, "c.yaml")
        assert str(e.value).startswith(start), str(e.value)
        assert "\n" not in str(e.value)


def test_an_edited_model_is_traced_again(tmp_path, monkeypatch):
    from engine import source
    monkeypatch.setattr(source, "CACHE", tmp_path / "cache")
    cfg = _model(tmp_path, "def f(x):\n    return x * x\n")
    first = source.trace_path_for(cfg)
    assert grads_of(json.loads(first.read_text())) == {"x": 4.0}
    (tmp_path / "model.py").write_text("def f(x):\n    return x * x * x\n")
    second = source.trace_path_for(cfg)
    assert second != first and grads_of(json.loads(second.read_text())) == {"x": 12.0}


def test_the_shipped_mlp_matches_the_same_net_written_by_hand():
    from engine.config import load_config
    from engine.run import trace_config
    path = CONFIG_DIR / "torch_mlp.yaml"
    t = trace_config(load_config(path), str(path))
    torch.manual_seed(0)
    fc1, fc2 = torch.nn.Linear(3, 2).double(), torch.nn.Linear(2, 2).double()
    loss = F.cross_entropy(fc2(torch.relu(fc1(torch.tensor([[1.0, -2.0, 0.5]], dtype=torch.float64)))),
                           torch.tensor([1]))
    loss.backward()
    np.testing.assert_allclose(output_value(t), loss.item(), rtol=1e-12)
    want = {"fc1.weight": fc1.weight, "fc1.bias": fc1.bias, "fc2.weight": fc2.weight, "fc2.bias": fc2.bias}
    for name, g in grads_of(t).items():
        np.testing.assert_allclose(g, want[name].grad.numpy(), rtol=1e-12)


def test_the_shipped_torch_neuron_draws_what_the_expression_neuron_draws():
    from engine.config import load_config
    from engine.run import trace_config
    a, b = (trace_config(load_config(CONFIG_DIR / n), str(CONFIG_DIR / n))
            for n in ("torch_sigmoid_neuron.yaml", "sigmoid_neuron.yaml"))
    assert output_value(a) == pytest.approx(float(output_value(b)), rel=1e-15)
    for name, g in grads_of(b).items():
        assert float(grads_of(a)[name]) == pytest.approx(float(g), rel=1e-12)


def test_layer_norm_and_logsumexp_against_torch_by_hand():
    from engine.config import load_config
    from engine.run import trace_config
    path = CONFIG_DIR / "torch_layer_norm.yaml"
    t = trace_config(load_config(path), str(path))
    x, gamma, beta = _t([1.0, -2.0, 0.5]), _t([1.0, 0.5, 2.0]), _t([0.0, 0.1, -0.2])
    mean, var = x.mean(), x.var(unbiased=False)
    out = torch.logsumexp((x - mean) / torch.sqrt(var + 1e-5) * gamma + beta, dim=0)  # layer_norm written out
    out.backward()
    assert [n["symbol"] for n in t["nodes"] if n["op"] == "torch"] == ["layer_norm", "logsumexp"]
    for name, leaf in {"x": x, "gamma": gamma, "beta": beta}.items():
        np.testing.assert_allclose(grads_of(t)[name], leaf.grad.numpy(), rtol=1e-9)


@pytest.mark.parametrize("loss,batch", [("sum", 1), ("mse", 5)])
def test_histograms_on_torch_hooks_equal_the_numpy_path(loss, batch):
    from engine.config import parse_config
    from engine.run import trace_config
    base = {"scene": "histograms", "depth": 3, "width": 20, "in_features": 2, "batch": batch, "loss": loss,
            "target": 0.5, "activations": ["sigmoid", "tanh", "relu"], "bins": 10}
    ours, theirs = (trace_config(parse_config({**base, "engine": e})) for e in ("numpy", "torch"))
    assert "torch" in theirs["versions"] and "torch" not in ours["versions"]
    for a, b in zip(ours["runs"], theirs["runs"]):
        for ha, hb in zip(a["histograms"], b["histograms"]):
            assert (ha["counts"], ha["positive"], ha["negative"], ha["zero"]) == (
                hb["counts"], hb["positive"], hb["negative"], hb["zero"])
            np.testing.assert_allclose(ha["edges"], hb["edges"], rtol=1e-12, atol=1e-12 * max(map(abs, ha["edges"])))


@pytest.mark.parametrize("extra", [{}, {"dtype": "float32", "loss_form": "naive", "bias_init": "normal", "init": "normal"},
                                   {"loss_form": "naive", "bias_init": "normal", "init": "normal"},
                                   {"dataset": "circles", "depth": 4, "width": 5, "init": "he", "seeds": 2},
                                   {"depth": 8, "width": 16, "learning_rate": 10, "init": "he", "bias_init": "normal",
                                    "loss_form": "naive", "activations": ["relu", "tanh"]}],
                         ids=["float64", "float32-naive", "float64-naive", "circles-seeds", "diverging"])
def test_vanishing_runs_on_torch_equal_the_compiled_loop(extra):
    from engine.config import parse_config
    from engine.run import trace_config
    base = {"scene": "vanishing", "depth": 6, "width": 5, "steps": 120, "record_every": 25, **extra}
    ours, theirs = (trace_config(parse_config({**base, "engine": e})) for e in ("numpy", "torch"))
    assert theirs["versions"].keys() - ours["versions"].keys() == {"torch"}
    # Rounding differs in the last bits and training carries it on: float64 paths agree to 1e-6 throughout.
    # In float32 that difference grows by half within 50 steps of this chaotic start: step 0 (one pass) is
    # compared, to 1e-5.
    f32 = extra.get("dtype") == "float32"
    for a, b in zip(ours["runs"], theirs["runs"]):
        assert a["steps"] == b["steps"] == [0, 25, 50, 75, 100, 120]
        for key in ("loss", "accuracy", "grad_norms"):
            want, got = np.asarray(decode_value(a[key])), np.asarray(decode_value(b[key]))
            np.testing.assert_allclose(got[0], want[0], rtol=1e-5 if f32 else 1e-6, atol=1e-12, equal_nan=True)
            if not f32:
                np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-12, equal_nan=True)
    for a, b in zip(ours["seed_summary"], theirs["seed_summary"]):
        assert (a["solved"], a["diverged"], a["dead_at_init"]) == (b["solved"], b["diverged"], b["dead_at_init"])
    if "learning_rate" in extra:  # a step of 10 blows both networks up: the runs stop as the loop's do
        assert [s["diverged"] for s in theirs["seed_summary"]] == [1, 1]


@pytest.mark.parametrize("batch_size", [1, 7])
def test_zigzag_on_torch_sgd_equals_the_numpy_descent(batch_size):
    from engine.config import parse_config
    from engine.run import trace_config
    base = {"scene": "zigzag", "steps": 30, "batch_size": batch_size}
    ours, theirs = (trace_config(parse_config({**base, "engine": e})) for e in ("numpy", "torch"))
    for a, b in zip(ours["runs"], theirs["runs"]):
        for key in ("weights", "grads", "loss"):
            np.testing.assert_allclose(decode_value(b[key]), decode_value(a[key]), rtol=1e-12, atol=1e-15)
        assert a["same_sign_steps"] == b["same_sign_steps"]


def test_an_output_of_shape_one_is_drawn_as_the_scalar_it_is():
    t = trace_torch(lambda x: (x * x).sum().reshape(1), {"x": [1.0, 2.0]})
    validate(t)
    assert output_value(t).shape == () and float(output_value(t)) == 5.0
    np.testing.assert_allclose(grads_of(t)["x"], [2.0, 4.0])
    assert next(n for n in t["nodes"] if n["id"] == t["output"])["torch_op"] == "ViewBackward0"


def test_the_announcement_goes_to_stderr_so_a_trace_on_stdout_stays_json(tmp_path, capsys):
    from engine.torch_config import load
    cfg = _model(tmp_path, "def f(x):\n    return x * x\n")
    fn = load(cfg, "model.py:f")
    out, err = capsys.readouterr()
    assert out == "" and err == f"running {tmp_path / 'model.py'}:f (trusted with --trust)\n"
    assert float(fn(torch.tensor(3.0))) == 9.0
    r = run_cli(["trace", str(cfg), "--trust"])
    assert r.exit_code == 0 and json.loads(r.stdout)["kind"] == "graph"


def test_the_user_s_traceback_in_process_names_their_frames_only(tmp_path):
    """(The CLI test above runs a subprocess; this one holds the formatting itself to its lines.)"""
    import importlib.util

    from engine.torch_config import UserCodeError, user_code
    (tmp_path / "bad.py").write_text("def inner(x):\n    return x / 0\n\n\ndef outer(x):\n    return inner(x)\n")
    spec = importlib.util.spec_from_file_location("bad_module_for_test", tmp_path / "bad.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    with pytest.raises(UserCodeError) as e:
        with user_code(tmp_path):
            module.outer(1)
    lines = str(e.value).splitlines()
    assert lines[:2] == ["the torch code raised an exception:", "Traceback (most recent call last):"]
    assert [line for line in lines if line.startswith("  File")] == [
        f'  File "{tmp_path / "bad.py"}", line 6, in outer', f'  File "{tmp_path / "bad.py"}", line 2, in inner']
    assert lines[-1] == "ZeroDivisionError: division by zero"
    assert not any("torch_config" in line or "test_torch_trace" in line for line in lines)


def test_user_code_may_define_dataclasses_and_a_spec_names_the_last_colon(tmp_path):
    from engine.torch_config import code_path, load
    (tmp_path / "model.py").write_text(
        "from dataclasses import dataclass\n\n@dataclass\nclass Scale:\n    k: float\n\n"
        "def f(x):\n    return x * Scale(3.0).k\n")
    fn = load(tmp_path / "c.yaml", "model.py:f")
    assert float(fn(torch.tensor(2.0))) == 6.0 and fn.__module__.startswith("backprop_user_")
    assert code_path(tmp_path / "c.yaml", "model.py:f") == (tmp_path / "model.py", "f")


def _module_config(tmp_path, loss: str, target: str):
    (tmp_path / "net.py").write_text("import torch\n\nclass Net(torch.nn.Module):\n    def __init__(self):\n"
                                     "        super().__init__()\n        self.fc = torch.nn.Linear(2, 2)\n\n"
                                     "    def forward(self, x):\n        return self.fc(x)\n")
    cfg = tmp_path / "c.yaml"
    cfg.write_text(f"scene: graph\ntorch: net.py:Net\nseed: 3\ninputs: {{}}\nconstants: {{x: [[1.0, -2.0]]}}\n"
                   f"loss: {loss}\ntarget: {target}\n")
    torch.manual_seed(3)
    fc = torch.nn.Linear(2, 2).double()
    return cfg, fc, fc(torch.tensor([[1.0, -2.0]], dtype=torch.float64))


@pytest.mark.parametrize("loss,target,reference", [
    ("mse", "[[0.5, -1.0]]", lambda out: F.mse_loss(out, torch.tensor([[0.5, -1.0]], dtype=torch.float64))),
    ("mse", "0.25", lambda out: F.mse_loss(out, torch.full_like(out, 0.25))),
    ("cross_entropy", "[1]", lambda out: F.cross_entropy(out, torch.tensor([1]))),
    ("cross_entropy", "[[0.0, 1.0]]", lambda out: F.cross_entropy(out, torch.tensor([[0.0, 1.0]], dtype=torch.float64))),
    ("cross_entropy", "[[0.25, 0.75]]", lambda out: F.cross_entropy(out, torch.tensor([[0.25, 0.75]], dtype=torch.float64))),
    ("sum", "null", lambda out: out.sum()),
])
def test_a_module_s_loss_against_its_target_as_torch_computes_it(tmp_path, loss, target, reference):
    from engine.config import load_config
    from engine.run import trace_config
    cfg, fc, out = _module_config(tmp_path, loss, target)
    t = trace_config(load_config(cfg), str(cfg))
    value = reference(out)
    value.backward()
    np.testing.assert_allclose(output_value(t), value.item(), rtol=1e-12)
    np.testing.assert_allclose(grads_of(t)["fc.weight"], fc.weight.grad.numpy(), rtol=1e-12)


def test_the_config_s_step_reaches_the_numerical_check(tmp_path):
    from engine.config import load_config
    from engine.run import trace_config
    cfg = _model(tmp_path, "def f(x):\n    return x ** 3\n", "h: 0.1\n")
    t = trace_config(load_config(cfg), str(cfg))
    x = next(n for n in t["nodes"] if n["op"] == "input")
    # central difference of x^3 at 2 with h = 0.1: ((2.1)^3 - (1.9)^3) / 0.2 = 12.01, the analytic 12
    assert x["numeric_grad"] == pytest.approx(12.01, rel=1e-12) and x["grad"] == 12.0


def test_an_op_whose_forward_is_not_the_gate_s_keeps_its_torch_name():
    # add with alpha: x + 2c is not our add, although its gradient into x (the only one) is
    t = trace_torch(lambda x, c: torch.add(x, c, alpha=2.0), {"x": 1.0}, {"c": 3.0})
    node = next(n for n in t["nodes"] if n.get("torch_op") == "AddBackward0")
    assert (node["op"], node["symbol"], node["value"]) == ("torch", "add", 7.0)


@pytest.mark.parametrize("x", [[1.0, -2.0, 0.5], [[1.0, -2.0, 0.5]], [[1.0, -2.0, 0.5], [0.0, 3.0, -1.0], [2.5, 1.0, 1.0]]],
                         ids=["vector", "one-row", "batch"])
def test_nn_linear_is_an_addmm_gate_with_its_local_gradients(x):
    # nn.Linear computes addmm(bias, x, Wᵀ) (a vector input made a row first, by a view): drawn as our addmm gate,
    # bias + x Wᵀ, with local gradients 1 (the bias), W (x's: Bᵀ) and xᵀ (Wᵀ's), checked here against the same
    # layer written by hand, x @ W.T + b, and torch's gradients of it
    torch.manual_seed(0)
    lin = torch.nn.Linear(3, 2).double()
    t = trace_torch(lambda x: torch.tanh(lin(x)).sum(), {"x": x}, names={id(p): n for n, p in lin.named_parameters()})
    validate(t)
    nodes = {n["id"]: n for n in t["nodes"]}
    (gate,) = _node(t, torch_op="AddmmBackward0")
    assert (gate["op"], gate["symbol"]) == ("addmm", "addmm")
    bias, rows, weight_t = (nodes[i] for i in gate["inputs"])
    assert bias["label"] == "bias" and weight_t["op"] == "transpose" and nodes[weight_t["inputs"][0]]["label"] == "weight"
    step = next(s for s in t["backward"] if s["node"] == gate["id"])
    xs, w, b = _t(x), _t(lin.weight.detach().numpy()), _t(lin.bias.detach().numpy())
    x2 = xs if xs.dim() == 2 else xs.unsqueeze(0)
    y = x2 @ w.T + b
    y.retain_grad()
    torch.tanh(y).sum().backward()
    up = y.grad.numpy()
    np.testing.assert_allclose(decode_value(gate["value"]), y.detach().numpy(), rtol=1e-12)
    np.testing.assert_allclose(decode_value(step["upstream"]), up, rtol=1e-12)
    local = [decode_value(v) for v in step["local"]]
    np.testing.assert_array_equal(local[0], np.ones(up.shape))
    np.testing.assert_array_equal(local[1], w.detach().numpy())
    np.testing.assert_array_equal(local[2], x2.detach().numpy().T)
    down = [decode_value(v) for v in step["downstream"]]
    np.testing.assert_allclose(down[0], b.grad.numpy(), rtol=1e-12)  # the upstream summed over the rows
    np.testing.assert_allclose(down[1], up @ w.detach().numpy(), rtol=1e-12)
    np.testing.assert_allclose(down[2], w.grad.numpy().T, rtol=1e-12)
    np.testing.assert_allclose(grads_of(t)["x"], xs.grad.numpy(), rtol=1e-12)


@pytest.mark.parametrize("fn,c", [
    (lambda c, a, b: torch.addmm(c, a, b, beta=0.5).sum(), [1.0, 2.0]),
    (lambda c, a, b: torch.addmm(c, a, b, alpha=2.0).sum(), [1.0, 2.0]),
    # the numbers alone agree with c + A B here (half of a zero bias, and nothing sent back to it): still not addmm
    (lambda c, a, b: (torch.addmm(c, a, b, beta=0.5) * 0.0).sum(), [0.0, 0.0]),
], ids=["beta", "alpha", "numbers-alone-agree"])
def test_an_addmm_scaled_by_beta_or_alpha_keeps_its_torch_name(fn, c):
    inputs = {"c": c, "a": [[1.0, 2.0]], "b": [[1.0, 0.0], [0.5, 1.0]]}
    t = trace_torch(fn, inputs)
    (node,) = _node(t, torch_op="AddmmBackward0")
    assert (node["op"], node["symbol"]) == ("torch", "addmm")
    assert next(s for s in t["backward"] if s["node"] == node["id"])["local"] == [None, None, None]
    leaves = {k: _t(v) for k, v in inputs.items()}
    fn(**leaves).backward()
    for name, leaf in leaves.items():  # every number still torch's
        np.testing.assert_allclose(grads_of(t)[name], leaf.grad.numpy(), rtol=1e-12)
    one = trace_torch(lambda c, a, b: torch.addmm(c, a, b, beta=1, alpha=1).sum(), inputs)  # the defaults, given
    assert _node(one, torch_op="AddmmBackward0")[0]["op"] == "addmm"


def test_a_gate_whose_local_gradient_disagrees_with_torch_keeps_no_local_factor():
    import engine.torch_trace as tt
    tn = tt._TNode("n2", "add", "add", np.asarray(3.0), torch_symbol="add")
    tn.inputs = [tt._TNode("n0", "input", "x", np.asarray(1.0)), tt._TNode("n1", "input", "y", np.asarray(2.0))]
    builder = tt._Builder([], {}, {})
    assert builder._local(tn, np.asarray(1.0), [np.asarray(1.0), np.asarray(1.0)]) == [1.0, 1.0]
    assert builder._local(tn, np.asarray(1.0), [np.asarray(1.0), np.asarray(2.0)]) == [None, None]  # alpha=2
    assert (tn.op, tn.symbol) == ("torch", "add")


def test_a_nan_gradient_is_still_the_gate_s_own():
    # a NaN upstream (here from a NaN constant) makes NaN downstream in both engines: still sqrt's own
    t = trace_torch(lambda x, c: torch.sqrt(x) * c, {"x": 4.0}, {"c": float("nan")})
    sqrt = next(n for n in t["nodes"] if n.get("torch_op") == "SqrtBackward0")
    assert sqrt["op"] == "sqrt"
    step = next(s for s in t["backward"] if s["node"] == sqrt["id"])
    assert step["downstream"] == ["nan"] and step["local"] == [0.25]  # 0.5 / sqrt(4), times a NaN upstream


def test_every_gate_s_gradient_is_torch_s_for_that_tensor():
    def f(w, x):
        return torch.sigmoid(w * x).sum()

    t = trace_torch(f, {"w": [0.5, -1.0], "x": [2.0, 3.0]})
    w, x = _t([0.5, -1.0]), _t([2.0, 3.0])
    q = w * x
    q.retain_grad()
    torch.sigmoid(q).sum().backward()
    mul = next(n for n in t["nodes"] if n["op"] == "mul")
    np.testing.assert_allclose(decode_value(mul["grad"]), q.grad.numpy(), rtol=1e-12)


def test_unused_outputs_and_an_op_with_several_inputs_and_outputs():
    def f(x, y):
        a, b, _ = torch.split(x, 1)  # the third output is never used: torch sends it no gradient
        bx, by = torch.broadcast_tensors(x, y)  # two inputs, two outputs, both used
        return (a * b).sum() + (bx * by).sum()

    inputs = {"x": [1.0, 2.0, 3.0], "y": [[0.5], [-1.0]]}
    t = trace_torch(f, inputs)
    validate(t)
    leaves = {k: _t(v) for k, v in inputs.items()}
    f(**leaves).backward()
    for name, leaf in leaves.items():
        np.testing.assert_allclose(grads_of(t)[name], leaf.grad.numpy(), rtol=1e-12)
    _sums_hold(t)
    assert len([n for n in t["nodes"] if n.get("torch_op") == "SplitBackward0"]) == 2


# --- the tracer's parts, each against what torch's schemas and autograd say ----------------------------
def _rec(func, *args, **kwargs):
    import engine.torch_trace as tt
    return tt._Record(func, args, kwargs, [], [])


def test_operands_follow_the_schema_s_tensor_and_number_arguments():
    from engine.torch_trace import _operands
    aten = torch.ops.aten
    a, b, i = torch.zeros(2), torch.ones(2), torch.tensor([1])
    assert _operands(_rec(aten.add.Tensor, a, b, alpha=2)) == [("tensor", a), ("tensor", b)]  # alpha: an option
    assert _operands(_rec(aten.mul.Tensor, a, other=b)) == [("tensor", a), ("tensor", b)]  # a tensor by keyword
    assert _operands(_rec(aten.cat.default, [a, b], 0)) == [("tensor", a), ("tensor", b)]  # List[Tensor]; dim: not
    assert _operands(_rec(aten.index.Tensor, a, [None, i])) == [("tensor", a), ("tensor", None), ("tensor", i)]
    assert _operands(_rec(aten.clamp.Tensor, a, b)) == [("tensor", a), ("tensor", b), ("tensor", None)]  # max absent
    assert _operands(_rec(aten.mul.Scalar, a, 2.5)) == [("tensor", a), ("scalar", 2.5)]  # number
    assert _operands(_rec(aten.native_dropout.default, a, 0.25, True)) == [("tensor", a), ("scalar", 0.25)]  # float
    assert _operands(_rec(aten.leaky_relu.default, a)) == [("tensor", a), ("scalar", 0.01)]  # the schema's default


def test_a_constant_tensor_for_an_optional_argument_is_drawn_as_a_constant():
    t = trace_torch(lambda x, lo: torch.clamp(x, min=lo).sum(), {"x": [1.0, -2.0]}, {"lo": [0.0, -1.0]})
    clamp = next(n for n in t["nodes"] if n.get("torch_op", "").startswith("Clamp"))
    assert [next(m for m in t["nodes"] if m["id"] == k)["label"] for k in clamp["inputs"]] == ["x", "lo"]
    assert clamp["value"] == [1.0, -1.0]


def _tnode(label, value, grad=None):
    import engine.torch_trace as tt
    n = tt._TNode(label, "input", label, np.asarray(value, dtype=float))
    n.grad = None if grad is None else np.asarray(grad, dtype=float)
    return n


def test_the_sum_check_is_exact_to_rounding_and_says_which_node():
    import engine.torch_trace as tt
    x, out = _tnode("x", [1.0, 2.0], [0.0, 0.0]), _tnode("f", 0.0, 1.0)
    tt._check_sums([x, out], [], out)  # no contributions into a zero gradient: they add up to it
    with pytest.raises(tt.TorchTraceError):  # the output first: the nodes after it are still checked
        tt._check_sums([out, _tnode("u", 1.0), _tnode("y", 1.0, 1.0)], [], out)
    op = tt._TNode("q", "mul", "q", np.asarray(2.0), inputs=[x])
    x.grad = np.array([0.0, 5e-10])  # a gradient this small still has to be matched, not rounded to zero
    with pytest.raises(tt.TorchTraceError) as e:
        tt._check_sums([x, op, out], [(op, None, None, [np.array([0.0, 0.0])])], out)
    assert str(e.value) == ("torch trace check: the contributions into 'x' do not add up to its gradient (an op "
                            "this tracer does not support?)")
    tt._check_sums([x, op, out], [(op, None, None, [np.array([0.0, 5e-10])])], out)


def test_tracing_gives_a_module_its_earlier_gradients_back():
    lin = torch.nn.Linear(2, 1).double()
    before = torch.tensor([[7.0, -8.0]], dtype=torch.float64)
    lin.weight.grad = before.clone()
    trace_torch(lambda x: lin(x).sum(), {}, {"x": [1.0, 2.0]}, names={id(p): n for n, p in lin.named_parameters()})
    assert torch.equal(lin.weight.grad, before) and lin.bias.grad is None


def test_a_leaf_without_a_name_is_numbered_from_one():
    w = torch.tensor(3.0, dtype=torch.float64, requires_grad=True)  # reached only through the closure
    t = trace_torch(lambda x: x * w, {"x": 2.0})
    assert sorted(n["label"] for n in t["nodes"] if n["op"] == "input") == ["w1", "x"]


def test_a_view_of_a_constant_keeps_the_constant_s_name():
    # nn.Linear on a 1-D input unsqueezes it: the view is still the constant x on screen
    lin = torch.nn.Linear(2, 1).double()
    t = trace_torch(lambda x: lin(x).sum(), {}, {"x": [1.0, 2.0]}, names={id(p): n for n, p in lin.named_parameters()})
    assert [n["label"] for n in t["nodes"] if n["op"] == "const"] == ["x"]


def test_an_op_with_two_outputs_that_saves_its_input_gives_each_output_s_share():
    # var_mean's backward needs its saved input for each output's share, asked after backward():
    # f = var(x) + mean(x)^2 at x = (1, 2, 4): mean 7/3; var's share into x is 2(x - m)/(n - 1) = x - m,
    # mean's is upstream 2m times 1/n
    t = trace_torch(lambda x: (lambda vm: vm[0] + vm[1] * vm[1])(torch.var_mean(x)), {"x": [1.0, 2.0, 4.0]})
    x = np.array([1.0, 2.0, 4.0])
    m = 7.0 / 3.0
    ids = [n["id"] for n in t["nodes"] if n.get("torch_op") == "VarMeanBackward0"]
    shares = [decode_value(s["downstream"][0]) for s in t["backward"] if s["node"] in ids]
    np.testing.assert_allclose(shares[0], x - m, rtol=1e-12)
    np.testing.assert_allclose(shares[1], np.full(3, 2 * m / 3), rtol=1e-12)
    assert grads_of(t)["x"] == pytest.approx(list(x - m + 2 * m / 3), rel=1e-12)


def test_a_float32_input_is_traced_in_float64():
    t = trace_torch(lambda x: x * 3.0, {"x": torch.tensor(0.1, dtype=torch.float32)})
    x = next(n for n in t["nodes"] if n["op"] == "input")
    assert x["value"] == float(np.float32(0.1))  # its float32 value, then float64 arithmetic:
    assert output_value(t) == float(np.float32(0.1)) * 3.0  # not float32's 0.3000000119


def test_a_gate_whose_forward_cannot_take_the_operands_is_not_that_gate():
    import engine.torch_trace as tt
    tn = tt._TNode("n2", "torch", "torch", np.zeros((2, 3)))
    tn.inputs = [_tnode("a", np.zeros((2, 3))), _tnode("b", np.zeros((2, 3)))]  # (2,3) @ (2,3): matmul raises
    assert tt._Builder([], {}, {})._forward_matches("matmul", tn) is False


def test_the_trace_of_a_torch_config_records_the_config(tmp_path):
    from engine.config import load_config
    from engine.run import trace_config
    cfg = _model(tmp_path, "def f(x):\n    return x * x\n", "title: squares\n")
    t = trace_config(load_config(cfg), str(cfg))
    assert (t["config"]["torch"], t["config"]["title"]) == ("model.py:f", "squares")


def test_each_code_file_is_its_own_module(tmp_path):
    from engine.torch_config import load
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "model.py").write_text(f"def f(x):\n    return '{name}'\n")
    fa, fb = (load(str(tmp_path / n / "c.yaml"), "model.py:f") for n in ("a", "b"))
    assert (fa(0), fb(0)) == ("a", "b") and fa.__module__ != fb.__module__  # neither replaced the other


# --- nn.Sequential (issue 28) ---------------------------------------------------------------------------
SEQUENTIAL_MODELS = {  # each builds Linear(3, 2), ReLU, Linear(2, 2) after the config's seed
    "net": "net = torch.nn.Sequential(torch.nn.Linear(3, 2), torch.nn.ReLU(), torch.nn.Linear(2, 2))\n",
    "Seq": "class Seq(torch.nn.Sequential):\n    def __init__(self):\n"
           "        super().__init__(torch.nn.Linear(3, 2), torch.nn.ReLU(), torch.nn.Linear(2, 2))\n",
    "Wrapped": "class Wrapped(torch.nn.Module):\n    def __init__(self):\n        super().__init__()\n"
               "        self.layers = torch.nn.Sequential(torch.nn.Linear(3, 2), torch.nn.ReLU(), torch.nn.Linear(2, 2))\n"
               "\n    def forward(self, x):\n        return self.layers(x)\n",
}


def _sequential_config(tmp_path, name: str, seed: int = 3):
    (tmp_path / "model.py").write_text("import torch\n\n" + SEQUENTIAL_MODELS[name])
    cfg = tmp_path / "c.yaml"
    cfg.write_text(f"scene: vectors\ntorch: model.py:{name}\nseed: {seed}\ninputs: {{}}\n"
                   "constants: {x: [[1.0, -2.0, 0.5]]}\nloss: cross_entropy\ntarget: [1]\n")
    return cfg


@pytest.mark.parametrize("name", list(SEQUENTIAL_MODELS))
def test_an_nn_sequential_model_traces_with_torch_s_parameter_names(tmp_path, name):
    from engine.config import load_config
    from engine.run import trace_config
    cfg = _sequential_config(tmp_path, name)
    t = trace_config(load_config(cfg), str(cfg))
    validate(t)  # 0.weight is a name a trace may hold
    # the same network by hand: two layers and a ReLU, built after the same seed
    torch.manual_seed(3)
    first, second = torch.nn.Linear(3, 2).double(), torch.nn.Linear(2, 2).double()
    loss = F.cross_entropy(second(torch.relu(first(torch.tensor([[1.0, -2.0, 0.5]], dtype=torch.float64)))),
                           torch.tensor([1]))
    loss.backward()
    prefix = "layers." if name == "Wrapped" else ""
    want = {f"{prefix}0.weight": first.weight, f"{prefix}0.bias": first.bias,
            f"{prefix}2.weight": second.weight, f"{prefix}2.bias": second.bias}
    assert list(grads_of(t)) == list(want)
    np.testing.assert_allclose(output_value(t), loss.item(), rtol=1e-12)
    for label, g in grads_of(t).items():
        np.testing.assert_allclose(g, want[label].grad.numpy(), rtol=1e-12)
    modules = {n["label"]: n.get("attrs", {}).get("module") for n in t["nodes"] if n["op"] == "input"}
    assert set(modules.values()) == {"Linear"}


def test_a_forward_that_fits_neither_by_name_nor_by_position_is_a_config_error(tmp_path):
    from engine.config import load_config
    from infra.errors import ConfigError
    from engine.run import trace_config
    cfg = _model(tmp_path, "def f(a, b):\n    return a * b\n")
    with pytest.raises(ConfigError) as e:
        trace_config(load_config(cfg), str(cfg))
    assert str(e.value) == (f"{cfg}: keys 'inputs' and 'constants': f takes (a, b), which does not fit the tensors "
                            "x: name them as its parameters, or give one tensor to a forward that takes one")
    (tmp_path / "model.py").write_text("def f(t):\n    return t * t\n")  # one input, one tensor: positionally
    assert grads_of(trace_config(load_config(cfg), str(cfg))) == {"x": 4.0}


def test_a_parameter_name_latex_cannot_take_names_the_config_and_key_not_a_cache_file(tmp_path, monkeypatch):
    from infra.errors import ConfigError
    from engine import source
    monkeypatch.setattr(source, "CACHE", tmp_path / "cache")
    (tmp_path / "model.py").write_text(
        "import torch\n\nclass M(torch.nn.Module):\n    def __init__(self):\n        super().__init__()\n"
        "        self.add_module('층', torch.nn.Linear(2, 1))\n\n    def forward(self, x):\n"
        "        return getattr(self, '층')(x).sum()\n")
    cfg = tmp_path / "c.yaml"
    cfg.write_text("scene: graph\ntorch: model.py:M\ninputs: {x: [1.0, 2.0]}\n")
    with pytest.raises(ConfigError) as e:
        source.trace_path_for(cfg)
    assert str(e.value) == (f"{cfg}: key 'torch': the parameter name '층.weight' cannot be drawn: use ASCII letters, "
                            "digits and _ (parts joined by dots, as torch names a module's parameters)")
    assert not list((tmp_path / "cache").glob("*.json"))


def test_the_shipped_sequential_matches_the_same_net_written_by_hand():
    from engine.config import load_config
    from engine.run import trace_config
    path = CONFIG_DIR / "torch_sequential.yaml"
    t = trace_config(load_config(path), str(path))
    torch.manual_seed(0)
    first, second = torch.nn.Linear(3, 2).double(), torch.nn.Linear(2, 2).double()
    loss = F.cross_entropy(second(torch.relu(first(torch.tensor([[1.0, -2.0, 0.5]], dtype=torch.float64)))),
                           torch.tensor([1]))
    loss.backward()
    np.testing.assert_allclose(output_value(t), loss.item(), rtol=1e-12)
    want = {"0.weight": first.weight, "0.bias": first.bias, "2.weight": second.weight, "2.bias": second.bias}
    assert list(grads_of(t)) == list(want)
    for name, g in grads_of(t).items():
        np.testing.assert_allclose(g, want[name].grad.numpy(), rtol=1e-12)


def test_an_in_place_change_the_backward_pass_finds_names_the_user_s_line(tmp_path):
    from engine.config import load_config
    from infra.errors import ConfigError
    from engine.run import trace_config
    body = "def f(x):\n    y = x * 2\n    z = y * y\n    y.mul_(3)\n    return z.sum()\n"
    # torch itself refuses the backward pass of this code, naming only its own node
    namespace = {"torch": torch}
    exec(body, namespace)
    with pytest.raises(RuntimeError, match="output 0 of Mul, is at version 1; expected version 0"):
        namespace["f"](_t([1.0, 2.0])).backward()
    cfg = _model(tmp_path, body)
    cfg.write_text("scene: graph\ntorch: model.py:f\ninputs: {x: [1.0, 2.0]}\n")
    with pytest.raises(ConfigError) as e:
        trace_config(load_config(cfg), str(cfg))
    assert str(e.value) == (f"{cfg}: key 'torch': model.py, line 6: y.mul_(3) changes a tensor in place (output 0 "
                            "of Mul) that an operation before it saved for the backward pass; compute a new "
                            "tensor instead (z = z + 1, not z += 1) or clone() it first")

# --- the user's code runs in a process of its own -------------------------------------------------------
def _cli(args, timeout=120):
    """render.py in a process of its own: the user's code may exit, crash or print there."""
    return subprocess.run([sys.executable, str(ROOT / "render.py"), *map(str, args)], capture_output=True, text=True,
                          timeout=timeout, env={**os.environ, "BACKPROP_TRUST": "1"})


@pytest.fixture
def no_crash_dump(request):
    """pytest's faulthandler off while the test runs: a forked child that segfaults would otherwise print
    its stack (it inherits the handler); put back on pytest's own descriptor afterwards."""
    import faulthandler

    from _pytest.faulthandler import fault_handler_stderr_fd_key

    was = faulthandler.is_enabled()
    faulthandler.disable()
    yield
    if was:
        faulthandler.enable(file=request.config.stash.get(fault_handler_stderr_fd_key, sys.__stderr__))


@pytest.mark.parametrize("body,said", [
    ("import sys\n    sys.exit(0)", "exited with code 0 before returning"),
    ("import sys\n    sys.exit(3)", "exited with code 3 before returning"),
    ("import os\n    os._exit(4)", "exited with code 4 before returning"),
    ("import os, signal\n    os.kill(os.getpid(), signal.SIGKILL)", "was killed by signal 9 (SIGKILL)"),
    ("import ctypes\n    ctypes.string_at(0)", "was killed by signal 11 (SIGSEGV)"),
])
@pytest.mark.parametrize("command", ["trace", "render"])
def test_user_code_that_exits_or_crashes_is_one_line(tmp_path, no_crash_dump, body, said, command):
    # The CLI runs in this process (no fresh Python importing torch and Manim, about 2.5 s a case): the
    # user's code runs in a child of its own, so its exit or crash must not reach this process; if it
    # did, SystemExit would be caught below as a wrong exit, and a kill or a crash would fail the run.
    cfg = _model(tmp_path, f"def f(x):\n    {body}\n")
    out = tmp_path / ("t.json" if command == "trace" else "s.png")
    r = run_cli([command, cfg, "-o", out] + (["--still", "--quality", "low"] if command == "render" else []))
    assert r.exit_code == 1 and isinstance(r.exception, SystemExit) and not out.exists(), (r.exception, r.output)
    assert r.stderr.splitlines()[-1] == f"Error: {cfg}: key 'torch': model.py:f {said}", r.stderr
    assert "Traceback" not in r.stderr


def test_what_user_code_prints_goes_to_stderr_not_into_the_trace(tmp_path):
    cfg = _model(tmp_path, "def f(x):\n    print('from the model')\n    return x * x\n")
    r = _cli(["trace", cfg])
    assert r.returncode == 0 and grads_of(json.loads(r.stdout)) == {"x": 4.0}
    assert "from the model" in r.stderr


def test_a_process_the_user_code_starts_ends_with_the_trace(tmp_path):
    from helpers import alive
    pids = tmp_path / "pids"
    cfg = _model(tmp_path, f"import os, time\n\ndef f(x):\n    if os.fork() == 0:\n"
                           f"        with open({str(pids)!r}, 'a') as p:\n            p.write(f'{{os.getpid()}}\\n')\n"
                           "        time.sleep(120)\n        os._exit(0)\n    return x * x\n")
    r = run_cli(["trace", cfg, "-o", tmp_path / "t.json"])  # here: the user's code runs in a forked child anyway
    assert r.exit_code == 0, r.output
    started = [int(p) for p in pids.read_text().split()]
    deadline = time.monotonic() + 5  # (SIGKILL is sent as the command ends; its delivery takes a moment)
    while any(alive(p) for p in started) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert started and not any(alive(p) for p in started)  # each call forked one: none outlives the command


def test_complex_numbers_and_huge_intermediates_are_refused_as_they_are_made():
    from engine.torch_trace import TorchTraceError
    with pytest.raises(TorchTraceError, match=r"^aten.complex.default made a torch.complex128 tensor: complex numbers "
                                              r"are not supported$"):
        trace_torch(lambda x, y: torch.complex(x, y).abs(), {"x": 1.0, "y": 2.0})
    with pytest.raises(TorchTraceError, match=r"^aten.ones.default made a tensor of 2,000,000 elements; a traced "
                                              r"tensor has at most 1,000,000"):
        trace_torch(lambda x: (x * torch.ones(2_000_000, dtype=torch.float64)).sum(), {"x": 2.0})
    trace_torch(lambda x: (x * torch.ones(1_000, dtype=torch.float64)).sum(), {"x": 2.0})  # a modest one is traced
