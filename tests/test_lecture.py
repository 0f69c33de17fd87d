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


TINY = "scene: graph\ntitle: Tiny\nexpression: f = x * 2\ninputs: {x: 3}\n"


def _planned(tmp_path, lang, pace=1.5, chapter_cards=True):
    (tmp_path / "tiny.yaml").write_text(TINY)
    (tmp_path / "other.yaml").write_text(TINY.replace("title: Tiny\n", ""))
    lec = tmp_path / "l.yaml"
    lec.write_text(f"title: L\nsubtitle: S\nchapter_cards: {str(chapter_cards).lower()}\nclips:\n"
                   "  - config: tiny.yaml\n    narration: {en: '" + "e" * 30 + "', ko: '" + "가" * 24 + "'}\n"
                   "    steps: [{step: 1, narration: {en: '" + "s" * 45 + "'}}]\n"
                   "  - config: other.yaml\n    title: Second\n    narration: ''\n")
    spec, configs = lecture_mod.load_lecture(lec)
    return lecture_mod.plan(spec, configs, lec, lang, pace, "none")


@pytest.mark.parametrize("lang,card_hold,step_hold", [
    ("en", 2.0, 3.0),  # 30 characters at 15 a second; the step's 45 likewise
    ("ko", 2.0, 3.75),  # 24 at 12 a second; the step has English only, read at Korean speed: 45 / 12
])
def test_a_lecture_s_plan_holds_each_card_and_step_for_its_reading_time_at_the_pace(tmp_path, lang, card_hold,
                                                                                      step_hold):
    from engine.settings import Timing

    items = _planned(tmp_path, lang)
    assert [(i.kind, i.arg if i.kind == "title" else "trace", i.sub, i.chapter) for i in items] == [
        ("title", "L", "S", "L"), ("title", "Tiny", "1 / 2", "Tiny"), ("scene", "trace", None, None),
        ("title", "Second", "2 / 2", "Second"), ("scene", "trace", None, None)]
    assert [i.timing for i in items] == [Timing(1.5), Timing(1.5, ((0, card_hold),)), Timing(1.5, ((1, step_hold),)),
                                         Timing(1.5), Timing(1.5)]  # a silent card is not held
    assert items[1].narration_by_lang == {"en": "e" * 30, "ko": "가" * 24} and items[3].narration_by_lang == {}
    assert items[2].card is items[1] and items[4].card is items[3] and items[2].clip_index == 0
    assert items[4].config == tmp_path / "other.yaml"


def test_a_lecture_without_chapter_cards_starts_each_chapter_at_its_scene_with_the_card_s_narration(tmp_path):
    items = _planned(tmp_path, "en", pace=1.0, chapter_cards=False)
    assert [(i.kind, i.chapter) for i in items] == [("title", "L"), ("scene", "Tiny"), ("scene", "Second")]
    assert items[1].narration_by_lang == {"en": "e" * 30, "ko": "가" * 24} and items[1].card is None
    assert items[1].timing.holds == ((1, 3.0),) and items[2].narration_by_lang == {}


def test_a_chapter_is_titled_by_the_clip_then_its_config_s_title_then_its_file_s_name(tmp_path):
    (tmp_path / "untitled.yaml").write_text(TINY.replace("title: Tiny\n", ""))
    (tmp_path / "tiny.yaml").write_text(TINY)
    lec = tmp_path / "l.yaml"
    lec.write_text("title: L\nclips:\n  - {config: tiny.yaml, title: Mine, narration: ''}\n"
                   "  - {config: tiny.yaml, narration: ''}\n  - {config: untitled.yaml, narration: ''}\n")
    spec, configs = lecture_mod.load_lecture(lec)
    items = lecture_mod.plan(spec, configs, lec, "en", 1.0, "none")
    assert [i.chapter for i in items if i.chapter] == ["L", "Mine", "Tiny", "untitled"]
