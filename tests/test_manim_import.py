"""Manim imported without SciPy's spatial package, IPython, networkx and Beautiful Soup (infra/manim_import.py): the rotations are
SciPy's bit for bit, Manim's graphs are laid out as before, the libraries stay out of a render's process, and a
later import gets the real ones."""
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from infra.manim_import import _RotationFromRotvec

ROOT = Path(__file__).resolve().parent.parent


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
    vectors = _vectors()
    differ = [v for v in vectors
              if _RotationFromRotvec.from_rotvec(v).as_matrix().tobytes() != Rotation.from_rotvec(v).as_matrix().tobytes()]
    assert len(vectors) > 20_000 and differ == []


def test_other_rotation_vectors_go_to_scipy():
    many = np.array([[0.0, 0.0, 1.0], [1.0, 0.0, 0.0]])
    assert np.array_equal(_RotationFromRotvec.from_rotvec(many).as_matrix(), Rotation.from_rotvec(many).as_matrix())
    degrees = _RotationFromRotvec.from_rotvec([0.0, 0.0, 90.0], degrees=True).as_matrix()
    assert np.allclose(degrees, [[0, -1, 0], [1, 0, 0], [0, 0, 1]])


def _fresh(code: str) -> str:
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_a_scene_s_import_leaves_scipy_and_ipython_out_and_rotates_as_manim_did():
    out = _fresh("import sys\n"
                 "import scenes.style\n"
                 "from manim import Square, rotation_matrix\n"
                 "print(sorted(m for m in ('scipy', 'scipy.spatial', 'IPython', 'networkx', 'bs4') if m in sys.modules))\n"
                 "square = Square().rotate(0.3)\n"
                 "print(rotation_matrix(0.3, [0, 0, 1]).tobytes().hex(), square.points.tobytes().hex())\n"
                 "import scipy.spatial.transform as real\n"
                 "print(real.Rotation.__module__, type(sys.modules['scipy.spatial.transform']).__name__)\n")
    absent, rotations, real = out.splitlines()
    assert absent == "[]"
    matrix = Rotation.from_rotvec([0.0, 0.0, 0.3]).as_matrix()
    assert rotations.split()[0] == matrix.tobytes().hex()
    stock = _fresh("from manim import Square\nprint(Square().rotate(0.3).points.tobytes().hex())")
    assert rotations.split()[1] == stock
    assert real.split() == ["scipy.spatial.transform._rotation", "module"]


@pytest.mark.parametrize("first", ["IPython", "scipy.spatial.transform"])
def test_what_was_imported_before_manim_is_used_as_it_is(first):
    out = _fresh(f"import sys, {first}\n"
                 "import scenes.style, manim\n"
                 "from manim.utils import space_ops\n"
                 "print(hasattr(manim, 'ManimMagic'), space_ops.Rotation.__module__)\n")
    magic, rotation = out.split()
    assert magic == str(first == "IPython")
    assert rotation == ("infra.manim_import" if first == "IPython" else "scipy.spatial.transform._rotation")


def test_manim_s_graphs_are_laid_out_by_networkx_as_before():
    graph = ("from manim import Graph\n"
             "for layout in ('spring', 'circular', 'kamada_kawai', 'tree', 'partite'):\n"
             "    g = Graph([1, 2, 3, 4], [(1, 2), (2, 3), (2, 4)], layout=layout, layout_config=(\n"
             "        {'seed': 3} if layout == 'spring' else {'root_vertex': 1} if layout == 'tree'\n"
             "        else {'partitions': [[1], [2, 3, 4]]} if layout == 'partite' else {}))\n"
             "    print(layout, [g[v].get_center().round(9).tolist() for v in (1, 2, 3, 4)])\n")
    lighter = _fresh("import sys\nimport scenes.style\nprint('networkx' in sys.modules)\n" + graph)
    assert lighter.splitlines()[0] == "False"
    assert lighter.splitlines()[1:] == _fresh(graph).splitlines()


def test_manim_s_code_is_highlighted_by_beautiful_soup_as_before():
    """Beautiful Soup (0.09 s of every start-up) loads only when a ``Code`` mobject reads Pygments' HTML: its
    classes, called and given to ``isinstance``, are the real ones then."""
    code = ("from manim import Code\n"
            "c = Code(code_string='def f(x):\\n    return max(x, 0)  # relu\\n', language='python')\n"
            "print([(m.get_fill_color().to_hex(), m.points.round(9).tobytes().hex()) for m in c.code_lines.family_members_with_points()])\n")
    lighter = _fresh("import sys\nimport scenes.style\nprint([m for m in ('bs4', 'soupsieve') if m in sys.modules])\n" + code)
    assert lighter.splitlines()[0] == "[]"
    assert lighter.splitlines()[1] == _fresh(code) and len(lighter.splitlines()[1]) > 1000
