#!/usr/bin/env python3
"""`make mutation`: mutmut over a random sample of the engine's and the CLI's mutants, sized to finish
within the hour on this machine's cores, then docs/mutation.md.

The whole set (about 4,000 mutants of infra/, engine/ and render.py) takes several hours on two cores, so the
score is measured on a uniform random sample (seeded: the same commit gives the same sample), which
estimates the whole set's score with a stated margin; mutmut keeps every result under mutants/, so a
later run (another seed, a larger --size) adds to what is known instead of starting again.

    .venv/bin/python scripts/mutation_sample.py [--size N] [--seed S] [--jobs J]
"""
from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from pathlib import Path

import click

ROOT = Path(__file__).resolve().parent.parent
MUTMUT = [str(ROOT / ".venv" / "bin" / "mutmut")] if (ROOT / ".venv" / "bin" / "mutmut").exists() else ["mutmut"]
SAMPLE_FILE = ROOT / "mutants" / "sample.json"
SCOPE = ("infra/", "engine/", "render.py")  # what the score is about: the engine (and its infrastructure) and the CLI


def generate() -> None:
    """Have mutmut generate every mutant and map tests to functions, running none of the mutants: asked
    for a name that matches nothing, it stops once that is done."""
    # mutmut maps each function to the tests that reach it once, in its stats, and runs only those on the
    # function's mutants: a test written since would never be run on them. New tests: map again.
    stats = ROOT / "mutants" / "mutmut-stats.json"
    if stats.exists() and any(t.stat().st_mtime > stats.stat().st_mtime for t in (ROOT / "tests").rglob("*.py")):
        stats.unlink()
    subprocess.run([*MUTMUT, "run", "--max-children", str(os.cpu_count() or 2), "__generate_only__"], cwd=ROOT,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=single_threaded())


def mutant_names() -> list[str]:
    """Every mutant mutmut generated in the engine and the CLI, by name."""
    names = []
    for meta in sorted((ROOT / "mutants").rglob("*.py.meta")):
        source = str(meta.relative_to(ROOT / "mutants"))[: -len(".meta")]
        if source.startswith(SCOPE):
            names += sorted(json.loads(meta.read_text())["exit_code_by_key"])
    return names


@click.command()
@click.option("--size", default=500, show_default=True, help="Mutants in the sample (about 6 s each on two cores).")
@click.option("--seed", default=0, show_default=True, help="Which sample.")
@click.option("--jobs", default=os.cpu_count() or 2, show_default=True, help="Mutants tested at once.")
def main(size: int, seed: int, jobs: int) -> None:
    generate()
    names = mutant_names()
    if not names:
        raise click.ClickException("mutmut generated no mutants (see `mutmut run` for its own output)")
    sample = sorted(random.Random(seed).sample(names, min(size, len(names))))
    SAMPLE_FILE.write_text(json.dumps({"seed": seed, "population": len(names), "names": sample}, indent=1) + "\n")
    click.echo(f"mutation: {len(sample)} of {len(names)} mutants of {', '.join(SCOPE)} (seed {seed})", err=True)
    # mutmut run takes names on its command line: a few thousand characters per hundred mutants
    subprocess.run([*MUTMUT, "run", "--max-children", str(jobs), *sample], cwd=ROOT, stdout=subprocess.DEVNULL,
                   env=single_threaded())


def single_threaded() -> dict:
    """The environment for mutmut, which forks a test process per mutant from one that has run the tests:
    an OpenMP thread pool (torch's) does not survive a fork, and its children hang until mutmut's timeout
    (seen: 60 of 292 mutants, nearly all in the torch modules). One thread per pool makes the fork safe."""
    return {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1",
            "NUMBA_NUM_THREADS": "1"}


if __name__ == "__main__":
    sys.exit(main())
