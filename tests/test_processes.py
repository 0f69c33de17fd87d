"""Worker processes end with their parent and on SIGTERM, after their job's clean-up (fast, no rendering)."""
import multiprocessing
import os
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path
from concurrent.futures import ProcessPoolExecutor

import pytest

from infra import processes
from helpers import alive, default_sigint
from render import ROOT

EXIT_TERM = 128 + signal.SIGTERM


def _wait_until(condition, seconds: float) -> bool:
    deadline = time.time() + seconds
    while time.time() < deadline and not condition():
        time.sleep(0.02)
    return bool(condition())


def _wait_dead(pid: int, seconds: float = 5.0) -> bool:
    return _wait_until(lambda: not alive(pid), seconds)


def test_a_worker_dies_with_its_parent_even_when_the_parent_is_killed():
    parent = textwrap.dedent("""
        import os, sys, time
        from concurrent.futures import ProcessPoolExecutor
        from infra.processes import die_with_parent, run_job
        pool = ProcessPoolExecutor(1, initializer=die_with_parent, initargs=(os.getpid(),))
        pool.submit(run_job, time.sleep, 60)
        while not pool._processes:
            time.sleep(0.01)
        print(*pool._processes, flush=True)
        time.sleep(60)
    """)
    proc = subprocess.Popen([sys.executable, "-c", parent], cwd=ROOT, stdout=subprocess.PIPE, text=True,
                            preexec_fn=default_sigint)
    worker = int(proc.stdout.readline())
    assert alive(worker)
    proc.kill()  # SIGKILL: the parent runs no clean-up at all
    proc.wait()
    assert _wait_dead(worker), "the worker outlived its killed parent"


def _job_interrupted():
    def fn():
        raise KeyboardInterrupt
    processes.run_job(fn)


def test_run_job_ends_an_interrupted_worker_and_returns_results_otherwise():
    assert processes.run_job(lambda a, b: a + b, 2, 3) == 5
    assert processes._in_job is False
    p = multiprocessing.get_context("fork").Process(target=_job_interrupted)
    p.start()
    p.join(10)
    assert p.exitcode == EXIT_TERM


def test_an_interrupt_that_lands_in_a_weakref_callback_still_ends_the_job():
    # Python cannot raise inside a weakref's callback: it prints "Exception ignored" and carries on. The
    # worker's handler has by then quieted itself for the clean-up, so the job would run on to its end.
    code = textwrap.dedent("""
        import os, signal, time, weakref
        from concurrent.futures import ProcessPoolExecutor
        from concurrent.futures.process import BrokenProcessPool
        from infra.processes import die_with_parent, run_job

        class Thing:
            pass

        def callback(_):
            os.kill(os.getpid(), signal.SIGTERM)
            for _ in range(10_000):  # the handler runs here, inside the callback
                pass

        def job():
            thing = Thing()
            ref = weakref.ref(thing, callback)  # (kept: a weakref's callback runs only while the weakref lives)
            del thing
            time.sleep(5)
            return "the job ran on"

        pool = ProcessPoolExecutor(1, initializer=die_with_parent, initargs=(os.getpid(),))
        start = time.time()
        try:
            print(pool.submit(run_job, job).result(timeout=30))
        except BrokenProcessPool:
            print("ended", round(time.time() - start, 1))
    """)
    r = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60,
                       preexec_fn=default_sigint)
    said = r.stdout.split()
    assert said[0] == "ended" and float(said[1]) < 3, r.stdout + r.stderr
    assert "Exception ignored" not in r.stderr and "Traceback" not in r.stderr, r.stderr


def _where(pid: int) -> str:
    """What a live process is doing, for a failure's message: its state, the kernel function it waits in, and
    which signals it blocks, ignores, catches and has pending (failed once in a few hundred runs under load)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text().splitlines()
        wchan = Path(f"/proc/{pid}/wchan").read_text()
    except OSError as e:
        return f"(not readable: {e})"
    keep = ("State", "SigPnd", "ShdPnd", "SigBlk", "SigIgn", "SigCgt", "Threads")
    return "; ".join(line for line in status if line.startswith(keep)) + f"; wchan {wchan}"


def test_an_idle_worker_ends_at_once_on_sigterm():
    # The worker is forked by a fresh interpreter, as a render's workers are, not by this test process: a pytest
    # worker that has run a few hundred tests holds threads and state no render has (forked from it, the idle
    # worker once slept on with SIGTERM caught, none pending and none blocked: three runs in about eight).
    code = textwrap.dedent("""
        import multiprocessing, time
        from infra import processes

        def idle(ready):
            processes.die_with_parent()
            ready.set()
            # Short sleeps: a signal that arrives between Python's check for one and the sleep's start is handled
            # only when that sleep ends (CPython's, not ours: seen once under load with one sleep of 30 s)
            for _ in range(300):
                time.sleep(0.1)

        ctx = multiprocessing.get_context("fork")
        ready = ctx.Event()
        p = ctx.Process(target=idle, args=(ready,))
        p.start()
        assert ready.wait(20)
        print(p.pid, flush=True)
        p.join(30)
        print(p.exitcode, flush=True)
    """)
    proc = subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, preexec_fn=default_sigint)
    try:
        worker = int(proc.stdout.readline())
        os.kill(worker, signal.SIGTERM)
        start = time.time()
        ended = _wait_dead(worker, 5.0)
        assert ended, f"the idle worker was still running 5 s after SIGTERM: {_where(worker)}"
        assert time.time() - start < 5.0
        assert int(proc.stdout.readline()) == EXIT_TERM
    finally:
        proc.kill()
        proc.communicate()


def test_a_worker_started_after_its_parent_died_ends_itself():
    code = textwrap.dedent("""
        from infra.processes import die_with_parent
        die_with_parent(parent=1)  # not our parent: as if the real one had died before prctl
        print("still running")
    """)
    r = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=30)
    assert r.returncode == EXIT_TERM and "still running" not in r.stdout


def _sleep_and_record_the_clean_up(folder: str) -> None:
    open(os.path.join(folder, "started"), "w").close()
    try:
        time.sleep(30)
    except KeyboardInterrupt:
        open(os.path.join(folder, "cleaned up"), "w").close()
        raise


def test_stop_pool_cancels_the_queue_and_ends_running_work(tmp_path):
    pool = ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("fork"),
                               initializer=processes.die_with_parent)
    # The job tells when it runs: a future is "running" once it is queued for the worker, which may
    # still be starting (a SIGTERM then ends it before any job, with nothing to clean up).
    pool.submit(processes.run_job, _sleep_and_record_the_clean_up, str(tmp_path))
    # (one more job is handed to the worker's queue at once; the rest wait in the pool's own queue)
    queued = [pool.submit(processes.run_job, time.sleep, 30) for _ in range(3)]
    assert _wait_until((tmp_path / "started").exists, 20.0), "the job never started"
    procs = processes.workers(pool)
    assert len(procs) == 1 and procs[0].is_alive()
    manager = processes.manager_thread(pool)
    start = time.time()
    processes.stop_pool(pool)
    assert time.time() - start < 10.0  # the job's 30 s sleep did not run out
    # the pool's management thread has ended too: ending while Python exits, it broke the exit handler
    # ("Bad file descriptor" after "Aborted!" in a Ctrl-C'd lecture, one run in a few)
    assert manager is not None and not manager.is_alive()
    # Ended by SIGTERM after its job's clean-up, not killed: the clean-up left its mark. (Not timed
    # against STOP_GRACE_SECONDS: on a loaded CI machine the worker's end can reach us late.)
    assert (tmp_path / "cleaned up").exists()
    # By pid, not is_alive(): the pool's own management thread may reap the worker first, and then
    # multiprocessing's Popen.poll() never learns the exit status and reports it alive (seen in CI).
    # The pool's management thread cancels what is still queued, a moment after shutdown() returns: wait
    # for that, as for the worker's end, rather than assume it has happened.
    assert _wait_until(queued[-1].cancelled, 5.0) and _wait_dead(procs[0].pid, 1.0)


def test_workers_of_a_pool_that_never_started_is_empty():
    assert processes.workers(object()) == []


def test_sigterm_raises_keyboard_interrupt_in_the_main_thread():
    code = textwrap.dedent("""
        import os, signal
        from infra.processes import sigterm_as_ctrl_c
        sigterm_as_ctrl_c()
        try:
            os.kill(os.getpid(), signal.SIGTERM)
            import time; time.sleep(5)
        except KeyboardInterrupt:
            print("cleaned up")
    """)
    r = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=30)
    assert r.returncode == 0 and r.stdout.strip() == "cleaned up"


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_a_worker_in_a_job_cleans_up_before_it_ends(signum, tmp_path):
    marker = tmp_path / "cleaned"
    code = textwrap.dedent(f"""
        import time
        from infra.processes import die_with_parent, run_job
        def job():
            try:
                print("started", flush=True)
                time.sleep(30)
            finally:
                open({str(marker)!r}, "w").close()
        die_with_parent()
        run_job(job)
    """)
    proc = subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, stdout=subprocess.PIPE, text=True,
                            preexec_fn=default_sigint)
    assert proc.stdout.readline().strip() == "started"
    proc.send_signal(signum)
    assert proc.wait(10) == EXIT_TERM
    assert marker.exists()


def test_a_second_signal_does_not_interrupt_the_job_s_clean_up(tmp_path):
    # Ctrl-C reaches every process of the terminal's group, and stop_pool then sends SIGTERM: the second
    # arrives while the job cleans up (removes its temporary folders) and must not cut that short.
    marker = tmp_path / "cleaned"
    code = textwrap.dedent(f"""
        import time
        from infra.processes import die_with_parent, run_job
        def job():
            try:
                print("started", flush=True)
                time.sleep(30)
            finally:
                print("cleaning", flush=True)
                time.sleep(1)
                open({str(marker)!r}, "w").close()
        die_with_parent()
        run_job(job)
    """)
    proc = subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, preexec_fn=default_sigint, env={**os.environ, "TMPDIR": str(tmp_path)})
    assert proc.stdout.readline().strip() == "started"
    proc.send_signal(signal.SIGINT)
    assert proc.stdout.readline().strip() == "cleaning"
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(10) == EXIT_TERM
    assert marker.exists() and "Traceback" not in proc.stderr.read()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cleaned"]  # the worker's own folder went with it


def test_stop_pool_removes_what_a_killed_worker_left(monkeypatch, tmp_path):
    monkeypatch.setattr(processes, "STOP_GRACE_SECONDS", 0.5)
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    monkeypatch.setattr(tempfile, "tempdir", None)
    ctx = multiprocessing.get_context("spawn")
    pool = ProcessPoolExecutor(1, mp_context=ctx, initializer=processes.die_with_parent, initargs=(os.getpid(),))
    assert pool.submit(tempfile.mkdtemp, prefix="backprop-media-").result().startswith(str(tmp_path))
    procs = processes.workers(pool)
    os.kill(procs[0].pid, signal.SIGSTOP)  # deaf to SIGTERM: it is killed, no clean-up of its own runs
    processes.stop_pool(pool)
    assert list(tmp_path.iterdir()) == []


# --- the same, in this process (so that coverage tools, mutmut among them, see the calls) ---------------
class _Exit(Exception):
    pass


@pytest.fixture
def no_exit(monkeypatch):
    def fake_exit(code):
        raise _Exit(code)
    monkeypatch.setattr(processes.os, "_exit", fake_exit)
    saved = {s: signal.getsignal(s) for s in (signal.SIGTERM, signal.SIGINT)}
    monkeypatch.setattr(tempfile, "tempdir", tempfile.gettempdir())  # die_with_parent gives a worker its own
    monkeypatch.setattr(processes, "_own_tmp", None)
    method = multiprocessing.get_start_method(allow_none=True)
    yield
    multiprocessing.set_start_method(method, force=True)
    for s, handler in saved.items():
        signal.signal(s, handler)
    import ctypes
    ctypes.CDLL(None).prctl(processes.PR_SET_PDEATHSIG, 0, 0, 0, 0)


def test_die_with_parent_sets_the_handlers_and_the_parent_death_signal(no_exit):
    import ctypes
    processes.die_with_parent(os.getppid())
    assert signal.getsignal(signal.SIGTERM) is processes._worker_signal
    assert signal.getsignal(signal.SIGINT) is processes._worker_signal
    value = ctypes.c_int(-1)
    ctypes.CDLL(None).prctl(2, ctypes.byref(value), 0, 0, 0)  # PR_GET_PDEATHSIG
    assert value.value == signal.SIGTERM
    with pytest.raises(_Exit) as e:
        processes.die_with_parent(parent=os.getppid() + 1)  # the parent it was started by is gone
    assert e.value.args == (EXIT_TERM,)


def test_worker_signals_in_and_out_of_a_job(no_exit):
    with pytest.raises(_Exit) as e:
        processes._worker_signal(signal.SIGINT, None)
    assert e.value.args == (128 + signal.SIGINT,)
    seen = []

    def job():
        seen.append(processes._in_job)
        processes._worker_signal(signal.SIGTERM, None)  # as if the signal came now: Ctrl-C's clean-up

    with pytest.raises(_Exit) as e:
        processes.run_job(job)
    assert seen == [True] and e.value.args == (EXIT_TERM,) and processes._in_job is False


def _deaf_to_sigterm():
    # A worker stuck in C code (say, a lock inherited through fork): its Python handler never runs.
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM})


def test_stop_pool_kills_a_worker_that_does_not_answer_sigterm(monkeypatch):
    monkeypatch.setattr(processes, "STOP_GRACE_SECONDS", 0.5)
    pool = ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("fork"), initializer=_deaf_to_sigterm)
    running = pool.submit(time.sleep, 60)
    deadline = time.time() + 10
    while time.time() < deadline and not running.running():
        time.sleep(0.02)
    procs = processes.workers(pool)
    time.sleep(0.2)  # let the worker block SIGTERM
    start = time.time()
    processes.stop_pool(pool)
    took = time.time() - start
    assert 0.5 <= took < 3
    assert _wait_dead(procs[0].pid, 1.0)


def test_a_process_has_ended_by_its_sentinel():
    ctx = multiprocessing.get_context("fork")
    p = ctx.Process(target=time.sleep, args=(30,))
    p.start()
    assert processes._ended(p) is False
    p.kill()
    p.join(5)
    assert processes._ended(p) is True
    p.close()  # released: its sentinel is gone, and it has certainly ended
    assert processes._ended(p) is True


def test_isolated_torch_code_does_not_hang_after_the_parent_used_its_thread_pool():
    # GNU OpenMP's pool is not fork-safe: a child forked after the parent ran a parallel op hangs at the
    # pool's barrier in its own first parallel op (BatchNorm over a large batch is one).
    code = textwrap.dedent("""
        import torch
        from infra.processes import run_isolated

        torch.set_num_threads(2)
        x = torch.randn(4096, 64, dtype=torch.float64)
        torch.nn.functional.batch_norm(x, None, None, training=True)  # the pool runs here

        def norm():
            return float(torch.nn.functional.batch_norm(x, None, None, training=True).sum())

        print(run_isolated(norm, (), "norm"))
    """)
    r = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert abs(float(r.stdout.strip().splitlines()[-1])) < 1e-6


@pytest.mark.parametrize("code, said", [(None, 0), ("the model gave up", 1), (3, 3), (0, 0)])
def test_user_code_s_sys_exit_is_reported_with_the_code_python_would_exit_with(code, said):
    # Python's own rule: sys.exit() and sys.exit(0) exit 0, a message is printed and exits 1, a number is the code
    from infra.processes import EndedEarly, run_isolated

    with pytest.raises(EndedEarly, match=rf"^the model exited with code {said} before returning$"):
        run_isolated(sys.exit, (code,), "the model")


@pytest.mark.parametrize("code", [0, 5])
def test_user_code_s_os_exit_is_reported_as_its_exit_code_not_a_signal(code):
    from infra.processes import EndedEarly, run_isolated

    with pytest.raises(EndedEarly, match=rf"^the model exited with code {code} before returning$"):
        run_isolated(os._exit, (code,), "the model")


def _killed_by(signum):
    os.kill(os.getpid(), signum)
    time.sleep(5)


class _Unpicklable(Exception):
    def __reduce__(self):
        raise TypeError("not picklable")


def _raise_unpicklable():
    raise _Unpicklable("the model's own error")


def _print_and_return(value):
    print("from the model")
    os.write(1, b"raw from the model\n")  # (a library writing to the descriptor, as a C extension does)
    return value


# (not SIGSEGV: faulthandler, which pytest turns on, would print the child's stack on the terminal)
@pytest.mark.parametrize("signum,name", [(signal.SIGUSR1, "SIGUSR1"), (signal.SIGKILL, "SIGKILL"),
                                         (signal.SIGTERM, "SIGTERM")])
def test_user_code_killed_by_a_signal_is_one_line_naming_the_signal(signum, name):
    from infra.processes import EndedEarly, run_isolated
    with pytest.raises(EndedEarly, match=rf"^the model was killed by signal {int(signum)} \({name}\)$"):
        run_isolated(_killed_by, (signum,), "the model")


def test_user_code_s_result_and_exceptions_come_back_and_its_prints_go_to_stderr(capfd):
    from infra.processes import EndedEarly, run_isolated
    assert run_isolated(_print_and_return, ({"a": [1, 2]},), "the model") == {"a": [1, 2]}
    out, err = capfd.readouterr()
    assert "from the model" in err and "raw from the model" in err and out == ""  # stdout may carry the trace
    assert run_isolated(int, (), "the model") == 0  # a result that is false is a result
    with pytest.raises(ZeroDivisionError):
        run_isolated(divmod, (1, 0), "the model")
    with pytest.raises(RuntimeError, match="the model's own error"):  # its text, with its traceback
        run_isolated(_raise_unpicklable, (), "the model")
    assert not issubclass(EndedEarly, RuntimeError)


@pytest.mark.parametrize("number,name", [(9, "SIGKILL"), (11, "SIGSEGV"), (15, "SIGTERM"), (99, "unknown")])
def test_a_signal_is_named_by_its_number_or_said_unknown(number, name):
    assert processes._signal_name(number) == name


def test_a_worker_s_temporary_folder_is_named_by_its_parent_and_its_pid():
    assert processes.worker_tmp(12, 345) == os.path.join(tempfile.gettempdir(), "backprop-worker-12-345")
