"""Traces read back are untrusted: checked against the schema before anything is drawn; names that
reach LaTeX are refused at the edge unless LaTeX can typeset them."""
import copy
import json

import pytest

from engine.config import ConfigError, parse_config
from engine.run import trace_config
from helpers import run_cli, shipped_params
from render import CONFIG_DIR
from scenes.trace_data import TraceError, read_trace
from scenes.style import latex_name


@pytest.fixture(scope="module")
def chain():
    from engine.config import load_config
    return trace_config(load_config(CONFIG_DIR / "chain_rule.yaml"))


def write(tmp_path, trace) -> str:
    p = tmp_path / "t.json"
    p.write_text(json.dumps(trace) if not isinstance(trace, str) else trace)
    return str(p)


def poisoned(chain, mutate):
    t = copy.deepcopy(chain)
    mutate(t)
    return t


BAD = {
    "latex in a label": (lambda t: t["nodes"][0].update(label=r"\input{/etc/hostname}"), "nodes[0].label"),
    "unknown op": (lambda t: t["nodes"][2].update(op="system"), "unknown op 'system'"),
    "value as text": (lambda t: t["nodes"][0].update(value="12; rm"), "nodes[0].value: expected a number"),
    "dangling input": (lambda t: t["nodes"][2].update(inputs=["n0", "n9"]), "nodes[2].inputs"),
    "missing nodes": (lambda t: t.pop("nodes"), "trace.nodes: must be a non-empty list"),
    "output unknown": (lambda t: t.update(output="n99"), "trace.output: must be a node's id"),
    "backward arity": (lambda t: t["backward"][0].update(local=[1.0]), "backward[0].local"),
    "scene unknown": (lambda t: t["config"].update(scene="shell"), "config.scene: unknown scene kind"),
    "scene of another kind": (lambda t: t["config"].update(scene="zigzag"), "a zigzag scene needs a zigzag trace"),
    "version": (lambda t: t.update(version=2), "expected backprop-trace version 1"),
    "latex in a term's name": (lambda t: t["backward"][0].update(terms={r"\input{x}": 1.0}), "backward[0].terms"),
    "term as text": (lambda t: t["backward"][0].update(terms={"y": "1; rm"}), "backward[0].terms.y: expected a number"),
    "config not a dict": (lambda t: t.update(config=[1]), "config: must be an object"),
    "latex in a layer class": (lambda t: t["nodes"][0].update(label="0.weight", attrs={"module": r"\def\x{}"}),
                               "nodes[0].attrs: must be an object whose module is a name"),
    "a number as a parameter": (lambda t: t["nodes"][0].update(label="0.5"), "nodes[0].label"),
}


@pytest.mark.parametrize("name", BAD)
def test_malformed_traces_are_one_line_errors(tmp_path, chain, name):
    mutate, fragment = BAD[name]
    path = write(tmp_path, poisoned(chain, mutate))
    with pytest.raises(TraceError) as e:
        read_trace(path)
    assert fragment in str(e.value) and "\n" not in str(e.value)


@pytest.mark.parametrize("text", ["[]", "{\"format\": 1}", "nul", "{" * 100000, ""])
def test_garbage_is_one_line(tmp_path, text):
    with pytest.raises(TraceError) as e:
        read_trace(write(tmp_path, text))
    assert "\n" not in str(e.value)


def test_render_refuses_a_trace_with_latex_in_a_label(tmp_path, chain):
    path = write(tmp_path, poisoned(chain, BAD["latex in a label"][0]))
    r = run_cli(["render", path, "--still", "-o", str(tmp_path / "f.png")])
    assert r.exit_code == 1 and "not a valid trace: trace.nodes[0].label" in r.output
    assert not (tmp_path / "f.png").exists()


@pytest.mark.parametrize("cfg", shipped_params(sorted(CONFIG_DIR.glob("*.yaml"))))
def test_shipped_traces_are_valid(cfg):
    # the trace every render and audit of cfg reads: traced once (test_cli's `trace` traces each afresh) and
    # cached, and checked against the schema here as it is read back
    from engine.source import trace_path_for
    read_trace(trace_path_for(cfg))


@pytest.mark.parametrize("name", ["_", "_1", "α", "größe", "変数", "a-b"])
def test_names_latex_cannot_typeset_are_refused(name):
    with pytest.raises(ConfigError) as e:
        parse_config({"scene": "graph", "expression": "x", "inputs": {name: 1.0}}, "c.yaml")
    assert ("not a valid variable name: use ASCII letters, digits and _, starting with a letter (write alpha for "
            "α)") in str(e.value)


@pytest.mark.parametrize("name", ["_t", "α", "größe"])
def test_assigned_names_latex_cannot_typeset_are_refused(name):
    with pytest.raises(ConfigError) as e:
        trace_config(parse_config({"scene": "graph", "expression": f"{name} = x * 2\n{name}", "inputs": {"x": 1.0}},
                                  "c.yaml"), "c.yaml")
    assert f"name '{name}' is not allowed" in str(e.value)


@pytest.mark.parametrize("label,tex", [("w0", "w_{0}"), ("w_in", r"w_{\mathrm{in}}"), ("alpha", r"\alpha"),
                                       ("sigma_2", r"\sigma_{2}"), ("loss", r"\mathrm{loss}"),
                                       ("w_in_1", r"w_{\mathrm{in\_1}}"),  # one subscript: the rest after the first _
                                       (r"\input{x}", r"\text{?}"), ("a}b", r"\text{?}")])
def test_latex_names(label, tex):
    assert latex_name(label) == tex


@pytest.mark.parametrize("label,module,tex", [
    ("fc1.weight", None, r"\mathrm{fc1.weight}"),
    ("0.weight", "Linear", r"\mathrm{Linear}_{0}.\mathrm{weight}"),  # an nn.Sequential's: its layer's class
    ("0.weight", None, r"0.\mathrm{weight}"),  # no class known: as it reads
    ("0.weight", "a}b", r"0.\mathrm{weight}"),  # a class that is not a name never reaches LaTeX
    ("layers.0.b_1", "Linear", r"\mathrm{layers}_{0}.\mathrm{b\_1}"),  # named: the index as a subscript
    ("blocks.1.0.weight", None, r"\mathrm{blocks}_{1,0}.\mathrm{weight}"),
])
def test_torch_parameter_names_in_latex(label, module, tex):
    assert latex_name(label, module) == tex


def test_an_nn_sequential_s_parameters_are_valid_labels(tmp_path, chain):
    t = poisoned(chain, lambda t: t["nodes"][0].update(label="0.weight", attrs={"module": "Linear"}))
    read_trace(write(tmp_path, t))


@pytest.fixture(scope="module")
def training_traces():
    cfgs = {"vanishing": {"scene": "vanishing", "depth": 3, "width": 3, "steps": 20, "record_every": 10, "seeds": 2},
            "zigzag": {"scene": "zigzag", "steps": 5}, "histograms": {"scene": "histograms", "depth": 2, "width": 5}}
    return {k: trace_config(parse_config(v)) for k, v in cfgs.items()}


TRAINING_BAD = {
    "vanishing": [
        (lambda t: t.update(runs=[]), "runs: must be a non-empty list"),
        (lambda t: t["runs"][0].update(activation="swish"), "runs[0].activation: unknown activation"),
        (lambda t: t["runs"][0].pop("loss"), "runs[0]: key 'loss' is missing"),
        (lambda t: t["runs"][0].update(grad_norms=[["x"]]), "runs[0].grad_norms: expected a number"),
        (lambda t: t["runs"][0].update(steps=[[[[[[[1]]]]]]]), "runs[0].steps: nested too deeply"),
        (lambda t: t.pop("activation_curves"), "activation_curves: must be an object with x"),
        (lambda t: t["activation_curves"].update(swish={}), "activation_curves.swish: unknown activation"),
        (lambda t: t["activation_curves"]["relu"].pop("df"), "activation_curves.relu: key 'df' is missing"),
        (lambda t: t["seed_summary"][0].update(solved="all"), "seed_summary[0].solved: must be a whole number"),
        (lambda t: t["seed_summary"][0].update(activation=None), "seed_summary[0]: unknown activation"),
    ],
    "zigzag": [
        (lambda t: t["runs"][0].pop("weights"), "runs[0]: key 'weights' is missing"),
        (lambda t: t["runs"][0]["contour"].update(loss="deep"), "runs[0].contour.loss: expected a number"),
        (lambda t: t.update(target=["a", 1]), "trace.target: expected a number"),
    ],
    "histograms": [
        (lambda t: t["runs"][0].update(histograms=None), "runs[0].histograms: must be a list"),
        (lambda t: t["runs"][0]["histograms"][1].update(counts=[True]), "runs[0].histograms[1].counts"),
        (lambda t: t["runs"][0]["histograms"].append(3), "runs[0].histograms[3]: must be an object"),
    ],
}
TRAINING_CASES = [(kind, i) for kind, cases in TRAINING_BAD.items() for i in range(len(cases))]


@pytest.mark.parametrize("kind,i", TRAINING_CASES, ids=[f"{k}-{i}" for k, i in TRAINING_CASES])
def test_malformed_training_traces_are_one_line_errors(tmp_path, training_traces, kind, i):
    mutate, fragment = TRAINING_BAD[kind][i]
    read_trace(write(tmp_path, training_traces[kind]))  # the real one is valid
    with pytest.raises(TraceError) as e:
        read_trace(write(tmp_path, poisoned(training_traces[kind], mutate)))
    assert fragment in str(e.value) and "\n" not in str(e.value), str(e.value)


def test_a_config_whose_trace_cannot_be_drawn_is_named_not_the_trace_cache(tmp_path, monkeypatch, chain):
    import engine.run
    from engine import source
    monkeypatch.setattr(source, "CACHE", tmp_path / "cache")
    bad = poisoned(chain, BAD["latex in a label"][0])
    monkeypatch.setattr(engine.run, "trace_config", lambda cfg, src: bad)  # whatever a tracer might let through
    cfg = tmp_path / "c.yaml"
    cfg.write_text((CONFIG_DIR / "chain_rule.yaml").read_text())
    with pytest.raises(ConfigError) as e:
        source.trace_path_for(cfg)
    assert str(e.value).startswith(f"{cfg}: its trace cannot be drawn: trace.nodes[0].label: must be a name")
    assert not list((tmp_path / "cache").glob("*.json"))
