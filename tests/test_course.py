"""`render.py course`: a course rendered through one scheduler, locally or on a local Ray cluster.

The reference for the Ray runs is the local scheduler's output, byte for byte; every run works in a
cache of its own (seeded with the repository's LaTeX and text caches, so that no test waits for LaTeX).
"""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import types
from pathlib import Path

import pytest

from engine.config import ConfigError
from helpers import alive, drawing_frames, run_cli, seeded_cache
from pipeline.course import load_course
from render import CONFIG_DIR, ROOT

# A title card and two short scenes of different traces, each said in both languages: every Ray test renders
# this course (auto narration would hold every step for its reading time, five to eight times the clips' length)
LECTURE = """title: Two gates
chapter_cards: false
clips:
  - config: gates.yaml
    narration: {en: Four gates., ko: 게이트 네 개.}
  - config: chain_rule.yaml
    narration: {en: The chain rule., ko: 연쇄 법칙.}
"""
COURSE = """title: A small course
lectures: [lec.yaml]
langs: [en, ko]
qualities: [low]
formats: [mp4, webm]
"""
# What the rendering tests render: the course in Korean only (its font is the one a Ray worker must find),
# three distinct clips, each shared by the MP4 and the WebM (both languages doubled every test's renders)
RENDERED = COURSE.replace("langs: [en, ko]", "langs: [ko]")


def _course(folder: Path, course: str = COURSE) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name in ("gates.yaml", "chain_rule.yaml"):
        shutil.copy(CONFIG_DIR / name, folder / name)
    (folder / "lec.yaml").write_text(LECTURE)
    (folder / "course.yaml").write_text(course)
    return folder / "course.yaml"


def _run(course: Path, out: Path, cache: Path, *extra: str, timeout: float = 600) -> subprocess.CompletedProcess:
    env = {**os.environ, "BACKPROP_CACHE_DIR": str(cache)}
    return subprocess.run([sys.executable, str(ROOT / "render.py"), "course", str(course), "-o", str(out), *extra],
                          capture_output=True, text=True, env=env, timeout=timeout)


def _files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


VIDEOS = ["lec/mp4/en-dark-low.mp4", "lec/mp4/ko-dark-low.mp4", "lec/webm/en-dark-low.webm", "lec/webm/ko-dark-low.webm"]
RENDERED_VIDEOS = ["lec/mp4/ko-dark-low.mp4", "lec/webm/ko-dark-low.webm"]


def test_course_lists_every_video_it_asks_for(tmp_path):
    course = _course(tmp_path / "c")
    spec, variants = load_course(course, tmp_path / "out")
    assert sorted(str(v.output.relative_to(tmp_path / "out")) for v in variants) == sorted(VIDEOS)
    assert {(v.lang, v.fmt) for v in variants} == {("en", "mp4"), ("ko", "mp4"), ("en", "webm"), ("ko", "webm")}


@pytest.mark.parametrize("change,message", [
    ("langs: [en, fr]", "key 'langs': 'fr' is not one of en, ko"),
    ("themes: [dark, dark]", "key 'themes': lists a value twice"),
    ("output: '{lecture}/{speed}.{format}'", "key 'output': {speed} is not one of {lecture}, {lang}, {theme}, "
                                            "{quality}, {format}"),
    ("output: '../{lecture}-{lang}.{format}'", "key 'output': must be a relative path inside the output folder"),
    ("output: '{lecture}-{lang}.{format}'", "key 'output': '{lecture}-{lang}.{format}' gives"),
    ("output: '{lecture}/{format}/{lang}.mp4'", "key 'output': en.mp4 must end in .webm (use {format})"),
    ("output: '{lecture:>1000000}/{lang}.{format}'", "key 'output': {lecture:>1000000}: only bare fields such "
                                                    "as {lecture} are allowed"),
    ("output: '{lecture!r}/{lang}.{format}'", "key 'output': {lecture!r}: only bare fields"),
    ("lectures: [nothing.yaml]", "key 'lectures.0': no such file nothing.yaml"),
    ("lectures: [../outside.yaml]", "key 'lectures.0': ../outside.yaml is outside the course's folder"),
])
def test_a_bad_course_is_one_line_naming_the_key(tmp_path, change, message):
    key = change.split(":")[0]
    text = "\n".join(line for line in COURSE.splitlines() if not line.startswith(key + ":")) + "\n" + change + "\n"
    (tmp_path / "outside.yaml").write_text(LECTURE)
    course = _course(tmp_path / "c", text)
    with pytest.raises(ConfigError) as e:
        load_course(course, tmp_path / "out")
    assert str(e.value).startswith(f"{course}: ") and message in str(e.value)
    result = run_cli(["course", str(course), "-o", str(tmp_path / "out")])
    assert result.exit_code == 1 and message in result.output
    assert not list((tmp_path / "out").rglob("*.mp4")) if (tmp_path / "out").exists() else True


def test_cluster_option_names_what_it_takes(tmp_path):
    result = run_cli(["course", str(_course(tmp_path / "c")), "--cluster", "yarn"])
    assert result.exit_code == 2 and "'yarn': use local or ray://HOST:PORT" in result.output


@pytest.fixture(scope="module")
def local_render(tmp_path_factory):
    """The small course rendered by the local scheduler: the reference. Rendered once per run: xdist can hand
    these tests to both workers (a steal splits the module), and the second then reads the first's render
    from the run's common temporary folder (the lock makes it wait for it) instead of rendering it again."""
    from filelock import FileLock

    shared = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        shared = shared.parent  # the run's folder, which holds every worker's own
    tmp = shared / "course-local-render"
    with FileLock(f"{tmp}.lock"):
        if not (tmp / "stderr.txt").is_file():  # not rendered yet (or the render failed)
            shutil.rmtree(tmp, ignore_errors=True)
            course, cache = _course(tmp / "c", RENDERED), seeded_cache(tmp / "cache")
            result = _run(course, tmp / "out", cache)
            assert result.returncode == 0, result.stderr
            (tmp / "stderr.txt").write_text(result.stderr)
    return tmp / "c" / "course.yaml", _files(tmp / "out"), (tmp / "stderr.txt").read_text()


@pytest.mark.slow
def test_local_scheduler_renders_each_distinct_clip_once(local_render):
    _, files, stderr = local_render
    assert sorted(f for f in files if not f.endswith((".srt", ".vtt"))) == sorted(RENDERED_VIDEOS)
    # a title card and 2 scenes = 3 clips; each is needed by an MP4 and a WebM
    assert "2 videos from 3 distinct clips: 3 rendered, 0 already cached, 3 shared between videos, 0 retried" in stderr


@pytest.mark.slow
def test_ray_cluster_renders_the_same_bytes_and_a_rerun_does_no_work(local_render, tmp_path):
    course, reference, _ = local_render
    cache = seeded_cache(tmp_path / "cache")
    result = _run(course, tmp_path / "out", cache, "--cluster", "local", "-j", "2")
    assert result.returncode == 0, result.stderr
    assert _files(tmp_path / "out") == reference
    # three tasks on the two workers: a worker imports Manim once and renders task after task; none retried
    assert "3 rendered on 2 worker processes, 0 already cached, 3 shared between videos, 0 retried" in result.stderr
    clips = {p: p.stat().st_mtime_ns for p in (cache / "clips").glob("*.mp4")}
    assert len(clips) == 3
    again = _run(course, tmp_path / "out", cache, "--cluster", "local", "-j", "2")
    assert again.returncode == 0, again.stderr
    assert "3 distinct clips: 0 rendered, 3 already cached" in again.stderr
    assert {p: p.stat().st_mtime_ns for p in (cache / "clips").glob("*.mp4")} == clips  # nothing rendered again
    assert _files(tmp_path / "out") == reference


def _worker_drawing(proc: subprocess.Popen, scene: bool, timeout: float = 180) -> int:
    """The first Ray worker of the course ``proc`` found drawing a clip's frames (``scene``: a scene's, which
    lasts seconds, not a title card's): genuinely mid-task. Its task reported its start to the ledger before it
    built the clip (the import, the trace and the mobjects come between), so that report has been delivered
    by the time frames are written."""
    from pipeline.cluster import worker_pids
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        for pid in worker_pids(proc.pid):
            if drawing_frames(pid, scene):
                return pid
        time.sleep(0.05)
    raise AssertionError(f"no render task was seen drawing a clip (the course exited with {proc.poll()})")


@pytest.mark.slow
def test_a_worker_killed_mid_task_is_retried_and_the_course_completes(local_render, tmp_path):
    course, reference, _ = local_render
    env = {**os.environ, "BACKPROP_CACHE_DIR": str(seeded_cache(tmp_path / "cache"))}
    proc = subprocess.Popen([sys.executable, str(ROOT / "render.py"), "course", str(course), "-o",
                             str(tmp_path / "out"), "--cluster", "local", "-j", "2"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    # killed while drawing a scene's frames: mid-task, and after the task's start (which the worker reports
    # without waiting) has reached the ledger; a kill before that report would make the retry the task's first
    # recorded start ("0 retried")
    os.kill(_worker_drawing(proc, scene=True), signal.SIGKILL)
    _, stderr = proc.communicate(timeout=600)
    assert proc.returncode == 0, stderr
    assert "0 already cached" in stderr and "1 retried" in stderr
    assert _files(tmp_path / "out") == reference


@pytest.mark.slow
def test_ctrl_c_cancels_the_cluster_and_leaves_nothing_partial(local_render, tmp_path):
    from pipeline.cluster import worker_pids

    course, _, _ = local_render
    cache = seeded_cache(tmp_path / "cache")
    env = {**os.environ, "BACKPROP_CACHE_DIR": str(cache)}
    proc = subprocess.Popen([sys.executable, str(ROOT / "render.py"), "course", str(course), "-o",
                             str(tmp_path / "out"), "--cluster", "local", "-j", "2"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    tasks = {_worker_drawing(proc, scene=False)}  # a clip mid-render
    tasks |= set(worker_pids(proc.pid))
    proc.send_signal(signal.SIGINT)
    proc.communicate(timeout=120)
    assert proc.returncode != 0
    assert not [p for p in (tmp_path / "out").rglob("*") if p.is_file()] if (tmp_path / "out").exists() else True
    for clip in (cache / "clips").glob("*.mp4") if (cache / "clips").exists() else ():
        from infra.cache import verified
        assert verified(clip, clip.stem)  # only whole clips were published
    deadline = time.monotonic() + 30
    while any(map(alive, tasks)) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert not any(map(alive, tasks))  # the cluster's tasks are gone with it


@pytest.mark.slow
def test_a_running_cluster_reached_through_ray_client_gets_the_code_and_sends_back_the_same_bytes(local_render, tmp_path):
    """--cluster ray://HOST:PORT: a head started apart, as a cluster's is, with its client server; the
    checkout is uploaded as the job's working_dir and the clips come back through Ray."""
    import socket

    course, reference, _ = local_render
    ports = []
    for _ in range(2):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            ports.append(s.getsockname()[1])
    ray = str(Path(sys.executable).parent / "ray")
    # the workers' own LaTeX cache (a cluster node's), warm so that the test does not wait for LaTeX; a Ray
    # folder of its own (short: it holds sockets), so that a `--cluster local` course run meanwhile by another
    # test does not find this head as "the latest cluster" and join it
    ray_tmp = tempfile.mkdtemp(prefix="ray-", dir="/tmp")
    head_env = {**os.environ, "BACKPROP_CACHE_DIR": str(seeded_cache(tmp_path / "node-cache")), "RAY_TMPDIR": ray_tmp}
    # four CPUs: a remote clip task asks for two (cluster.CPUS_PER_TASK), so two tasks run at once. --block:
    # SIGTERM to this process stops this head and its workers, and no other Ray on the machine (`ray stop`
    # stops them all, a parallel test's cluster too)
    log = tmp_path / "head.log"
    with log.open("wb") as out:
        head = subprocess.Popen([ray, "start", "--head", "--block", "--num-cpus=4", f"--port={ports[0]}",
                                 f"--ray-client-server-port={ports[1]}", "--include-dashboard=false",
                                 "--include-log-monitor=false",  # the course asks for no worker logs
                                 "--disable-usage-stats"], env=head_env, stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 120
        while b"Ray runtime started." not in log.read_bytes():
            assert head.poll() is None and time.monotonic() < deadline, log.read_text(errors="replace")[-2000:]
            time.sleep(0.1)
        result = _run(course, tmp_path / "out", seeded_cache(tmp_path / "cache"), "--cluster", f"ray://127.0.0.1:{ports[1]}")
        assert result.returncode == 0, result.stderr
        assert "3 rendered on 2 worker processes, 0 already cached, 3 shared between videos, 0 retried" in result.stderr
        assert _files(tmp_path / "out") == reference
        assert not (tmp_path / "node-cache" / "clips").exists()  # clips reached the driver's cache through Ray
    finally:
        head.terminate()
        try:
            head.wait(timeout=60)
        except subprocess.TimeoutExpired:
            head.kill()
        for logs in Path(ray_tmp).glob("ray/session_2*/logs"):  # kept in the test's folder: where a slow run went
            shutil.copytree(logs, tmp_path / "head-logs", dirs_exist_ok=True, ignore_dangling_symlinks=True)
        shutil.rmtree(ray_tmp, ignore_errors=True)


def test_the_plan_comes_first_and_a_course_over_budget_is_refused_before_any_work(tmp_path, monkeypatch):
    from pipeline import course as course_module

    course = _course(tmp_path / "c")
    monkeypatch.setattr(course_module, "BUDGET_SECONDS", 1)  # this small course is over a one-second budget
    r = run_cli(["course", str(course), "-o", str(tmp_path / "out")])
    lines = r.output.strip().splitlines()
    assert r.exit_code == 1 and lines[0] == f"{course}: planning 4 videos", r.output
    assert lines[1].startswith("plan: 4 videos from ") and " GB" in lines[1] and "estimated " in lines[1]
    assert lines[2].startswith(f"Error: {course}: the plan is over the budget") and "--allow-large" in lines[2]
    assert not (tmp_path / "out").exists()
    monkeypatch.setattr(course_module, "BUDGET_SECONDS", 10 ** 9)
    monkeypatch.setattr(course_module, "BUDGET_BYTES", 1)
    r = run_cli(["course", str(course), "-o", str(tmp_path / "out")])
    assert r.exit_code == 1 and "over the budget" in r.output and not (tmp_path / "out").exists()


def test_the_estimate_counts_each_clip_to_render_once_and_every_video_s_join():
    from types import SimpleNamespace

    from engine.settings import RenderOptions
    from pipeline.course import JOIN_RTF, RENDER_RTF, SCENE_SECONDS, Variant, _estimate
    from pipeline.lecture import ClipJob

    scene = SimpleNamespace(kind="scene", path=Path("/c/a.mp4"))
    variants = [Variant(Path("l.yaml"), lang, "dark", "hd", "mp4", Path(f"{lang}.mp4")) for lang in ("en", "ko")]
    todo = {"/c/a.mp4": ClipJob("scene", "t", None, RenderOptions(quality="hd"), "/c/a.mp4")}
    plan = _estimate(variants, [[scene], [scene]], todo, jobs=2)
    assert (plan.videos, plan.clips, plan.to_render) == (2, 1, 1)
    assert plan.seconds == pytest.approx(SCENE_SECONDS * RENDER_RTF["hd"] + 2 * SCENE_SECONDS * JOIN_RTF["hd"])


def test_a_client_server_that_fails_to_start_is_retried_and_other_errors_are_not(monkeypatch):
    """Ray's proxy can fail to start a client's server once under load (a gRPC fork race): connect tries
    again; an error of another kind (a wrong address, a refused token) is raised at once."""
    import types

    from pipeline import cluster

    def fake_ray(errors):
        calls = []

        def init(**kwargs):
            calls.append(kwargs["address"])
            if errors:
                raise errors.pop(0)
        return types.SimpleNamespace(is_initialized=lambda: False, init=init, shutdown=lambda: None), calls

    monkeypatch.setattr(cluster.time, "sleep", lambda s: None)
    ray, calls = fake_ray([ConnectionError("Starting Ray client server failed. See ray_client_server_23000.err")])
    monkeypatch.setitem(sys.modules, "ray", ray)
    cluster.connect("ray://127.0.0.1:1", 2)
    assert calls == ["ray://127.0.0.1:1"] * 2
    ray, calls = fake_ray([ConnectionError("ray client connection timeout")])
    monkeypatch.setitem(sys.modules, "ray", ray)
    with pytest.raises(ConnectionError, match="timeout"):
        cluster.connect("ray://127.0.0.1:1", 2)
    assert len(calls) == 1
    ray, calls = fake_ray([RuntimeError("Starting Ray client server failed")] * cluster.CLIENT_ATTEMPTS)
    monkeypatch.setitem(sys.modules, "ray", ray)
    with pytest.raises(RuntimeError):
        cluster.connect("ray://127.0.0.1:1", 2)
    assert len(calls) == cluster.CLIENT_ATTEMPTS


def test_variants_differing_in_theme_lang_or_quality_never_share_a_clip_and_formats_do(tmp_path, monkeypatch):
    """Planned through the CLI with the clip renders and the joins replaced (nothing drawn): 2 languages x 2
    themes x 2 qualities x 2 formats of a lecture of a title card and a scene shown twice need 8 x 2 = 16
    distinct clips, each rendered once with its own settings (a format is only a join, so MP4 and WebM share
    theirs): the 16 videos' 48 clips cost 16 renders, 32 saved. A clean local run reports 0 retried."""
    from pipeline import lecture as lecture_module

    folder = tmp_path / "c"
    folder.mkdir()
    shutil.copy(CONFIG_DIR / "gates.yaml", folder / "gates.yaml")
    (folder / "lec.yaml").write_text("title: One gate\nchapter_cards: false\nclips:\n  - config: gates.yaml\n"
                                     "  - config: gates.yaml\n")
    (folder / "course.yaml").write_text("title: C\nlectures: [lec.yaml]\nlangs: [en, ko]\nthemes: [dark, light]\n"
                                        "qualities: [low, preview]\nformats: [mp4, webm]\n")
    rendered, joined = [], []
    monkeypatch.setattr(lecture_module, "CLIP_CACHE", tmp_path / "clips")  # nothing cached yet
    monkeypatch.setattr(lecture_module, "render_clips", lambda jobs, workers, progress=None: rendered.extend(jobs))
    monkeypatch.setattr(lecture_module, "render_lecture",
                        lambda lecture, output, *args, **kwargs: joined.append((output, kwargs.get("fmt"))))
    r = run_cli(["course", str(folder / "course.yaml"), "-o", str(tmp_path / "out"), "--allow-large"])
    assert r.exit_code == 0, r.output
    settings = [(job.kind, job.options.quality, job.options.theme, job.options.lang) for job in rendered]
    assert len(settings) == len(set(settings)) == 16
    assert len({job.out for job in rendered}) == 16 and len(joined) == 16
    # each video joined in the format its name says (a .webm written as an MP4 is refused by browsers)
    assert sorted(fmt for _, fmt in joined) == ["mp4"] * 8 + ["webm"] * 8
    assert all(Path(output).suffix == f".{fmt}" for output, fmt in joined)
    assert ("16 videos from 16 distinct clips: 16 rendered, 0 already cached, 32 shared between videos, 0 retried"
            in r.output.splitlines())


def test_the_ledger_counts_a_task_started_twice_as_retried_and_a_clean_run_as_none():
    from pipeline.cluster import _Ledger

    ledger = _Ledger()
    for key in ("a", "b", "c"):
        ledger.started(key)
    assert (ledger.retried(), ledger.running(finished=1)) == (0, 2)
    ledger.started("b")  # b's worker died; Ray started it again elsewhere
    ledger.started("b")
    assert (ledger.retried(), ledger.running(finished=3)) == (1, 0)


class _Ref:
    def __init__(self, value):
        self.value = value


class FakeRay:
    """Ray's calls as render_on_ray makes them, run here at once: a task runs when it is submitted (twice for
    a clip named in ``retry``, as Ray runs a task again whose worker died), an actor is its object."""

    def __init__(self, retry=(), damage=()):
        self.retry, self.damage = set(retry), set(damage)
        self.options, self.puts, self.cancelled = [], 0, []

    def is_initialized(self):
        return True

    def remote(self, **options):
        self.options.append(options)
        return lambda target: types.SimpleNamespace(remote=lambda *args: self._call(target, args))

    def _call(self, target, args):
        if isinstance(target, type):  # an actor: its methods' calls give refs
            obj = target(*args)
            return types.SimpleNamespace(**{
                name: types.SimpleNamespace(remote=lambda *a, m=getattr(obj, name): _Ref(m(*a)))
                for name in ("started", "retried", "running")})
        args = [a.value if isinstance(a, _Ref) else a for a in args]  # Ray passes a ref's value to the task
        stem = Path(args[0].out).stem
        for _ in range(2 if stem in self.retry else 1):
            data, digest, pid = target(*args)
        return _Ref((data, "0" * 64 if stem in self.damage else digest, pid))

    def put(self, value):
        self.puts += 1
        return _Ref(value)

    def get(self, ref):
        return ref.value

    def wait(self, pending, num_returns, timeout):
        return pending[:num_returns], pending[num_returns:]

    def cancel(self, ref, force):
        self.cancelled.append((ref, force))


def _ray_jobs(tmp_path):
    from pipeline.lecture import ClipJob
    from pipeline.render_job import RenderOptions

    tmp_path.mkdir(exist_ok=True)
    trace = tmp_path / "t.json"
    trace.write_bytes(b'{"trace": 1}')
    cache = tmp_path / "clips"
    cache.mkdir()
    return [ClipJob("scene", str(trace), None, RenderOptions(quality="low"), str(cache / "a.mp4")),
            ClipJob("title", "Week 1", "intro", RenderOptions(quality="low"), str(cache / "b.mp4")),
            ClipJob("scene", str(trace), None, RenderOptions(quality="low", lang="ko"), str(cache / "c.mp4"))]


@pytest.fixture
def ray_tasks(monkeypatch):
    """render_clip_job replaced on the 'workers': a clip's bytes say what the job gave it to render."""
    from pipeline import lecture

    def render_clip_job(job):
        source = Path(job.source).read_bytes().decode() if job.kind == "scene" else job.source
        Path(job.out).write_text(f"{job.kind} {source} {job.options.lang} {Path(job.out).name}")
        return job.out
    monkeypatch.setattr(lecture, "render_clip_job", render_clip_job)


@pytest.mark.parametrize("where,cpus", [("local", 1), ("ray://10.0.0.1:10001", 2)])
def test_clips_rendered_on_ray_reach_the_cache_whole_with_one_copy_of_each_trace(tmp_path, monkeypatch, ray_tasks,
                                                                                 where, cpus):
    """render_on_ray with Ray's calls made here (FakeRay): each clip is rendered from its trace's bytes (sent
    once, however many clips read it: ray.put), arrives under its own name and is published with a record
    that verifies; a clean run reports 0 retried, a clip whose worker died and ran again 1."""
    from infra.cache import verified
    from pipeline import cluster

    ray = FakeRay()
    monkeypatch.setitem(sys.modules, "ray", ray)
    jobs = _ray_jobs(tmp_path)
    assert cluster.render_on_ray(jobs, where, 2) == (0, 1)
    assert ray.puts == 1 and {"max_retries": cluster.MAX_RETRIES, "num_cpus": cpus} in ray.options
    for job in jobs:
        assert verified(Path(job.out), Path(job.out).stem)
    assert [Path(j.out).read_text() for j in jobs] == ['scene {"trace": 1} en a.mp4', "title Week 1 en b.mp4",
                                                       'scene {"trace": 1} ko c.mp4']
    ray = FakeRay(retry={"c"})
    monkeypatch.setitem(sys.modules, "ray", ray)
    assert cluster.render_on_ray(_ray_jobs(tmp_path / "again"), where, 2) == (1, 1)


def test_a_clip_that_arrives_damaged_stops_the_run_publishes_nothing_and_cancels_the_rest(tmp_path, monkeypatch,
                                                                                         ray_tasks):
    from pipeline import cluster

    ray = FakeRay(damage={"b"})
    monkeypatch.setitem(sys.modules, "ray", ray)
    jobs = _ray_jobs(tmp_path)
    with pytest.raises(RuntimeError, match=r"^b.mp4: the clip arrived damaged \(SHA-256 differs\)$"):
        cluster.render_on_ray(jobs, "local", 2)
    assert Path(jobs[0].out).exists() and not Path(jobs[1].out).exists()  # the one before it was whole
    assert len(ray.cancelled) == 1 and ray.cancelled[0][1] is True  # the clip still pending: force-cancelled


@pytest.mark.parametrize("seconds,said", [(3900, "1 h 5 min"), (7199, "1 h 59 min"), (3600, "1 h 0 min"),
                                          (100, "2 min"), (10, "1 min")])
def test_a_course_s_plan_gives_its_time_in_hours_and_minutes(seconds, said):
    from pipeline.course import Plan

    line = Plan(videos=4, clips=3, to_render=2, seconds=seconds, bytes=2.5e9).line()
    assert line == f"plan: 4 videos from 3 distinct clips (2 to render, 1 cached); estimated {said} and 2.5 GB"


@pytest.mark.parametrize("cluster_arg,env,token_file,mode", [
    ("ray://h:1", {"RAY_AUTH_TOKEN": "t"}, False, "token"),  # a token this machine has: sent
    ("ray://h:1", {"RAY_AUTH_TOKEN_PATH": "/k/t"}, False, "token"),
    ("ray://h:1", {}, True, "token"),  # Ray's own file for it, ~/.ray/auth_token
    ("ray://h:1", {}, False, None),  # none: no token asked for
    ("ray://h:1", {"RAY_AUTH_TOKEN": "t", "RAY_AUTH_MODE": "disabled"}, False, "disabled"),  # the user's choice stays
    ("local", {"RAY_AUTH_TOKEN": "t"}, True, None),  # a local instance is started here, without one
])
def test_a_cluster_is_reached_with_a_token_only_when_this_machine_has_one(tmp_path, monkeypatch, cluster_arg, env,
                                                                        token_file, mode):
    from pipeline import cluster

    for name in ("RAY_AUTH_TOKEN", "RAY_AUTH_TOKEN_PATH", "RAY_AUTH_MODE"):
        monkeypatch.setenv(name, "")  # (recorded, so that what connect sets is undone after the test)
        monkeypatch.delenv(name)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("HOME", str(tmp_path))
    if token_file:
        (tmp_path / ".ray").mkdir()
        (tmp_path / ".ray" / "auth_token").write_text("t")
    seen = []
    monkeypatch.setitem(sys.modules, "ray", types.SimpleNamespace(
        is_initialized=lambda: False, init=lambda **kwargs: seen.append(os.environ.get("RAY_AUTH_MODE"))))
    cluster.connect(cluster_arg, 2)
    assert seen == [mode] and os.environ.get("RAY_AUTH_MODE") == mode


def test_an_unknown_cluster_address_is_refused_and_a_running_ray_is_used_as_it_is(monkeypatch):
    from pipeline import cluster

    calls = []
    monkeypatch.setitem(sys.modules, "ray", types.SimpleNamespace(is_initialized=lambda: False,
                                                                  init=lambda **kwargs: calls.append(kwargs)))
    with pytest.raises(ValueError, match="^--cluster http://h:1: use local or ray://HOST:PORT$"):
        cluster.connect("http://h:1", 2)
    cluster.connect("local", 3)
    assert calls[0]["num_cpus"] == 3 and "address" not in calls[0]  # a local instance of --jobs CPUs
    monkeypatch.setitem(sys.modules, "ray", types.SimpleNamespace(is_initialized=lambda: True,
                                                                  init=lambda **kwargs: calls.append(kwargs)))
    cluster.connect("ray://h:1", 2)
    assert len(calls) == 1
