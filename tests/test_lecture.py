"""A small lecture end to end: joined duration, chapters, subtitles, and per-clip re-rendering."""
import shutil

import av
import pytest
import srt

from helpers import parse_vtt, run_cli
from render import CONFIG_DIR
from pipeline import lecture as lecture_mod
from pipeline.video import probe_duration


@pytest.fixture
def small_lecture(tmp_path, monkeypatch):
    monkeypatch.setattr(lecture_mod, "CLIP_CACHE", tmp_path / "clips")
    for name in ("chain_rule", "gradcheck"):
        shutil.copy(CONFIG_DIR / f"{name}.yaml", tmp_path / f"{name}.yaml")
    lec = tmp_path / "lecture.yaml"
    lec.write_text("title: Test lecture\nclips:\n"
                   "  - config: chain_rule.yaml\n    narration: First clip.\n"
                   "  - config: gradcheck.yaml\n    title: Checking\n    narration: Second clip.\n")
    return lec


def run_lecture(lec, out):
    r = run_cli(["lecture", str(lec), "--quality", "low", "-j", "2", "-o", str(out)])
    assert r.exit_code == 0, r.output
    return r


@pytest.mark.slow
def test_lecture_joins_clips_with_chapters_and_subtitles(small_lecture, tmp_path):
    out = tmp_path / "lecture.mp4"
    run_lecture(small_lecture, out)
    clips = sorted((tmp_path / "clips").glob("*.mp4"))
    assert len(clips) == 5  # the lecture's title card, and a card and a scene per chapter
    with av.open(str(out)) as f:
        chapters = f.chapters()
        duration = float(f.duration / av.time_base)
    assert abs(duration - sum(probe_duration(c) for c in clips)) < 0.2
    assert [c["metadata"]["title"] for c in chapters] == ["Test lecture", "Chain rule: f = (x + y) z", "Checking"]
    assert chapters[0]["start"] == 0 and abs(chapters[-1]["end"] / 1000 - duration) < 0.2
    # each chapter starts where the previous ended; the chapters' narration is read over their title cards
    spans = [(c["start"] / 1000, c["end"] / 1000) for c in chapters]
    assert spans[0][0] == 0 and all(a[1] == b[0] for a, b in zip(spans, spans[1:]))
    subs = list(srt.parse(out.with_suffix(".srt").read_text()))
    assert [s.content for s in subs] == ["First clip.", "Second clip."]
    assert [s.start.total_seconds() for s in subs] == [a for a, _ in spans[1:]]
    assert all(a + 1.5 <= s.end.total_seconds() < b for s, (a, b) in zip(subs, spans[1:]))
    cues = parse_vtt(out.with_suffix(".vtt").read_text())
    assert [(round(a, 3), round(b, 3), text) for a, b, text in cues] == [
        (round(s.start.total_seconds(), 3), round(s.end.total_seconds(), 3), s.content) for s in subs]

    # Changing one config re-renders that clip only.
    before = {p.name: p.stat().st_mtime_ns for p in (tmp_path / "clips").glob("*.mp4")}
    cfg = tmp_path / "gradcheck.yaml"
    cfg.write_text(cfg.read_text().replace("w1: 0.8", "w1: 0.7"))
    run_lecture(small_lecture, out)
    after = {p.name: p.stat().st_mtime_ns for p in (tmp_path / "clips").glob("*.mp4")}
    assert len(after) == 6 and len(set(after) - set(before)) == 1
    assert all(after[k] == v for k, v in before.items())


def test_lecture_with_bad_clip_config_fails_before_rendering(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("scene: graph\nexpression: x +\ninputs: {x: 1}\n")
    lec = tmp_path / "lecture.yaml"
    lec.write_text("title: T\nclips:\n  - config: bad.yaml\n")
    r = run_cli(["lecture", str(lec), "-o", str(tmp_path / "o.mp4")])
    assert r.exit_code != 0 and "bad.yaml: key 'expression'" in r.output
    assert not (tmp_path / "o.mp4").exists()


def test_lecture_unknown_key(tmp_path):
    lec = tmp_path / "lecture.yaml"
    lec.write_text("title: T\nclip: []\n")
    r = run_cli(["lecture", str(lec), "-o", str(tmp_path / "o.mp4")])
    assert r.exit_code != 0 and "unknown key 'clip' (did you mean 'clips'?)" in r.output


@pytest.mark.slow
def test_a_recorded_voice_is_in_sync_with_real_renders(small_lecture, tmp_path):
    """Real clips: the scene's length is found without drawing, the scene slowed to the voice, and the
    voice starts with its chapter while the next chapter starts after it has ended."""
    import math
    import wave

    import numpy as np

    from pipeline.voice import RATE, read_audio

    rate = 16_000
    t = np.arange(int(9.0 * rate)) / rate
    with wave.open(str(tmp_path / "voice.wav"), "wb") as w:
        w.setnchannels(1), w.setsampwidth(2), w.setframerate(rate)
        w.writeframes((0.5 * np.sin(2 * math.pi * 330 * t) * 32767).astype("<i2").tobytes())
    small_lecture.write_text(small_lecture.read_text().replace(
        "    narration: Second clip.\n", "    narration: Second clip.\n    narration_audio: voice.wav\n"))
    out = tmp_path / "voiced.mp4"
    run_lecture(small_lecture, out)
    with av.open(str(out)) as f:
        starts = [c["start"] / 1000 for c in f.chapters()]
        ends = [c["end"] / 1000 for c in f.chapters()]
    sound = np.abs(read_audio(out))
    loud = sound[:sound.size // 480 * 480].reshape(-1, 480).max(1) > 0.05
    first, last = np.argmax(loud) * 480 / RATE, (len(loud) - np.argmax(loud[::-1])) * 480 / RATE
    assert first == pytest.approx(starts[2], abs=0.03)  # "Checking" starts with its voice
    assert last == pytest.approx(starts[2] + 9.0, abs=0.05)
    # gradcheck's clip lasts about 4 s at pace 1: slowed until card and scene fill the 9 s of voice
    assert ends[2] - starts[2] == pytest.approx(9.0, abs=0.25)
