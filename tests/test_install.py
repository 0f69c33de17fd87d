"""The installed tool (`pip install .`, not editable) and naming shipped configs and lectures by name.

The wheel is built offline from a copy of the checkout with the project's own setuptools and installed into
a fresh venv that finds the project's dependencies through a .pth file (nothing is downloaded). The
installed `backprop-anim` then runs from an empty folder, and nothing may be written inside the install.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

import infra.places as places
from render import cli

ROOT = Path(__file__).resolve().parent.parent
NOT_SOURCE = (".git", ".venv", ".cache", "out", "media", "mutants", "build", "dist", "*.egg-info", "__pycache__",
              ".hypothesis", ".pytest_cache")


def _checkout_packages() -> set[str]:
    """The checkout's top-level packages (every folder with an __init__.py but the tests)."""
    return {p.name for p in ROOT.iterdir() if (p / "__init__.py").is_file() and p.name != "tests"}


def _files_under(folder: Path) -> set[str]:
    return {p.relative_to(folder).as_posix() for p in folder.rglob("*")
            if p.is_file() and "__pycache__" not in p.parts}


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """The wheel of a copy of the checkout (so the build leaves no build/ or .egg-info in the checkout)."""
    if not (ROOT / "pyproject.toml").is_file():
        pytest.skip("not a checkout (mutmut's copy of the sources): there is no project to build")
    base = tmp_path_factory.mktemp("wheel")
    src = base / "src"
    shutil.copytree(ROOT, src, ignore=shutil.ignore_patterns(*NOT_SOURCE), symlinks=True)
    subprocess.run([sys.executable, "-m", "pip", "wheel", str(src), "--no-deps", "--no-build-isolation",
                    "--no-index", "-q", "-w", str(base / "dist")], check=True, capture_output=True)
    [built] = (base / "dist").glob("backprop_anim-*.whl")
    return built


def test_the_wheel_holds_the_projects_packages_and_assets_and_nothing_else(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    top = {n.split("/")[0] for n in names}
    dist_info = {t for t in top if t.endswith(".dist-info")}
    assert top - dist_info == _checkout_packages() | {"render.py"}  # no tests/, docs/, scripts/, a top-level assets/
    for package in _checkout_packages():  # every module, subpackages too
        shipped = {n.removeprefix(f"{package}/") for n in names if n.startswith(f"{package}/")}
        assert {f for f in _files_under(ROOT / package) if f.endswith(".py")} <= shipped, package
    assets = {n.removeprefix("backprop_anim/assets/") for n in names if n.startswith("backprop_anim/assets/")}
    assert assets == _files_under(ROOT / "assets")
    [entry_points] = [n for n in names if n.endswith(".dist-info/entry_points.txt")]
    assert "backprop-anim = render:cli" in zipfile.ZipFile(wheel).read(entry_points).decode()


@pytest.fixture(scope="module")
def installed(wheel, tmp_path_factory) -> Path:
    """A fresh venv with the wheel installed; the project's dependencies come from this interpreter's
    site-packages through a .pth line (a bare path: the checkout's editable install there is not loaded)."""
    venv = tmp_path_factory.mktemp("install") / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    site = Path(subprocess.run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                               check=True, capture_output=True, text=True).stdout.strip())
    deps = dict.fromkeys(sysconfig.get_paths()[k] for k in ("purelib", "platlib"))
    (site / "_backprop_test_deps.pth").write_text("".join(f"{d}\n" for d in deps))
    subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", "--no-index",
                    "-q", str(wheel)], check=True, capture_output=True)
    return venv


def _snapshot(folder: Path) -> dict[str, tuple[int, int]]:
    """Every file and folder under ``folder`` with its size and modification time."""
    return {p.relative_to(folder).as_posix(): (p.lstat().st_size, p.lstat().st_mtime_ns) for p in folder.rglob("*")}


@pytest.mark.slow
def test_the_installed_command_runs_from_an_empty_folder_and_writes_only_to_the_cache(installed, tmp_path):
    work, home, xdg, explicit = (tmp_path / n for n in ("work", "home", "xdg-cache", "explicit-cache"))
    work.mkdir()
    home.mkdir()
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH" and not k.startswith(("BACKPROP_", "NUMBA_"))}
    env.update(HOME=str(home), XDG_CACHE_HOME=str(xdg), PATH=f"{installed / 'bin'}{os.pathsep}{env['PATH']}")

    def run(*args: str, **extra: str) -> subprocess.CompletedProcess:
        r = subprocess.run(args, cwd=work, env={**env, **extra}, capture_output=True, text=True, timeout=600)
        assert r.returncode == 0, r.stderr[-2000:]
        return r

    before = _snapshot(installed)
    listed = run("backprop-anim", "list").stdout
    for config in sorted((ROOT / "assets" / "configs").glob("*.yaml")):
        assert f"  {config.name} " in listed
    assert "Shipped lectures (`backprop-anim lecture default`): default" in listed and "INVALID" not in listed
    run("backprop-anim", "render", "chain_rule", "--still", "--quality", "low", "--upto", "3", "-o", "still.png")
    assert (work / "still.png").read_bytes()[:4] == b"\x89PNG"
    run("backprop-anim", "trace", "vanishing", "-o", "vanishing.json")  # numba compiles and caches its loop
    assert '"kind": "vanishing"' in (work / "vanishing.json").read_text()
    run("backprop-anim", "trace", "torch_mlp", "--trust", "-o", "torch_mlp.json")  # its model's code is shipped too
    assert '"label": "fc1.weight"' in (work / "torch_mlp.json").read_text()
    # the default lecture, named by name, with every clip a shipped config (rendering it all takes minutes)
    lecture = yaml.safe_load((ROOT / "assets" / "lectures" / "default.yaml").read_text())
    loaded = run("python", "-c", "from infra.places import LECTURES, resolve_shipped\n"
                 "from pipeline.lecture import load_lecture\n"
                 "spec, configs = load_lecture(resolve_shipped('default', (LECTURES,), 'lecture'))\n"
                 "print(*(c.name for c in configs))").stdout.split()
    assert loaded == [Path(c["config"]).name for c in lecture["clips"]]
    assert _snapshot(installed) == before  # nothing written inside the installed package (nor the venv)

    cache = xdg / "backprop-anim"  # platformdirs' user cache folder, under XDG_CACHE_HOME
    assert list((cache / "traces").glob("chain_rule-*.json")) and list((cache / "numba").rglob("*.nbi"))
    assert list((cache / "text").iterdir()) or list((cache / "tex").iterdir())  # Manim's caches too
    in_user_cache = _snapshot(xdg)
    # the first animation only (a few texts): everything it needs is in the user cache, none in this one, so a
    # cache written to the wrong place shows here (`info` built the whole scene for the same check, 6 s more)
    run("backprop-anim", "render", "chain_rule", "--still", "--quality", "low", "--upto", "0",
        "-o", str(tmp_path / "explicit.png"), BACKPROP_CACHE_DIR=str(explicit))
    assert list((explicit / "traces").glob("chain_rule-*.json"))
    assert list((explicit / "text").iterdir()) or list((explicit / "tex").iterdir())  # Manim's caches too
    assert _snapshot(xdg) == in_user_cache  # BACKPROP_CACHE_DIR wins

    assert _snapshot(installed) == before
    assert sorted(p.name for p in work.iterdir()) == ["still.png", "torch_mlp.json", "vanishing.json"]  # no media/, no .cache
    assert not (home / ".cache").exists()


# --- naming shipped configs and lectures (in the checkout) -------------------------------------------

@pytest.fixture
def runner(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # an empty folder: a name can only be a shipped file
    return CliRunner()


def test_a_shipped_config_is_named_by_its_name_with_or_without_yaml(runner, tmp_path):
    for name in ("chain_rule", "chain_rule.yaml"):
        r = runner.invoke(cli, ["trace", name, "-o", f"{name}.json"])
        assert r.exit_code == 0, r.output
        assert '"title": "Chain rule: f = (x + y) z"' in (tmp_path / f"{name}.json").read_text()


def test_narrate_and_handout_take_a_shipped_name_too(runner, tmp_path):
    r = runner.invoke(cli, ["narrate", "gradcheck", "--json"])
    assert r.exit_code == 0, r.output
    assert '"steps"' in r.output
    r = runner.invoke(cli, ["handout", "gradchek", "-o", "h.html"])
    assert r.exit_code == 1 and "did you mean gradcheck?" in r.output and not (tmp_path / "h.html").exists()


def test_an_existing_path_wins_over_a_shipped_name(runner, tmp_path):
    (tmp_path / "chain_rule.yaml").write_text("scene: graph\ntitle: mine\nexpression: f = 2 * x\ninputs: {x: 1}\n")
    r = runner.invoke(cli, ["trace", "chain_rule.yaml", "-o", "t.json"])
    assert r.exit_code == 0, r.output
    assert '"title": "mine"' in (tmp_path / "t.json").read_text()


def test_an_unknown_name_is_one_line_with_the_close_names(runner):
    r = runner.invoke(cli, ["render", "chain_rul", "--still"])
    assert r.exit_code == 1 and r.output.count("\n") == 1, r.output
    assert "chain_rul: no such file, and no shipped config of that name (did you mean chain_rule?)" in r.output
    r = runner.invoke(cli, ["lecture", "defualt"])
    assert r.exit_code == 1 and "no shipped lecture of that name (did you mean default?)" in r.output
    r = runner.invoke(cli, ["info", "xyzzy"])  # nothing close: the shipped names are listed
    assert r.exit_code == 1 and r.output.count("\n") == 1 and "shipped: chain_rule, gates," in r.output


def test_a_missing_path_keeps_its_cannot_read_line(runner):
    r = runner.invoke(cli, ["trace", "no/chain_rule.yaml"])  # a folder in it: a path, never a name
    assert r.exit_code == 1 and "no/chain_rule.yaml: cannot read" in r.output


def test_slides_name_a_config_or_a_lecture():
    assert places.resolve_shipped("default", (places.CONFIGS, places.LECTURES)) == str(places.LECTURES / "default.yaml")
    assert places.resolve_shipped("gates", (places.CONFIGS, places.LECTURES)) == str(places.CONFIGS / "gates.yaml")


def test_the_cache_is_the_checkouts_unless_installed_and_the_variable_wins(monkeypatch, tmp_path):
    monkeypatch.delenv("BACKPROP_CACHE_DIR", raising=False)
    monkeypatch.setattr(places, "INSTALLED", False)
    assert places.cache_root() == ROOT / ".cache"  # a checkout keeps its .cache
    monkeypatch.setattr(places, "INSTALLED", True)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert places.cache_root() == tmp_path / "xdg" / "backprop-anim"
    monkeypatch.setenv("BACKPROP_CACHE_DIR", str(tmp_path / "mine"))
    assert places.cache_root() == tmp_path / "mine"


def test_a_checkout_reads_its_own_assets():
    assert not places.INSTALLED and places.CONFIGS == ROOT / "assets" / "configs"


def test_the_cache_folder_is_the_variable_s_only_when_it_names_one(monkeypatch, tmp_path):
    # BACKPROP_CACHE_DIR= (set, empty: a script's unset default) must not put every cache in the working folder
    monkeypatch.setenv(places.CACHE_ENV, str(tmp_path / "c"))
    assert places.cache_root() == tmp_path / "c"
    monkeypatch.setenv(places.CACHE_ENV, "")
    assert places.cache_root() == places.ROOT / ".cache"
    monkeypatch.delenv(places.CACHE_ENV)
    assert places.cache_root() == places.ROOT / ".cache"


@pytest.mark.parametrize("arg,found", [
    ("a", "one/a.yaml"), ("a.yaml", "one/a.yaml"), ("a.yml", "one/a.yaml"),  # its suffix is no part of its name
    ("b", "two/b.yml"),  # a .yml file, in the second folder
    ("c", "one/c.yaml"),  # the first folder that has it
    (".", "."), ("..", ".."), ("", ""), ("x/a", "x/a"),  # paths, read as given
])
def test_a_shipped_name_is_found_with_either_suffix_in_the_first_folder_that_has_it(tmp_path, monkeypatch, arg, found):
    one, two = tmp_path / "one", tmp_path / "two"
    for folder, names in ((one, ["a.yaml", "c.yaml", "notes.txt"]), (two, ["b.yml", "c.yaml"])):
        folder.mkdir()
        for name in names:
            (folder / name).write_text("scene: graph\n")
    (one / "d.yaml").mkdir()  # a folder is no shipped file
    monkeypatch.chdir(tmp_path / "two")
    got = places.resolve_shipped(arg, (one, two))
    assert got == (str(tmp_path / found) if found.startswith(("one/", "two/")) else found)
    assert places.shipped_names(one) == ["a", "c"] and places.shipped_names(two) == ["b", "c"]


@pytest.mark.parametrize("arg,hint", [("aa", "did you mean a?"), ("zzzzzz", "shipped: a, b"), ("d", "shipped: a, b"),
                                      ("a.json", "shipped: a, b")])  # only .yaml or .yml is a suffix to drop
def test_an_unknown_name_says_the_close_names_or_else_every_shipped_one(tmp_path, monkeypatch, arg, hint):
    folder = tmp_path / "configs"
    folder.mkdir()
    for name in ("a.yaml", "b.yml"):
        (folder / name).write_text("scene: graph\n")
    (folder / "d.yaml").mkdir()
    monkeypatch.chdir(tmp_path)
    with pytest.raises(places.UnknownName) as e:
        places.resolve_shipped(arg, (folder,), "lecture")
    assert str(e.value) == f"{arg}: no such file, and no shipped lecture of that name ({hint})"
