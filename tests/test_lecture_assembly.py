"""A lecture assembled without Manim: the clip renderer is replaced by one that writes small real MP4s
of known lengths, so the cache keys, chapters, subtitles and languages are checked in a second."""
import shutil
from pathlib import Path

import av
import pytest
import srt

from infra.cache import publish
import helpers
from helpers import parse_vtt
from render import CONFIG_DIR
from pipeline import lecture as lecture_mod
from pipeline.render_job import Timing

FPS = 10  # the "low" quality's frame rate
FRAMES = {"title": 7, "scene": 13}  # each fake clip's length: 0.7 s and 1.3 s
# each fake scene's steps, written into it as a rendered clip's are (its chapters)
STEPS = [("title: T", 0.0, 0.4), ("forward: a = 1", 0.4, 0.8), ("backward: + gate a", 0.8, 1.3)]


@pytest.fixture
def fake_renders(tmp_path, monkeypatch):
    """Every clip 'rendered': (kind, what, quality, lang, theme, timing) per call."""
    calls = []

    def render_clips(todo, jobs, progress=None):
        for job in todo:
            kind, out, options = job.kind, job.out, job.options
            calls.append((kind, Path(job.source).stem if kind == "scene" else job.source, options.quality, options.lang,
                          options.theme, options.timing))
            tmp = Path(out).with_name(".partial.mp4")
            helpers.write_clip(tmp, FRAMES[kind], 40 * len(calls) % 256, FPS, STEPS if kind == "scene" else ())
            publish(tmp, Path(out), Path(out).stem)
            if progress:
                progress.advance()

    monkeypatch.setattr(lecture_mod, "render_clips", render_clips)
    monkeypatch.setattr(lecture_mod, "CLIP_CACHE", tmp_path / "clips")
    return calls


@pytest.fixture
def lecture_file(tmp_path):
    for name in ("chain_rule", "gates"):
        (tmp_path / f"{name}.yaml").write_bytes((CONFIG_DIR / f"{name}.yaml").read_bytes())
    lec = tmp_path / "l.yaml"
    lec.write_text("title: Course\nsubtitle: Week 1\nclips:\n"
                   "  - config: chain_rule.yaml\n    narration: {en: First in English., ko: 첫 번째.}\n"
                   "  - config: gates.yaml\n    title: Gates\n    narration: Only English.\n")
    return lec


def test_chapters_start_at_their_title_cards_and_narration_is_read_over_them(tmp_path, fake_renders, lecture_file):
    out = tmp_path / "out.mp4"
    chapters = lecture_mod.render_lecture(lecture_file, out, quality="low")
    # the lecture's card, then each chapter's card (0.7 s) and scene (1.3 s)
    assert [(c.title, c.start, c.end) for c in chapters] == [
        ("Course", 0.0, 0.7), ("Chain rule: f = (x + y) z", 0.7, 2.7), ("Gates", 2.7, 4.7)]
    assert [(c[0], c[1]) for c in fake_renders if c[0] == "title"] == [
        ("title", "Course"), ("title", "Chain rule: f = (x + y) z"), ("title", "Gates")]
    assert [c[0] for c in fake_renders] == ["title", "title", "scene", "title", "scene"]
    assert fake_renders[2][1].startswith("chain_rule-") and fake_renders[4][1].startswith("gates-")
    # a narrated card is held while its text is read (15 characters a second, at least 1.5 s)
    assert fake_renders[1][5] == Timing(1.0, ((0, 1.5),)) and fake_renders[0][5] == Timing(1.0, ())
    with av.open(str(out)) as f:
        assert sum(1 for _ in f.decode(video=0)) == 7 + 7 + 13 + 7 + 13
        assert [(c["start"], c["end"], c["metadata"]["title"]) for c in f.chapters()] == [
            (0, 700, "Course"), (700, 2700, "Chain rule: f = (x + y) z"), (2700, 4700, "Gates")]
    subs = list(srt.parse(out.with_suffix(".srt").read_text()))
    assert [(s.start.total_seconds(), s.end.total_seconds(), s.content) for s in subs] == [
        (0.7, 1.4, "First in English."), (2.7, 3.4, "Only English.")]
    assert parse_vtt(out.with_suffix(".vtt").read_text()) == [(0.7, 1.4, "First in English."),
                                                             (2.7, 3.4, "Only English.")]


def test_korean_narration_and_its_fallback(tmp_path, fake_renders, lecture_file):
    out = tmp_path / "ko.mp4"
    lecture_mod.render_lecture(lecture_file, out, quality="low", lang="ko")
    assert [s.content for s in srt.parse(out.with_suffix(".srt").read_text())] == ["첫 번째.", "Only English."]
    assert {c[3] for c in fake_renders} == {"ko"}


def test_cached_clips_are_not_rendered_again_and_keys_separate_what_differs(tmp_path, fake_renders, lecture_file):
    lecture_mod.render_lecture(lecture_file, tmp_path / "a.mp4", quality="low")
    assert len(fake_renders) == 5
    lecture_mod.render_lecture(lecture_file, tmp_path / "b.mp4", quality="low")
    assert len(fake_renders) == 5  # everything cached
    cfg = lecture_file.parent / "gates.yaml"
    cfg.write_text(cfg.read_text().replace("x: 3", "x: 2"))
    lecture_mod.render_lecture(lecture_file, tmp_path / "c.mp4", quality="low")
    assert len(fake_renders) == 6 and fake_renders[5][1].startswith("gates-")  # only the changed clip
    assert fake_renders[5][1] != fake_renders[4][1]
    for option in ({"lang": "ko"}, {"theme": "light"}, {"pace": 0.5}):
        before = len(fake_renders)
        lecture_mod.render_lecture(lecture_file, tmp_path / "d.mp4", quality="low", **option)
        assert len(fake_renders) == before + 5, option  # another language, theme or pace: every clip anew
    lecture_file.write_text(lecture_file.read_text().replace("subtitle: Week 1", "subtitle: Week 2"))
    before = len(fake_renders)
    lecture_mod.render_lecture(lecture_file, tmp_path / "e.mp4", quality="low")
    assert [c[0] for c in fake_renders[before:]] == ["title"]  # a new title card, the scenes cached


def test_progress_counts_cached_clips_as_done(tmp_path, fake_renders, lecture_file):
    events = []

    class Progress:
        def start(self, total, cached):
            events.append(("start", total, cached))

        def advance(self):
            events.append("advance")

    lecture_mod.render_lecture(lecture_file, tmp_path / "a.mp4", quality="low", progress=Progress())
    lecture_mod.render_lecture(lecture_file, tmp_path / "b.mp4", quality="low", progress=Progress())
    assert events == [("start", 5, 0), *["advance"] * 5, ("start", 5, 5)]


def test_a_clip_job_renders_its_card_or_scene_into_the_cache_with_its_options_and_leaves_nothing_else(tmp_path):
    """render_clip_job, as a worker runs it (here, in this process): a title card in the light theme at pace 2,
    and a scene, each published under its cache name with a record that verifies, as long as the card's
    own length says or the scene plays, and no temporary file left beside them."""
    import numpy as np

    from infra.cache import verified
    from pipeline.render_job import RenderOptions, scene_duration
    from pipeline.video import clip_frames
    from engine.source import trace_path_for
    from scenes.title_card import TitleCard

    timing = Timing(2.0)
    light = RenderOptions(quality="low", theme="light", timing=timing)
    card = lecture_mod.ClipJob("title", "Backprop", "Week 1", light, str(tmp_path / "card.mp4"))
    trace = trace_path_for(CONFIG_DIR / "gradcheck.yaml")
    scene = lecture_mod.ClipJob("scene", str(trace), None, RenderOptions(quality="low"), str(tmp_path / "scene.mp4"))
    for job in (card, scene):
        assert lecture_mod.render_clip_job(job) == job.out and verified(Path(job.out), Path(job.out).stem)
    assert clip_frames(tmp_path / "card.mp4", FPS) == round(TitleCard.seconds(timing) * FPS)
    assert abs(clip_frames(tmp_path / "scene.mp4", FPS) - scene_duration(trace) * FPS) <= 2
    with av.open(str(tmp_path / "card.mp4")) as f:
        frames = [fr.to_ndarray(format="rgb24") for fr in f.decode(video=0)]
    held = frames[len(frames) // 2]
    assert held[2, 2].min() > 240  # the light theme's white, not the dark default
    assert (np.abs(held.astype(int) - 255).max(axis=2) > 128).mean() > 0.002  # and its text drawn on it
    names = sorted(p.name for p in tmp_path.iterdir())
    assert [n for n in names if n.endswith(".mp4")] == ["card.mp4", "scene.mp4"]
    assert not [n for n in names if n.startswith(".") and n.endswith(".mp4")]  # no partial clip left


def test_narration_in_one_language_only_makes_no_track_in_the_other(tmp_path, fake_renders):
    # narration given as {en: ...}: an English lecture has its English track and no Korean one (a Korean track
    # would hold the English text); a Korean lecture falls back to it on its own, default track
    shutil.copy(CONFIG_DIR / "chain_rule.yaml", tmp_path / "chain_rule.yaml")
    lec = tmp_path / "l.yaml"
    lec.write_text("title: Course\nclips:\n  - config: chain_rule.yaml\n    narration: {en: English only.}\n")

    def tracks(out):
        with av.open(str(out)) as f:
            return [s.metadata.get("language") for s in f.streams.subtitles]
    lecture_mod.render_lecture(lec, tmp_path / "en.mp4", quality="low")
    assert tracks(tmp_path / "en.mp4") == ["eng"]
    lecture_mod.render_lecture(lec, tmp_path / "ko.mp4", quality="low", lang="ko")
    assert tracks(tmp_path / "ko.mp4") == ["kor", "eng"]
    assert [s.content for s in srt.parse((tmp_path / "ko.srt").read_text())] == ["English only."]


@pytest.mark.parametrize("lang", ["en", "ko"])
def test_burnt_in_subtitles_are_drawn_in_the_lecture_language_s_font(tmp_path, fake_renders, lecture_file, monkeypatch,
                                                                      lang):
    # Korean subtitles need a font with Hangul (NanumGothic); the English one has none and would draw boxes
    from engine.languages import LANGUAGES
    from pipeline import burn

    fonts, real = [], burn.Burner

    def burner(*args):
        fonts.append(args[-1])
        return real(*args)
    monkeypatch.setattr(burn, "Burner", burner)
    lecture_mod.render_lecture(lecture_file, tmp_path / "b.mp4", quality="low", lang=lang, burn_subtitles=True)
    assert fonts == [LANGUAGES[lang].font] and LANGUAGES["ko"].font != LANGUAGES["en"].font


@pytest.mark.parametrize("theme,lang,quality", [("light", "ko", "low"), ("dark", "en", "preview")])
def test_burnt_in_subtitles_are_the_lecture_language_s_in_the_theme_s_colours_at_the_quality_s_size(
        tmp_path, fake_renders, lecture_file, monkeypatch, theme, lang, quality):
    from engine.settings import QUALITIES
    from pipeline import burn
    from scenes import style

    made = []
    monkeypatch.setattr(burn, "Burner", lambda *args: made.append(args))
    monkeypatch.setattr(lecture_mod, "join_clips", lambda parts, out, fps, fmt, **kwargs: [])  # what it is given
    monkeypatch.setattr(lecture_mod, "write_text_atomic", lambda *args: None)
    before = style.THEME
    try:
        lecture_mod.render_lecture(lecture_file, tmp_path / "b.mp4", quality=quality, lang=lang, theme=theme,
                                   burn_subtitles=True)
    finally:
        style.apply_theme(before)  # the lecture applies its theme: the next test gets the one it had
    [(width, height, cues, background, text, font)] = made
    palette = style.THEMES[theme]
    assert (width, height) == (QUALITIES[quality].width, QUALITIES[quality].height)
    assert (background, text) == (palette["BACKGROUND"], palette["TEXT"])
    assert [c.text for c in cues] == {"en": ["First in English.", "Only English."], "ko": ["첫 번째.", "Only English."]}[lang]
