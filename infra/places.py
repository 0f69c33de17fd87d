"""Where the program finds the files it ships and keeps its caches, in a checkout and when installed.

In a checkout (or the editable install scripts/setup.sh makes) the shipped configs and lectures are the
repository's assets/ and the caches its .cache/. A wheel (`pip install .`) carries assets/ inside the
backprop_anim package (pyproject.toml maps it there) and must never write inside the installed package:
its caches go to the user's cache folder (platformdirs: $XDG_CACHE_HOME/backprop-anim, else
~/.cache/backprop-anim on Linux). BACKPROP_CACHE_DIR overrides both.
"""
from __future__ import annotations

import difflib
import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent  # the checkout, or the site-packages the wheel went into
_PACKAGED_ASSETS = ROOT / "backprop_anim" / "assets"  # only a wheel has it: the checkout's is ROOT/assets
INSTALLED = _PACKAGED_ASSETS.is_dir()
ASSETS = _PACKAGED_ASSETS if INSTALLED else ROOT / "assets"
CONFIGS = ASSETS / "configs"
LECTURES = ASSETS / "lectures"
CACHE_ENV = "BACKPROP_CACHE_DIR"
YAML_SUFFIXES = (".yaml", ".yml")


def cache_root() -> Path:
    """The folder every cache lives under: $BACKPROP_CACHE_DIR, else the checkout's .cache, else (installed)
    the user's cache folder."""
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV])
    if not INSTALLED:
        return ROOT / ".cache"
    from platformdirs import user_cache_path
    return user_cache_path("backprop-anim", appauthor=False)


def shipped_names(folder: Path) -> list[str]:
    """The names of the YAML files shipped in ``folder`` (CONFIGS or LECTURES), sorted."""
    return sorted(p.stem for p in folder.glob("*") if p.suffix in YAML_SUFFIXES and p.is_file())


class UnknownName(ValueError):
    """A name that is neither an existing file nor a shipped one; str() is the one line to show."""


def resolve_shipped(arg: str, folders: tuple[Path, ...] = (CONFIGS,), what: str = "config") -> str:
    """``arg`` when it is an existing file or a path (it has a folder in it), else the shipped file it
    names (``chain_rule`` or ``chain_rule.yaml``) in the first of ``folders`` that has it.

    A path that exists always wins, so a user's own chain_rule.yaml in the working folder is the one used."""
    path = Path(arg)
    if path.exists() or "/" in arg or os.sep in arg or arg in ("", ".", ".."):
        return arg  # a path: read as given (a missing one is the reader's usual "cannot read" line)
    name = path.stem if path.suffix in YAML_SUFFIXES else arg
    for folder in folders:
        for suffix in YAML_SUFFIXES:
            if (folder / f"{name}{suffix}").is_file():
                return str(folder / f"{name}{suffix}")
    known = [n for folder in folders for n in shipped_names(folder)]
    close = difflib.get_close_matches(name, known, n=4, cutoff=0.5)
    hint = f"did you mean {', '.join(close)}?" if close else f"shipped: {', '.join(known)}"
    raise UnknownName(f"{arg}: no such file, and no shipped {what} of that name ({hint})")
