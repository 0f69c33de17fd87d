"""A disk cache of the mobjects Manim builds from SVG files (every Text and MathTex is one).

Manim caches the SVG that LaTeX or Pango writes, but each render still parses it again with svgelements
and turns every glyph into mobjects: about 0.1 s per line of text, a quarter of a warm render. It also
keeps an in-memory copy of each MathTex through a deep copy that costs as much again. This keys the
parsed submobjects by the SVG's bytes and its style settings and stores them pickled, so a re-render, or
another process of a lecture, loads them in milliseconds.
"""
from __future__ import annotations

import hashlib
import os
import pickle
import tempfile
import zlib
from pathlib import Path

import manim
from manim.mobject.svg.svg_mobject import SVGMobject

_memory: dict[str, bytes] = {}
_state = {"dir": None, "original": None}


def _key(mob: SVGMobject) -> str:
    h = hashlib.sha256()
    # Everything generate_mobject reads besides the file: the class, its default style, path settings.
    h.update(repr((manim.__version__, type(mob).__qualname__, mob.svg_default, mob.path_string_config)).encode())
    h.update(Path(mob.get_file_path()).read_bytes())
    return h.hexdigest()[:32]


def _load(key: str, directory: Path):
    blob = _memory.get(key)
    if blob is None:
        try:
            blob = (directory / f"{key}.pkl.z").read_bytes()
        except OSError:
            return None
    try:
        found = pickle.loads(zlib.decompress(blob))
    except Exception:  # a damaged or foreign file is a miss, never an error
        return None
    _memory[key] = blob
    return found


def _store(key: str, directory: Path, parts) -> None:
    blob = zlib.compress(pickle.dumps(parts, protocol=pickle.HIGHEST_PROTOCOL), 1)
    _memory[key] = blob
    try:
        directory.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=directory, suffix=".part")
        with os.fdopen(fd, "wb") as f:
            f.write(blob)
        os.replace(tmp, directory / f"{key}.pkl.z")  # readers only ever see whole files
    except OSError:
        pass  # a read-only cache only costs speed


def _init_svg_mobject(self: SVGMobject, use_svg_cache: bool) -> SVGMobject:
    directory = _state["dir"]
    try:
        key = _key(self)
    except (OSError, ValueError):  # no file behind it: nothing to key by
        return _state["original"](self, use_svg_cache)
    found = _load(key, directory)
    if found is None:
        self.generate_mobject()  # parses, adds the glyphs and flips y; the stored glyphs are already flipped
        _store(key, directory, (self.submobjects, self.id_to_vgroup_dict))
        return self
    submobjects, self.id_to_vgroup_dict = found
    self.add(*submobjects)
    return self


def install(directory: Path) -> None:
    """Use ``directory`` for parsed SVGs from now on in this process (idempotent)."""
    _state["dir"] = Path(directory)
    if _state["original"] is None:
        _state["original"] = SVGMobject.init_svg_mobject
        SVGMobject.init_svg_mobject = _init_svg_mobject


def uninstall() -> None:
    if _state["original"] is not None:
        SVGMobject.init_svg_mobject = _state["original"]
        _state["original"] = None
