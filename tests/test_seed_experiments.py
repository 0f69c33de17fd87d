"""The XOR seed experiment, checked against torch trained the way a torch user writes it.

The reference below is hand-written torch (nn.Linear layers, torch.optim.SGD, the loss either
BCEWithLogits or written out as -mean(y log h + (1 - y) log(1 - h))); only the starting weights are
shared, and how they are drawn is pinned separately against numpy's generator.
"""
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import torch

from engine.config import parse_config
from helpers import default_sigint
from engine.compiled_mlp import ACTIVATION_KIND, forward_backward
from engine.run import trace_config
from engine.trace import decode_value
from engine.training import initial_parameters

XOR_X = [[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]]
XOR_Y = [0.0, 1.0, 1.0, 0.0]


def torch_act(name, slope):
    return {"sigmoid": torch.nn.Sigmoid(), "tanh": torch.nn.Tanh(), "relu": torch.nn.ReLU(),
            "leaky_relu": torch.nn.LeakyReLU(slope)}[name]


def torch_xor_run(Ws, bs, activation, slope, lr, steps, record, dtype=torch.float64, naive=False):
    """Train like a torch user: nn.Sequential, SGD; returns {step: (loss, accuracy, per-layer grad norms)}."""
    layers = []
    for i, (w, b) in enumerate(zip(Ws, bs)):
        lin = torch.nn.Linear(*w.shape, dtype=dtype)
        with torch.no_grad():
            lin.weight.copy_(torch.tensor(w.T))  # nn.Linear keeps (out, in)
            lin.bias.copy_(torch.tensor(b))
        layers.append(lin)
        if i < len(Ws) - 1:
            layers.append(torch_act(activation, slope))
    net = torch.nn.Sequential(*layers)
    linears = [m for m in net if isinstance(m, torch.nn.Linear)]
    opt = torch.optim.SGD(net.parameters(), lr=lr)
    X, y = torch.tensor(XOR_X, dtype=dtype), torch.tensor(XOR_Y, dtype=dtype)
    out = {}
    for step in range(steps + 1):
        opt.zero_grad()
        logit = net(X)[:, 0]
        if naive:
            h = torch.sigmoid(logit)
            loss = -(y * torch.log(h) + (1 - y) * torch.log(1 - h)).mean()
        else:
            loss = torch.nn.functional.binary_cross_entropy_with_logits(logit, y)
        loss.backward()
        if step in record:
            out[step] = (loss.item(), ((logit > 0) == (y > 0.5)).double().mean().item(),
                         [lin.weight.grad.double().norm().item() for lin in linears])
        if not np.isfinite(loss.item()):
            break
        if step < steps:
            opt.step()
    return out


def config(**over):
    base = {"scene": "vanishing", "depth": 4, "width": 5, "init": "normal", "bias_init": "normal",
            "learning_rate": 0.5, "steps": 250, "record_every": 100, "seed": 0, "leaky_slope": 0.2,
            "activations": ["sigmoid", "tanh", "relu", "leaky_relu"]}
    return parse_config({**base, **over})


def test_initial_parameters_are_numpy_draws_weights_then_biases():
    Ws, bs = initial_parameters([2, 5, 5, 1], "normal", "normal", seed=4)
    rng = np.random.default_rng(4)
    expected_W = [rng.standard_normal(s) for s in [(2, 5), (5, 5), (5, 1)]]
    expected_b = [rng.standard_normal(s) for s in [5, 5, 1]]
    for a, b in zip(Ws + bs, expected_W + expected_b):
        np.testing.assert_array_equal(a, b)
    Ws, bs = initial_parameters([2, 5, 1], "xavier", "zeros", seed=1)
    rng = np.random.default_rng(1)
    np.testing.assert_array_equal(Ws[0], rng.standard_normal((2, 5)) * (2 / 7) ** 0.5)  # Glorot: 2/(in+out)
    assert all(not b.any() for b in bs)


@pytest.mark.parametrize("activation", ["sigmoid", "tanh", "relu", "leaky_relu"])
def test_training_matches_torch_including_the_final_step_off_the_grid(activation):
    cfg = config(activations=[activation])
    trace = trace_config(cfg)
    run = trace["runs"][0]
    assert run["steps"] == [0, 100, 200, 250]  # 250 is not a multiple of 100 and is recorded all the same
    Ws, bs = initial_parameters([2, 5, 5, 5, 1], "normal", "normal", seed=0)
    ref = torch_xor_run(Ws, bs, activation, 0.2, 0.5, 250, set(run["steps"]))
    # rounding differs by ulps between numba's and torch's tanh/exp, and 250 steps at lr 0.5 amplify it
    for k, step in enumerate(run["steps"]):
        loss, acc, norms = ref[step]
        assert float(decode_value(run["loss"][k])) == pytest.approx(loss, rel=1e-6, abs=1e-12)
        assert float(decode_value(run["accuracy"][k])) == acc
        np.testing.assert_allclose(decode_value(run["grad_norms"][k]), norms, rtol=1e-6, atol=1e-14)


@pytest.mark.parametrize("seeds,steps", [(2, 40), pytest.param(3, 300, marks=pytest.mark.slow)])
def test_seed_summary_matches_torch(seeds, steps):
    cfg = config(seeds=seeds, steps=steps, record_every=steps)
    summary = {s["activation"]: s for s in trace_config(cfg)["seed_summary"]}
    for activation, s in summary.items():
        solved = diverged = dead = 0
        ratios = []
        for k, seed in enumerate(range(seeds)):
            Ws, bs = initial_parameters([2, 5, 5, 5, 1], "normal", "normal", seed)
            ref = torch_xor_run(Ws, bs, activation, 0.2, 0.5, steps, {0, steps})
            loss, acc, norms = ref[steps] if steps in ref else (float("nan"), 0.0, None)
            first, last = ref[0][2][0], ref[0][2][-1]
            solved += acc == 1.0 and np.isfinite(loss)
            diverged += not np.isfinite(loss)
            dead += first == 0.0
            ratios.append(first / last)
            assert s["per_seed"][k]["seed"] == seed
            assert s["per_seed"][k]["ratio"] == pytest.approx(first / last, rel=1e-9)
        assert (s["solved"], s["diverged"], s["dead_at_init"]) == (solved, diverged, dead), activation
        assert s["median_ratio"] == pytest.approx(float(np.median(ratios)), rel=1e-9)


def test_relu_dead_at_initialisation_is_counted():
    # The shipped setup (xavier, zero biases, width 8, depth 10): some seeds start with a ReLU layer off
    # for every XOR point, so no gradient reaches the first layer; torch agrees seed by seed.
    cfg = parse_config({"scene": "vanishing", "depth": 10, "width": 8, "init": "xavier", "steps": 1,
                        "activations": ["relu"], "seeds": 10})
    s = trace_config(cfg)["seed_summary"][0]
    dead = []
    for seed in range(10):
        Ws, bs = initial_parameters([2] + [8] * 9 + [1], "xavier", "zeros", seed)
        dead.append(torch_xor_run(Ws, bs, "relu", 0.01, 0.1, 0, {0})[0][2][0] == 0.0)
    assert [p["dead_at_init"] for p in s["per_seed"]] == dead
    assert s["dead_at_init"] == sum(dead) > 0


@pytest.mark.parametrize("naive", [False, True])
@pytest.mark.parametrize("activation", ["sigmoid", "leaky_relu"])
def test_float32_pass_matches_torch_float32(activation, naive):
    rng = np.random.default_rng(5)
    Ws = [rng.standard_normal(s).astype(np.float32) for s in [(2, 5), (5, 5), (5, 1)]]
    bs = [rng.standard_normal(s).astype(np.float32) for s in [5, 5, 1]]
    X, y = np.array(XOR_X), np.array(XOR_Y)
    loss, acc, gWs, gbs = forward_backward(Ws, bs, X, y, ACTIVATION_KIND[activation],
                                           0.2 if activation == "leaky_relu" else 0.0, np.float32, naive)
    assert gWs[0].dtype == np.float32
    ref = torch_xor_run(Ws, bs, activation, 0.2, 0.0, 0, {0}, dtype=torch.float32, naive=naive)[0]
    assert loss == pytest.approx(ref[0], rel=1e-5)
    np.testing.assert_allclose([np.linalg.norm(g) for g in gWs], ref[2], rtol=1e-4)


def test_naive_loss_reaches_nan_where_the_output_saturates():
    # One example whose output saturates: in float32 sigmoid(20) rounds to exactly 1, and the naive
    # loss's log(1 - h) is log(0). torch does the same.
    W = [np.array([[20.0]], dtype=np.float32)]
    b = [np.zeros(1, dtype=np.float32)]
    X, y = np.array([[1.0]]), np.array([1.0])
    loss, _, gW, _ = forward_backward(W, b, X, y, ACTIVATION_KIND["sigmoid"], 0.0, np.float32, naive=True)
    w = torch.tensor([[20.0]], requires_grad=True)
    h = torch.sigmoid(torch.tensor([[1.0]]) @ w)
    t_loss = -(1.0 * torch.log(h) + 0.0 * torch.log(1 - h)).mean()
    t_loss.backward()
    assert np.isnan(loss) and np.isnan(t_loss.item())
    assert np.isnan(gW[0]).all() and torch.isnan(w.grad).all()
    stable, _, g_stable, _ = forward_backward(W, b, X, y, ACTIVATION_KIND["sigmoid"], 0.0, np.float32, naive=False)
    assert np.isfinite(stable) and np.isfinite(g_stable[0]).all()


def test_a_diverged_run_is_recorded_as_nan_to_the_end():
    cfg = config(dtype="float32", loss_form="naive", learning_rate=10.0, steps=2000, record_every=100,
                 activations=["relu"], init="normal", width=5, depth=6)
    loss = trace_config(cfg)["runs"][0]["loss"]
    assert "nan" in loss
    k = loss.index("nan")
    assert all(v == "nan" for v in loss[k:]) and len(loss) == 21


def test_progress_is_reported_in_steps():
    from engine.training import vanishing_trace
    seen = []
    vanishing_trace(config(seeds=2, steps=3000), progress=lambda done, total: seen.append((done, total)))
    assert seen and seen[-1] == (8 * 3001, 8 * 3001)
    assert all(a[0] <= b[0] for a, b in zip(seen, seen[1:]))


def test_ctrl_c_stops_a_long_training_at_once_not_after_it(tmp_path):
    cfg = tmp_path / "long.yaml"
    # one run (hours of training on one thread): the test costs a core for its seconds, not both
    cfg.write_text("scene: vanishing\ndataset: circles\ndepth: 30\nwidth: 64\nsteps: 50000\nseeds: 1\n"
                   "activations: [sigmoid]\n")
    out = tmp_path / "t.json"
    p = subprocess.Popen(preexec_fn=default_sigint, args=[sys.executable, "render.py", "trace", str(cfg), "-o", str(out), "--allow-long"],
                         stderr=subprocess.PIPE, text=True)
    time.sleep(2.5)  # started and training: a run of one step takes 1 s here, imports included
    assert p.poll() is None, "finished before the signal: make the run longer"
    start = time.monotonic()
    p.send_signal(signal.SIGINT)
    p.communicate(timeout=30)
    # Well under a second on a quiet machine; the bound leaves room for a loaded CI machine, and is still
    # far below the minutes this training would run on.
    assert time.monotonic() - start < 5.0
    assert p.returncode != 0 and not out.exists()


@pytest.mark.parametrize("batch", [1, 4])
def test_zigzag_steps_match_torch_autograd(batch):
    """The data as the experiment defines it (numpy draws); each step's gradient by torch autograd of the
    batch's mean squared error / 2, so a sum instead of a mean, or a wrong sign, shows."""
    cfg = parse_config({"scene": "zigzag", "steps": 12, "batch_size": batch, "samples": 50, "learning_rate": 0.5,
                        "start": [-1.5, 1.5], "target": [1.0, -1.0], "seed": 3})
    runs = {r["activation"]: r for r in trace_config(cfg)["runs"]}
    pre = np.random.default_rng(3).normal(0, 1.5, (50, 2))
    order = np.random.default_rng(4).integers(0, 50, (12, batch))
    for act, squash in (("sigmoid", torch.sigmoid), ("tanh", torch.tanh)):
        X = squash(torch.tensor(pre))
        t = X @ torch.tensor([1.0, -1.0], dtype=torch.float64)
        w = torch.tensor([-1.5, 1.5], dtype=torch.float64)
        weights, grads, losses = [w.clone()], [], []
        for idx in order:
            w = w.detach().requires_grad_(True)
            losses.append((((X @ w - t) ** 2).mean() / 2).item())
            (((X[idx] @ w - t[idx]) ** 2).mean() / 2).backward()
            grads.append(w.grad.clone())
            w = w.detach() - 0.5 * w.grad
            weights.append(w.clone())
        run = runs[act]
        np.testing.assert_allclose(decode_value(run["grads"]), torch.stack(grads).numpy(), rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(decode_value(run["weights"]), torch.stack(weights).numpy(), rtol=1e-12)
        np.testing.assert_allclose(decode_value(run["loss"]), losses, rtol=1e-12)
        g = torch.stack(grads).numpy()
        assert run["same_sign_steps"] == int(np.sum(np.sign(g[:, 0]) == np.sign(g[:, 1])))
        assert run["inputs_all_positive"] == (act == "sigmoid")
        contour = run["contour"]
        grid = np.linspace(-3.0, 3.0, 41)
        np.testing.assert_allclose(decode_value(contour["w1"]), grid + 1.0)
        np.testing.assert_allclose(decode_value(contour["w2"]), grid - 1.0)
        i, j = 7, 30  # one point of the loss surface, by hand
        wij = torch.tensor([grid[j] + 1.0, grid[i] - 1.0], dtype=torch.float64)
        assert decode_value(contour["loss"])[i, j] == pytest.approx((((X @ wij - t) ** 2).mean() / 2).item(), rel=1e-12)


@pytest.mark.parametrize("activation,loss", [("sigmoid", "mse"), ("relu", "sum"), ("tanh", "mse")])
def test_gradient_histograms_match_torch_hooks(activation, loss):
    """The PyTorch experiment they come from: nn.Linear layers, register_hook on each weight, one backward."""
    cfg = parse_config({"scene": "histograms", "depth": 3, "width": 20, "in_features": 6, "out_features": 4,
                        "batch": 5, "activations": [activation], "loss": loss, "target": 0.5, "bins": 8, "seed": 2})
    hist = trace_config(cfg)["runs"][0]["histograms"]
    rng = np.random.default_rng(2)  # the draws the experiment defines: weights, biases, then the batch
    sizes = [6, 20, 20, 20, 4]
    Ws = [rng.uniform(-a ** -0.5, a ** -0.5, (a, b)) for a, b in zip(sizes, sizes[1:])]
    bs = [rng.uniform(-a ** -0.5, a ** -0.5, b) for a, b in zip(sizes, sizes[1:])]
    x = torch.tensor(rng.standard_normal((5, 6)))
    layers, captured = [], {}
    for i, (w, b) in enumerate(zip(Ws, bs)):
        lin = torch.nn.Linear(*w.shape, dtype=torch.float64)
        with torch.no_grad():
            lin.weight.copy_(torch.tensor(w.T))
            lin.bias.copy_(torch.tensor(b))
        lin.weight.register_hook(lambda g, i=i: captured.__setitem__(i, g.T.numpy().copy()))
        layers += [lin] + ([torch_act(activation, 0.01)] if i < len(Ws) - 1 else [])
    out = torch.nn.Sequential(*layers)(x)
    (out.sum() if loss == "sum" else torch.nn.functional.mse_loss(out, torch.full_like(out, 0.5))).backward()
    assert [h["layer"] for h in hist] == [1, 2, 3, 4]
    for i, h in enumerate(hist):
        g = captured[i].ravel()
        lim = np.abs(g).max()
        counts, edges = np.histogram(g, bins=8, range=(-lim, lim))
        assert h["counts"] == counts.tolist()
        np.testing.assert_allclose(decode_value(h["edges"]), edges, rtol=1e-9)
        assert (h["positive"], h["negative"], h["zero"]) == (int((g > 0).sum()), int((g < 0).sum()), int((g == 0).sum()))
