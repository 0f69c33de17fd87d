#!/usr/bin/env python3
"""docs/mutation.md from the results `mutmut run` left under mutants/: the score per file and overall,
and every mutant that survived or that no test reaches, by function.

Reads mutmut's own result files (mutants/**/*.meta: each mutant's exit code from the test run) and
classifies them with mutmut's own table, so the numbers are mutmut's. Usage (after `mutmut run`):
    .venv/bin/python scripts/mutation_report.py > docs/mutation.md
"""
from __future__ import annotations

import json
import re
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from mutmut.stats import status_by_exit_code  # noqa: E402


def results(mutants: Path) -> dict[str, dict[str, str]]:
    """{source file: {mutant name: status}}."""
    out = {}
    for meta in sorted(mutants.rglob("*.py.meta")):
        codes = json.loads(meta.read_text())["exit_code_by_key"]
        out[str(meta.relative_to(mutants))[: -len(".meta")]] = {k: status_by_exit_code[v] for k, v in codes.items()}
    return out


def function_of(mutant: str) -> str:
    """engine.ops.x_pow_local__mutmut_3 -> engine.ops.pow_local (methods as Class.method)."""
    module, _, name = mutant.rpartition(".")
    name = re.sub(r"__mutmut_\d+$", "", name)
    name = name.removeprefix("x_").removeprefix("xǁ").replace("ǁ", ".")
    return f"{module}.{name}"


def score(counts: Counter) -> tuple[int, int, float]:
    """(killed, decided, percent): a timeout decides nothing (see sample_section), nor an equivalent mutant."""
    checked = sum(n for s, n in counts.items() if s not in ("not checked", "equivalent", "timeout"))
    killed = counts["killed"] + counts["caught by type check"]
    return killed, checked, 100 * killed / checked if checked else float("nan")


EQUIVALENT = ROOT / "docs" / "mutation-equivalent.txt"


def _commit() -> str:
    import os
    import subprocess
    if os.environ.get("MUTATION_COMMIT"):  # the results came from another checkout (a worktree at that commit)
        return os.environ["MUTATION_COMMIT"]
    r = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True)
    return r.stdout.strip() or "unknown"


def equivalents() -> list[tuple[str, str]]:
    """(mutant name or fnmatch pattern, why it cannot be killed) from docs/mutation-equivalent.txt."""
    if not EQUIVALENT.exists():
        return []
    out = []
    for line in EQUIVALENT.read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, _, why = line.partition(" ")
            out.append((name, why.strip()))
    return out


def main() -> None:
    from fnmatch import fnmatch

    by_file = results(ROOT / "mutants")
    known = equivalents()
    for statuses in by_file.values():  # a survivor explained as equivalent leaves the score's denominator
        for mutant, status in statuses.items():
            if status in ("survived", "no tests") and any(fnmatch(mutant, pattern) for pattern, _ in known):
                statuses[mutant] = "equivalent"
    total = Counter(s for statuses in by_file.values() for s in statuses.values())
    killed, checked, pct = score(total)
    lines = ["# Mutation testing", "",
             f"Written by `scripts/mutation_report.py` from `make mutation` (mutmut, configured in pyproject.toml), "
             f"{time.strftime('%Y-%m-%d')}, on commit {_commit()}.",
             "The oracle is the fast test subset (`-m 'not slow'`); a mutant counts as killed when a test fails.",
             "A timeout is counted apart, neither killed nor survived: a mutant that loops times out, but so did",
             "test processes that hung on a lock inherited through mutmut's fork (OpenMP's, in the torch tests),",
             "which says nothing about the mutant. \"No tests\" means no fast test reaches that line at all.", "",
             f"**Score: {killed} of {checked} decided mutants killed ({pct:.1f}%)**; "
             f"{sum(total.values())} generated, {total['not checked']} not checked yet, "
             f"{total['equivalent']} not counted (listed below with the reason).", ""]
    lines += sample_section(by_file, known)
    core = Counter(s for path, statuses in by_file.items() if path.startswith(("infra/", "engine/")) or path == "render.py"
                   for s in statuses.values())
    k, n, p = score(core)
    lines += [f"The engine and the CLI (`infra/`, `engine/`, `render.py`): **{k} of {n} killed ({p:.1f}%)**, "
              f"{core['not checked']} not checked yet.", "",
              "| file | killed | survived | no tests | timeout | not counted | not checked | score |",
              "|---|---|---|---|---|---|---|---|"]
    for path, statuses in by_file.items():
        c = Counter(statuses.values())
        k, n, p = score(c)
        lines.append(f"| {path} | {k} | {c['survived']} | {c['no tests']} | {c['timeout']} | {c['equivalent']} | "
                     f"{c['not checked']} | " + (f"{p:.0f}% |" if n else "- |"))
    survivors = defaultdict(list)
    for statuses in by_file.values():
        for mutant, status in statuses.items():
            if status in ("survived", "no tests"):
                survivors[function_of(mutant)].append((mutant.rpartition("_")[2], status))
    lines += ["", "## Survivors by function", "",
              "`mutmut show NAME` prints a mutant's diff. Each still needs a test, or a note that it is equivalent.", ""]
    for fn, items in sorted(survivors.items(), key=lambda kv: -len(kv[1])):
        kinds = Counter(s for _, s in items)
        lines.append(f"- `{fn}`: " + ", ".join(f"{n} {s}" for s, n in kinds.items()))
    if known:
        lines += ["", "## Not counted", "",
                  "From docs/mutation-equivalent.txt, each with its reason: equivalent mutants (no test can tell them "
                  "from the code), and a few that a test kills where mutmut cannot see it (in a subprocess, or "
                  "after the run).", ""]
        lines += [f"- `{pattern}`: {why}" for pattern, why in known]
    print("\n".join(lines))


def wilson(k: int, n: int) -> tuple[float, float]:
    """The 95% Wilson score interval of a proportion k / n (as percentages; SciPy's)."""
    if n == 0:
        return float("nan"), float("nan")
    from scipy.stats import binomtest

    interval = binomtest(k, n).proportion_ci(confidence_level=0.95, method="wilson")
    return 100 * interval.low, 100 * interval.high


def sample_section(by_file: dict, known: list) -> list[str]:
    """The score on `make mutation`'s random sample (scripts/mutation_sample.py), with its margin, and every
    sampled survivor by name: each is explained in docs/mutation-equivalent.txt or still needs a test."""
    from fnmatch import fnmatch

    path = ROOT / "mutants" / "sample.json"
    if not path.exists():
        return []
    sample = json.loads(path.read_text())
    status = {m: st for statuses in by_file.values() for m, st in statuses.items()}
    counts = Counter(status.get(m, "not checked") for m in sample["names"])
    # A timeout is a kill only when the mutant itself loops; a test process that hangs for another reason
    # (a lock inherited through fork) says nothing about the mutant, so timeouts are counted apart.
    k, n = counts["killed"], counts["killed"] + counts["survived"] + counts["no tests"]
    pct = 100 * k / n if n else float("nan")
    lo, hi = wilson(k, n)
    lines = [f"**The engine and the CLI, on a random sample** (`make mutation`: {len(sample['names'])} of "
             f"{sample['population']} mutants of `infra/`, `engine/` and `render.py`, seed {sample['seed']}): "
             f"**{k} of {n} decided mutants killed ({pct:.1f}%; 95% interval {lo:.1f}% to {hi:.1f}%)**; "
             f"{counts['equivalent']} equivalent, {counts['timeout']} timed out (not counted either way), "
             f"{counts['not checked']} not run.", ""]
    left = [m for m in sample["names"] if status.get(m) in ("survived", "no tests", "equivalent")]
    if left:
        lines += ["Every sampled mutant that no test kills:", ""]
        for m in left:
            why = next((w for pattern, w in known if fnmatch(m, pattern)), None)
            lines.append(f"- `{m}`: " + (f"equivalent: {why}" if why else f"{status[m]}: needs a test"))
        lines.append("")
    return lines


if __name__ == "__main__":
    main()
