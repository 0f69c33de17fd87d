"""A disk cache of the mobjects Manim builds from SVG files (every Text and MathTex is one).

Manim caches the SVG that LaTeX or Pango writes, but each render still parses it again with svgelements
and turns every glyph into mobjects: about 0.1 s per line of text, a quarter of a warm render. This keys
the parsed glyphs by the SVG's bytes and its style settings and stores them as plain data, so a
re-render, or another process of a lecture, loads them in milliseconds.

What is stored can never run code: a numpy ``.npz`` read with ``allow_pickle=False``, holding one float
array of every glyph's points and style arrays and a JSON index of plain values (numbers, strings, the
names of two Manim enums, colours as hex). A cache directory is shared and may be written by others, so
an entry is verified before use: the zip's CRCs, a SHA-256 of the data recorded in the index, and the key
it was made for. Anything that does not verify is a miss: the file is deleted and the SVG parsed again.
"""
from __future__ import annotations

import copy
import functools
import hashlib
import io
import json
import math
import os
import tempfile
import zipfile
from collections.abc import Mapping
from pathlib import Path

import manim
import numpy as np
from manim import VGroup, VMobject
from manim.constants import CapStyleType, LineJointType
from manim.mobject.svg.svg_mobject import SVGMobject
from manim.utils.color import ManimColor

from infra.cache import remove_entry, report_bad_entry
from infra.io import read_input
from manim_patches import svg_fast

FORMAT = "backprop-glyphs-2"
MAX_ENTRY_BYTES = 64 << 20  # the glyphs of one SVG: a page of text is well under a megabyte
_memory: dict[str, "_Plan"] = {}  # verified entries, by key
_state = {"dir": None, "original": None}
_ENUMS = {"LineJointType": LineJointType, "CapStyleType": CapStyleType}
_SKIPPED = {"submobjects", "updaters", "path_obj", "target", "point_hash", "background_image", "grid_lines"}


def _key(mob: SVGMobject) -> str:
    h = hashlib.sha256()
    # Everything generate_mobject reads besides the file: the class, its default style, path settings.
    h.update(repr((FORMAT, manim.__version__, type(mob).__qualname__, mob.svg_default, mob.path_string_config)).encode())
    h.update(Path(mob.get_file_path()).read_bytes())
    return h.hexdigest()[:32]


@functools.lru_cache(maxsize=None)
def _dtype_name(dtype: np.dtype) -> str:
    return str(dtype)  # (numpy builds the name anew each time: a tenth of encoding a label)


def encode(key: str, leaves: list, groups: dict) -> bytes:
    """Glyphs (flat leaves) and the SVG's groups (lists of leaf indices) as npz bytes of plain data."""
    return _npz(*_pack(key, leaves, groups))


def _pack(key: str, leaves: list, groups: dict) -> tuple[np.ndarray, dict]:
    """The data array and the index of an entry (what its npz holds).

    The glyphs of an SVG share a few kinds (the same attributes, colours and settings, only their points and
    sizes differ): the index lists each kind once, and each glyph as its kind and its arrays' shapes; the
    arrays are laid out one after another in the data, glyph after glyph. (An index listing every attribute
    of every glyph was most of the time it took to read an entry back.)"""
    chunks, kinds, kind_of, index = [], [], {}, []
    for leaf in leaves:
        kind, shapes = [], []
        for name, value in leaf.__dict__.items():
            if name in _SKIPPED:
                continue
            if isinstance(value, np.ndarray):
                chunks.append(np.ascontiguousarray(value, dtype=np.float64).ravel())
                kind.append([name, "array", value.ndim, _dtype_name(value.dtype)])
                shapes += value.shape
            elif isinstance(value, (LineJointType, CapStyleType)):
                kind.append([name, "enum", type(value).__name__, value.name])
            elif isinstance(value, ManimColor):
                kind.append([name, "color", value.to_hex(with_alpha=True)])
            elif value is None or isinstance(value, (bool, int, float, str)):
                kind.append([name, "value", value])
        spelled = json.dumps(kind)
        if spelled not in kind_of:
            kind_of[spelled] = len(kinds)
            kinds.append(kind)
        index.append([kind_of[spelled], *shapes])
    data = np.concatenate(chunks) if chunks else np.zeros(0)
    meta = {"format": FORMAT, "key": key, "sha256": hashlib.sha256(data.tobytes()).hexdigest(),
            "kinds": kinds, "leaves": index, "groups": groups}
    return data, meta


def _npz(data: np.ndarray, meta: dict) -> bytes:
    buf = io.BytesIO()
    np.savez(buf, data=data, meta=np.array(json.dumps(meta)))
    return buf.getvalue()


def decode(key: str, blob: bytes) -> _Plan:
    """The glyphs ``encode`` stored, checked and ready to build, or ValueError if the entry does not verify."""
    with np.load(io.BytesIO(blob), allow_pickle=False) as z:
        meta = json.loads(str(z["meta"]))
        data = np.ascontiguousarray(z["data"], dtype=np.float64)
    if meta.get("format") != FORMAT or meta.get("key") != key:
        raise ValueError("an entry of another key or format")
    if hashlib.sha256(data.tobytes()).hexdigest() != meta.get("sha256"):
        raise ValueError("checksum mismatch")
    return _Plan(data, meta)  # every reference in the index checked once, here


# What a new VMobject holds: an entry sets all of it but what encode skips. A glyph is made without running
# VMobject.__init__ (its colour arrays, about 0.1 ms a glyph and thousands of glyphs a render, are overwritten).
_HELD = frozenset(VMobject().__dict__) - _SKIPPED


class _Plan:
    """A verified entry turned into what each new glyph is made of: its plain attributes (values, enums and
    colours, made once and shared: Manim replaces a colour, it never changes one in place) and the slices of
    the data its arrays are copied from (fresh for every glyph: scenes move and recolour them in place)."""

    def __init__(self, data: np.ndarray, meta: dict):
        self.data, self.leaves = data, []
        kinds = [self._kind(kind) for kind in meta["kinds"]]
        # A text's glyphs repeat a few kinds and shapes: each (kind, shapes) is checked and laid out once.
        layouts: dict[tuple, tuple] = {}
        offset = 0
        for entry in meta["leaves"]:
            if not isinstance(entry, list) or not entry:
                raise ValueError("a glyph of no kind")
            # by value and type: 1, 1.0 and True are equal keys, and only the int is a valid entry
            found = layouts.get(key := (tuple(entry), tuple(map(type, entry))))  # (a list inside: TypeError)
            if found is None:
                found = layouts[key] = self._layout(kinds, entry)
            plain, arrays, size = found
            if offset + size > data.size:
                raise ValueError("an array outside the data")
            self.leaves.append((plain, [(name, offset + start, offset + stop, shape, dtype)
                                        for name, start, stop, shape, dtype in arrays]))
            offset += size
        self.groups = meta["groups"]
        for members in self.groups.values():
            if any(_index(i, len(self.leaves)) != i for i in members):
                raise ValueError("a group of unknown glyphs")

    @staticmethod
    def _layout(kinds: list, entry: list) -> tuple[dict, list, int]:
        """A glyph's plain attributes, its arrays (name, start, stop, shape, dtype) from the glyph's first value,
        and its size in values, from its index entry (its kind, then its arrays' shapes)."""
        (plain, arrays), dims = kinds[_index(entry[0], len(kinds))], entry[1:]
        if len(dims) != sum(ndim for _, ndim, _ in arrays):
            raise ValueError("a glyph whose shapes do not match its kind")
        made, size = [], 0
        for name, ndim, dtype in arrays:
            shape, dims = tuple(dims[:ndim]), dims[ndim:]
            if any(not isinstance(n, int) or n < 0 for n in shape):
                raise ValueError("an array of no size")
            n = math.prod(shape)
            made.append((name, size, size + n, shape, dtype))
            size += n
        return plain, made, size

    @staticmethod
    def _kind(kind: list) -> tuple[dict, list]:
        """A kind's plain attributes (made once and shared by its glyphs) and its arrays (name, ndim, dtype)."""
        plain, arrays = {}, []
        for name, tag, *rest in kind:
            if tag == "array" and isinstance(rest[0], int) and rest[0] >= 0:
                arrays.append((name, rest[0], np.dtype(rest[1])))
            elif tag == "enum":
                plain[name] = _ENUMS[rest[0]][rest[1]]
            elif tag == "color":
                plain[name] = ManimColor(rest[0])
            elif tag == "value" and (rest[0] is None or isinstance(rest[0], (bool, int, float, str))):
                plain[name] = rest[0]
            else:
                raise ValueError(f"an attribute of unknown kind {tag!r}")
        if not _HELD <= plain.keys() | {name for name, _, _ in arrays}:
            raise ValueError("a glyph without all of a VMobject's attributes")
        return plain, arrays


def _index(i, n: int) -> int:
    if not isinstance(i, int) or isinstance(i, bool) or not 0 <= i < n:
        raise ValueError("a reference to nothing")
    return i


def build(plan: _Plan) -> tuple[list, Mapping]:
    """New glyph mobjects from a verified entry (fresh each time: scenes recolour and move what they get)."""
    data, leaves = plan.data, []
    for plain, arrays in plan.leaves:
        leaf = VMobject.__new__(VMobject)
        attrs = leaf.__dict__
        attrs.update(plain)
        for name, start, stop, shape, dtype in arrays:
            attrs[name] = data[start:stop].reshape(shape).astype(dtype)  # astype copies
        attrs.update(submobjects=[], updaters=[], target=None, point_hash=None, background_image=None)
        leaves.append(leaf)
    return leaves, _Groups(leaves, plan.groups)


class _Groups(Mapping):
    """The SVG's groups by id, each a VGroup of its glyphs made when first looked up: an SVG has a group per
    glyph use and more, thousands a render, and only MathTex looks any up (its parts, by id)."""

    def __init__(self, leaves: list, members: dict):
        self._leaves, self._members, self._made = leaves, members, {}

    def __getitem__(self, name: str) -> VGroup:
        if name not in self._made:
            self._made[name] = VGroup(*(self._leaves[i] for i in self._members[name]))
        return self._made[name]

    def __iter__(self):
        return iter(self._members)

    def __len__(self) -> int:
        return len(self._members)

    def __deepcopy__(self, memo: dict) -> "_Groups":
        # A copied mobject's groups hold its own glyphs (through memo, the copies its submobjects hold);
        # the members, lists of indices never changed, are shared: copying them was half of copying a label.
        copied = _Groups([copy.deepcopy(leaf, memo) for leaf in self._leaves], self._members)
        copied._made = {name: copy.deepcopy(group, memo) for name, group in self._made.items()}
        return copied


def _load(key: str, directory: Path):
    found = _memory.get(key)
    if found is not None:
        return found
    path = directory / f"{key}.npz"
    if not os.path.lexists(path):
        return None
    try:
        # a regular file only, not a link (a FIFO in its place would block every render)
        found = decode(key, read_input(path, MAX_ENTRY_BYTES, follow_links=False))
    except (ValueError, KeyError, TypeError, OSError, zipfile.BadZipFile, EOFError, json.JSONDecodeError):
        _discard(path)
        return None
    _memory[key] = found
    return found


def _discard(path: Path) -> None:
    """A damaged or foreign entry is a miss: delete it (it is parsed again) and say so once."""
    remove_entry(path)
    report_bad_entry("glyph cache", path.name, "removed and parsed again")


def _store(key: str, directory: Path, blob: bytes) -> None:
    tmp = None
    try:
        directory.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=directory, suffix=".part")
        with os.fdopen(fd, "wb") as f:
            f.write(blob)
        os.replace(tmp, directory / f"{key}.npz")  # readers only ever see whole files
    except OSError:  # a read-only cache only costs speed
        if tmp is not None:
            Path(tmp).unlink(missing_ok=True)


def _init_svg_mobject(self: SVGMobject, use_svg_cache: bool) -> SVGMobject:
    directory = _state["dir"]
    try:
        key = _key(self)
    except (OSError, ValueError):  # no file behind it: nothing to key by
        return _state["original"](self, use_svg_cache)
    plan = _load(key, directory) or _parse(self, key, directory)
    leaves, self.id_to_vgroup_dict = build(plan)
    self.add(*leaves)
    return self


def _parse(mob: SVGMobject, key: str, directory: Path) -> _Plan:
    """Parse ``mob``'s SVG as Manim does and keep its glyphs as an entry, on disk and in memory.

    Pango's and dvisvgm's SVGs are read by svg_fast (Manim's glyphs, made without its per-glyph work); any
    other SVG by Manim. ``mob`` is then built from the entry, as on a hit: a first build and a cached one give
    the same mobjects. (Manim's glyphs also hold svgelements' Path objects, which made every copy of them,
    one per use of a label, a slow generic deepcopy: half of a graph's build with an empty cache.)"""
    made = svg_fast.leaves_and_groups(mob)
    if made is not None:
        leaves, groups = made
    else:
        mob.generate_mobject()  # parses, adds the glyphs and flips y; the stored glyphs are already flipped
        leaves = list(mob.submobjects)
        position = {id(leaf): i for i, leaf in enumerate(leaves)}
        groups = {name: [position[id(m)] for m in vg.submobjects if id(m) in position]
                  for name, vg in mob.id_to_vgroup_dict.items()}
        mob.remove(*leaves)
    data, meta = _pack(key, leaves, groups)
    _store(key, directory, _npz(data, meta))
    # the plan a hit decodes from the entry just written, made from what is in hand (reading it back cost a
    # third of a first build)
    _memory[key] = plan = _Plan(data, meta)
    return plan


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
