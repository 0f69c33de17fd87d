"""Clips rendered on a Ray cluster: tasks by content, results back through Ray into the local cache.

A task carries what its clip is made of (the trace's bytes, or a title card's text, and the render
settings), never a path on this machine: a worker writes the trace to a folder of its own, renders, and
returns the clip's bytes with their SHA-256. The driver checks the digest and publishes the clip into
the local content-addressed cache (infra.cache), so nothing reaches the cache that did not arrive whole.

Ray's workers are long-lived processes: the first task on a worker imports Manim, the ones after it
reuse that import. A worker that dies mid-task is a system failure Ray retries on another worker
(``max_retries``); a Ledger actor counts the tasks that started more than once, for the summary. On
Ctrl-C every task still queued or running is cancelled (force: its worker is killed), and as no result
was published, nothing partial is left.
"""
from __future__ import annotations

import hashlib
import os
import time
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pipeline.lecture import ClipJob

ROOT = Path(__file__).resolve().parent.parent
MAX_RETRIES = 3
# CPUs a clip task asks for: a render keeps about 1.6 cores busy (docs/benchmark.md), so two on a real
# cluster; a local instance is given exactly --jobs CPUs, one per worker.
CPUS_PER_TASK = {"local": 1, "remote": 2}
# What a remote cluster's workers need of this checkout: the code, not its caches, media or environment.
UPLOAD_EXCLUDES = [".venv", ".cache", "out", "media", "mutants", ".git", ".hypothesis", "*.egg-info", "**/__pycache__"]


def _render_task(job: ClipJob, trace: bytes | None, ledger) -> tuple[bytes, str, int]:
    """On a worker: render one clip job; its bytes, their SHA-256 and the worker's process id."""
    import dataclasses
    import tempfile

    from pipeline.lecture import render_clip_job

    # not awaited: a task blocked in ray.get lends its CPU out, and Ray would start another worker meanwhile
    ledger.started.remote(Path(job.out).stem)
    with tempfile.TemporaryDirectory(prefix="backprop-task-") as tmp:
        source = job.source
        if trace is not None:  # the scene's trace, as the driver has it
            source = str(Path(tmp) / "trace.json")
            Path(source).write_bytes(trace)
        clip = Path(tmp) / Path(job.out).name
        render_clip_job(dataclasses.replace(job, source=source, out=str(clip)))
        data = clip.read_bytes()
    return data, hashlib.sha256(data).hexdigest(), os.getpid()


class _Ledger:
    """Which tasks have started, and how often (an actor: one place every worker reports to)."""

    def __init__(self):
        self.starts: dict[str, int] = {}

    def started(self, key: str) -> None:
        self.starts[key] = self.starts.get(key, 0) + 1

    def retried(self) -> int:
        return sum(1 for n in self.starts.values() if n > 1)

    def running(self, finished: int) -> int:
        return len(self.starts) - finished


# The client server starts a process per client; under load that start can fail once (a gRPC fork race
# in Ray's proxy: "Starting Ray client server failed"), and a new connection then works.
CLIENT_ATTEMPTS = 3


def connect(cluster: str, workers: int) -> None:
    """``local``: a Ray instance on this machine with ``workers`` CPUs; ``ray://HOST:PORT``: a cluster,
    to which this checkout's code is uploaded (its caches and environment are not)."""
    if cluster.startswith("ray://") and "RAY_AUTH_MODE" not in os.environ and (
            os.environ.get("RAY_AUTH_TOKEN") or os.environ.get("RAY_AUTH_TOKEN_PATH")
            or (Path.home() / ".ray" / "auth_token").is_file()):
        # A cluster started with token authentication (Ray's default for `ray start` since 2.59) takes a
        # client only with its token: sent when this machine has one, in Ray's own places for it. Ray reads
        # the mode when it is imported, so it is set first.
        os.environ["RAY_AUTH_MODE"] = "token"
    import ray

    if ray.is_initialized():
        return
    if cluster == "local":
        # The workers find the checkout on PYTHONPATH, inherited from the raylet this call starts: given as the
        # environment rather than as a runtime_env, whose agent then prepared every worker (1.5 s of a 12 s
        # course, alternated runs); the driver's own environment is as it was once Ray is up
        from pipeline.render_job import environment

        with environment({"PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}):
            ray.init(num_cpus=workers, include_dashboard=False, log_to_driver=False,
                     object_store_memory=512 * 1024 * 1024)
    elif cluster.startswith("ray://"):
        for attempt in range(CLIENT_ATTEMPTS):
            try:
                ray.init(address=cluster, log_to_driver=False,
                         runtime_env={"working_dir": str(ROOT), "excludes": UPLOAD_EXCLUDES})
                return
            except (ConnectionError, RuntimeError) as e:
                if "client server failed" not in str(e) or attempt == CLIENT_ATTEMPTS - 1:
                    raise
                ray.shutdown()
                time.sleep(2.0)
    else:
        raise ValueError(f"--cluster {cluster}: use local or ray://HOST:PORT")


def render_on_ray(todo: list[ClipJob], cluster: str, workers: int, progress=None) -> tuple[int, int]:
    """Render the clip jobs on Ray and publish each into the local cache; returns how many tasks were
    retried and how many worker processes did the work."""
    connect(cluster, workers)  # first: it may set what Ray reads on import
    import ray

    from infra.cache import write_entry

    ledger = ray.remote(num_cpus=0)(_Ledger).remote()
    cpus = CPUS_PER_TASK["local" if cluster == "local" else "remote"]
    task = ray.remote(max_retries=MAX_RETRIES, num_cpus=cpus)(_render_task)
    traces: dict[str, object] = {}  # one object per trace, however many clips read it
    refs = {}
    for job in todo:
        trace = None
        if job.kind == "scene":
            if job.source not in traces:
                traces[job.source] = ray.put(Path(job.source).read_bytes())
            trace = traces[job.source]
        refs[task.remote(job, trace, ledger)] = job
    pending, pids = list(refs), set()
    try:
        while pending:
            done, pending = ray.wait(pending, num_returns=1, timeout=1.0)
            if progress:  # what the cluster is doing now, from the ledger
                progress.status(running=ray.get(ledger.running.remote(len(refs) - len(pending))),
                                retried=ray.get(ledger.retried.remote()))
            if not done:
                continue
            data, digest, pid = ray.get(done[0])
            out = Path(refs[done[0]].out)
            if hashlib.sha256(data).hexdigest() != digest:
                raise RuntimeError(f"{out.name}: the clip arrived damaged (SHA-256 differs)")
            write_entry(out, data, out.stem)
            pids.add(pid)
            if progress:
                progress.advance()
        return ray.get(ledger.retried.remote()), len(pids)
    except BaseException:  # an error, Ctrl-C or SIGTERM: the cluster stops working for nobody
        for ref in pending:
            ray.cancel(ref, force=True)
        raise


def shutdown() -> None:
    import ray
    if ray.is_initialized():
        ray.shutdown()


def worker_pids(under: int) -> list[int]:
    """The processes under process ``under`` (a course's command: Ray's raylet and its workers are its
    descendants) that run a render task now, for tests that kill one. Only that command's: another
    course rendered at the same time on this machine has render tasks of its own."""
    parents, tasks = {}, []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
                cmdline = Path(f"/proc/{entry}/cmdline").read_bytes()
            except OSError:
                continue
            parents[int(entry)] = int(stat.rsplit(")", 1)[1].split()[1])  # the field after the state
            if b"ray::_render_task" in cmdline:
                tasks.append(int(entry))

    def descends(pid: int) -> bool:
        seen = set()
        while pid > 1 and pid not in seen:
            seen.add(pid)
            pid = parents.get(pid, 0)
            if pid == under:
                return True
        return False

    return [pid for pid in tasks if descends(pid)]
