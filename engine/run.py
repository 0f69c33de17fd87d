"""From a validated config to a trace: the one function the CLI and the scenes' tests call."""
from __future__ import annotations

import os

from .config import KINDS, MAX_NODES, ConfigError, GraphConfig, as_array
from .expr import ExpressionError, parse_expression
from .gradcheck import numerical_gradient
from .graph import Graph
from .ops import EngineError
from .trace import graph_trace


def build_graph(expression: str, inputs: dict, constants: dict, source: str = "<config>",
                key: str = "expression") -> Graph:
    """Parse and run forward; errors become ConfigError naming the source and key."""
    try:
        graph = parse_expression(expression, list(inputs), constants, max_nodes=MAX_NODES)
        graph.set_inputs({k: as_array(v) for k, v in inputs.items()})
        graph.forward()
    except (ExpressionError, EngineError) as e:
        raise ConfigError(f"{source}: key '{key}': {e}") from None
    return graph


def trace_graph_config(cfg: GraphConfig, source: str = "<config>") -> dict:
    """The trace of a graph-kind config: values, gradients, each backward step, numerical gradients."""
    config = cfg.model_dump(exclude_none=True)
    trace = _one_graph(cfg.expression, cfg, source, "expression", config)
    if cfg.alternative is not None:
        alt = _one_graph(cfg.alternative, cfg, source, "alternative", config)
        trace["alternative"] = {k: alt[k] for k in ("nodes", "output", "forward", "backward")}
    return trace


def _one_graph(expression: str, cfg: GraphConfig, source: str, key: str, config: dict) -> dict:
    graph = build_graph(expression, cfg.inputs, cfg.constants, source, key)
    try:
        steps = graph.backward()
    except EngineError as e:
        raise ConfigError(f"{source}: key '{key}': {e}") from None
    numeric = {n.id: numerical_gradient(graph, n, cfg.h) for n in graph.inputs}  # never refuses: see gradcheck
    return graph_trace(graph, steps, numeric, config)


def trace_config(cfg, source: str = "<config>", allow_long: bool | None = None) -> dict:
    """The trace of a config, by its kind's tracer (engine.config.KINDS). Training estimated to take longer
    than its budget is refused unless ``allow_long`` (default: $BACKPROP_ALLOW_LONG, which the CLI's
    --allow-long sets for its workers too)."""
    if allow_long is None:
        allow_long = os.environ.get("BACKPROP_ALLOW_LONG") == "1"
    kind = KINDS.get(cfg.scene)
    if kind is None:
        raise ConfigError(f"{source}: no tracer for kind {cfg.scene!r}")
    return kind.trace(cfg, source, allow_long)


# The tracers the registry names (engine.config.KINDS): (config, source, allow_long) -> trace.
def trace_graph(cfg, source: str, allow_long: bool) -> dict:
    if hasattr(cfg, "torch"):  # Python code, run only when trusted (engine.torch_config)
        from .torch_config import trace_torch_config
        return trace_torch_config(cfg, source)
    return trace_graph_config(cfg, source)


def trace_vanishing(cfg, source: str, allow_long: bool) -> dict:
    from . import training
    try:
        training.check_budget(cfg, allow_long)
    except training.TooLong as e:
        raise ConfigError(f"{source}: {e}") from None
    return training.vanishing_trace(cfg)


def trace_zigzag(cfg, source: str, allow_long: bool) -> dict:
    from . import training
    return training.zigzag_trace(cfg)


def trace_histograms(cfg, source: str, allow_long: bool) -> dict:
    from . import training
    return training.histograms_trace(cfg)
