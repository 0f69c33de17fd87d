"""A `torch:` config: the user's own PyTorch code, run only when trusted, traced by engine.torch_trace.

An expression config is data and is never executed; a `torch:` config names Python code, so running it
is the user's decision: `--trust` on the command line (or BACKPROP_TRUST=1). The file must lie in the
config's folder tree, the function or class it names is announced on stderr before it runs, and an
exception raised by the user's code is shown as their own traceback (their file and line), not ours.
"""
from __future__ import annotations

import hashlib
import importlib.util
import os
import sys
import traceback
from pathlib import Path

from infra.errors import ConfigError
from infra.io import read_input

TRUST_ENV = "BACKPROP_TRUST"
MAX_CODE_BYTES = 10_000_000  # a model's source file


class UntrustedCode(ConfigError):
    """A config that would run Python code without the user's say-so."""


class UserCodeError(ConfigError):
    """The user's code raised: str() is their traceback, ending in the error, for the CLI to print."""


def trusted() -> bool:
    return os.environ.get(TRUST_ENV) == "1"


def code_path(source: str | Path, spec: str) -> tuple[Path, str]:
    """The file and the name a `torch: FILE.py:NAME` spec means, relative to the config at ``source``;
    a file outside the config's folder tree (through .. or a link) is refused."""
    file, _, name = spec.rpartition(":")
    base = Path(source).resolve().parent
    path = (base / file).resolve()
    if not path.is_relative_to(base):
        raise ConfigError(f"{source}: key 'torch': {file} is outside the config's folder ({base}); "
                          "keep the code beside the config")
    if not path.is_file():
        raise ConfigError(f"{source}: key 'torch': no file {file} beside the config")
    return path, name


def code_fingerprint(source: str | Path, config_bytes: bytes) -> bytes:
    """The bytes of the code a config runs (nothing for an expression config), for the trace cache's key:
    an edited model is traced again."""
    if b"torch:" not in config_bytes:
        return b""
    from .config import read_yaml
    data = read_yaml(source)
    spec = data.get("torch") if isinstance(data, dict) else None
    if not isinstance(spec, str) or ":" not in spec:
        return b""
    try:
        path, _ = code_path(source, spec)
    except ConfigError:
        return b""  # the trace itself reports it
    return hashlib.sha256(read_input(path, MAX_CODE_BYTES)).digest()


def load(source: str | Path, spec: str):
    """The function or class named by ``spec``, imported from its file (runs the file's top level)."""
    return _import(source, *_announce(source, spec))


def _announce(source: str | Path, spec: str) -> tuple[Path, str]:
    """The code's file and name, once the user has trusted it: said on stderr before it runs."""
    path, name = code_path(source, spec)
    if not trusted():
        raise UntrustedCode(f"{source}: key 'torch' runs Python code ({path.name}:{name}); run it only if you "
                            f"trust it, with --trust (or {TRUST_ENV}=1)")
    print(f"running {path}:{name} (trusted with --trust)", file=sys.stderr)  # (stderr is line-buffered)
    return path, name


def _import(source: str | Path, path: Path, name: str):
    module_name = "backprop_user_" + hashlib.sha256(str(path).encode()).hexdigest()[:12]
    spec_obj = importlib.util.spec_from_file_location(module_name, path)
    module = importlib.util.module_from_spec(spec_obj)
    sys.modules[module_name] = module  # dataclasses and pickling look the module up by name
    with user_code(path.parent):
        spec_obj.loader.exec_module(module)
    if not hasattr(module, name):
        raise ConfigError(f"{source}: key 'torch': {path.name} has no {name!r}")
    return getattr(module, name)


class user_code:
    """Run the user's code; an exception it raises becomes UserCodeError with the frames of their files
    (under ``folder``) only, so the traceback points at their line, not at ours."""

    def __init__(self, folder: Path):
        self.folder = folder

    def __enter__(self):
        return self

    def __exit__(self, kind, exc, tb):
        if exc is None or isinstance(exc, (KeyboardInterrupt, SystemExit, ConfigError)):
            return False
        frames = [f for f in traceback.extract_tb(tb) if Path(f.filename).resolve().is_relative_to(self.folder)]
        lines = ["the torch code raised an exception:", "Traceback (most recent call last):"]
        lines += [line.rstrip("\n") for line in traceback.format_list(frames)]
        lines += [line.rstrip("\n") for line in traceback.format_exception_only(kind, exc)]
        raise UserCodeError("\n".join(lines)) from None


def trace_torch_config(cfg, source: str = "<config>") -> dict:
    """The trace of a TorchGraphConfig: its function, or its module with the config's loss.

    The user's code runs in a child process (infra.processes.run_isolated): its sys.exit, a crash or a
    kill is one line here, its print() goes to stderr, and a process it starts ends with the trace."""
    from infra.processes import run_isolated

    path, name = _announce(source, cfg.torch)  # first: an untrusted config is refused without torch (4 s)
    return run_isolated(_trace_torch_config, (cfg, source, path, name), f"{source}: key 'torch': {path.name}:{name}")


def _trace_torch_config(cfg, source: str, path: Path, name: str) -> dict:
    import torch
    torch.manual_seed(cfg.seed)  # a module built as its file is imported (net = nn.Sequential(...)) gets it too
    obj = _import(source, path, name)

    import numpy as np
    import torch
    import torch.nn.functional as F

    from .torch_trace import trace_torch

    folder = path.parent
    names: dict[int, str] = {}
    modules: dict[str, str] = {}
    with user_code(folder):
        if isinstance(obj, type) and issubclass(obj, torch.nn.Module):
            torch.manual_seed(cfg.seed)
            fn = obj(**cfg.torch_args).double()
        elif isinstance(obj, torch.nn.Module):  # built in the file, as nn.Sequential(...) often is
            if cfg.torch_args:
                raise ConfigError(f"{source}: key 'torch_args': {cfg.torch} is a module already built, not a class")
            fn = obj.double()
        elif callable(obj):
            if cfg.torch_args:
                raise ConfigError(f"{source}: key 'torch_args': {cfg.torch} is a function, not a module class")
            fn = obj
        else:
            raise ConfigError(f"{source}: key 'torch': {cfg.torch} is neither a function nor an nn.Module class")
        if isinstance(fn, torch.nn.Module):  # parameters named as torch names them; 0.weight's layer: Linear
            names = {id(p): name for name, p in fn.named_parameters()}
            modules = {name: type(fn.get_submodule(name.rpartition(".")[0])).__name__
                       for name, _ in fn.named_parameters()}
    call = _call_convention(fn, [*cfg.inputs, *cfg.constants], source, cfg.torch)
    target = None if cfg.target is None else np.asarray(cfg.target, dtype=np.float64)

    def with_loss(**tensors):
        out = call(**tensors)
        if cfg.loss is None:
            return out
        if cfg.loss == "sum":
            return out.sum()
        t = torch.as_tensor(target)
        if cfg.loss == "mse":
            return F.mse_loss(out, t.expand_as(out) if t.dim() == 0 else t)
        if t.shape != out.shape and np.all(target == np.round(target)):  # class indices, as torch takes them
            t = t.long()
        return F.cross_entropy(out, t)

    config = cfg.model_dump(exclude_none=True)
    config.setdefault("title", f"{cfg.torch.rpartition(':')[2]} in PyTorch")
    try:
        with user_code(folder):
            return trace_torch(with_loss, cfg.inputs, cfg.constants, names=names, config=config, h=cfg.h,
                               modules=modules)
    except ConfigError as e:
        if isinstance(e, UserCodeError):
            raise
        raise ConfigError(f"{source}: key 'torch': {e}") from None


def _call_convention(fn, names: list[str], source, spec: str):
    """How the config's tensors reach ``fn``: by name when its parameters take them (forward(self, x, y)),
    else the one tensor positionally when it takes one input (nn.Sequential's forward(input)); otherwise a
    ConfigError naming the keys, before any of the user's code runs on them."""
    import inspect

    import torch

    target = fn.forward if isinstance(fn, torch.nn.Module) else fn
    try:
        signature = inspect.signature(target)
    except (TypeError, ValueError):  # a builtin without a signature: by name, as ever
        return fn
    try:
        signature.bind(**dict.fromkeys(names))
        return fn
    except TypeError:
        pass
    if len(names) == 1:
        try:
            signature.bind(None)
            return lambda **tensors: fn(*tensors.values())
        except TypeError:
            pass
    shown = ", ".join(signature.parameters)
    raise ConfigError(f"{source}: keys 'inputs' and 'constants': {spec.rpartition(':')[2]} takes ({shown}), "
                      f"which does not fit the tensors {', '.join(names) or '(none)'}: name them as its "
                      "parameters, or give one tensor to a forward that takes one")
