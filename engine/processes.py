"""Processes that stop cleanly: SIGTERM (what `timeout`, CI and service managers send) is treated as
Ctrl-C, so the same clean-up runs (no partial output, no temporary folders), and worker processes die
with the process that started them instead of rendering on, orphaned, for minutes."""
from __future__ import annotations

import ctypes
import multiprocessing.connection
import os
import signal
import time

PR_SET_PDEATHSIG = 1
# How long a stopped worker may take to clean up before it is killed: its Python handler runs only when
# the worker is back in the interpreter, and one stuck in C (a lock inherited through fork) never is.
STOP_GRACE_SECONDS = 3.0


def _find_prctl():
    # Looked up once in the parent: dlopen in a child forked from a threaded parent can deadlock on a
    # loader lock some other thread held at the fork, and such a child ignores SIGTERM's Python handler.
    try:
        return ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None


_prctl = _find_prctl()


def _interrupt(signum, frame):
    raise KeyboardInterrupt


def sigterm_as_ctrl_c() -> None:
    """From now on SIGTERM raises KeyboardInterrupt in the main thread, as Ctrl-C does."""
    signal.signal(signal.SIGTERM, _interrupt)


_in_job = False


def _worker_signal(signum, frame):
    # Inside a job: clean up as Ctrl-C does (run_job then ends the process). Idle: just end.
    if _in_job:
        raise KeyboardInterrupt
    os._exit(128 + signum)


def die_with_parent(parent: int | None = None) -> None:
    """A pool worker's initializer: SIGTERM when the parent exits, however it exits (SIGKILL included),
    and SIGTERM or Ctrl-C ends the worker after its job's clean-up. Linux's prctl; elsewhere the rest."""
    signal.signal(signal.SIGTERM, _worker_signal)
    signal.signal(signal.SIGINT, _worker_signal)
    if _prctl is None:
        return
    _prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
    if parent is not None and os.getppid() != parent:  # the parent died before prctl took effect
        os._exit(128 + signal.SIGTERM)


def run_job(fn, *args):
    """Run ``fn(*args)`` in a pool worker; interrupted, the worker ends once ``fn`` has cleaned up (a pool
    worker would otherwise report the interrupt as the job's result and wait for work from nobody)."""
    global _in_job
    _in_job = True
    try:
        return fn(*args)
    except KeyboardInterrupt:
        os._exit(128 + signal.SIGTERM)
    finally:
        _in_job = False


def workers(pool) -> list:
    """A ProcessPoolExecutor's worker processes (there is no public handle; shutdown forgets them)."""
    return list((getattr(pool, "_processes", None) or {}).values())


def stop_pool(pool, processes=None) -> None:
    """Cancel what a ProcessPoolExecutor has queued and end the work under way (its workers clean up).

    ``processes``: the workers, for a pool already shut down (``workers(pool)`` taken before that)."""
    processes = workers(pool) if processes is None else processes
    pool.shutdown(wait=False, cancel_futures=True)
    for process in processes:
        if not _ended(process):
            process.terminate()
    deadline = time.monotonic() + STOP_GRACE_SECONDS
    for process in processes:
        process.join(timeout=max(0.0, deadline - time.monotonic()))
    for process in processes:
        if not _ended(process):
            process.kill()
            process.join(timeout=STOP_GRACE_SECONDS)


def _ended(process) -> bool:
    # The sentinel, not is_alive(): the pool's management thread may have reaped the worker, and then
    # is_alive() never learns its exit status (and a kill could reach a recycled pid).
    try:
        return bool(multiprocessing.connection.wait([process.sentinel], timeout=0))
    except (ValueError, OSError):  # closed: the process object was released, so it ended
        return True
