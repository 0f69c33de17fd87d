"""Config files: declared schemas, checked once at the edge, with errors that name file, key and fix.

A config is YAML with a ``scene`` key choosing its kind. Past ``load_config`` everything is plain,
validated data; nothing in a config is ever executed.
"""
from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from importlib import import_module
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal, Union

import numpy as np
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from infra.errors import ConfigError
from .expr import NAME, name_too_long
from .gradcheck import DEFAULT_H
from infra.io import MAX_CONFIG_BYTES, read_input
from .ops import ACTIVATIONS

MAX_INPUT_ELEMENTS = 10_000
MAX_NODES = 500
MAX_INPUT_DIMS = 4

# A number, or a (nested) list of numbers: vectors and matrices; nesting is checked by the validator.
Value = Union[float, list[Any]]


class Strict(BaseModel):
    """The base of every file's schema: scene configs here, lectures and courses in the pipeline."""
    # strict: `steps: true` or `depth: "3"` is refused, not quietly made 1 or 3 (ints still count as floats)
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, allow_inf_nan=False)


class SceneConfig(Strict):
    """What every scene config has besides its kind's own keys."""

    title: str | None = Field(None, max_length=200, description="caption shown at the top of the scene")


class GraphConfig(SceneConfig):
    """An expression over named inputs, traced through one forward and backward pass."""

    kind: ClassVar[str] = "graph"
    scene: str = "graph"
    expression: str = Field(max_length=10_000, description="one expression, or lines of `name = expr`")
    inputs: dict[str, Value] = Field(description="a value for every variable: a number or nested list")
    constants: dict[str, Value] = Field(
        default_factory=dict, description="named data that gets no gradient (labels, fixed inputs)")
    alternative: str | None = Field(
        None, max_length=10_000,
        description="a second expression over the same inputs, traced beside the first (e.g. a collapsed gate)")
    h: float = Field(DEFAULT_H, gt=0, le=1, description="step of the numerical gradient check")

    @field_validator("scene")
    @classmethod
    def _draws_graphs(cls, scene: str) -> str:
        return _graph_scene(scene)

    @field_validator("inputs", "constants", mode="before")
    @classmethod
    def _inputs_are_arrays(cls, inputs: Any) -> Any:
        return _check_arrays(inputs)

    @model_validator(mode="after")
    def _names_are_distinct(self):
        return _distinct_names(self)


def _check_arrays(inputs: Any) -> Any:
    """Named numbers or nested lists of numbers. Runs before pydantic's coercion, which would quietly turn
    `true` or "1" into a number."""
    if not isinstance(inputs, dict):
        return inputs
    for name, v in inputs.items():
        if not isinstance(name, str):
            raise ValueError(f"{name!r} is not a valid variable name")
        if not NAME.fullmatch(name):
            raise ValueError(f"{_short(name)} is not a valid variable name: use ASCII letters, digits and _, "
                             "starting with a letter (write alpha for α)")
        if name_too_long(name):
            raise ValueError(name_too_long(name))
        if _depth(v) > MAX_INPUT_DIMS:
            raise ValueError(f"'{name}' has more than {MAX_INPUT_DIMS} dimensions")
        if not _all_numbers(v):
            raise ValueError(f"'{name}' must be a number or a nested list of numbers, got {_short(v)}")
        try:
            arr = np.asarray(v, dtype=np.float64)
        except OverflowError:
            raise ValueError(f"'{name}' holds a number too large for a float") from None
        except ValueError:
            raise ValueError(f"'{name}' is a ragged list: every row must have the same length") from None
        if arr.size > MAX_INPUT_ELEMENTS:
            raise ValueError(f"'{name}' has {arr.size} elements (at most {MAX_INPUT_ELEMENTS})")
        if arr.size == 0:
            raise ValueError(f"'{name}' is empty")
        if not np.all(np.isfinite(arr)):
            raise ValueError(f"'{name}' holds a non-finite number (NaN or infinity)")
    return inputs


def _graph_scene(scene: str) -> str:
    """A graph config's scene: a kind that draws graph traces (said as a Literal would, from the registry)."""
    names = [k.name for k in KINDS.values() if k.schema.kind == "graph"]
    if scene not in names:
        raise ValueError(f"Input should be {', '.join(map(repr, names[:-1]))} or {names[-1]!r}")
    return scene


def _distinct_names(cfg):
    both = sorted(cfg.inputs.keys() & cfg.constants.keys())
    if both:
        raise ValueError(f"{', '.join(both)} given both as input and as constant")
    return cfg


PlainData = Union[bool, int, float, str, list[Any], dict[str, Any], None]
TORCH_SPEC = r"^[A-Za-z0-9_./-]+\.py:[A-Za-z_][A-Za-z0-9_]*$"


class TorchGraphConfig(SceneConfig):
    """PyTorch code, a function or an nn.Module in a file beside the config, traced through torch autograd.
    Unlike an expression this runs Python: the CLI runs it only with --trust."""

    kind: ClassVar[str] = "graph"
    scene: str = "graph"
    torch: str = Field(pattern=TORCH_SPEC, max_length=300,
                       description="FILE.py:NAME, a function or nn.Module class in a file under the config's folder")
    inputs: dict[str, Value] = Field(description="leaf tensors that get gradients (float64), passed by name")
    constants: dict[str, Value] = Field(default_factory=dict,
                                        description="tensors without gradient (float64), passed by name")
    torch_args: dict[str, PlainData] = Field(default_factory=dict,
                                             description="keyword arguments of the module's constructor")
    loss: Literal["sum", "mse", "cross_entropy"] | None = Field(
        None, description="applied to the output against target: sum, mse or cross_entropy (class indices "
                          "or probabilities); needed when the output is not a scalar")
    target: Value | None = Field(None, description="what mse or cross_entropy compares the output with")
    seed: Seed = Field(0, description="torch.manual_seed before a module is built (its initial weights)")
    h: float = Field(DEFAULT_H, gt=0, le=1, description="step of the numerical gradient check")

    @field_validator("scene")
    @classmethod
    def _draws_graphs(cls, scene: str) -> str:
        return _graph_scene(scene)

    @field_validator("inputs", "constants", mode="before")
    @classmethod
    def _inputs_are_arrays(cls, inputs: Any) -> Any:
        return _check_arrays(inputs)

    @field_validator("target", mode="before")
    @classmethod
    def _target_is_an_array(cls, target: Any) -> Any:
        return target if target is None else _check_arrays({"target": target})["target"]

    @model_validator(mode="after")
    def _names_are_distinct(self):
        _distinct_names(self)
        if self.loss in ("mse", "cross_entropy") and self.target is None:
            raise ValueError(f"loss '{self.loss}' needs a target")
        return self


Activation = Literal[ACTIVATIONS]
Seed = Annotated[int, Field(ge=0, le=2**31 - 1, description="random seed")]


class VanishingConfig(SceneConfig):
    """Deep MLPs on a toy dataset, one run per activation, trained by plain gradient descent."""

    kind: ClassVar[str] = "vanishing"
    scene: Literal["vanishing"]
    dataset: Literal["xor", "circles"] = Field("xor", description="xor or circles")
    depth: int = Field(10, ge=1, le=50, description="number of weight layers (1 to 50)")
    width: int = Field(8, ge=1, le=256, description="units per hidden layer (1 to 256)")
    activations: list[Activation] = Field(list(ACTIVATIONS), min_length=1, max_length=len(ACTIVATIONS),
                                          description="hidden activations to compare")
    init: Literal["normal", "xavier", "he"] = Field("normal", description="normal (std 1), xavier or he")
    bias_init: Literal["zeros", "normal"] = Field("zeros", description="biases start at zero or standard normal")
    leaky_slope: float = Field(0.01, ge=0, le=1, description="leaky ReLU's slope for x < 0 (torch 0.01, TensorFlow 0.2)")
    dtype: Literal["float32", "float64"] = Field("float64", description="float32 (as TensorFlow trains) or float64")
    loss_form: Literal["stable", "naive"] = Field(
        "stable", description="stable: cross-entropy from the logit; naive: -mean(y log h + (1-y) log(1-h)), "
                              "which can reach log(0) and NaN")
    learning_rate: float = Field(0.1, gt=0, le=10, description="gradient-descent step size")
    steps: int = Field(20_000, ge=1, le=200_000, description="training steps (1 to 200000)")
    record_every: int = Field(100, ge=1, le=100_000,
                              description="record loss and gradient norms every N steps (and the last step)")
    seed: Seed = 0
    seeds: int = Field(1, ge=1, le=100, description="runs per activation, from seed, seed+1, ... (1 to 100)")
    engine: Literal["numpy", "torch"] = Field(
        "numpy", description="numpy (our compiled loop), or torch: nn.Sequential, torch.optim.SGD, hooks")


class ZigzagConfig(SceneConfig):
    """One linear neuron with two weights fed all-positive (sigmoid) or zero-centred (tanh) inputs."""

    kind: ClassVar[str] = "zigzag"
    scene: Literal["zigzag"]
    start: list[float] = Field([-1.5, 1.5], min_length=2, max_length=2, description="initial weights [w1, w2]")
    target: list[float] = Field([1.0, -1.0], min_length=2, max_length=2, description="the teacher's weights [w1, w2]")
    learning_rate: float = Field(0.5, gt=0, le=10, description="gradient-descent step size")
    steps: int = Field(40, ge=1, le=2000, description="steps to draw (1 to 2000)")
    batch_size: int = Field(1, ge=1, le=1000, description="examples per step; larger batches mix signs")
    samples: int = Field(200, ge=2, le=10_000, description="size of the dataset")
    view: float = Field(3.0, gt=0, le=100, description="half-width of the drawn (w1, w2) window")
    engine: Literal["numpy", "torch"] = Field("numpy", description="numpy, or torch: autograd and torch.optim.SGD")
    seed: Seed = 0


class HistogramsConfig(SceneConfig):
    """One backward pass through an MLP; per-layer histograms of weight gradients."""

    kind: ClassVar[str] = "histograms"
    scene: Literal["histograms"]
    depth: int = Field(4, ge=1, le=20, description="hidden layers (1 to 20)")
    width: int = Field(100, ge=1, le=1000, description="units per hidden layer (1 to 1000)")
    in_features: int = Field(1, ge=1, le=1000, description="size of each input (1 to 1000)")
    out_features: int = Field(1, ge=1, le=1000, description="size of the output (1 to 1000)")
    batch: int = Field(1, ge=1, le=1000, description="inputs in the pass")
    activations: list[Literal["sigmoid", "tanh", "relu"]] = Field(["sigmoid", "tanh"], min_length=1, max_length=3,
                                                                    description="activations to compare")
    loss: Literal["sum", "mse"] = Field("sum", description="sum of the outputs, or their mean squared error to target")
    target: float = Field(0.0, ge=-1e6, le=1e6, description="the mse loss's target for every output")
    bins: int = Field(30, ge=2, le=200, description="histogram bins")
    engine: Literal["numpy", "torch"] = Field(
        "numpy", description="numpy (the gate table), or torch: nn.Sequential of nn.Linear with hooks")
    seed: Seed = 0


@dataclass(frozen=True)
class SceneKind:
    """Everything a scene kind is made of, in one entry: a new kind is its module(s) and one ``register``.

    Its tracer, trace check and scene are named by import path ("module:name"): configs load without the
    engine's training code, the checks (engine.trace_check) can look kinds up here, and the engine never
    imports Manim. The trace a kind draws is its schema's ``kind`` ("graph" for every graph scene).
    """

    name: str  # the config's `scene:` value
    schema: type[SceneConfig]  # the config's keys
    tracer: str  # "module:function", called as function(config, source, allow_long) -> trace
    check_trace: str  # "module:function", raises engine.trace_check.InvalidTrace unless the trace can be drawn
    scene: str  # "module:Class", the Manim scene that draws it
    help: str  # one line for `render.py list`
    example: str  # the shipped config that shows it (assets/configs/EXAMPLE.yaml)

    @property
    def trace_kind(self) -> str:
        return self.schema.kind

    def trace(self, cfg, source: str, allow_long: bool) -> dict:
        return _imported(self.tracer)(cfg, source, allow_long)

    def check(self, trace: dict) -> None:
        _imported(self.check_trace)(trace)

    def scene_class(self) -> type:
        return _imported(self.scene)


def _imported(path: str):
    module, _, name = path.partition(":")
    return getattr(import_module(module), name)


KINDS: dict[str, SceneKind] = {}  # by name, in the order `render.py list` shows them


def register(kind: SceneKind) -> SceneKind:
    KINDS[kind.name] = kind
    return kind


def _graph_kind(name: str, scene: str, help: str, example: str) -> SceneKind:
    """A scene of one computational graph (an expression or torch code), drawn from a graph trace."""
    return SceneKind(name, GraphConfig, "engine.run:trace_graph", "engine.trace_check:check_graph_trace",
                     f"scenes.graph_scenes:{scene}", help, example)


for _kind in [
    _graph_kind("graph", "ComputationalGraphScene",
                "computational graph: forward values, then the backward pass gate by gate", "chain_rule"),
    _graph_kind("gates", "GatePatterns", "gate patterns: add distributes, mul swaps, max routes, a branch sums",
                "gates"),
    _graph_kind("sigmoid_gate", "SigmoidGate", "the sigmoid's chain of gates collapsed into one gate", "sigmoid_gate"),
    _graph_kind("vectors", "VectorsAndJacobians", "vectors and matrices: every gradient has its variable's shape",
                "vectors"),
    _graph_kind("layers", "LayersAsNodes",
                "layers as nodes: ReLU mask, Sigmoid y(1-y), Softmax-with-Loss (y-t)/batch", "layers"),
    _graph_kind("gradcheck", "GradientCheck", "analytic against numerical gradients, with their relative error",
                "gradcheck"),
    SceneKind("vanishing", VanishingConfig, "engine.run:trace_vanishing", "engine.trace_check:check_vanishing_trace",
              "scenes.training_scenes:VanishingGradients",
              "deep nets on XOR: gradient norms per layer, loss and accuracy per activation", "vanishing"),
    SceneKind("zigzag", ZigzagConfig, "engine.run:trace_zigzag", "engine.trace_check:check_zigzag_trace",
              "scenes.training_scenes:SigmoidZigZag", "sigmoid's all-positive inputs make gradient descent zig-zag",
              "zigzag"),
    SceneKind("histograms", HistogramsConfig, "engine.run:trace_histograms",
              "engine.trace_check:check_histograms_trace", "scenes.training_scenes:GradientHistograms",
              "per-layer histograms of weight gradients: sigmoid against tanh", "histograms"),
]:
    register(_kind)


def keys_reference() -> str:
    """Every key of every scene kind as Markdown, from the schemas themselves (README and `list --keys`)."""
    out = []
    groups: dict[type, list[str]] = {}
    for name, kind in KINDS.items():
        groups.setdefault(kind.schema, []).append(name)
    for schema, names in groups.items():
        out.append(f"**{', '.join(f'`{n}`' for n in names)}**\n")
        out.extend(_key_rows(schema))
        out.append("")
        if schema is GraphConfig:  # the same scenes, from PyTorch code instead of an expression
            out.append(f"**{', '.join(f'`{n}`' for n in names)} with `torch:` instead of `expression:`**\n")
            out.extend(_key_rows(TorchGraphConfig))
            out.append("")
    return "\n".join(out).rstrip() + "\n"


def _key_rows(schema) -> list[str]:
    rows = ["| key | default | what it sets |", "|---|---|---|"]
    for key, field in schema.model_fields.items():
        if key == "scene":
            continue
        value = None if field.is_required() else field.get_default(call_default_factory=True)
        default = "required" if field.is_required() else "none" if value is None else f"`{value}`"
        rows.append(f"| `{key}` | {default} | {field.description or ''} |")
    return rows


def parse_config(data: Any, source: str = "<config>") -> Strict:
    """Validate a config already read into Python data; raise ConfigError naming source and key."""
    _no_lone_surrogates(source, data)  # (a file's data was checked when read; the Python API's is here)
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: the config must be a mapping of keys to values, got {type(data).__name__}")
    scene = data.get("scene")
    if scene is None:
        raise ConfigError(f"{source}: key 'scene' is missing; allowed: {', '.join(KINDS)}")
    if not isinstance(scene, str):
        raise ConfigError(f"{source}: key 'scene': must be a name, got {_short(scene)}; allowed: {', '.join(KINDS)}")
    if scene not in KINDS:
        raise ConfigError(f"{source}: key 'scene': unknown scene kind {scene!r}{_did_you_mean(str(scene), KINDS)};"
                          f" allowed: {', '.join(KINDS)}")
    schema = KINDS[scene].schema
    if "torch" in data and schema is GraphConfig:
        if "expression" in data:
            raise ConfigError(f"{source}: give either 'expression' (a formula, data) or 'torch' (Python code), not both")
        schema = TorchGraphConfig
    try:
        return schema.model_validate(data)
    except ValidationError as e:
        raise ConfigError(f"{source}: {first_error(e, schema)}") from None


def load_config(path: str | Path) -> Strict:
    """Read and validate a YAML config file."""
    return parse_config(read_yaml(path), str(path))


def read_yaml(path: str | Path) -> Any:
    """A config or lecture file's data, read as YAML 1.2 with the limits every input file gets.

    Only a regular file is read (a FIFO would block, /dev/zero never end), at most MAX_CONFIG_BYTES
    of it (infra.io.read_input); anchors and aliases are refused before anything expands (a few hundred bytes of aliases
    can stand for gigabytes of data).
    """
    path = Path(path)
    raw = read_input(path, MAX_CONFIG_BYTES)
    try:
        return _no_lone_surrogates(path, yaml.load(raw, Loader=_ConfigLoader))  # noqa: S506 - a SafeLoader
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        problem = getattr(e, "problem", None) or str(e).splitlines()[0]
        raise ConfigError(f"{path}: YAML syntax error: {where}{problem}") from None
    except RecursionError:
        raise ConfigError(f"{path}: the YAML is nested too deeply") from None


def _no_lone_surrogates(path: Path | str, data: Any) -> Any:
    """``data`` unless a string in it holds half of a UTF-16 surrogate pair, which YAML's "\\ud800" escape
    makes and no file, subtitle or voice can encode: refused naming the key."""
    todo = [("", data)]
    while todo:  # a loop, not recursion: the YAML may be nested as deeply as the parser allowed
        key, value = todo.pop()
        if isinstance(value, dict):
            todo += [(f"{key}.{k}" if key else str(k), v) for k, v in value.items()]
            todo += [(f"{key}.{k}" if key else k, k) for k in value if isinstance(k, str)]  # the keys too
        elif isinstance(value, list):
            todo += [(f"{key}.{i}" if key else str(i), v) for i, v in enumerate(value)]
        elif isinstance(value, str):
            try:
                value.encode("utf-8")
            except UnicodeEncodeError as e:
                shown = key.encode("utf-8", "backslashreplace").decode()  # a key may hold one too
                where = f"key '{shown[:80]}': " if key else ""
                raise ConfigError(f"{path}: {where}U+{ord(value[e.start]):04X} is half of a surrogate pair, not "
                                  'a character: write the character itself, or one escape ("\\U0001F525", not '
                                  '"\\ud83d\\udd25")') from None
    return data


class _ConfigLoader(yaml.SafeLoader):
    """PyYAML's safe loader with YAML 1.2's core schema for plain scalars.

    YAML 1.1 (PyYAML's default) reads 1e-8 as a string, yes/no/on/off as booleans, 010 as eight and
    2024-01-01 as a date; YAML 1.2 and Python read numbers the way people write them.
    """

    def compose_node(self, parent, index):
        if self.check_event(yaml.AliasEvent):
            raise yaml.composer.ComposerError(None, None, "aliases (*name) are not allowed in configs",
                                              self.peek_event().start_mark)
        return super().compose_node(parent, index)


_ConfigLoader.yaml_implicit_resolvers = {}
for _tag, _pattern, _first in [
        ("tag:yaml.org,2002:null", r"~|null|Null|NULL|", "~nN"),
        ("tag:yaml.org,2002:bool", r"true|True|TRUE|false|False|FALSE", "tTfF"),
        ("tag:yaml.org,2002:int", r"[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+", "-+0123456789"),
        ("tag:yaml.org,2002:float", r"[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?"
                                    r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN)", "-+.0123456789")]:
    _ConfigLoader.add_implicit_resolver(_tag, re.compile(rf"^(?:{_pattern})$"), list(_first))
_ConfigLoader.add_implicit_resolver("tag:yaml.org,2002:null", re.compile(r"^$"), [""])


def _construct_int(loader, node):
    text = loader.construct_scalar(node)
    sign = -1 if text.startswith("-") else 1
    digits = text.lstrip("+-")
    try:
        if digits.startswith(("0o", "0x")):
            return sign * int(digits[2:], 8 if digits[1] == "o" else 16)
        return sign * int(digits, 10)
    except ValueError:  # more digits than Python converts (4,300)
        raise yaml.constructor.ConstructorError(None, None, "an integer with too many digits", node.start_mark) from None


def _construct_float(loader, node):
    text = loader.construct_scalar(node).lower()
    if text.endswith(".inf"):
        return float("-inf") if text.startswith("-") else float("inf")
    return float("nan") if text == ".nan" else float(text)


_ConfigLoader.add_constructor("tag:yaml.org,2002:int", _construct_int)
_ConfigLoader.add_constructor("tag:yaml.org,2002:float", _construct_float)


def _depth(v, limit: int = MAX_INPUT_DIMS + 1) -> int:
    """How deeply lists nest in ``v`` (0 for a number), counted no further than ``limit``."""
    depth = 0
    while isinstance(v, list) and depth < limit:
        depth += 1
        v = v[0] if v else None
    return depth


def _short(v) -> str:
    """A value as a user wrote it, cut short (never the whole of a large one)."""
    text = repr(v) if not isinstance(v, (list, dict)) or len(v) < 20 else f"a {type(v).__name__} of {len(v)} items"
    return text if len(text) <= 80 else text[:77] + "..."


def _all_numbers(v) -> bool:
    if isinstance(v, list):
        return all(_all_numbers(i) for i in v)
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def first_error(e: ValidationError, schema: type[BaseModel]) -> str:
    # An unknown key usually explains a missing one (a typo), so report it first.
    err = sorted(e.errors(), key=lambda x: x["type"] != "extra_forbidden")[0]
    loc = [str(p) for p in err["loc"]]  # empty only for a rule between keys (parse_config checks the mapping)
    key = ".".join(loc)
    if err["type"] == "extra_forbidden":
        fields = list(schema.model_fields)
        return f"unknown key '{key}'{_did_you_mean(loc[-1], fields)}; allowed: {', '.join(fields)}"
    if err["type"] == "missing":
        return f"key '{key}' is missing: {schema.model_fields[loc[0]].description}"
    msg = err["msg"]
    if msg.startswith("Value error, "):
        msg = msg[len("Value error, "):]
    # (inputs and constants are checked by their own validator first, with their own messages)
    if err["type"].endswith("_type"):  # strict mode: a wrong type is never parsed from a string
        msg = f"{msg}, got {_short(err['input'])}"
    return f"key '{key}': {msg}" if key else msg  # (no key: a rule between keys, such as loss and target)


def _did_you_mean(word: str, choices) -> str:
    hint = difflib.get_close_matches(word, list(choices))
    return f" (did you mean '{hint[0]}'?)" if hint else ""


def as_array(v: Value) -> np.ndarray:
    """An input value as a float64 array (0-d for a number)."""
    return np.asarray(v, dtype=np.float64)

