"""Training experiments: the compiled pass against torch autograd, and the lecture's claims on traces."""
import numpy as np
import pytest
import torch

from engine.config import parse_config
from engine.run import trace_config
from engine.trace import decode_value
from engine.compiled_mlp import ACTIVATION_KIND, forward_backward
from engine.training import init_weights, make_dataset, mlp_weight_grads
from render import CONFIG_DIR
from engine.config import load_config

TORCH_ACT = {"sigmoid": torch.sigmoid, "tanh": torch.tanh, "relu": torch.relu,
             "leaky_relu": lambda z: torch.nn.functional.leaky_relu(z, 0.01)}  # torch's default slope


@pytest.mark.parametrize("activation", list(TORCH_ACT))
@pytest.mark.parametrize("dataset", ["xor", "circles"])
def test_forward_backward_matches_torch(activation, dataset):
    X, y = make_dataset(dataset, seed=3)
    rng = np.random.default_rng(1)
    sizes = [2, 6, 5, 4, 1]
    Ws = init_weights(sizes, "xavier", rng)
    bs = [rng.normal(0, 0.1, s) for s in sizes[1:]]
    alpha = 0.01 if activation == "leaky_relu" else 0.0
    loss, acc, gWs, gbs = forward_backward(Ws, bs, X, y, ACTIVATION_KIND[activation], alpha)

    tW = [torch.tensor(w, requires_grad=True) for w in Ws]
    tb = [torch.tensor(b, requires_grad=True) for b in bs]
    h = torch.tensor(X)
    for i, (w, b) in enumerate(zip(tW, tb)):
        h = h @ w + b
        if i < len(tW) - 1:
            h = TORCH_ACT[activation](h)
    tloss = torch.nn.functional.binary_cross_entropy_with_logits(h[:, 0], torch.tensor(y))
    tloss.backward()
    assert loss == pytest.approx(tloss.item(), rel=1e-12)
    assert acc == pytest.approx(float(((h[:, 0] > 0).numpy() == (y > 0.5)).mean()))
    for ours, theirs in zip(list(gWs) + list(gbs), tW + tb):
        np.testing.assert_allclose(ours, theirs.grad.numpy(), rtol=1e-9, atol=1e-13)


@pytest.fixture(scope="module")
def vanishing():
    return trace_config(load_config(CONFIG_DIR / "vanishing.yaml"))


def test_sigmoid_gradients_vanish_across_depth(vanishing):
    runs = {r["activation"]: r for r in vanishing["runs"]}
    norms = decode_value(runs["sigmoid"]["grad_norms"])
    assert norms.shape[1] == 10
    assert norms[0, 0] / norms[0, -1] < 1e-4  # first layer orders of magnitude below the last
    assert decode_value(runs["sigmoid"]["accuracy"])[-1] <= 0.75  # and it does not learn XOR
    for act in ("tanh", "relu", "leaky_relu"):
        assert decode_value(runs[act]["accuracy"])[-1] == 1.0
        assert decode_value(runs[act]["loss"])[-1] < 0.1 * decode_value(runs["sigmoid"]["loss"])[-1]


def test_divergence_is_recorded_as_nan_not_a_crash():
    cfg = parse_config({"scene": "vanishing", "activations": ["relu"], "init": "normal", "width": 32,
                        "learning_rate": 5.0, "steps": 200, "record_every": 10, "seed": 0})
    t = trace_config(cfg)
    loss = t["runs"][0]["loss"]
    assert "nan" in loss or "inf" in loss
    k = next(i for i, v in enumerate(loss) if isinstance(v, str))
    assert all(isinstance(v, str) for v in loss[k + 1:])  # stays NaN after it diverged
    assert len(loss) == len(t["runs"][0]["steps"])


def test_zigzag_signs():
    t = trace_config(load_config(CONFIG_DIR / "zigzag.yaml"))
    runs = {r["activation"]: r for r in t["runs"]}
    g = decode_value(runs["sigmoid"]["grads"])
    assert runs["sigmoid"]["inputs_all_positive"]
    assert np.all(np.sign(g[:, 0]) == np.sign(g[:, 1]))  # every step: one sign for both weights
    assert runs["sigmoid"]["same_sign_steps"] == len(g)
    gt = decode_value(runs["tanh"]["grads"])
    assert runs["tanh"]["same_sign_steps"] == int(np.sum(np.sign(gt[:, 0]) == np.sign(gt[:, 1]))) < len(gt)
    w = decode_value(runs["tanh"]["weights"])
    assert np.linalg.norm(w[-1] - t["target"]) < np.linalg.norm(decode_value(runs["sigmoid"]["weights"])[-1] - t["target"])


@pytest.mark.parametrize("activation", ["sigmoid", "tanh", "relu"])
@pytest.mark.parametrize("loss", ["sum", "mse"])
def test_histogram_pass_matches_torch(activation, loss):
    rng = np.random.default_rng(7)
    sizes = [3, 12, 9, 7, 4]  # in_features 3, out_features 4
    Ws = [rng.uniform(-1, 1, (a, b)) for a, b in zip(sizes, sizes[1:])]
    bs = [rng.uniform(-1, 1, b) for b in sizes[1:]]
    x = rng.standard_normal((5, 3))
    ours = mlp_weight_grads(Ws, bs, x, activation, loss, target=0.7)

    tW = [torch.tensor(w, requires_grad=True) for w in Ws]
    h = torch.tensor(x)
    for i, (w, b) in enumerate(zip(tW, bs)):
        h = h @ w + torch.tensor(b)
        if i < len(tW) - 1:
            h = TORCH_ACT[activation](h)
    (h.sum() if loss == "sum" else torch.nn.functional.mse_loss(h, torch.full_like(h, 0.7))).backward()
    for g, w in zip(ours, tW):
        np.testing.assert_allclose(g, w.grad.numpy(), rtol=1e-10, atol=1e-14)


def test_histograms_last_layer_sign():
    t = trace_config(load_config(CONFIG_DIR / "histograms.yaml"))
    runs = {r["activation"]: r for r in t["runs"]}
    last = runs["sigmoid"]["histograms"][-1]
    assert last["positive"] == 100 and last["negative"] == 0 or last["negative"] == 100 and last["positive"] == 0
    tanh_last = runs["tanh"]["histograms"][-1]
    assert tanh_last["positive"] > 0 and tanh_last["negative"] > 0
    for h in runs["sigmoid"]["histograms"]:
        assert sum(h["counts"]) == h["positive"] + h["negative"] + h["zero"]


@pytest.mark.parametrize("data,fragment", [
    ({"scene": "vanishing", "depth": 0}, "key 'depth'"),
    ({"scene": "vanishing", "activations": ["softplus"]}, "key 'activations.0'"),
    ({"scene": "vanishing", "steps": 10**9}, "key 'steps'"),
    ({"scene": "zigzag", "batch_size": -1}, "key 'batch_size'"),
    ({"scene": "histograms", "width": 10**6}, "key 'width'"),
    ({"scene": "vanishing", "dept": 3}, "did you mean 'depth'"),
])
def test_bad_training_configs(data, fragment):
    from engine.config import ConfigError
    with pytest.raises(ConfigError) as e:
        parse_config(data, "t.yaml")
    assert fragment in str(e.value)


def test_zigzag_records_whether_every_input_is_positive_and_which_engine_ran():
    cfg = {"scene": "zigzag", "steps": 3}
    t = trace_config(parse_config(cfg))
    # sigmoid's outputs are all > 0; tanh's take both signs
    assert {r["activation"]: r["inputs_all_positive"] for r in t["runs"]} == {"sigmoid": True, "tanh": False}
    assert "torch" not in t["versions"]
    assert "torch" in trace_config(parse_config({**cfg, "engine": "torch"}))["versions"]


def test_a_float32_torch_run_computes_in_float32_throughout():
    from engine.torch_training import VanishingRun
    Ws = [np.ones((2, 3)), np.ones((3, 1))]
    bs = [np.zeros(3), np.zeros(1)]
    run = VanishingRun(Ws, bs, np.ones((4, 2)), np.array([0.0, 1.0, 1.0, 0.0]), "sigmoid", 0.01, 0.1, 2, 1,
                       dtype=np.float32)
    assert {run.X.dtype, run.y.dtype} | {p.dtype for p in run.model.parameters()} == {torch.float32}


def test_the_training_estimate_counts_flops_runs_and_cores(monkeypatch):
    import engine.training as tr
    base = {"scene": "vanishing", "depth": 3, "width": 4, "steps": 9, "activations": ["sigmoid"], "seeds": 1}
    # layers 2-4-4-1: 8 + 16 + 4 multiply-adds per example, 6 flops each (forward, backward, update), 4 XOR
    # examples, 10 passes (9 steps and the last pass)
    one = 6 * 4 * (8 + 16 + 4) * 10 / tr.CORE_FLOPS
    est = lambda **kw: tr.estimate_seconds(parse_config({**base, **kw}))  # noqa: E731
    monkeypatch.setattr(tr.os, "cpu_count", lambda: 2)
    assert est() == pytest.approx(one, rel=1e-12)
    assert est(dataset="circles") == pytest.approx(one * 200 / 4, rel=1e-12)  # 200 points
    assert est(activations=["sigmoid", "relu"], seeds=2) == pytest.approx(2 * one, rel=1e-12)  # 4 runs on 2 cores
    assert est(engine="torch") == pytest.approx(one + tr.TORCH_LAYER_STEP_SECONDS * 3 * 10, rel=1e-12)
    monkeypatch.setattr(tr.os, "cpu_count", lambda: None)  # unknown: one core
    assert est(seeds=3) == pytest.approx(3 * one, rel=1e-12)


def test_the_torch_run_counts_its_flops_from_the_layer_shapes():
    from engine.torch_training import VanishingRun
    Ws, bs = [np.ones((2, 3)), np.ones((3, 5)), np.ones((5, 1))], [np.zeros(3), np.zeros(5), np.zeros(1)]
    run = VanishingRun(Ws, bs, np.ones((4, 2)), np.zeros(4), "sigmoid", 0.01, 0.1, 2, 1)
    assert run.flops_per_step() == 6 * 4 * (2 * 3 + 3 * 5 + 5 * 1)


def test_the_circles_alternate_inner_and_outer_all_round():
    X, y = make_dataset("circles", seed=0, n=400)
    r, angle = np.hypot(X[:, 0], X[:, 1]), np.arctan2(X[:, 1], X[:, 0]) % (2 * np.pi)
    assert X.shape == (400, 2) and list(y[:4]) == [1.0, 0.0, 1.0, 0.0]
    assert abs(r[::2].mean() - 0.5) < 0.02 and abs(r[1::2].mean() - 1.0) < 0.02  # radii 0.5 and 1, noise 0.08
    assert np.histogram(angle, bins=8, range=(0, 2 * np.pi))[0].min() > 20  # every eighth of the circle


def test_activation_curves_span_the_grid_asked_for():
    from engine.training import activation_curves
    x = decode_value(activation_curves(["relu"], lo=-2.0, hi=3.0, n=11)["x"])
    np.testing.assert_allclose(x, np.linspace(-2.0, 3.0, 11))


def test_progress_shows_after_a_second_on_a_terminal_and_every_five_seconds_elsewhere(monkeypatch):
    import io
    import engine.training as tr
    clock = [100.0]
    monkeypatch.setattr(tr.time, "monotonic", lambda: clock[0])

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    def shown(stream, times):
        clock[0] = 100.0
        progress = tr.StderrProgress(stream=stream)
        for done, t in enumerate(times, 1):
            clock[0] = 100.0 + t
            progress(done, 10)
        return stream.getvalue()

    # a terminal: nothing in the first second, then at most every quarter second, rewritten in place
    assert shown(Terminal(), [0.5, 1.5, 1.6, 1.9]) == "\rtraining: 20% of 10 steps, 2 s\rtraining: 40% of 10 steps, 2 s"
    # a log: a line every five seconds
    assert shown(io.StringIO(), [0.5, 4.0, 5.2, 8.0, 10.3]) == ("training: 30% of 10 steps, 5 s\n"
                                                               "training: 50% of 10 steps, 10 s\n")


def test_a_float32_run_is_trained_in_float32():
    base = {"scene": "vanishing", "depth": 4, "width": 5, "steps": 3, "record_every": 1, "activations": ["tanh"]}
    f64, f32 = (decode_value(trace_config(parse_config({**base, "dtype": d}))["runs"][0]["loss"])[0]
                for d in ("float64", "float32"))
    assert f32 != f64 and f32 == pytest.approx(f64, rel=1e-5)  # float32's rounding, and only that
