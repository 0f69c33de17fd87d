"""Manim imported without SciPy's spatial package, IPython, networkx and Beautiful Soup (infra/manim_import.py): the rotations are
SciPy's bit for bit, Manim's graphs are laid out as before, the libraries stay out of a render's process, and a
later import gets the real ones."""
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from infra.manim_import import _RotationFromRotvec

ROOT = Path(__file__).resolve().parent.parent


def _scipy_rotation():
    """SciPy's Rotation, imported by the tests that compare with it (not while each test worker collects)."""
    from scipy.spatial.transform import Rotation
    return Rotation


def _vectors():
    rng = np.random.default_rng(7)
    out = [np.array([0.0, 0.0, 0.0]), np.array([-0.0, 0.0, 0.0]), np.array([0.0, 0.0, 1e-3]),
           np.array([0.0, 0.0, np.nextafter(1e-3, 1.0)]), np.array([0.0, 0.0, np.nextafter(1e-3, 0.0)])]
    out += [k * np.pi / 8 * np.array([0.0, 0.0, sign]) for k in range(-16, 17) for sign in (1.0, -1.0)]
    for scale in (1e-7, 1e-4, 1e-3, 1.0, 10.0, 1e3):
        out += list(rng.normal(size=(3000, 3)) * scale)
        out += list(np.outer(rng.normal(size=500) * scale, [0.0, 0.0, 1.0]))
    return out


def test_rotation_matrices_are_scipy_s_bit_for_bit():
    Rotation, vectors = _scipy_rotation(), _vectors()
    differ = [v for v in vectors
              if _RotationFromRotvec.from_rotvec(v).as_matrix().tobytes() != Rotation.from_rotvec(v).as_matrix().tobytes()]
    assert len(vectors) > 20_000 and differ == []


def test_other_rotation_vectors_go_to_scipy():
    Rotation = _scipy_rotation()
    many = np.array([[0.0, 0.0, 1.0], [1.0, 0.0, 0.0]])
    assert np.array_equal(_RotationFromRotvec.from_rotvec(many).as_matrix(), Rotation.from_rotvec(many).as_matrix())
    degrees = _RotationFromRotvec.from_rotvec([0.0, 0.0, 90.0], degrees=True).as_matrix()
    assert np.allclose(degrees, [[0, -1, 0], [1, 0, 0], [0, 0, 1]])


def _fresh(code: str) -> str:
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


# What Manim draws with each library the lighter import leaves out, printed as JSON: a rotated square
# (SciPy's rotations), a graph in each of networkx's layouts, highlighted code (Beautiful Soup). Which
# libraries were loaded is noted before any of them is used.
_USES = """
import json, sys
from manim import Code, Graph, Square, rotation_matrix
out = {"loaded": sorted(m for m in ("scipy", "scipy.spatial", "IPython", "networkx", "bs4", "soupsieve") if m in sys.modules)}
out["square"] = Square().rotate(0.3).points.tobytes().hex()
out["rotation"] = rotation_matrix(0.3, [0, 0, 1]).tobytes().hex()
out["graphs"] = {}
for layout in ("spring", "circular", "kamada_kawai", "tree", "partite"):
    g = Graph([1, 2, 3, 4], [(1, 2), (2, 3), (2, 4)], layout=layout, layout_config=(
        {"seed": 3} if layout == "spring" else {"root_vertex": 1} if layout == "tree"
        else {"partitions": [[1], [2, 3, 4]]} if layout == "partite" else {}))
    out["graphs"][layout] = [g[v].get_center().round(9).tolist() for v in (1, 2, 3, 4)]
code = Code(code_string="def f(x):\\n    return max(x, 0)  # relu\\n", language="python")
out["code"] = [(m.get_fill_color().to_hex(), m.points.round(9).tobytes().hex())
               for m in code.code_lines.family_members_with_points()]
import scipy.spatial.transform
out["modules"] = [type(sys.modules[m]).__name__ for m in ("scipy.spatial.transform", "networkx", "bs4")]
out["rotation_class"] = scipy.spatial.transform.Rotation.__module__
print(json.dumps(out))
"""


@pytest.fixture(scope="module")
def manims() -> dict[str, dict]:
    """The uses above in a process that imports Manim as a render does (a scene module first), and in one
    that imports stock Manim."""
    return {"lighter": json.loads(_fresh("import scenes.style\n" + _USES)), "stock": json.loads(_fresh(_USES))}


def test_a_scene_s_import_leaves_the_libraries_out_and_a_later_import_gets_the_real_ones(manims):
    lighter, stock = manims["lighter"], manims["stock"]
    assert lighter["loaded"] == [] and {"scipy", "networkx", "bs4"} <= set(stock["loaded"])
    assert lighter["modules"] == stock["modules"] == ["module"] * 3
    assert lighter["rotation_class"] == "scipy.spatial.transform._rotation"


def test_manim_rotates_as_it_did(manims):
    assert manims["lighter"]["rotation"] == _scipy_rotation().from_rotvec([0.0, 0.0, 0.3]).as_matrix().tobytes().hex()
    assert manims["lighter"]["square"] == manims["stock"]["square"]


def test_manim_s_graphs_are_laid_out_by_networkx_as_before(manims):
    assert manims["lighter"]["graphs"] == manims["stock"]["graphs"] and len(manims["stock"]["graphs"]) == 5


def test_manim_s_code_is_highlighted_by_beautiful_soup_as_before(manims):
    """Beautiful Soup (0.09 s of every start-up) loads only when a ``Code`` mobject reads Pygments' HTML: its
    classes, called and given to ``isinstance``, are the real ones then."""
    assert manims["lighter"]["code"] == manims["stock"]["code"] and len(manims["stock"]["code"]) > 10


@pytest.mark.parametrize("first", ["IPython", "scipy.spatial.transform"])
def test_what_was_imported_before_manim_is_used_as_it_is(first):
    out = _fresh(f"import sys, {first}\n"
                 "import scenes.style, manim\n"
                 "from manim.utils import space_ops\n"
                 "print(hasattr(manim, 'ManimMagic'), space_ops.Rotation.__module__)\n")
    magic, rotation = out.split()
    assert magic == str(first == "IPython")
    assert rotation == ("infra.manim_import" if first == "IPython" else "scipy.spatial.transform._rotation")
