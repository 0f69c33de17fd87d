"""Config files: declared schemas, checked once at the edge, with errors that name file, key and fix.

A config is YAML with a ``scene`` key choosing its kind. Past ``load_config`` everything is plain,
validated data; nothing in a config is ever executed.
"""
from __future__ import annotations

import difflib
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal, Union

import numpy as np
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from .errors import ConfigError
from .gradcheck import DEFAULT_H

MAX_INPUT_ELEMENTS = 10_000
MAX_NODES = 500
MAX_CONFIG_BYTES = 1_000_000

# A number, or a (nested) list of numbers: vectors and matrices; nesting is checked by the validator.
Value = Union[float, list[Any]]

GRAPH_SCENES = ("graph", "gates", "sigmoid_gate", "vectors", "layers", "gradcheck")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _SceneConfig(_Strict):
    """What every scene config has besides its kind's own keys."""

    title: str | None = Field(None, max_length=200, description="caption shown at the top of the scene")


class GraphConfig(_SceneConfig):
    """An expression over named inputs, traced through one forward and backward pass."""

    kind: ClassVar[str] = "graph"
    scene: Literal[GRAPH_SCENES] = "graph"
    expression: str = Field(max_length=10_000, description="one expression, or lines of `name = expr`")
    inputs: dict[str, Value] = Field(description="a value for every variable: a number or nested list")
    constants: dict[str, Value] = Field(
        default_factory=dict, description="named data that gets no gradient (labels, fixed inputs)")
    alternative: str | None = Field(
        None, max_length=10_000,
        description="a second expression over the same inputs, traced beside the first (e.g. a collapsed gate)")
    h: float = Field(DEFAULT_H, gt=0, le=1, description="step of the numerical gradient check")

    @field_validator("inputs", "constants", mode="before")
    @classmethod
    def _inputs_are_arrays(cls, inputs: Any) -> Any:
        # Runs before pydantic's coercion, which would quietly turn `true` or "1" into a number.
        if not isinstance(inputs, dict):
            return inputs
        for name, v in inputs.items():
            if not isinstance(name, str):
                raise ValueError(f"{name!r} is not a valid variable name")
            if not name.isidentifier() or name.startswith("__"):
                raise ValueError(f"'{name}' is not a valid variable name")
            if not _all_numbers(v):
                raise ValueError(f"'{name}' must be a number or a nested list of numbers, got {v!r}"[:200])
            try:
                arr = np.asarray(v, dtype=np.float64)
            except ValueError:
                raise ValueError(f"'{name}' is a ragged list: every row must have the same length") from None
            if arr.size > MAX_INPUT_ELEMENTS:
                raise ValueError(f"'{name}' has {arr.size} elements (at most {MAX_INPUT_ELEMENTS})")
            if arr.size == 0:
                raise ValueError(f"'{name}' is empty")
            if not np.all(np.isfinite(arr)):
                raise ValueError(f"'{name}' holds a non-finite number (NaN or infinity)")
        return inputs

    @model_validator(mode="after")
    def _names_are_distinct(self):
        both = sorted(self.inputs.keys() & self.constants.keys())
        if both:
            raise ValueError(f"{', '.join(both)} given both as input and as constant")
        return self


Activation = Literal["sigmoid", "tanh", "relu", "leaky_relu"]
Seed = Annotated[int, Field(ge=0, le=2**31 - 1, description="random seed")]


class VanishingConfig(_SceneConfig):
    """Deep MLPs on a toy dataset, one run per activation, trained by plain gradient descent."""

    kind: ClassVar[str] = "vanishing"
    scene: Literal["vanishing"]
    dataset: Literal["xor", "circles"] = Field("xor", description="xor or circles")
    depth: int = Field(10, ge=1, le=50, description="number of weight layers (1 to 50)")
    width: int = Field(8, ge=1, le=256, description="units per hidden layer (1 to 256)")
    activations: list[Activation] = Field(["sigmoid", "tanh", "relu", "leaky_relu"], min_length=1, max_length=4,
                                          description="hidden activations to compare")
    init: Literal["normal", "xavier", "he"] = Field("normal", description="normal (std 1), xavier or he")
    learning_rate: float = Field(0.1, gt=0, le=10, description="gradient-descent step size")
    steps: int = Field(20_000, ge=1, le=200_000, description="training steps (1 to 200000)")
    record_every: int = Field(100, ge=1, le=100_000, description="record loss and gradient norms every N steps")
    seed: Seed = 0


class ZigzagConfig(_SceneConfig):
    """One linear neuron with two weights fed all-positive (sigmoid) or zero-centred (tanh) inputs."""

    kind: ClassVar[str] = "zigzag"
    scene: Literal["zigzag"]
    start: tuple[float, float] = Field((-1.5, 1.5), description="initial weights [w1, w2]")
    target: tuple[float, float] = Field((1.0, -1.0), description="the teacher's weights [w1, w2]")
    learning_rate: float = Field(0.5, gt=0, le=10, description="gradient-descent step size")
    steps: int = Field(40, ge=1, le=2000, description="steps to draw (1 to 2000)")
    batch_size: int = Field(1, ge=1, le=1000, description="examples per step; larger batches mix signs")
    samples: int = Field(200, ge=2, le=10_000, description="size of the dataset")
    view: float = Field(3.0, gt=0, le=100, description="half-width of the drawn (w1, w2) window")
    seed: Seed = 0


class HistogramsConfig(_SceneConfig):
    """One backward pass through an MLP; per-layer histograms of weight gradients."""

    kind: ClassVar[str] = "histograms"
    scene: Literal["histograms"]
    depth: int = Field(4, ge=1, le=20, description="hidden layers (1 to 20)")
    width: int = Field(100, ge=1, le=1000, description="units per hidden layer (1 to 1000)")
    batch: int = Field(1, ge=1, le=1000, description="inputs in the pass")
    activations: list[Literal["sigmoid", "tanh", "relu"]] = Field(["sigmoid", "tanh"], min_length=1, max_length=3,
                                                                    description="activations to compare")
    loss: Literal["sum", "mse"] = Field("sum", description="sum of outputs or mean squared output")
    bins: int = Field(30, ge=2, le=200, description="histogram bins")
    seed: Seed = 0


SCHEMAS: dict[str, type[_Strict]] = {name: GraphConfig for name in GRAPH_SCENES}
SCHEMAS.update(vanishing=VanishingConfig, zigzag=ZigzagConfig, histograms=HistogramsConfig)

SCENE_HELP = {
    "graph": "computational graph: forward values, then the backward pass gate by gate",
    "gates": "gate patterns: add distributes, mul swaps, max routes, a branch sums",
    "sigmoid_gate": "the sigmoid's chain of gates collapsed into one gate",
    "vectors": "vectors and matrices: every gradient has its variable's shape",
    "layers": "layers as nodes: ReLU mask, Sigmoid y(1-y), Softmax-with-Loss (y-t)/batch",
    "gradcheck": "analytic against numerical gradients, with their relative error",
    "vanishing": "deep nets on XOR: gradient norms per layer, loss and accuracy per activation",
    "zigzag": "sigmoid's all-positive inputs make gradient descent zig-zag",
    "histograms": "per-layer histograms of weight gradients: sigmoid against tanh",
}


def parse_config(data: Any, source: str = "<config>") -> _Strict:
    """Validate a config already read into Python data; raise ConfigError naming source and key."""
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: the config must be a mapping of keys to values, got {type(data).__name__}")
    scene = data.get("scene")
    if scene is None:
        raise ConfigError(f"{source}: key 'scene' is missing; allowed: {', '.join(SCHEMAS)}")
    if scene not in SCHEMAS:
        raise ConfigError(f"{source}: key 'scene': unknown scene kind {scene!r}{_did_you_mean(str(scene), SCHEMAS)};"
                          f" allowed: {', '.join(SCHEMAS)}")
    schema = SCHEMAS[scene]
    try:
        return schema.model_validate(data)
    except ValidationError as e:
        raise ConfigError(f"{source}: {_first_error(e, schema)}") from None


def load_config(path: str | Path) -> _Strict:
    """Read and validate a YAML config file."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as e:
        raise ConfigError(f"{path}: cannot read: {e.strerror}") from None
    if len(raw) > MAX_CONFIG_BYTES:
        raise ConfigError(f"{path}: the file is {len(raw)} bytes (at most {MAX_CONFIG_BYTES})")
    try:
        data = yaml.safe_load(raw)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        raise ConfigError(f"{path}: YAML syntax error: {where}{getattr(e, 'problem', None) or e}") from None
    return parse_config(data, str(path))


def _all_numbers(v) -> bool:
    if isinstance(v, list):
        return all(_all_numbers(i) for i in v)
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _first_error(e: ValidationError, schema: type[BaseModel]) -> str:
    # An unknown key usually explains a missing one (a typo), so report it first.
    err = sorted(e.errors(), key=lambda x: x["type"] != "extra_forbidden")[0]
    loc = [str(p) for p in err["loc"] if not _is_union_tag(p)]
    key = ".".join(loc) or "(top level)"
    if err["type"] == "extra_forbidden":
        fields = list(schema.model_fields)
        return f"unknown key '{key}'{_did_you_mean(loc[-1], fields)}; allowed: {', '.join(fields)}"
    if err["type"] == "missing":
        return f"key '{key}' is missing: {schema.model_fields[loc[0]].description}"
    msg = err["msg"]
    if msg.startswith("Value error, "):
        msg = msg[len("Value error, "):]
    if loc and loc[0] == "inputs" and err["type"] in ("float_type", "int_type", "list_type", "float_parsing"):
        msg = f"must be a number or a nested list of numbers, got {err['input']!r}"
    return f"key '{key}': {msg}"


def _is_union_tag(p) -> bool:
    # pydantic puts the tried union member ("float", "list[...]") into the location; users never wrote it.
    return isinstance(p, str) and (p in ("int", "float") or p.startswith("list["))


def _did_you_mean(word: str, choices) -> str:
    hint = difflib.get_close_matches(word, list(choices), n=1)
    return f" (did you mean '{hint[0]}'?)" if hint else ""


def as_array(v: Value) -> np.ndarray:
    """An input value as a float64 array (0-d for a number)."""
    return np.asarray(v, dtype=np.float64)

