"""Shared test helpers: trace a config dict, and evaluate the same expression text with torch autograd.

The torch reference never touches the project's parser or gate table: the expression text is run by
Python itself over torch tensors, with each function of the expression language bound to the torch
function a torch user would call. A parser bug therefore gives different answers on the two sides.
"""
from __future__ import annotations

import ast
import os
import re
import shutil
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from engine.config import parse_config
from engine.run import trace_config
from engine.trace import decode_value


def _sce(x, t):
    if t.shape == x.shape:
        return F.cross_entropy(x[None] if x.dim() == 1 else x, t[None] if t.dim() == 1 else t)
    return F.cross_entropy(x[None] if x.dim() == 1 else x, (t[None] if t.dim() == 0 else t).long())


def _reduce(fn):
    def call(x, axis=None):
        return fn(x) if axis is None else fn(x, dim=axis)
    return call


# What each function of the expression language is in torch, written from torch's documentation.
TORCH_FUNCTIONS = {
    "exp": torch.exp, "log": torch.log, "sqrt": torch.sqrt, "abs": torch.abs, "sigmoid": torch.sigmoid,
    "tanh": torch.tanh, "relu": torch.relu,
    "leaky_relu": lambda x, s=0.01: F.leaky_relu(x, float(s)) if not torch.is_tensor(s) or not s.requires_grad
    else torch.where(x > 0, x, s * x),
    "max": lambda a, b=None: torch.max(a) if b is None else torch.maximum(torch.as_tensor(a, dtype=torch.float64),
                                                                          torch.as_tensor(b, dtype=torch.float64)),
    "min": lambda a, b=None: torch.min(a) if b is None else torch.minimum(torch.as_tensor(a, dtype=torch.float64),
                                                                          torch.as_tensor(b, dtype=torch.float64)),
    "sum": _reduce(torch.sum), "mean": _reduce(torch.mean), "transpose": lambda w: w.T,
    "softmax": lambda x: torch.softmax(x, dim=-1), "log_softmax": lambda x: torch.log_softmax(x, dim=-1),
    "softmax_cross_entropy": _sce, "mse": F.mse_loss,
}


def _on_tensors(fn):
    # A literal argument (exp(0.5)) is a Python float to Python: torch functions want tensors.
    def call(*args, **kwargs):
        return fn(*(a if torch.is_tensor(a) else torch.tensor(float(a), dtype=torch.float64) for a in args), **kwargs)
    return call


TORCH_FUNCTIONS = {name: _on_tensors(fn) for name, fn in TORCH_FUNCTIONS.items()}


def torch_eval(expression: str, inputs: dict, constants: dict | None = None):
    """(output value, {input name: gradient}) of ``expression`` run by Python over float64 torch tensors."""
    leaves = {k: torch.tensor(np.asarray(v, dtype=np.float64), requires_grad=True) for k, v in inputs.items()}
    scope = {**TORCH_FUNCTIONS, **leaves,
             **{k: torch.tensor(np.asarray(v, dtype=np.float64)) for k, v in (constants or {}).items()}}
    body = _AugAssignAsRebinding().visit(ast.parse(expression)).body
    last = body[-1]
    exec(compile(ast.Module(body[:-1], []), "<expression>", "exec"), {"__builtins__": {}}, scope)  # noqa: S102
    if isinstance(last, ast.Expr):
        out = eval(compile(ast.Expression(last.value), "<expression>", "eval"), {"__builtins__": {}}, scope)  # noqa: S307
    else:
        exec(compile(ast.Module([last], []), "<expression>", "exec"), {"__builtins__": {}}, scope)  # noqa: S102
        target = last.targets[0] if isinstance(last, ast.Assign) else last.target
        out = scope[target.id]
    out = torch.as_tensor(out, dtype=torch.float64)
    if out.requires_grad:
        out.backward()
    grads = {k: (t.grad.numpy() if t.grad is not None else np.zeros_like(t.detach().numpy())) for k, t in leaves.items()}
    return out.detach().numpy(), grads


class _AugAssignAsRebinding(ast.NodeTransformer):
    """`c += e` means `c = c + e` in the expression language; on a tensor Python would add in place."""

    def visit_AugAssign(self, node):
        load = ast.Name(node.target.id, ast.Load())
        return ast.fix_missing_locations(ast.copy_location(
            ast.Assign([node.target], ast.BinOp(load, node.op, node.value)), node))


def trace_of(expression: str, inputs: dict, constants: dict | None = None, scene: str = "graph") -> dict:
    cfg = {"scene": scene, "expression": expression, "inputs": inputs}
    if constants:
        cfg["constants"] = constants
    return trace_config(parse_config(cfg))


def node_by_label(trace: dict, label: str) -> dict:
    return next(n for n in trace["nodes"] if n["label"] == label)


def grads_of(trace: dict) -> dict[str, np.ndarray]:
    return {n["label"]: decode_value(n["grad"]) for n in trace["nodes"] if n["op"] == "input"}


def output_value(trace: dict) -> np.ndarray:
    return decode_value(next(n for n in trace["nodes"] if n["id"] == trace["output"])["value"])


VTT_TIMING = re.compile(r"^(\d{2}):(\d{2}):(\d{2})\.(\d{3}) --> (\d{2}):(\d{2}):(\d{2})\.(\d{3})$")


def parse_vtt(text: str) -> list[tuple[float, float, str]]:
    """A strict WebVTT reader for what we write: header, then cues of a timing line and text lines."""
    assert text.startswith("WEBVTT\n\n")
    cues = []
    for block in text[len("WEBVTT\n\n"):].strip("\n").split("\n\n"):
        timing, *lines = block.split("\n")
        m = VTT_TIMING.match(timing)
        assert m, f"not a timing line: {timing!r}"
        h1, m1, s1, ms1, h2, m2, s2, ms2 = map(int, m.groups())
        assert lines and all(lines) and not any("-->" in line for line in lines)
        cues.append((h1 * 3600 + m1 * 60 + s1 + ms1 / 1000, h2 * 3600 + m2 * 60 + s2 + ms2 / 1000, "\n".join(lines)))
    return cues


def default_sigint() -> None:
    """preexec_fn for a child that is sent Ctrl-C: a shell's background job (`make mutation &`, nohup)
    starts with SIGINT ignored, the child would inherit that, and Python then installs no KeyboardInterrupt."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_DFL)


def write_clip(path, frames: int, shade: int = 0, fps: int = 10, steps=(), ramp: bool = False):
    """A tiny clip (64x48, one grey level; with ``ramp`` frame i is grey level 10 i, so a frame read back says
    which it is) of ``frames`` frames, made without rendering: H.264 in MP4, or VP9 in WebM for a .webm name
    in any case. ``steps`` (name, start, end) are written as its chapters, as a rendered clip's steps are."""
    from fractions import Fraction
    from pathlib import Path

    import av

    webm = Path(path).suffix.lower() == ".webm"
    with av.open(str(path), "w", format="webm" if webm else "mp4") as out:
        stream = out.add_stream("libvpx-vp9" if webm else "libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        for i in range(frames):
            frame = av.VideoFrame.from_ndarray(np.full((48, 64, 3), 10 * i if ramp else shade, np.uint8), format="rgb24")
            frame.pts, frame.time_base = i, Fraction(1, fps)
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))
        out.set_chapters([{"id": i + 1, "start": round(a * 1000), "end": round(b * 1000), "time_base": Fraction(1, 1000),
                           "metadata": {"title": name}} for i, (name, a, b) in enumerate(steps)])
    return path


def alive(pid: int) -> bool:
    """True while ``pid`` runs (a zombie, finished but not reaped, counts as gone)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False


def open_files(pid: int) -> list[str]:
    """The paths process ``pid`` has open now (none once it is gone), from /proc."""
    import os

    try:
        fds = os.listdir(f"/proc/{pid}/fd")
    except OSError:
        return []
    paths = []
    for fd in fds:
        try:
            paths.append(os.readlink(f"/proc/{pid}/fd/{fd}"))
        except OSError:  # closed meanwhile
            pass
    return paths


def drawing_frames(pid: int, scene: bool = False) -> bool:
    """Whether process ``pid`` is drawing a clip's frames now: it holds open the movie file Manim writes them
    into (partial_movie_files/<the scene's class>/...); ``scene``: a scene's, not a title card's (drawn in a blink)."""
    return any("/partial_movie_files/" in path and not (scene and "/TitleCard/" in path) for path in open_files(pid))


# Shipped configs whose training takes tens of seconds (torch's loop, many seeds): the slow suite covers
# them, so the fast subset (the mutation oracle) stays under a minute.
HEAVY_CONFIGS = {"vanishing_torch", "xor_seeds"}


def shipped_params(paths):
    """The shipped configs as pytest params, the heavy ones marked slow."""
    import pytest
    return [pytest.param(p, id=p.stem, marks=[pytest.mark.slow] if p.stem in HEAVY_CONFIGS else [])
            for p in paths]


def slow_except(cases, fast):
    """``cases`` (tuples of parameters) as pytest params, marked slow except those in ``fast``: the fast subset
    keeps one cheap case of a test run over every config, theme and language (half a second each, where a
    mistake in a scene or the audit shows in any of them), and `make test` runs them all."""
    import pytest
    params = []
    for case in cases:
        case = case if isinstance(case, tuple) else (case,)
        key = tuple(getattr(c, "stem", c) for c in case)
        params.append(pytest.param(*case, id="-".join(map(str, key)),
                                   marks=[] if (key if len(key) > 1 else key[0]) in fast else [pytest.mark.slow]))
    return params


class InlinePool:
    """A process pool that runs each job here, at once: for a test about what the jobs do, not where."""

    def __init__(self, *args, **kwargs):
        pass

    def submit(self, fn, *args):
        from concurrent.futures import Future

        done = Future()
        try:
            done.set_result(fn(*args))
        except BaseException as e:  # as a worker's error comes back: from result()
            done.set_exception(e)
        return done

    def shutdown(self, *args, **kwargs):
        pass


def seeded_cache(path: Path) -> Path:
    """A cache folder at ``path`` holding the checkout's LaTeX, text and glyph caches, so that a render in a
    subprocess does not wait for LaTeX and Pango: hard links (the glyph cache alone is hundreds of MB). An
    entry is only ever replaced by a rename or removed, never written in place, so a run cannot change the
    checkout's copy through its link."""
    from infra.places import cache_root

    for name in ("tex", "text", "svg"):
        if (cache_root() / name).is_dir():
            shutil.copytree(cache_root() / name, path / name, dirs_exist_ok=True, copy_function=_link)
    return path


def _link(src: str, dst: str) -> None:
    try:
        os.link(src, dst)
    except OSError:  # another file system
        shutil.copy2(src, dst)


def run_cli(args, **kwargs):
    """The CLI run in-process, as every CLI test runs it (click's runner; arguments may be paths)."""
    from click.testing import CliRunner

    from render import cli

    return CliRunner().invoke(cli, [str(a) for a in args], **kwargs)


def says(korean_words, text: str) -> bool:
    """Whether ``text`` has the words a table writes for it by hand (a string: the whole text)."""
    return text == korean_words if isinstance(korean_words, str) else all(w in text for w in korean_words)


def translation_problems(table: dict, english: dict, korean: dict) -> list:
    """What a hand-written table {key: (an English word, the Korean words)} finds wrong with a pair of
    dictionaries of texts: a text without its words, or words that another key's Korean has too (then two
    Korean texts swapped could pass; texts that are the same in English may share them)."""
    problems = [("missing from the table", k) for k in english if k not in table]
    for key, (en_word, ko_words) in table.items():
        if en_word not in english[key]:
            problems.append(("English", key, en_word))
        if not says(ko_words, korean[key]):
            problems.append(("Korean", key, korean[key], ko_words))
        problems += [("not telling apart", key, other) for other, text in korean.items()
                     if other != key and english[other] != english[key] and says(ko_words, text)]
    return problems


def snapshot(mob):
    """A mobject's drawn geometry and colours, member by member (to compare two ways of making it)."""
    return [(m.points.copy(), m.fill_rgbas.copy(), m.stroke_rgbas.copy()) for m in mob.family_members_with_points()]


def assert_same(a, b):
    assert len(a) == len(b)
    for (pa, fa, sa), (pb, fb, sb) in zip(a, b):
        np.testing.assert_array_equal(pa, pb)
        np.testing.assert_array_equal(fa, fb)
        np.testing.assert_array_equal(sa, sb)
