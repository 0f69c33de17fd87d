"""Config files: declared schemas, checked once at the edge, with errors that name file, key and fix.

A config is YAML with a ``scene`` key choosing its kind. Past ``load_config`` everything is plain,
validated data; nothing in a config is ever executed.
"""
from __future__ import annotations

import difflib
from pathlib import Path
from typing import Any, ClassVar, Literal, Union

import numpy as np
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from .gradcheck import DEFAULT_H

MAX_INPUT_ELEMENTS = 10_000
MAX_NODES = 500
MAX_CONFIG_BYTES = 1_000_000

# A number, or a (nested) list of numbers: vectors and matrices; nesting is checked by the validator.
Value = Union[float, list[Any]]

GRAPH_SCENES = ("graph", "gates", "sigmoid_gate", "vectors", "layers", "gradcheck")


class ConfigError(ValueError):
    """A config that cannot be used; str() is the one line a user sees."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class GraphConfig(_Strict):
    """An expression over named inputs, traced through one forward and backward pass."""

    kind: ClassVar[str] = "graph"
    scene: Literal[GRAPH_SCENES] = "graph"
    title: str | None = Field(None, max_length=200, description="caption shown at the top of the scene")
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


SCHEMAS: dict[str, type[_Strict]] = {name: GraphConfig for name in GRAPH_SCENES}

SCENE_HELP = {
    "graph": "computational graph: forward values, then the backward pass gate by gate",
    "gates": "gate patterns: add distributes, mul swaps, max routes, a branch sums",
    "sigmoid_gate": "the sigmoid's chain of gates collapsed into one gate",
    "vectors": "vectors and matrices: every gradient has its variable's shape",
    "layers": "layers as nodes: ReLU mask, Sigmoid y(1-y), Softmax-with-Loss (y-t)/batch",
    "gradcheck": "analytic against numerical gradients, with their relative error",
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

