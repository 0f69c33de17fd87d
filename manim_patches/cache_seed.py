"""A render's private LaTeX/text cache, filled on demand from the shared one.

Each render works in private copies of Manim's tex/text caches (pipeline.render_job.private_caches: Manim's
check-then-write races between parallel renders). Copying the whole shared cache in first cost a second per
render with a few thousand entries, more as the cache grows, and a render uses a hundred of them. So the
private folders start empty, and just before Manim looks for a file there (the SVG of a formula or of a
text, by the name it hashes), the one shared entry of that name is verified and copied in. An entry that
does not verify is removed (infra.cache.verified), so Manim makes it again, as before.

Manim looks in two places, both patched here while a render runs:
- ``tex_file_writing.tex_to_svg_file`` asks ``generate_tex_file`` for the ``.tex`` path and then looks for
  the ``.svg`` beside it;
- ``Text._text2svg`` and ``MarkupText._text2svg`` name the file ``_text2hash(color) + ".svg"`` in the
  text folder and then look for it.
"""
from __future__ import annotations

import contextlib
import shutil
from pathlib import Path

from manim import config
from manim.mobject.text.text_mobject import MarkupText, Text
from manim.utils import tex_file_writing

from infra.cache import verified

_sources: dict[Path, Path] = {}  # a render's private folder -> the shared folder it is seeded from
_originals: dict = {}


def seed(private_file: Path) -> None:
    """Copy ``private_file``'s shared entry in, if a seeding render owns its folder and the entry verifies."""
    folder = Path(private_file).parent.resolve()
    shared_dir = _sources.get(folder)
    if shared_dir is None or private_file.exists():
        return
    shared = shared_dir / private_file.name
    if shared.is_file() and verified(shared, shared.name, f"{shared_dir.name} cache"):
        # a copy, not a link: a file Manim writes again in place must not change the shared one
        shutil.copyfile(shared, private_file)


def _generate_tex_file(*args, **kwargs) -> Path:
    tex_file = _originals["generate_tex_file"](*args, **kwargs)
    seed(tex_file.with_suffix(".svg"))
    return tex_file


def _hash_seeding(cls):
    original = _originals[cls] = cls.__dict__["_text2hash"]

    def _text2hash(self, color) -> str:
        name = original(self, color)
        seed(Path(config.get_dir("text_dir")) / f"{name}.svg")
        return name
    return _text2hash


def _install() -> None:
    if _originals:
        return
    _originals["generate_tex_file"] = tex_file_writing.generate_tex_file
    tex_file_writing.generate_tex_file = _generate_tex_file
    for cls in (Text, MarkupText):
        cls._text2hash = _hash_seeding(cls)


def _uninstall() -> None:
    if not _originals:
        return
    tex_file_writing.generate_tex_file = _originals.pop("generate_tex_file")
    for cls in (Text, MarkupText):
        cls._text2hash = _originals.pop(cls)


@contextlib.contextmanager
def seeding(folders: dict[Path, Path]):
    """While inside: each private folder (key) is filled from its shared folder (value) on demand."""
    pairs = {Path(private).resolve(): Path(shared) for private, shared in folders.items()}
    _install()
    _sources.update(pairs)
    try:
        yield
    finally:
        for private in pairs:
            _sources.pop(private, None)
        if not _sources:
            _uninstall()
