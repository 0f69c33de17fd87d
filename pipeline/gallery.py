"""A static HTML page of rendered clips: poster frames, durations and a copy-paste embed snippet each."""
from __future__ import annotations

import html
from pathlib import Path

import av

from engine.io import atomic_path, write_text_atomic
from pipeline.video import poster_time, probe_duration

VIDEO_TYPES = {".mp4": "video/mp4", ".webm": "video/webm"}

PAGE = """<!doctype html>
<html lang="en">
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
  <video controls preload="metadata" poster="{poster}" width="{width}" height="{height}">
    <source src="{name}" type="{mime}">
  </video>
  <figcaption>{name} ({duration:.1f} s, {width}&times;{height})</figcaption>
  <pre id="embed-{index}">{snippet}</pre>
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


def build_gallery(outdir: Path, title: str = "Backpropagation clips") -> Path:
    """Write outdir/index.html (and outdir/posters/) for every .mp4 and .webm in ``outdir``."""
    clips = sorted(p for p in outdir.iterdir() if p.suffix in VIDEO_TYPES and not p.name.startswith("."))
    (outdir / "posters").mkdir(exist_ok=True)
    figures = []
    for i, clip in enumerate(clips):
        poster = outdir / "posters" / f"{clip.stem}{clip.suffix.replace('.', '-')}.png"
        width, height = save_poster(clip, poster)
        rel_poster = poster.relative_to(outdir).as_posix()
        snippet = (f'<video controls preload="metadata" poster="{rel_poster}" width="{width}" height="{height}" '
                   f'style="max-width: 100%; height: auto">\n'
                   f'  <source src="{clip.name}" type="{VIDEO_TYPES[clip.suffix]}">\n</video>')
        figures.append(FIGURE.format(name=html.escape(clip.name), duration=probe_duration(clip), poster=rel_poster,
                                     width=width, height=height, mime=VIDEO_TYPES[clip.suffix], index=i,
                                     snippet=html.escape(snippet)))
    index = outdir / "index.html"
    write_text_atomic(index, PAGE.format(title=html.escape(title), figures="\n".join(figures)))
    return index
