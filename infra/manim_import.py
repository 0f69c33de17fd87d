"""Manim imported without the libraries a render never uses: a third of every render's start-up.

``import manim`` (0.22) loads about 1.1 s of modules on this machine, and nearly half of it is for things a
render here never calls:
- SciPy's spatial package (about 0.45 s), for one use: ``rotation_matrix`` builds a matrix with
  ``Rotation.from_rotvec(v).as_matrix()``;
- IPython (about 0.13 s), only to register Manim's notebook magic when the process already is a notebook;
- networkx (about 0.1 s), which only Manim's ``Graph`` mobject calls (its module names networkx's layout
  functions in a table while it is imported);
- Beautiful Soup (about 0.09 s, most of it soupsieve compiling its CSS grammar), which only Manim's ``Code``
  mobject calls, to read the HTML that Pygments writes.

``lighter()`` puts a finder on ``sys.meta_path`` that wraps the import of the ``manim`` package: while it
runs, ``scipy.spatial.transform``, ``networkx`` and ``bs4`` are stand-ins that load the real module the first time
something asks them for more than the import (networkx's layout functions are named by stand-ins that load
it when called, and Beautiful Soup's two classes by stand-ins that load it when called or given to
``isinstance``), and IPython is absent unless already loaded (a notebook's kernel keeps its magic). Once
Manim is imported the stand-ins leave ``sys.modules``, so a later ``import scipy``, ``import networkx`` or
``import bs4`` is the library itself. Nothing else changes, and the rotation matrices are SciPy's bit for bit: ``from_rotvec`` of
a 3-vector is worked out below in SciPy's own arithmetic (tests/test_manim_import.py compares them with
SciPy's); any other use goes to SciPy.

The packages that import Manim (scenes, manim_patches, audit, pipeline) call ``lighter()`` first; this
module itself never imports Manim. Without it, Manim is imported as it always was.
"""
from __future__ import annotations

import importlib
import importlib.abc
import importlib.util
import math
import sys
import types

import numpy as np

class _StandIn(types.ModuleType):
    """A module whose every public attribute comes from the real one, imported on the first such request."""

    def __getattr__(self, attr: str):
        if attr.startswith("__"):  # the import system's own questions (``__path__``): no load for those
            raise AttributeError(attr)
        if sys.modules.get(self.__name__) is self:
            del sys.modules[self.__name__]
        return getattr(importlib.import_module(self.__name__), attr)


class _LazyFunctions:
    """``networkx.layout`` while networkx is not loaded: each function a stand-in that loads it when called."""

    def __init__(self, module: str, attribute: str):
        self._module, self._attribute = module, attribute

    def __getattr__(self, name: str):
        if name.startswith("__"):
            raise AttributeError(name)

        def call(*args, **kwargs):
            namespace = getattr(importlib.import_module(self._module), self._attribute)
            return getattr(namespace, name)(*args, **kwargs)

        call.__name__ = call.__qualname__ = name
        return call


class _LazyClass:
    """A class of a module not loaded yet: calling it, or asking ``isinstance`` about it, loads the module."""

    def __init__(self, module: str, name: str):
        self._module, self._name = module, name

    def _real(self) -> type:
        return getattr(importlib.import_module(self._module), self._name)

    def __call__(self, *args, **kwargs):
        return self._real()(*args, **kwargs)

    def __instancecheck__(self, instance) -> bool:
        return isinstance(instance, self._real())


class _RotationFromRotvec:
    """What ``scipy.spatial.transform.Rotation.from_rotvec(v).as_matrix()`` gives for one 3-vector, with
    SciPy's arithmetic (its quaternion from the rotation vector, its quaternion-to-matrix formula): Manim's
    ``rotation_matrix`` asks for nothing else."""

    def __init__(self, quaternion: tuple[float, float, float, float]):
        self._quaternion = quaternion

    @classmethod
    def from_rotvec(cls, rotvec, degrees: bool = False):
        vector = np.asarray(rotvec)
        if degrees or vector.shape != (3,) or vector.dtype != np.float64:
            from scipy.spatial.transform import Rotation
            return Rotation.from_rotvec(rotvec, degrees=degrees)
        x, y, z = (float(c) for c in vector)
        angle = math.sqrt(x * x + y * y + z * z)
        if angle <= 1e-3:  # SciPy's Taylor series of sin(angle / 2) / angle near zero
            angle2 = angle * angle
            scale = 0.5 - angle2 / 48 + angle2 * angle2 / 3840
        else:
            scale = math.sin(angle / 2) / angle
        return cls((x * scale, y * scale, z * scale, math.cos(angle / 2)))

    def as_matrix(self) -> np.ndarray:
        x, y, z, w = self._quaternion
        x2, y2, z2, w2 = x * x, y * y, z * z, w * w
        xy, zw, xz, yw, yz, xw = x * y, z * w, x * z, y * w, y * z, x * w
        return np.array([[x2 - y2 - z2 + w2, 2 * (xy - zw), 2 * (xz + yw)],
                         [2 * (xy + zw), -x2 + y2 - z2 + w2, 2 * (yz - xw)],
                         [2 * (xz - yw), 2 * (yz + xw), -x2 - y2 + z2 + w2]])


# Each stand-in, with what Manim takes from it while it is imported.
_STAND_INS = {"scipy.spatial.transform": {"Rotation": _RotationFromRotvec},
              "networkx": {"layout": _LazyFunctions("networkx", "layout")},
              "bs4": {name: _LazyClass("bs4", name) for name in ("BeautifulSoup", "Tag")}}


class _Loader(importlib.abc.Loader):
    """Manim's own loader, with the stand-ins in ``sys.modules`` while the package runs."""

    def __init__(self, loader):
        self._loader = loader

    def create_module(self, spec):
        return self._loader.create_module(spec)

    def exec_module(self, module) -> None:
        module.__spec__.loader = module.__loader__ = self._loader
        placed = []
        for name, attributes in _STAND_INS.items():
            if name not in sys.modules:
                sys.modules[name] = _StandIn(name)
                vars(sys.modules[name]).update(attributes)
                placed.append(name)
        no_ipython = "IPython" not in sys.modules
        if no_ipython:
            sys.modules["IPython"] = None  # Manim's `from IPython import ...` fails as if it were not installed
        try:
            self._loader.exec_module(module)
        finally:
            for name in placed:
                if isinstance(sys.modules.get(name), _StandIn):
                    del sys.modules[name]
            if no_ipython and sys.modules.get("IPython", 0) is None:
                del sys.modules["IPython"]


class _Finder(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name != "manim":
            return None
        sys.meta_path.remove(self)  # once: the real finders find Manim, this wraps its loader
        spec = importlib.util.find_spec("manim")
        if spec is not None and spec.loader is not None:
            spec.loader = _Loader(spec.loader)
        return spec


def lighter() -> None:
    """Have the next ``import manim`` leave out what a render never uses (a no-op once Manim is imported)."""
    if "manim" not in sys.modules and not any(isinstance(f, _Finder) for f in sys.meta_path):
        sys.meta_path.insert(0, _Finder())
