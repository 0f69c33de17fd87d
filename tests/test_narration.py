"""Narration timed to steps: step keys, the reading-speed rule, subtitles cut at steps, text tracks in the
video, WebM, burnt-in subtitles and a voice track in sync with the chapters.

The lecture is assembled from small real MP4s (the clip renderer replaced, as in test_lecture_assembly),
whose steps are written into them as a rendered clip's are; expected times are worked out by hand from
the clips' lengths."""
import math
import wave
from pathlib import Path

import av
import numpy as np
import pytest
import srt

import helpers
from infra.cache import publish
from engine.config import ConfigError
from pipeline import lecture as lecture_mod
from pipeline import render_job
from pipeline.narration import reading_seconds
from pipeline.render_job import RenderOptions, Timing
from pipeline.voice import RATE, read_audio
from render import CONFIG_DIR
from scenes.pacing import match_steps
from helpers import run_cli

FPS = 10
FRAMES = {"title": 7, "scene": 20}  # 0.7 s and 2.0 s
STEPS = [("title: T", 0.0, 0.5), ("forward: a = 1", 0.5, 1.0), ("backward: + gate a, x gets 1", 1.0, 1.5),
         ("summary: done", 1.5, 2.0)]


def test_keys_match_in_order_by_index_or_by_the_start_of_a_name():
    names = ["title: T", "forward: x = 1", "forward: y = 2", "backward: × gate f", "backward: × gate q", "summary"]
    assert match_steps(["forward", "forward", 0], names) == [1, 2, None]  # 0 comes after step 2: never
    assert match_steps(["backward: × gate", "backward: × gate", "summary"], names) == [3, 4, 5]
    assert match_steps([3, "forward"], names) == [3, None]
    assert match_steps(["nothing like it", "summary"], names) == [None, None]  # a key waits for the one before


def test_reading_time_is_characters_over_the_language_speed():
    assert reading_seconds("x" * 45, "en") == 3.0  # 15 characters a second
    assert reading_seconds("가" * 36, "ko") == 3.0  # 12 characters a second
    assert reading_seconds("Short.", "en") == 1.5  # never under a second and a half
    assert reading_seconds("  a   b  ", "en") == 1.5 and reading_seconds("", "en") == 0.0


@pytest.fixture
def fake_renders(tmp_path, monkeypatch):
    calls = []

    def render_clips(todo, jobs, progress=None):
        for job in todo:
            kind, out = job.kind, job.out
            calls.append((kind, job.source, job.options.timing))
            tmp = Path(out).with_name(".partial.mp4")
            helpers.write_clip(tmp, FRAMES[kind], 30 + 50 * len(calls) % 200, FPS, STEPS if kind == "scene" else ())
            publish(tmp, Path(out), Path(out).stem)

    monkeypatch.setattr(lecture_mod, "render_clips", render_clips)
    monkeypatch.setattr(lecture_mod, "CLIP_CACHE", tmp_path / "clips")
    return calls


def lecture(tmp_path, clips: str, head: str = "") -> Path:
    (tmp_path / "c.yaml").write_bytes((CONFIG_DIR / "chain_rule.yaml").read_bytes())
    p = tmp_path / "l.yaml"
    p.write_text(f"title: Course\n{head}clips:\n{clips}")
    return p


STEP_NARRATION = """  - config: c.yaml
    title: One
    narration: {en: Over the card., ko: 카드 위에서.}
    steps:
      - step: forward
        narration: {en: Values go forward., ko: 값이 앞으로 갑니다.}
      - step: "backward: + gate"
        narration: {en: "Add distributes: both inputs get the upstream gradient, unchanged."}
"""


def test_step_narration_is_cut_at_its_steps_and_holds_them(tmp_path, fake_renders):
    out = tmp_path / "l.mp4"
    lecture_mod.render_lecture(lecture(tmp_path, STEP_NARRATION), out, quality="low")
    scene = [c for c in fake_renders if c[0] == "scene"][0]
    # each step is held while its text is read: 19 characters -> 1.5 s; 66 characters -> 4.4 s
    assert scene[2] == Timing(1.0, (("forward", 1.5), ("backward: + gate", 4.4)))
    # lecture card 0-0.7, chapter card 0.7-1.4, scene from 1.4: its steps at +0.5 and +1.0
    cues = [(s.start.total_seconds(), s.end.total_seconds(), s.content)
            for s in srt.parse(out.with_suffix(".srt").read_text())]
    assert cues == [(0.7, 1.4, "Over the card."), (1.9, 2.4, "Values go forward."),
                    (2.4, 2.9, "Add distributes: both inputs get the upstream gradient, unchanged.")]


def text_tracks(path: Path) -> list[tuple[str, bool, list]]:
    """(language, default?, [(start, end, text)]) of every subtitle track, decoded."""
    tracks = []
    with av.open(str(path)) as f:
        count = len(f.streams.subtitles)
    for k in range(count):
        with av.open(str(path)) as f:
            stream = f.streams.subtitles[k]
            cues = []
            for packet in f.demux(stream):
                for sub in stream.decode(packet):
                    cues.append((float(packet.pts * packet.time_base), float((packet.pts + packet.duration) *
                                 packet.time_base), sub.dialogue.decode()))
            tracks.append((stream.metadata.get("language"), bool(stream.disposition & av.stream.Disposition.default),
                           cues))
    return tracks


def test_the_video_carries_a_text_track_per_narrated_language(tmp_path, fake_renders):
    out = tmp_path / "ko.mp4"
    lecture_mod.render_lecture(lecture(tmp_path, STEP_NARRATION), out, quality="low", lang="ko")
    tracks = text_tracks(out)
    assert [(lang, default) for lang, default, _ in tracks] == [("kor", True), ("eng", False)]
    # Korean first, the English fallback where a step has no Korean; the English track is English only
    assert tracks[0][2] == [(0.7, 1.4, "카드 위에서."), (1.9, 2.4, "값이 앞으로 갑니다."),
                            (2.4, 2.9, "Add distributes: both inputs get the upstream gradient, unchanged.")]
    assert [c[2] for c in tracks[1][2]] == ["Over the card.", "Values go forward.",
                                            "Add distributes: both inputs get the upstream gradient, unchanged."]


def test_a_step_key_that_names_no_step_is_one_line_naming_it(tmp_path, fake_renders):
    clips = STEP_NARRATION.replace('step: "backward: + gate"', 'step: "backward: ÷ gate"')
    out = tmp_path / "l.mp4"
    with pytest.raises(ConfigError) as e:
        lecture_mod.render_lecture(lecture(tmp_path, clips), out, quality="low")
    assert "key 'clips.0.steps.1.step': no step of c.yaml matches 'backward: ÷ gate'" in str(e.value)
    assert "render.py info c.yaml" in str(e.value) and not out.exists()


def test_webm_has_vp9_opus_free_text_tracks_and_chapters(tmp_path, fake_renders):
    out = tmp_path / "l.webm"
    chapters = lecture_mod.render_lecture(lecture(tmp_path, STEP_NARRATION), out, quality="low", fmt="webm")
    with av.open(str(out)) as f:
        assert f.format.name.startswith("matroska,webm")
        assert [(s.type, s.codec_context.name) for s in f.streams] == [
            ("video", "vp9"), ("subtitle", "webvtt"), ("subtitle", "webvtt")]
        assert sum(1 for _ in f.decode(video=0)) == 7 + 7 + 20
        assert [c["metadata"]["title"] for c in f.chapters()] == ["Course", "One"]
    assert [(c.start, c.end) for c in chapters] == [(0.0, 0.7), (0.7, 3.4)]
    assert [c[2] for c in text_tracks(out)[0][2]][:2] == ["Over the card.", "Values go forward."]


def test_burnt_in_subtitles_leave_the_picture_whole_above_them(tmp_path, fake_renders):
    out = tmp_path / "burn.mp4"
    lecture_mod.render_lecture(lecture(tmp_path, STEP_NARRATION), out, quality="low", burn_subtitles=True)
    with av.open(str(out)) as f:
        frames = [fr.to_ndarray(format="rgb24").astype(int) for fr in f.decode(video=0)]
    assert frames[0].shape == (240, 426, 3)  # the lecture's size, not the clips'
    band = slice(round(240 * 0.82) + 2, 238)
    quiet, spoken = frames[3], frames[10]  # 0.3 s (no cue) and 1.0 s (the card's narration)
    assert np.abs(quiet[band] - quiet[band].mean((0, 1))).max() < 12  # an empty band: one colour
    assert (np.abs(spoken[band] - quiet[band]).sum(2) > 150).sum() > 100  # text written into it
    # the picture sits above the band, scaled, its grey level kept (the fake clips are one grey)
    top = spoken[20:180, 150:270]
    assert np.abs(top - top.mean((0, 1))).max() < 12 and abs(top.mean() - (30 + 50 * 2 % 200)) < 8


def test_burnt_in_subtitles_scale_the_picture_whole_and_centred_not_stretched(tmp_path):
    """A 320x180 clip with shapes to find again (a red border, a white square on the left, a blue one on the
    right, on green), joined with subtitles burnt in: the picture is scaled alike both ways to fit above
    the band (18% of 180 rounds to 32 rows, leaving 148: 148/180 of its size, 263.1 x 148), centred
    with a black margin either side, squares still square and in their places."""
    from fractions import Fraction

    from pipeline.burn import Burner
    from pipeline.narration import Cue
    from pipeline.video import Part, join_clips

    width, height = 320, 180
    picture = np.zeros((height, width, 3), np.uint8)
    picture[:] = (0, 160, 0)
    picture[:6], picture[-6:], picture[:, :6], picture[:, -6:] = [(200, 0, 0)] * 4
    picture[40:100, 40:100] = (255, 255, 255)
    picture[40:100, 220:280] = (0, 0, 220)
    clip = tmp_path / "pattern.mp4"
    with av.open(str(clip), "w", format="mp4") as out:
        stream = out.add_stream("libx264", rate=FPS)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        for i in range(3):
            frame = av.VideoFrame.from_ndarray(picture, format="rgb24")
            frame.pts, frame.time_base = i, Fraction(1, FPS)
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))
    burner = Burner(width, height, [Cue(0.1, 0.3, "Subtitle")], "#000000", "#ffffff", "DejaVu Sans")
    join_clips([Part(clip, "A")], tmp_path / "burnt.mp4", fps=FPS, burner=burner)
    with av.open(str(tmp_path / "burnt.mp4")) as f:
        frames = [fr.to_ndarray(format="rgb24").astype(int) for fr in f.decode(video=0)]
    assert len(frames) == 3 and frames[0].shape == (height, width, 3)

    def box(mask):  # (left, top, right, bottom) of a mask's pixels, inclusive
        ys, xs = np.nonzero(mask)
        return xs.min(), ys.min(), xs.max(), ys.max()

    scale = 148 / 180
    for frame in frames:
        above = frame[:148]
        left, top, right, bottom = box(above.sum(2) > 120)  # everything not the black margin
        assert top == 0 and abs(bottom - 147) <= 1
        assert abs((right - left + 1) - width * scale) <= 2  # 263 wide: the clip's 16:9 kept
        assert abs(left - (width - 1 - right)) <= 2  # centred
        for square, (x, y) in (((255, 255, 255), (70, 70)), ((0, 0, 220), (250, 70))):
            x0, y0, x1, y1 = box(np.abs(above - square).sum(2) < 90)
            assert abs((x1 - x0) - (y1 - y0)) <= 2 and abs((x1 - x0 + 1) - 60 * scale) <= 3  # still a square
            assert abs((x0 + x1) / 2 - (left + x * scale)) <= 2 and abs((y0 + y1) / 2 - y * scale) <= 2
    assert (frames[1][150:].sum(2) > 300).sum() > 20 and (frames[0][150:].sum(2) > 300).sum() == 0  # the cue


def tone_wav(path: Path, seconds: float, freq: float = 440.0, rate: int = 16_000) -> Path:
    t = np.arange(int(seconds * rate)) / rate
    samples = (0.5 * np.sin(2 * math.pi * freq * t) * 32767).astype("<i2")
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1), w.setsampwidth(2), w.setframerate(rate)
        w.writeframes(samples.tobytes())
    return path


def onsets(samples: np.ndarray, threshold: float = 0.05, block: int = 480) -> list[float]:
    """The starts of sound after silence, in seconds (10 ms blocks)."""
    loud = np.abs(samples[:samples.size // block * block]).reshape(-1, block).max(1) > threshold
    return [i * block / RATE for i in range(len(loud)) if loud[i] and (i == 0 or not loud[i - 1])]


def test_a_recorded_voice_paces_its_chapter_and_starts_with_it(tmp_path, fake_renders, monkeypatch):
    tone_wav(tmp_path / "one.wav", 1.5)
    tone_wav(tmp_path / "two.wav", 7.1, freq=660)
    built = []
    monkeypatch.setattr(render_job, "scene_duration", lambda *args: built.append(args) or 3.0)  # 3 s at pace 1
    clips = ("  - config: c.yaml\n    title: One\n    narration_audio: one.wav\n"
             "  - config: c.yaml\n    title: Two\n    narration_audio: {en: two.wav}\n")
    out = tmp_path / "voice.mp4"
    chapters = lecture_mod.render_lecture(lecture(tmp_path, clips, "chapter_cards: true\n"), out, quality="low")
    paces = [c[2].pace for c in fake_renders if c[0] == "scene"]
    # the card keeps its 2.6 s: 1.5 s of voice leaves no time, so the scene goes at the quickest pace, 2;
    # 7.1 s leaves 4.5 s for a 3 s scene: pace 3 / 4.5
    assert paces == [2.0, pytest.approx(2 / 3)]
    with av.open(str(out)) as f:
        audio = f.streams.audio[0]
        assert audio.codec_context.name == "aac" and audio.metadata.get("handler_name") == "Narration"
        assert "comment" not in f.metadata  # a recording, not a draft
    # chapter One: card 0.7 s + scene 2.0 s (the fake clips' lengths); Two: the same, then held for its
    # voice: 7.1 s from its start
    assert [(c.title, c.start) for c in chapters] == [("Course", 0.0), ("One", 0.7), ("Two", 3.4)]
    assert chapters[2].end == pytest.approx(10.5)
    sound = read_audio(out)
    starts = onsets(sound)
    assert len(starts) == 2  # each voice starts with its chapter
    for chapter, onset in zip(chapters[1:], starts):
        assert onset == pytest.approx(chapter.start, abs=0.03)
    assert np.abs(sound[int(2.3 * RATE):int(3.3 * RATE)]).max() < 0.01  # One's voice ended at 2.2 s
    # the scene (both chapters show the same one) was built once to learn its length; a second render
    # reads that from the cache
    assert len(built) == 1
    rendered = len(fake_renders)
    lecture_mod.render_lecture(tmp_path / "l.yaml", tmp_path / "again.mp4", quality="low")
    assert fake_renders[rendered:] == [] and len(built) == 1  # every clip from the cache
    # ... and the same lecture: its pictures, its sound and every other stream's packets. (Not its bytes: in
    # a full run, one test worker's second join once had x264 code three keyframes 1-2 bytes differently,
    # the same pictures; joins of those clips in a fresh process gave the first file's bytes every time.)
    assert _streams(tmp_path / "again.mp4") == _streams(out)


def _streams(path: Path) -> dict:
    """A video's decoded pictures (as bytes), and every other stream's packets, by stream."""
    with av.open(str(path)) as f:
        found = {s.index: [] for s in f.streams}
        for packet in f.demux():
            if packet.size and packet.stream.type != "video":
                found[packet.stream.index].append((packet.pts, bytes(packet)))
    with av.open(str(path)) as f:
        found[f.streams.video[0].index] = [frame.to_ndarray().tobytes() for frame in f.decode(video=0)]
    return found


def test_a_draft_voice_speaks_each_narration_at_its_cue_and_says_it_is_a_draft(tmp_path, fake_renders):
    pytest.importorskip("shutil").which("espeak-ng") or pytest.skip("espeak-ng is installed by scripts/setup.sh")
    out = tmp_path / "draft.mp4"
    lecture_mod.render_lecture(lecture(tmp_path, STEP_NARRATION), out, quality="low", voice="draft")
    with av.open(str(out)) as f:
        assert f.metadata["comment"].startswith("draft voice synthesised by espeak-ng: espeak-ng 1.")
        assert "draft voice" in f.streams.audio[0].metadata["handler_name"]
    cues = [s.start.total_seconds() for s in srt.parse(out.with_suffix(".srt").read_text())]
    starts = onsets(read_audio(out))
    for cue in cues:  # every cue has speech starting with it (espeak-ng leaves a few ms of silence first)
        assert any(0 <= onset - cue < 0.15 for onset in starts), (cue, starts)
    scene = [c for c in fake_renders if c[0] == "scene"][0]
    # a step is held as long as its voice takes (plus a breath), when that is longer than reading it
    spoken = dict(scene[2].holds)
    assert spoken["forward"] > reading_seconds("Values go forward.", "en")


def test_a_draft_voice_of_one_text_in_two_languages_is_two_voices(tmp_path):
    """One narration for every language (a formula, a name) is spoken once per language: the Korean voice
    read from a cache that already holds the English one is what espeak-ng says in Korean on its own."""
    pytest.importorskip("shutil").which("espeak-ng") or pytest.skip("espeak-ng is installed by scripts/setup.sh")
    from pipeline.voice import synthesise

    text = "ReLU 1.5"
    korean_alone = synthesise(text, "ko", tmp_path / "ko-only").read_bytes()
    shared = tmp_path / "shared"
    english = synthesise(text, "en", shared).read_bytes()
    korean = synthesise(text, "ko", shared).read_bytes()
    assert english != korean_alone  # espeak-ng does say it differently in the two languages
    assert korean == korean_alone
    assert synthesise(text, "en", shared).read_bytes() == english  # and the cache still answers English


def test_recorded_audio_outside_the_lecture_or_unreadable_is_refused(tmp_path, fake_renders):
    outside = tone_wav(tmp_path.parent / f"{tmp_path.name}-outside.wav", 0.5)
    lec = lecture(tmp_path, f"  - config: c.yaml\n    narration_audio: {outside}\n")
    with pytest.raises(ConfigError, match="key 'clips.0.narration_audio': .* is outside the lecture's folder"):
        lecture_mod.render_lecture(lec, tmp_path / "a.mp4", quality="low")
    lec = lecture(tmp_path, "  - config: c.yaml\n    narration_audio: {ko: missing.wav}\n")
    with pytest.raises(ConfigError, match="key 'clips.0.narration_audio.ko': no such file missing.wav"):
        lecture_mod.render_lecture(lec, tmp_path / "a.mp4", quality="low")
    (tmp_path / "notes.wav").write_text("not audio at all")
    lec = lecture(tmp_path, "  - config: c.yaml\n    narration_audio: notes.wav\n")
    with pytest.raises(ConfigError, match="notes.wav: cannot read it as audio"):
        lecture_mod.render_lecture(lec, tmp_path / "a.mp4", quality="low")
    assert not (tmp_path / "a.mp4").exists()


def test_a_voice_longer_than_the_limit_is_refused_while_it_is_read(tmp_path, monkeypatch):
    from pipeline import voice

    monkeypatch.setattr(voice, "MAX_SECONDS", 60)
    with pytest.raises(ConfigError, match=r"long.wav: lasts more than 60 seconds, the most a chapter's voice may last"):
        read_audio(tone_wav(tmp_path / "long.wav", 61.0))
    assert read_audio(tone_wav(tmp_path / "ok.wav", 59.0)).size == 59 * RATE


@pytest.mark.slow  # two renders
def test_pace_stretches_every_step_alike_and_a_hold_only_its_own(tmp_path):
    """Real renders: at pace 0.5 every step takes twice as long and the last frame is the same picture;
    a hold lengthens the step it names to at least its seconds, and no other."""
    from engine.source import trace_path_for
    from pipeline.video import read_chapters

    trace = trace_path_for(CONFIG_DIR / "chain_rule.yaml")
    normal = render_job.render_scene(trace, tmp_path / "a.mp4", RenderOptions(quality="low", progress=False))
    slow = render_job.render_scene(trace, tmp_path / "b.mp4", RenderOptions(
        quality="low", progress=False, timing=Timing(0.5, (("forward: y", 3.0),))))
    held = [s.name for s in normal.steps].index("forward: y = 5")
    assert [s.name for s in slow.steps] == [s.name for s in normal.steps]
    for i, (a, b) in enumerate(zip(normal.steps, slow.steps)):
        want = 3.0 if i == held else 2 * (a.end - a.start)
        assert b.end - b.start == pytest.approx(want, abs=0.051), a.name
    assert read_chapters(tmp_path / "b.mp4") == [(s.name, pytest.approx(s.start, abs=1e-3),
                                                  pytest.approx(s.end, abs=1e-3)) for s in slow.steps]

    def last_frame(path):
        with av.open(str(path)) as f:
            return [fr for fr in f.decode(video=0)][-1].to_ndarray(format="rgb24").astype(int)
    assert np.abs(last_frame(tmp_path / "a.mp4") - last_frame(tmp_path / "b.mp4")).mean() < 1.0


def test_a_title_card_lasts_its_fades_and_hold_at_the_pace_but_a_narration_hold_in_seconds_of_video():
    """The card fades in 0.6 s, shows 1.6 s and fades out 0.4 s at pace 1; the pace scales those, while a
    hold asked for its narration is seconds of video (a recorded voice is fitted to the card's length)."""
    from scenes.title_card import TitleCard

    assert TitleCard.seconds(Timing(1.0)) == pytest.approx(2.6)
    assert TitleCard.seconds(Timing(2.0)) == pytest.approx(1.1 + 0.2)
    assert TitleCard.seconds(Timing(2.0, ((0, 4.0),))) == pytest.approx(4.0 + 0.2)
    assert TitleCard.seconds(Timing(0.5, ((0, 3.0),))) == pytest.approx(4.4 + 0.8)  # the fades outlast the hold


def test_a_hold_is_in_seconds_of_video_whatever_the_pace(tmp_path):
    """A tiny scene rendered for real (low quality, 10 fps): two steps of one 0.4 s animation each, at pace 2
    (0.2 s of video each); step 0, held 1 s, lasts 1 s of video, the other step its 0.2 s."""
    from manim import FadeIn, Square

    from scenes.pacing import PacedScene

    class TwoSteps(PacedScene):
        def construct(self):
            for name in ("first", "second"):
                self.step(name)
                self.play(FadeIn(Square()), run_time=0.4)

    done = render_job.render_class(TwoSteps, {}, tmp_path / "t.mp4", RenderOptions(
        quality="low", progress=False, timing=Timing(2.0, ((0, 1.0),))))
    assert [s.name for s in done.steps] == ["first", "second"]
    assert [s.end - s.start for s in done.steps] == [pytest.approx(1.0, abs=0.051), pytest.approx(0.2, abs=0.051)]


@pytest.mark.parametrize("args,message", [
    (["-o", "x.mkv"], "x.mkv: a lecture is an .mp4 or .webm"),
    (["--format", "webm", "-o", "x.mp4"], "--format webm but -o x.mp4 is .mp4"),
    (["--pace", "3"], "3.0 is not in the range 0.5<=x<=2.0"),
])
def test_lecture_options_that_contradict_are_one_line(tmp_path, args, message):
    result = run_cli(["lecture", str(lecture(tmp_path, STEP_NARRATION)), *args])
    assert result.exit_code == 2 and message in result.output


def test_a_voice_that_is_a_fifo_or_a_folder_is_refused_at_once_not_read(tmp_path):
    import os
    import threading

    os.mkfifo(tmp_path / "voice.wav")
    done = threading.Event()
    outcome = {}

    def read():
        try:
            read_audio(tmp_path / "voice.wav")
        except ConfigError as e:
            outcome["error"] = str(e)
        done.set()

    threading.Thread(target=read, daemon=True).start()
    assert done.wait(10), "reading a FIFO as a voice blocked"  # av.open would wait for a writer forever
    assert outcome["error"] == f"{tmp_path / 'voice.wav'}: a FIFO, not a regular file"
    (tmp_path / "folder.wav").mkdir()
    with pytest.raises(ConfigError, match="folder.wav: a directory, not a regular file"):
        read_audio(tmp_path / "folder.wav")


def test_a_burnt_in_subtitle_shows_from_its_start_up_to_but_not_at_its_end():
    """Cues meet on whole frames: at the moment one ends, the next one is on screen, and after the last, none."""
    from pipeline.burn import Burner
    from pipeline.narration import Cue

    burner = Burner(64, 48, [Cue(1.0, 2.0, "b"), Cue(0.0, 1.0, "a"), Cue(3.0, 4.0, "c")], "#000000", "#ffffff",
                    "DejaVu Sans")
    assert [burner.cue_at(t) for t in (0.0, 0.999, 1.0, 1.999, 2.0, 2.5, 3.0, 4.0)] == [0, 0, 1, 1, None, None, 2, None]
