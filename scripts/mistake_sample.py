#!/usr/bin/env python3
"""How many hand-made mistakes the fast tests catch: each mistake of scripts/mistakes.json (one replacement
in one file) is made in a copy of the checkout, and `pytest tests -m "not slow"` is run on it.

A mistake is caught when a test fails (the first failing test is named), survived when the suite passes,
and timed out when the suite does not finish in --timeout seconds. The copy is the checkout's tracked
files as they are in the working tree (so new tests count before they are committed), with .venv and
.cache linked; the suite is run on it once without a mistake first, and nothing is measured if that fails.

    .venv/bin/python scripts/mistake_sample.py [--only ID ...] [--json OUT] [--timeout S] [--log FILE]
"""
from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MISTAKES = ROOT / "scripts" / "mistakes.json"
PYTEST = ["-m", "pytest", "tests", "-m", "not slow", "-n", "2", "--dist", "worksteal", "-x", "-q",
          "-p", "no:cacheprovider"]
# pytest's summary, not a log line; a parametrized test's id may hold spaces and brackets ("[en-a title]",
# "[ko-... [+1, 0, +1]...]"): it ends at the bracket followed by pytest's " - " or the line's end
FAILED = re.compile(r"^(?:FAILED|ERROR) (tests/[^\s\[]+(?:\[.*?\])?)(?: - |$)", re.M)


def load(path: Path, only: list[str]) -> list[dict]:
    """The mistakes to run, each checked: its ``old`` text occurs exactly once in its file."""
    mistakes = json.loads(path.read_text(encoding="utf-8"))
    ids = [m["id"] for m in mistakes]
    unknown = sorted(set(only) - set(ids))
    if unknown:
        sys.exit(f"{path.name}: no mistake {', '.join(unknown)}")
    if len(set(ids)) != len(ids):
        sys.exit(f"{path.name}: an id is used twice")
    chosen = [m for m in mistakes if not only or m["id"] in only]
    for m in chosen:
        count = (ROOT / m["file"]).read_text(encoding="utf-8").count(m["old"])
        if count != 1:
            sys.exit(f"mistake {m['id']}: its `old` text occurs {count} times in {m['file']}, not once")
        if m["old"] == m["new"]:
            sys.exit(f"mistake {m['id']}: `new` is `old`")
    return chosen


def copy_checkout(dest: Path) -> None:
    """The tracked files as they are now, and links to the checkout's .venv and .cache."""
    files = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True).stdout
    for name in files.decode().split("\0"):
        src = ROOT / name
        if name and src.is_file() and not src.is_symlink():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / name)
    for link in (".venv", ".cache"):
        (dest / link).symlink_to((ROOT / link).resolve())


def run_suite(copy: Path, timeout: float, log: Path | None = None) -> tuple[str, str, float]:
    """(caught | survived | timeout, the first failing test, seconds) for the suite on ``copy``."""
    env = dict(os.environ, PYTHONPATH=str(copy))  # the copy's modules, in the tests' subprocesses too
    start = time.monotonic()
    proc = subprocess.Popen([str(copy / ".venv" / "bin" / "python"), *PYTEST], cwd=copy, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        out, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, 9)  # pytest and its xdist workers: the session started for this run
        proc.communicate()
        return "timeout", "", time.monotonic() - start
    seconds = time.monotonic() - start
    if proc.returncode == 0:
        return "survived", "", seconds
    failed = FAILED.search(out)
    first = failed[1] if failed else f"(exit {proc.returncode}) " + " | ".join(out.strip().splitlines()[-3:])
    if log is not None:  # the whole output of each failing run, to read a failure by
        with log.open("a", encoding="utf-8") as f:
            f.write(f"==== {first}\n{out}\n")
    return "caught", first, seconds


def wilson(k: int, n: int) -> tuple[float, float]:
    """The 95% Wilson score interval of k successes in n (SciPy's)."""
    if n == 0:
        return 0.0, 1.0
    from scipy.stats import binomtest

    interval = binomtest(k, n).proportion_ci(confidence_level=0.95, method="wilson")
    return interval.low, interval.high


def table(results: list[dict]) -> str:
    lines = ["| id | file | result | first failing test | s |", "|---|---|---|---|---|"]
    for r in results:
        lines.append(f"| {r['id']} | {r['file']} | {r['result']} | {r['test'] or '-'} | {r['seconds']:.0f} |")
    caught = sum(r["result"] == "caught" for r in results)
    decided = sum(r["result"] != "timeout" for r in results)
    lo, hi = wilson(caught, decided)
    lines.append("")
    lines.append(f"caught {caught} of {decided} decided mistakes ({caught / max(decided, 1):.1%}, 95% Wilson "
                 f"interval {lo:.1%} to {hi:.1%}); {len(results) - decided} timed out")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", action="append", default=[], metavar="ID", help="run this mistake only (repeatable)")
    parser.add_argument("--json", type=Path, metavar="OUT", help="also write the results as JSON")
    parser.add_argument("--timeout", type=float, default=300, help="seconds per suite run (default 300)")
    parser.add_argument("--mistakes", type=Path, default=MISTAKES, help="the list of mistakes")
    parser.add_argument("--log", type=Path, metavar="FILE", help="append the output of every failing suite run")
    args = parser.parse_args()
    mistakes = load(args.mistakes, args.only)
    results = []
    with tempfile.TemporaryDirectory(prefix="backprop-mistakes-") as tmp:
        copy = Path(tmp)
        copy_checkout(copy)
        outcome, test, seconds = run_suite(copy, args.timeout, args.log)
        print(f"baseline: {'passes' if outcome == 'survived' else outcome} ({seconds:.0f} s)", flush=True)
        if outcome != "survived":
            sys.exit(f"the fast tests do not pass without a mistake ({test or outcome}): nothing measured")
        for m in mistakes:
            target = copy / m["file"]
            original = target.read_text(encoding="utf-8")
            target.write_text(original.replace(m["old"], m["new"], 1), encoding="utf-8")
            try:
                outcome, test, seconds = run_suite(copy, args.timeout, args.log)
            finally:
                target.write_text(original, encoding="utf-8")
                for cache in target.parent.glob("__pycache__"):  # no stale bytecode of the mistake
                    shutil.rmtree(cache, ignore_errors=True)
            results.append({**m, "result": outcome, "test": test, "seconds": seconds})
            print(f"{m['id']}: {outcome} {test} ({seconds:.0f} s)", flush=True)
    print()
    print(table(results))
    if args.json:
        args.json.write_text(json.dumps(results, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
