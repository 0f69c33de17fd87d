"""A static HTML page of rendered clips: poster frames, durations, each clip's narration and a copy-paste
embed snippet each.

A clip's narration is written from the trace of the config of its name (`render.py render CONFIG` names
its clip so) when that config's steps are the clip's steps (its chapters); the poster's text alternative is
what is said over the step it shows. Every text, from a config or a clip's file, is escaped: text, never markup.
"""
from __future__ import annotations

import html
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import av

from infra.io import atomic_path, write_text_atomic
from engine.languages import DEFAULT_LANG
from infra.places import CONFIGS, YAML_SUFFIXES
from pipeline.video import poster_time, probe_duration, read_chapters

VIDEO_TYPES = {".mp4": "video/mp4", ".webm": "video/webm"}

PAGE = """<!doctype html>
<html lang="{lang}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,">
<title>{title}</title>
<style>
  body {{ font-family: system-ui, sans-serif; margin: 2rem; background: #111; color: #eee; }}
  main {{ display: grid; grid-template-columns: repeat(auto-fill, minmax(26rem, 1fr)); gap: 2rem; }}
  figure {{ margin: 0; }}
  video {{ width: 100%; height: auto; background: #000; }}  /* height from the width/height attributes' ratio */
  pre {{ background: #222; padding: .6rem; overflow-x: auto; font-size: .8rem; white-space: pre-wrap; }}
  button {{ font-size: .8rem; }}
  ol.narration {{ font-size: .9rem; line-height: 1.35; padding-left: 1.6rem; }}
  ol.narration .at {{ color: #aaa; font-variant-numeric: tabular-nums; margin-right: .4rem; }}
</style>
</head>
<body>
<h1>{title}</h1>
<main>
{figures}
</main>
<script>
  for (const button of document.querySelectorAll("button[data-copy]")) {{
    button.addEventListener("click", () => {{
      const code = document.getElementById(button.dataset.copy).textContent;
      navigator.clipboard.writeText(code).then(() => {{ button.textContent = "Copied"; }},
                                               () => {{ button.textContent = "Select and copy"; }});
    }});
  }}
</script>
</body>
</html>
"""

FIGURE = """<figure data-clip="{name}" data-duration="{duration:.3f}">
  <video controls preload="metadata" poster="{poster}" width="{width}" height="{height}" aria-label="{label}">
    <source src="{src}" type="{mime}">
  </video>
  <figcaption>{name} ({duration:.1f} s, {width}&times;{height})</figcaption>
{narration}  <pre id="embed-{index}">{snippet}</pre>
  <button type="button" data-copy="embed-{index}">Copy embed code</button>
</figure>"""


def save_poster(clip: Path, poster: Path, at: float = 0.75) -> tuple[int, int]:
    """Save the clip's poster frame as a PNG and return the clip's size: the moment its scene marked as the
    most informative (written in the clip's metadata when rendered), else the frame at ``at`` of its length."""
    marked = poster_time(clip)
    with av.open(str(clip)) as f:
        stream = f.streams.video[0]
        duration = float(f.duration / av.time_base)
        total = stream.frames or int(duration * float(stream.average_rate))
        target = max(int(total * (marked / duration if marked is not None and duration > 0 else at)), 0)
        chosen = None
        for i, frame in enumerate(f.decode(video=0)):
            chosen = frame
            if i >= target:
                break
        with atomic_path(poster) as tmp:
            chosen.to_image().save(tmp, format="PNG")
        return chosen.width, chosen.height


@dataclass(frozen=True)
class ClipStep:
    name: str
    start: float  # seconds into the clip
    narration: str | None  # None: no config of the clip's name has these steps


def find_config(stem: str, folders: tuple[Path, ...] = ()) -> Path | None:
    """The config named ``stem`` in the first of ``folders`` that has one, else the shipped one of that name."""
    for folder in (*folders, CONFIGS):
        for suffix in YAML_SUFFIXES:
            if (folder / f"{stem}{suffix}").is_file():
                return folder / f"{stem}{suffix}"
    return None


def clip_steps(clip: Path, folders: tuple[Path, ...] = (), lang: str = DEFAULT_LANG) -> list[ClipStep]:
    """The clip's steps (its chapters), each with its narration written from the trace of the config of the
    clip's name, if that config's steps are the clip's (named in any language: a clip rendered with --lang ko
    has Korean step names); the narration is in ``lang``."""
    from engine.source import trace_path_for
    from pipeline.auto_narration import spoken_steps
    from engine.languages import LANGS

    chapters = read_chapters(clip)
    config = find_config(clip.stem, folders) if chapters else None
    if config is not None:
        trace = trace_path_for(config)
        names = [title for title, _, _ in chapters]
        for other in (lang, *(k for k in LANGS if k != lang)):
            if [s.name for s in spoken_steps(trace, other)] == names:
                said = spoken_steps(trace, lang)
                return [ClipStep(title, start, s.narration) for (title, start, _), s in zip(chapters, said)]
    return [ClipStep(title, start, None) for title, start, _ in chapters]


def poster_label(clip: Path, steps: list[ClipStep], at: float) -> str:
    """The poster's text alternative: what is said over the step the poster shows (else that step's name).
    A poster marked at a step's start shows the step before it, ended (the start as read from the clip's
    chapters, to the millisecond)."""
    shown = [s for s in steps if s.start < at - 5e-4] or steps[:1]
    if not shown:
        return f"{clip.name}: a clip"
    return f"{clip.name}: {shown[-1].narration or shown[-1].name}"


def narration_html(steps: list[ClipStep]) -> str:
    """Each step's narration with its start, as text (escaped), or nothing for a clip without narration."""
    items = [f'    <li data-start="{s.start:.3f}"><span class="at">{_minutes(s.start)}</span>'
             f"{html.escape(s.narration)}</li>" for s in steps if s.narration is not None]
    return '  <ol class="narration">\n' + "\n".join(items) + "\n  </ol>\n" if items else ""


def _minutes(seconds: float) -> str:
    """0:59.9, 1:00.0 (rounded first, so never 0:60.0)."""
    tenths = round(seconds * 10)
    return f"{tenths // 600}:{tenths % 600 / 10:04.1f}"


def build_gallery(outdir: Path, title: str = "Backpropagation clips", configs: tuple[Path, ...] = (),
                  lang: str = DEFAULT_LANG) -> Path:
    """Write outdir/index.html (and outdir/posters/) for every .mp4 and .webm in ``outdir``; each clip's
    narration from the config of its name in ``configs`` (folders) or the shipped ones, in ``lang``."""
    clips = sorted(p for p in outdir.iterdir() if p.suffix.lower() in VIDEO_TYPES and not p.name.startswith("."))
    said = {clip: clip_steps(clip, configs, lang) for clip in clips}  # a bad config stops it before any output
    (outdir / "posters").mkdir(exist_ok=True)
    figures = []
    for i, clip in enumerate(clips):
        poster = outdir / "posters" / f"{clip.stem}{clip.suffix.replace('.', '-')}.png"
        width, height = save_poster(clip, poster)
        # file names as URLs (a # or ? in one is part of the name), then escaped for the attribute
        src, rel_poster = (html.escape(quote(p.relative_to(outdir).as_posix()), quote=True) for p in (clip, poster))
        steps = said[clip]
        duration = probe_duration(clip)
        at = poster_time(clip)
        mime = VIDEO_TYPES[clip.suffix.lower()]
        label = html.escape(poster_label(clip, steps, 0.75 * duration if at is None else at), quote=True)
        snippet = (f'<video controls preload="metadata" poster="{rel_poster}" width="{width}" height="{height}" '
                   f'aria-label="{label}" style="max-width: 100%; height: auto">\n'
                   f'  <source src="{src}" type="{mime}">\n</video>')
        figures.append(FIGURE.format(name=html.escape(clip.name, quote=True), duration=duration,
                                     src=src, poster=rel_poster, width=width, height=height,
                                     mime=mime, index=i, label=label,
                                     narration=narration_html(steps), snippet=html.escape(snippet)))
    index = outdir / "index.html"
    write_text_atomic(index, PAGE.format(title=html.escape(title), lang=lang, figures="\n".join(figures)))
    return index
