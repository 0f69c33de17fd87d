"""Processes that stop cleanly: SIGTERM (what `timeout`, CI and service managers send) is treated as
Ctrl-C, so the same clean-up runs (no partial output, no temporary folders), and worker processes die
with the process that started them instead of rendering on, orphaned, for minutes."""
from __future__ import annotations

import contextlib
import ctypes
import multiprocessing.connection
import os
import shutil
import signal
import sys
import tempfile
import time

from .errors import ConfigError

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
        # Once: Ctrl-C reaches every process of the terminal's group, and then stop_pool sends SIGTERM; a
        # second interrupt inside the job's clean-up would leave its temporary folders behind. (A worker
        # that does not finish cleaning up within STOP_GRACE_SECONDS is still killed.)
        signal.signal(signal.SIGINT, _cleaning_up)  # (not SIG_IGN: a signal already on its way would then
        signal.signal(signal.SIGTERM, _cleaning_up)  # print "ignored due to race condition")
        raise KeyboardInterrupt
    _exit(128 + signum)


def _cleaning_up(signum, frame):
    pass  # the job is already ending


def _interrupt_again(unraisable) -> None:
    """A worker's ``sys.unraisablehook``. A signal's handler runs wherever the worker is, and where that is a
    weakref's callback or a ``__del__``, Python cannot raise its KeyboardInterrupt: it prints "Exception
    ignored" and the job goes on, its handlers already quiet for the clean-up. Such an interrupt is raised
    again a moment later (a signal sent now would be handled inside this hook, where it is lost the same way),
    back in the job; anything else is reported as Python reports it."""
    if _in_job and isinstance(unraisable.exc_value, KeyboardInterrupt):
        for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGALRM):
            signal.signal(signum, _worker_signal)
        signal.setitimer(signal.ITIMER_REAL, 0.005)
        return
    sys.__unraisablehook__(unraisable)


def _exit(code: int) -> None:
    """End a worker at once, its temporary folder with it (what its job's clean-up left, if anything)."""
    try:
        if _own_tmp is not None:
            shutil.rmtree(_own_tmp, ignore_errors=True)
    finally:
        os._exit(code)


_own_tmp: str | None = None


def worker_tmp(parent: int, pid: int) -> str:
    """The temporary folder of worker ``pid`` of ``parent``: everything the worker's tempfile makes."""
    return os.path.join(tempfile.gettempdir(), f"backprop-worker-{parent}-{pid}")


def _private_tmp(parent: int) -> None:
    """Make this worker's temporary files in a folder of its own, removed when it ends, and by stop_pool
    when it had to be killed (a worker killed mid-clean-up would otherwise leave its folders in $TMPDIR)."""
    global _own_tmp
    from multiprocessing import util

    _own_tmp = worker_tmp(parent, os.getpid())
    os.makedirs(_own_tmp, exist_ok=True)
    tempfile.tempdir = _own_tmp
    util.Finalize(None, shutil.rmtree, (_own_tmp, True), exitpriority=0)  # at a normal exit


def die_with_parent(parent: int | None = None) -> None:
    """A pool worker's initializer: SIGTERM when the parent exits, however it exits (SIGKILL included),
    and SIGTERM or Ctrl-C ends the worker after its job's clean-up. Linux's prctl; elsewhere the rest."""
    import multiprocessing

    signal.signal(signal.SIGTERM, _worker_signal)
    signal.signal(signal.SIGINT, _worker_signal)
    sys.unraisablehook = _interrupt_again
    # A spawned worker's default context is spawn, where a lock a library makes (tqdm's) is a named
    # semaphore registered with the resource tracker: a worker ended by a signal leaves it registered,
    # and the command ends with "leaked semaphore objects". Fork's locks are unnamed: nothing to leak.
    multiprocessing.set_start_method("fork", force=True)
    _private_tmp(os.getppid() if parent is None else parent)
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
        _exit(128 + signal.SIGTERM)
    finally:
        _in_job = False


def workers(pool) -> list:
    """A ProcessPoolExecutor's worker processes (there is no public handle; shutdown forgets them)."""
    return list((getattr(pool, "_processes", None) or {}).values())


def manager_thread(pool):
    """A ProcessPoolExecutor's management thread (shutdown forgets it too), or None before its first job."""
    return getattr(pool, "_executor_manager_thread", None)


def stop_pool(pool, processes=None, manager=None) -> None:
    """Cancel what a ProcessPoolExecutor has queued and end the work under way (its workers clean up).

    ``processes`` and ``manager``: the workers and the management thread, for a pool already shut down
    (``workers(pool)`` and ``manager_thread(pool)`` taken before that)."""
    processes = workers(pool) if processes is None else processes
    manager = manager_thread(pool) if manager is None else manager
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
    for process in processes:  # what a worker killed mid-clean-up left (its own folder: see die_with_parent)
        if process.pid is not None and _ended(process):
            shutil.rmtree(worker_tmp(os.getpid(), process.pid), ignore_errors=True)
    # The management thread closes its wake-up pipe as it ends. Python 3.11's exit handler writes to that
    # pipe unlocked, so an exit while the thread is still ending can fail with "Bad file descriptor" and a
    # traceback after "Aborted!" (CPython gh-109047, fixed in 3.12). With its workers gone it ends at once.
    if manager is not None:
        manager.join(timeout=STOP_GRACE_SECONDS)


def _ended(process) -> bool:
    # The sentinel, not is_alive(): the pool's management thread may have reaped the worker, and then
    # is_alive() never learns its exit status (and a kill could reach a recycled pid).
    try:
        return bool(multiprocessing.connection.wait([process.sentinel], timeout=0))
    except (ValueError, OSError):  # closed: the process object was released, so it ended
        return True


class EndedEarly(ConfigError):
    """A child running the user's code ended without returning: it exited or was killed (one line)."""


def run_isolated(fn, args: tuple, what: str):
    """``fn(*args)`` in a forked child, for code that is not ours (a `torch:` config's model): its result
    or its exception comes back here; its ``sys.exit`` or ``os._exit``, a signal or a crash becomes one
    EndedEarly line ("WHAT exited with code 3 before returning", "WHAT was killed by signal 11 (SIGSEGV)")
    instead of ending or breaking this process; what it prints goes to stderr (stdout may be the trace
    being written); and the child runs in a process group of its own, ended when the call ends, so a
    process it started does not outlive the command. The child dies with this process (SIGKILL)."""
    import multiprocessing

    ctx = multiprocessing.get_context("fork")
    receive, send = ctx.Pipe(duplex=False)
    child = ctx.Process(target=_isolated, args=(send, fn, args, os.getpid()))
    child.start()
    send.close()
    with contextlib.suppress(OSError):
        os.setpgid(child.pid, child.pid)  # (the child does so too: whichever runs first)
    try:
        result = _result(receive, child.pid)
        os.waitid(os.P_PID, child.pid, os.WEXITED | os.WNOWAIT)  # ended, not reaped yet
    finally:
        # Before the child is reaped its pid, the group's id, cannot have been reused by another process.
        with contextlib.suppress(OSError):
            os.killpg(child.pid, signal.SIGKILL)
        receive.close()
        child.join()
    if result is None:
        code = child.exitcode
        if code is not None and code < 0:
            raise EndedEarly(f"{what} was killed by signal {-code} ({_signal_name(-code)})")
        raise EndedEarly(f"{what} exited with code {code} before returning")
    kind, value = result
    if kind == "ok":
        return value
    if kind == "exit":
        raise EndedEarly(f"{what} exited with code {value} before returning")
    raise value


def _result(receive, pid: int):
    """What the child sent, or None once it has ended without sending. (Neither the pipe's end-of-file
    nor the child's sentinel says so: a process the user's code started may hold both open.)"""
    while True:
        if receive.poll(0.05):
            with contextlib.suppress(EOFError, OSError):
                return receive.recv()
            return None
        if os.waitid(os.P_PID, pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None:
            return receive.recv() if receive.poll(0) else None  # what it sent before it ended, if anything


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return "unknown"


def _isolated(send, fn, args, parent: int) -> None:
    with contextlib.suppress(OSError):
        os.setpgid(0, 0)
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    if _prctl is not None:
        _prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent:
        os._exit(128 + signal.SIGKILL)
    # A forked child of a process whose OpenMP pool has run (torch's intra-op threads) waits forever at
    # that pool's next barrier: the pool's threads were not forked with it. On one thread, torch never
    # enters the pool (seen as a hung BatchNorm in the test suite, whose workers ran torch before).
    torch = sys.modules.get("torch")
    if torch is not None:
        torch.set_num_threads(1)
    sys.stdout.flush()
    os.dup2(2, 1)  # the user's print() goes to stderr: stdout may carry the trace
    sys.stdout = sys.stderr
    try:
        result = ("ok", fn(*args))
    except SystemExit as e:  # sys.exit() in the user's code: code None is 0, a message is 1
        result = ("exit", e.code if isinstance(e.code, int) else 0 if e.code is None else 1)
    except BaseException as e:  # noqa: BLE001 - every exception goes back to the parent
        result = ("error", e)
    try:
        send.send(result)
    except Exception:  # an exception that does not pickle: its text, with the traceback, as ours
        import traceback
        send.send(("error", RuntimeError("".join(traceback.format_exception(result[1])))))
    send.close()
    sys.stderr.flush()
    os._exit(0)  # no exit handlers of the user's code or of the parent's copy run here
