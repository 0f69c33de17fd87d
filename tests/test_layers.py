"""The direction of imports, read from the code itself (every module's syntax tree, imports inside functions
too; nothing is imported to check): infra -> engine -> scenes -> pipeline -> CLI, with no cycle, and no package
reaching into another's private names. What patches or subclasses Manim (manim_patches) sits beside the
scenes, below the pipeline and the audit that install and use it."""
import ast
import functools
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("infra", "engine", "scenes", "manim_patches", "pipeline", "audit", "backprop_anim")
CLI = "render"
# what each layer may never import: the infrastructure (files, caches, processes, the one error type) serves
# every room and imports none; the engine is the maths and its files (no Manim, nothing above it);
# scenes draw traces (nothing that renders, plans or parses the command line, and no patch of Manim: they
# stay scenes the plain `manim` command can run); Manim's patches patch Manim, whatever scene it draws
ABOVE_ENGINE = {"scenes", "manim_patches", "pipeline", "audit", "backprop_anim", CLI}
FORBIDDEN = {"infra": {"manim", "manim_slides", "engine", *ABOVE_ENGINE},
             "engine": {"manim", "manim_slides", *ABOVE_ENGINE},
             "scenes": {"manim_patches", "pipeline", "audit", "backprop_anim", CLI},
             "manim_patches": {"scenes", "pipeline", "audit", "backprop_anim", CLI}}


def _modules() -> dict[str, Path]:
    mods = {CLI: ROOT / f"{CLI}.py"}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            name = ".".join(path.relative_to(ROOT).with_suffix("").parts)
            mods[name.removesuffix(".__init__")] = path
    return mods


MODULES = _modules()


def _imports(name: str, path: Path) -> list[tuple[str, str | None]]:
    """(module imported, name taken from it or None) for every import statement in the file."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [(alias.name, None) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: from the package, up level - 1
                parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(parts + ([base] if base else []))
            for alias in node.names:  # `from pkg import module` imports the module
                sub = f"{base}.{alias.name}"
                found.append((sub, None) if sub in MODULES else (base, alias.name))
    return found


def _own(module: str) -> str | None:
    """The project's module ``module`` is (or is inside), else None (a library)."""
    while module and module not in MODULES:
        module = module.rpartition(".")[0]
    return module or None


def _top(module: str) -> str:
    return module.split(".")[0]


@functools.cache
def imports() -> dict[str, list[tuple[str, str | None]]]:
    """Every module's imports, parsed when a test first asks (not while each test worker collects: 0.75 s)."""
    return {name: _imports(name, path) for name, path in MODULES.items()}


@functools.cache
def edges() -> dict[str, set[str]]:
    """Which of the project's modules each imports."""
    return {name: {own for imported, _ in found if (own := _own(imported)) and own != name}
            for name, found in imports().items()}


def _cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one node (Tarjan's algorithm, iteratively)."""
    index, low, on_stack, stack, found = {}, {}, set(), [], []
    for start in edges:
        if start in index:
            continue
        work = [(start, iter(sorted(edges.get(start, ()))))]
        index[start] = low[start] = len(index)
        stack.append(start), on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is None:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.append(member)
                        if member == node:
                            break
                    if len(component) > 1:
                        found.append(sorted(component))
            elif child not in index:
                index[child] = low[child] = len(index)
                stack.append(child), on_stack.add(child)
                work.append((child, iter(sorted(edges.get(child, ())))))
            elif child in on_stack:
                low[node] = min(low[node], index[child])
    return found


@pytest.mark.parametrize("layer", sorted(FORBIDDEN))
def test_a_layer_never_imports_what_is_above_it(layer):
    wrong = sorted(f"{name} imports {imported}" for name, found in imports().items() if _top(name) == layer
                   for imported, _ in found if _top(imported) in FORBIDDEN[layer])
    assert wrong == []


def test_no_import_cycle_between_packages_or_modules():
    packages = {}
    for name, targets in edges().items():
        packages.setdefault(_top(name), set()).update(_top(t) for t in targets if _top(t) != _top(name))
    assert _cycles(packages) == []
    assert _cycles(edges()) == []


def test_no_package_imports_another_package_s_private_names():
    private = sorted(f"{name} imports {imported}.{taken}" for name, found in imports().items()
                     for imported, taken in found
                     if taken and taken.startswith("_") and not taken.startswith("__")
                     and (own := _own(imported)) and _top(own) != _top(name))
    assert private == []


def test_the_checker_sees_what_it_checks():
    """The walk finds the imports it is meant to judge (a checker that reads nothing passes everything)."""
    assert "scenes.graph_scenes" in MODULES and "engine.config" in MODULES
    assert "engine.source" in edges()["scenes.graph_scenes"]  # an import at module level
    assert "scenes.trace_data" in edges()["pipeline.render_job"]  # an import inside a function
    assert "infra.io" in edges()["infra.cache"]  # a relative import
    assert "manim_patches.speedups" in edges()["pipeline.render_job"] and "manim_patches.undrawn" in edges()["audit.screen"]
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_every_table_keyed_by_activation_covers_the_activations():
    """The activations are one constant (engine.ops.ACTIVATIONS); the tables that give each one a colour, a
    name, a torch module or a compiled kind cover exactly those."""
    from engine.compiled_mlp import ACTIVATION_KIND
    from engine.config import VanishingConfig
    from engine.ops import ACTIVATIONS
    from engine.torch_training import ACTIVATIONS as TORCH_MODULES
    from scenes import style
    from scenes.training_scenes import ACT_NAMES

    for table in (ACTIVATION_KIND, TORCH_MODULES, ACT_NAMES, style.ACTIVATION):
        assert set(table) == set(ACTIVATIONS)
    assert VanishingConfig.model_fields["activations"].default == list(ACTIVATIONS)
