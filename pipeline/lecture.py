"""A lecture: a YAML list of scene configs with titles and narration, rendered and joined into one MP4.

Each clip is cached under .cache/clips by what determines its pixels (its trace, the scenes' code,
quality and language), so changing one config re-renders only that clip. Clips render in parallel
processes with ``jobs`` > 1.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import multiprocessing
import os
import tempfile
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import Field, ValidationError, field_validator

from infra.cache import publish, verified
from engine.config import ConfigError, Strict, first_error, load_config, read_yaml
from infra.io import atomic_path, check_output_path, read_input, write_text_atomic
from engine.languages import DEFAULT_LANG, LANGS, LANGUAGES
from infra.places import CONFIGS
from engine.settings import PACE_RANGE, SUBTITLE_ENV, TITLE_ENV, RenderOptions
from infra.processes import die_with_parent, run_job, stop_pool, workers
from pipeline.narration import Cue, StepNarration, _checked_languages, text_in, tidy_text
from pipeline.render_job import CACHE, QUALITIES, Timing, render_class, render_scene
from pipeline.render_job import code_fingerprint
from engine.source import trace_path_for
from pipeline.video import Chapter, Part, clip_frames, join_clips, read_chapters, subtitles_srt, subtitles_vtt, timeline
from pipeline.voice import espeak_version

ROOT = Path(__file__).resolve().parent.parent
CLIP_CACHE = CACHE / "clips"
MAX_CLIPS = 50
MAX_STEPS = 200


class ClipSpec(Strict):
    config: str = Field(description="path of a scene config, relative to the lecture file")
    title: str | None = Field(None, max_length=200, description="chapter title (default: the config's title)")
    narration: str | dict[str, str] = Field(
        "", description="what is said over the chapter's title card, or one text per language: {en: ..., ko: ...}; "
                        "`auto` (the default for a clip with no narration, steps or narration_audio): every step "
                        "says what it shows, written from the trace. Text may name the trace's numbers: {grad.x}")
    steps: list[StepNarration] = Field(
        [], max_length=MAX_STEPS, description="narration per step: [{step: 0 or a name's start, narration: ...}]")
    narration_audio: str | dict[str, str] | None = Field(
        None, description="a recorded voice for the chapter (WAV, MP3, M4A...), or one file per language; "
                          "the chapter's animation is paced to its length")

    @field_validator("narration")
    @classmethod
    def _plain_text(cls, narration):
        return _checked_languages(tidy_text(narration))

    def narration_in(self, lang: str) -> str:
        return "" if self.narration == "auto" else text_in(self.narration, lang)

    @property
    def auto_narrated(self) -> bool:
        """Every step narrated from the trace: asked for, or the clip says nothing of its own (an empty
        ``narration: ""`` keeps it silent)."""
        return self.narration == "auto" or ("narration" not in self.model_fields_set and not self.steps
                                            and self.narration_audio is None)


class LectureSpec(Strict):
    title: str = Field(max_length=200, description="shown on the opening title card")
    subtitle: str | None = Field(None, max_length=200, description="second line of the title card")
    chapter_cards: bool = Field(True, description="a title card before every chapter")
    clips: list[ClipSpec] = Field(min_length=1, max_length=MAX_CLIPS, description="the scenes, in order")


SHIPPED_CONFIGS = CONFIGS


def load_lecture(path: str | Path, allow_outside: bool = False) -> tuple[LectureSpec, list[Path]]:
    """Validate a lecture file and every config it lists; return it with the configs' paths.

    A clip's config is resolved relative to the lecture file and must lie in the lecture's folder tree
    (or be one of the shipped configs) unless ``allow_outside``: a lecture from elsewhere cannot make
    the CLI read, and quote in its errors, any file on the machine.
    """
    path = Path(path)
    data = read_yaml(path)
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: a lecture must be a mapping with 'title' and 'clips'")
    try:
        spec = LectureSpec.model_validate(data)
    except ValidationError as e:
        raise ConfigError(f"{path}: {first_error(e, LectureSpec)}") from None
    configs = []
    for i, clip in enumerate(spec.clips):
        cfg = (path.parent / clip.config).resolve()
        roots = (path.parent.resolve(), SHIPPED_CONFIGS)
        if not allow_outside and not any(cfg.is_relative_to(root) for root in roots):
            raise ConfigError(f"{path}: key 'clips.{i}.config': {clip.config} is outside the lecture's folder "
                              "(use --allow-outside to permit it)")
        if not cfg.is_file():
            raise ConfigError(f"{path}: key 'clips.{i}.config': no such file {clip.config}")
        load_config(cfg)  # a bad clip config fails here, before anything renders
        configs.append(cfg)
        audio = clip.narration_audio
        for lang, name in (audio.items() if isinstance(audio, dict) else [("", audio)] if audio else []):
            key = f"clips.{i}.narration_audio" + (f".{lang}" if lang else "")
            if lang and lang not in LANGS:
                raise ConfigError(f"{path}: key '{key}': unknown language {lang!r} (use {', '.join(LANGS)})")
            file = (path.parent / name).resolve()
            if not allow_outside and not file.is_relative_to(path.parent.resolve()):
                raise ConfigError(f"{path}: key '{key}': {name} is outside the lecture's folder "
                                  "(use --allow-outside to permit it)")
            if not file.is_file():
                raise ConfigError(f"{path}: key '{key}': no such file {name}")
    return spec, configs


def audio_files(lecture: Path, spec: LectureSpec) -> list[Path]:
    """Every recorded voice the lecture names, in every language."""
    files = []
    for clip in spec.clips:
        audio = clip.narration_audio
        for name in (audio.values() if isinstance(audio, dict) else [audio] if audio else []):
            files.append((Path(lecture).parent / name).resolve())
    return files


def input_files(lecture: Path, spec: LectureSpec, configs: list[Path]) -> list[Path]:
    """Every file a lecture reads (itself, its clips' configs, their recorded voices): no output may be one."""
    return [Path(lecture), *configs, *audio_files(lecture, spec)]


@dataclass(frozen=True)
class ClipJob:
    """One clip to render into the clip cache (a worker's job, sent to another process or a Ray worker)."""
    kind: str  # "title" or "scene"
    source: str  # the card's title, or the scene's trace path
    subtitle: str | None  # a title card's second line
    options: RenderOptions  # its quality, language, theme and timing
    out: str  # its place in the clip cache


def render_clip_job(job: ClipJob) -> str:
    """Render one clip in a worker process (a title card or a traced scene) into the clip cache.

    The file is rendered under a temporary name and published with its checksum only when complete, so
    an interrupted clip is never cached.
    """
    out = Path(job.out)
    options = dataclasses.replace(job.options, progress=False, fmt="mp4")  # a clip for the join, quietly
    # named with this worker's pid: a worker killed mid-clean-up leaves it, and render_clips removes it
    fd, tmp = tempfile.mkstemp(prefix=f".{out.stem}.{os.getpid()}.", suffix=".mp4", dir=out.parent)
    os.close(fd)
    try:
        if job.kind == "title":
            from scenes.title_card import TitleCard
            env = {TITLE_ENV: job.source, **({SUBTITLE_ENV: job.subtitle} if job.subtitle else {})}
            render_class(TitleCard, env, Path(tmp), options)
        else:
            render_scene(Path(job.source), Path(tmp), options)
        publish(Path(tmp), out, out.stem)
    finally:
        Path(tmp).unlink(missing_ok=True)
    return str(out)


def render_clips(todo: list[ClipJob], jobs: int, progress=None) -> None:
    """Render the clips not cached yet, ``jobs`` at a time, each in a fresh worker process."""
    ctx = multiprocessing.get_context("spawn")  # a fresh interpreter: Manim's config is per process
    pool = ProcessPoolExecutor(max_workers=max(1, jobs), mp_context=ctx, initializer=die_with_parent,
                               initargs=(os.getpid(),))
    try:
        futures = [pool.submit(run_job, render_clip_job, job) for job in todo]
        for f in as_completed(futures):
            f.result()
            if progress:
                progress.advance()
    except BaseException:  # an error, Ctrl-C or SIGTERM: no clip goes on rendering for nobody
        processes = workers(pool)
        stop_pool(pool, processes)
        remove_partial_clips({Path(job.out).parent for job in todo}, [p.pid for p in processes])
        raise
    pool.shutdown()


def remove_partial_clips(folders, pids) -> None:
    """The partial clips that workers ``pids`` (stopped) left in ``folders``: a worker still cleaning up after
    STOP_GRACE_SECONDS is killed, and its clip's temporary file (beside the cache entry, for an atomic
    publish) would stay there. Only those workers' files: another lecture may be rendering into the cache."""
    wanted = {str(pid) for pid in pids if pid is not None}
    for folder in folders:
        for path in Path(folder).glob(".*.mp4"):
            parts = path.name.split(".")  # "", the clip's key, the pid, mkstemp's letters, "mp4"
            if len(parts) == 5 and parts[2] in wanted:
                path.unlink(missing_ok=True)


@dataclass
class Item:
    """One clip of the lecture as planned: a title card or a scene, with its timing and what is said."""
    kind: str  # "title" or "scene"
    arg: str  # the card's title, or the scene's trace path
    sub: str | None = None
    timing: Timing = Timing()
    chapter: str | None = None  # a chapter starts here
    narration_by_lang: dict = field(default_factory=dict)  # said over the whole item (a chapter's card)
    steps: list[StepNarration] = field(default_factory=list)
    voice: dict = field(default_factory=dict)  # what is spoken: key (None for the item, i for step i) -> samples
    recorded: object = None  # a scene's recorded voice (samples), from its chapter's start
    card: "Item | None" = None  # a scene's chapter card
    config: Path | None = None
    clip_index: int = -1
    path: Path | None = None
    pad: float = 0.0
    step_spans: list = field(default_factory=list)  # each narrated step's (start, end) in the clip, once rendered
    auto: bool = False  # steps narrated from the trace (by index: one the clip does not have is dropped)


def _natural_seconds(item: Item, options: RenderOptions, fingerprint: bytes) -> float:
    """How long a scene lasts with ``options.timing``, from building it without drawing (a few seconds), kept in
    the clip cache so that a lecture rendered again does not build it again."""
    from infra.cache import write_entry
    from pipeline import render_job

    probe = Item("scene", item.arg, timing=options.timing)
    key = "seconds-" + _key(fingerprint, probe, options)
    path = CLIP_CACHE / f"{key}.txt"
    if verified(path, key, "clip cache"):
        try:
            return float(path.read_text())
        except ValueError:  # verified, yet not a number: made by something else; made again
            pass
    seconds = render_job.scene_duration(Path(item.arg), options)
    write_entry(path, repr(seconds).encode(), key)
    return seconds


def _fit_pace(item: Item, options: RenderOptions, fingerprint: bytes) -> float:
    """The pace at which a chapter (its card and scene) lasts as long as its recorded voice, within
    PACE_RANGE: the card keeps its time, the scene is slowed or sped up (from ``options.timing.pace``)."""
    from pipeline.voice import seconds
    from scenes.title_card import TitleCard

    pace = options.timing.pace
    natural = _natural_seconds(item, dataclasses.replace(options, timing=Timing(pace, item.timing.holds)), fingerprint)
    card = TitleCard.seconds(item.card.timing) if item.card is not None else 0.0
    lo, hi = PACE_RANGE
    return min(hi, max(lo, pace * natural / max(seconds(item.recorded) - card, 1e-3)))


def plan(spec: LectureSpec, configs: list[Path], lecture: Path, lang: str, pace: float, voice: str) -> list[Item]:
    """The lecture's items in order: its title card, then per chapter a card (unless chapter_cards is off)
    and the scene, each with the holds its narration needs and the voice it carries."""
    from pipeline.auto_narration import clip_narration
    from pipeline.narration import reading_seconds
    from pipeline.voice import GAP_SECONDS, VOICE_CACHE, read_audio, seconds, synthesise

    def spoken(text: str):
        return read_audio(synthesise(text, lang, VOICE_CACHE)) if voice == "draft" and text else None

    def hold(text: str, said) -> float:
        return max(reading_seconds(text, lang), seconds(said) + GAP_SECONDS if said is not None else 0.0)

    items = [Item("title", spec.title, spec.subtitle, Timing(pace), chapter=spec.title)]
    for k, (clip, cfg) in enumerate(zip(spec.clips, configs)):
        title = clip.title or getattr(load_config(cfg), "title", None) or cfg.stem
        card_text, steps, auto = clip_narration(clip, k, cfg, lecture, lang)
        narration = text_in(card_text, lang)
        audio = clip.narration_audio
        audio = text_in(audio, lang, fallback=False) if isinstance(audio, dict) else audio
        recorded = read_audio((lecture.parent / audio).resolve()) if audio else None
        said = spoken(narration) if recorded is None else None
        scene = Item("scene", str(trace_path_for(cfg)), config=cfg, clip_index=k, steps=steps, recorded=recorded,
                     auto=auto)
        holds = []
        for i, st in enumerate(steps):
            text = text_in(st.narration, lang)
            step_said = spoken(text) if recorded is None else None
            if step_said is not None:
                scene.voice[i] = step_said
            holds.append((st.step, hold(text, step_said)))
        scene.timing = Timing(pace, tuple(holds))
        if spec.chapter_cards:
            card = Item("title", title, f"{k + 1} / {len(spec.clips)}", chapter=title,
                        narration_by_lang=_by_lang(card_text))
            card.timing = Timing(pace, ((0, hold(narration, said)),) if narration else ())
            if said is not None:
                card.voice[None] = said
            scene.card = card
            items.append(card)
        else:
            scene.chapter, scene.narration_by_lang = title, _by_lang(card_text)
            if said is not None:
                scene.voice[None] = said
        items.append(scene)
    return items


def _by_lang(narration) -> dict:
    return dict(narration) if isinstance(narration, dict) else {lang: narration for lang in LANGS} if narration else {}


def _key(fingerprint: bytes, item: Item, options: RenderOptions) -> str:
    """What determines a clip's pixels: the code that makes it, the card's text or the trace, and the options."""
    content = read_input(item.arg) if item.kind == "scene" else f"{item.arg}\n{item.sub}".encode()
    timing = json.dumps([item.timing.pace, [list(h) for h in item.timing.holds]], ensure_ascii=False)
    what = f"{item.kind}|{options.quality}|{options.lang}|{options.theme}|{timing}".encode()
    return hashlib.sha256(fingerprint + content + what).hexdigest()[:24]


def _cues(items: list[Item], spans: list[tuple[float, float]], track_lang: str, fallback: bool) -> list[Cue]:
    """A text track's cues: an item's narration over the item (up to its first step cue), each step's over
    its step."""
    cues = []
    for item, (start, end) in zip(items, spans):
        step_cues = []
        if item.kind == "scene" and item.steps:
            for st, (s0, s1) in zip(item.steps, item.step_spans):
                text = text_in(st.narration, track_lang, fallback)
                if text:
                    step_cues.append(Cue(start + s0, start + s1, text))
        text = text_in(item.narration_by_lang, track_lang, fallback) if item.narration_by_lang else ""
        if text:
            cues.append(Cue(start, step_cues[0].start if step_cues else end, text))
        cues += step_cues
    return [c for c in cues if c.end > c.start]


def _resolve_steps(item: Item, lecture: Path) -> None:
    """Where each narrated step of a rendered scene is, from the clip's chapters (its steps)."""
    from scenes.pacing import match_steps

    marks = read_chapters(item.path)
    found = match_steps([st.step for st in item.steps], [name for name, _, _ in marks])
    if item.auto:  # written for the scene's own steps: one the clip does not have (a clip made otherwise) is left out
        kept = [i for i, index in enumerate(found) if index is not None]
        new_index = {old: new for new, old in enumerate(kept)}
        item.voice = {k if k is None else new_index[k]: v for k, v in item.voice.items() if k is None or k in new_index}
        item.steps, found = [item.steps[i] for i in kept], [found[i] for i in kept]
    for i, (st, index) in enumerate(zip(item.steps, found)):
        if index is None:
            raise ConfigError(f"{lecture}: key 'clips.{item.clip_index}.steps.{i}.step': no step of "
                              f"{item.config.name} matches {st.step!r} after the steps before it "
                              f"(`render.py info {item.config.name}` lists its steps)")
    item.step_spans = [(marks[index][1], marks[index][2]) for index in found]


def clips_to_render(spec: LectureSpec, configs: list[Path], lecture: Path, options: RenderOptions,
                    voice: str = "none") -> tuple[list[Item], list[ClipJob]]:
    """The lecture's items, each with its clip's place in the cache, and the render jobs of the clips not
    cached yet. ``options``: the quality (a preset's name), language, theme and pace of every clip."""
    pace = options.timing.pace
    items = plan(spec, configs, lecture, options.lang, pace, voice)
    fingerprint = code_fingerprint()
    CLIP_CACHE.mkdir(parents=True, exist_ok=True)
    for item in items:
        if item.recorded is not None:
            item.timing = Timing(_fit_pace(item, options, fingerprint), item.timing.holds)
    todo = []
    for item in items:
        key = _key(fingerprint, item, options)
        item.path = CLIP_CACHE / f"{key}.mp4"
        if not verified(item.path, key, "clip cache"):
            todo.append(ClipJob(item.kind, item.arg, item.sub, dataclasses.replace(options, timing=item.timing),
                                str(item.path)))
    return items, todo


def render_lecture(lecture: Path, output: Path, quality: str = "preview", lang: str = DEFAULT_LANG, theme: str = "dark",
                   jobs: int = 1, progress=None, allow_outside: bool = False, fmt: str = "mp4", pace: float = 1.0,
                   voice: str = "none", burn_subtitles: bool = False) -> list[Chapter]:
    """Render every clip (cached), join them with chapters, a text track per narrated language (and a voice
    track when there is one), and write .srt and .vtt beside ``output``."""
    from pipeline.voice import DRAFT_NOTE, mix, seconds

    spec, configs = load_lecture(lecture, allow_outside)
    # The video and its subtitles: none may be an input (a recorded voice too), nor each other (-o x.srt
    # would be both), checked before anything renders.
    inputs = input_files(lecture, spec, configs)
    outputs = [output, output.with_suffix(".srt"), output.with_suffix(".vtt")]
    for i, path in enumerate(outputs):
        check_output_path(path, inputs, outputs[:i] + outputs[i + 1:])
    # every clip an MP4 (the joined video is ``fmt``), rendered without a progress line
    options = RenderOptions(quality=quality, theme=theme, lang=lang, timing=Timing(pace), progress=False)
    items, todo = clips_to_render(spec, configs, lecture, options, voice)
    if progress:
        progress.start(len(items), cached=len(items) - len(todo))
    if todo:
        render_clips(todo, jobs, progress)

    fps = QUALITIES[quality].fps
    for item in items:
        if item.steps:
            _resolve_steps(item, lecture)
        if item.recorded is not None:  # the voice outlasts the chapter even at the slowest pace: hold
            card = clip_frames(item.card.path, fps) / fps if item.card is not None else 0.0
            item.pad = max(0.0, seconds(item.recorded) - card - clip_frames(item.path, fps) / fps)
    parts = [Part(item.path, item.chapter, item.pad) for item in items]
    spans = timeline(parts, fps)
    langs = [lang] + [other for other in LANGS if other != lang]
    tracks = {L: _cues(items, spans, L, fallback=L == lang) for L in langs}
    tracks = {L: cues for L, cues in tracks.items() if cues or L == lang}
    start_of = {id(item): start for item, (start, _) in zip(items, spans)}
    segments = [(start_of[id(item.card or item)], item.recorded) for item in items if item.recorded is not None]
    for item, (start, _) in zip(items, spans):
        for key, samples in item.voice.items():
            segments.append((start if key is None else start + item.step_spans[key][0], samples))
    audio = mix(segments, spans[-1][1]) if segments else None
    metadata = {"title": spec.title}
    if voice == "draft" and any(item.voice for item in items):
        metadata["comment"] = f"{DRAFT_NOTE}: {espeak_version()}"
    burner = None
    if burn_subtitles:
        from pipeline.burn import Burner
        from scenes import style
        style.apply_theme(theme)
        q = QUALITIES[quality]
        burner = Burner(q.width, q.height, tracks[lang], style.BACKGROUND, style.TEXT, LANGUAGES[lang].font)
    with atomic_path(output, inputs) as tmp:
        chapters = join_clips(parts, tmp, fps, fmt, subtitles=tracks, audio=audio, burner=burner, metadata=metadata,
                              spans=spans, audio_title="Narration (draft voice, espeak-ng)" if "comment" in metadata else "Narration")
    write_text_atomic(outputs[1], subtitles_srt(tracks[lang]), inputs)
    write_text_atomic(outputs[2], subtitles_vtt(tracks[lang]), inputs)
    return chapters
