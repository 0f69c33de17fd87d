"""The command line: list scenes, export traces, check gradients, render clips.

Only wires config -> engine -> trace -> scene -> video together; user errors are one line and a
non-zero exit, never a traceback, and no output file is left behind.
"""
from __future__ import annotations

import atexit
import contextlib
import gc
import json
import os
import sys
from pathlib import Path

import click

from infra.errors import ConfigError
from infra.io import OutputError, check_output_path, write_text_atomic
from engine.languages import DEFAULT_LANG, LANGS
from engine.numfmt import format_number
from infra.places import CONFIGS, INSTALLED, LECTURES, UnknownName, resolve_shipped, shipped_names
from engine.trace import decode_value, dumps
from engine.settings import (FORMATS, HANDOUT_FORMATS, LECTURE_FORMATS, PACE_RANGE, QUALITIES, SLIDE_FORMATS,
                             THEMES, VOICES, RenderOptions, Timing)

ROOT = Path(__file__).resolve().parent
CONFIG_DIR = CONFIGS  # assets/configs in a checkout, backprop_anim/assets/configs when installed
# the allowed values come from the constants that hold them (engine/settings.py, engine/languages.py), in their own order
QUALITY_CHOICE = click.Choice(list(QUALITIES))
THEME_CHOICE = click.Choice(THEMES)
LANG_CHOICE = click.Choice(LANGS)


def _load_trace(config_path: str) -> dict:
    """Validate a config and compute its trace, turning every user error into a ClickException."""
    from engine.config import load_config
    from engine.run import trace_config

    try:
        cfg = load_config(config_path)
        return trace_config(cfg, config_path)
    except ConfigError as e:
        raise click.ClickException(str(e)) from None


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="backprop-anim")
def cli() -> None:
    """Turn real forward and backward passes into Manim lecture clips."""
    import threading

    from infra.processes import sigterm_as_ctrl_c

    if threading.current_thread() is threading.main_thread():
        sigterm_as_ctrl_c()  # the same clean-up as Ctrl-C: nothing partial, no temporary folders left
    # At exit Python's cycle collector walks every object a render made, just before all are freed anyway
    # (a third of a second after a render); freezing them first skips that walk and changes nothing else.
    atexit.register(gc.freeze)


def _env_flag(flag: str, variable: str, help: str):
    """A flag that sets ``variable=1`` in the environment when given, so the forked trace child and the
    lecture's workers see it too."""
    def callback(ctx, param, value: bool) -> bool:
        if value:
            os.environ[variable] = "1"
        return value
    return click.option(flag, is_flag=True, expose_value=False, callback=callback, help=help)


allow_long_option = _env_flag("--allow-long", "BACKPROP_ALLOW_LONG",
                              "Train or draw even when the estimate exceeds the 10-minute budget.")
trust_option = _env_flag("--trust", "BACKPROP_TRUST",
                         "Run the Python code a `torch:` config names (an expression config is never run).")


def _jobs(value: str) -> int:
    """--jobs: a count from 1 to 16, or auto."""
    if value == "auto":
        from pipeline.chunks import auto_jobs
        return auto_jobs()
    if not value.isdigit() or not 1 <= int(value) <= 16:
        raise click.BadParameter(f"{value!r} is neither auto nor a count from 1 to 16", param_hint="--jobs")
    return int(value)


def _a_number(ctx, param, value: float) -> float:
    """click's FloatRange lets NaN through (every comparison with it is false)."""
    if value != value:
        raise click.BadParameter(f"nan is not a number from {PACE_RANGE[0]:g} to {PACE_RANGE[1]:g}")
    return value


def _file_or_shipped(folders: tuple[Path, ...], what: str):
    """A CONFIG or LECTURE argument: a file's path (an existing one always wins), or the name of a
    shipped one (`chain_rule`); an unknown name is one line with the close ones."""
    def callback(ctx, param, value: str) -> str:
        try:
            return resolve_shipped(value, folders, what)
        except UnknownName as e:
            raise click.ClickException(str(e)) from None
    return callback


def _output_and_format(output: str | None, chosen: str | None, formats, default: str, flag: str, refusal: str,
                       default_out) -> tuple[Path, str]:
    """The output file and its format, from -o's suffix and the format flag (they must agree): ``refusal`` is
    said of an -o whose suffix is none of ``formats``; ``default_out(fmt)`` names the file when -o is not given."""
    suffix = Path(output).suffix.lower().lstrip(".") if output else ""
    if output and suffix not in formats:
        raise click.BadParameter(f"{output}: {refusal}", param_hint="-o")
    if chosen and suffix and chosen != suffix:
        raise click.BadParameter(f"{flag} {chosen} but -o {output} is .{suffix}", param_hint=flag)
    fmt = chosen or suffix or default
    return Path(output or default_out(fmt)), fmt


config_argument = click.argument("config", type=click.Path(dir_okay=False),
                                 callback=_file_or_shipped((CONFIGS,), "config"))


pace_option = click.option(
    "--pace", type=click.FloatRange(*PACE_RANGE), default=1.0, show_default=True, callback=_a_number,
    help="Speed of the animations: 2 plays twice as fast, 0.5 takes twice as long; what is shown is the same.")


@cli.command("list")
@click.option("--keys", is_flag=True, help="Every key of every scene kind, with its default (Markdown).")
def list_cmd(keys: bool) -> None:
    """List scene kinds and the configs shipped under assets/configs."""
    from engine.config import KINDS, keys_reference, load_config

    if keys:
        click.echo(keys_reference(), nl=False)
        return
    click.echo("Scene kinds:")
    for name, kind in KINDS.items():
        click.echo(f"  {name:<14} {kind.help}")
    folder = CONFIG_DIR if INSTALLED else CONFIG_DIR.relative_to(ROOT)
    command = click.get_current_context().find_root().info_name  # render.py, or backprop-anim when installed
    click.echo(f"Shipped configs, named by their file's name (`{command} render chain_rule`) or path ({folder}):")
    for path in sorted(CONFIG_DIR.glob("*.yaml")):
        try:
            scene = load_config(path).scene
        except ConfigError as e:
            scene = f"INVALID: {e}"
        click.echo(f"  {path.name:<26} [{scene}]")
    click.echo(f"Shipped lectures (`{command} lecture default`): {', '.join(shipped_names(LECTURES))}")
    click.echo(f"Every key of every kind: {command} list --keys")


@cli.command()
@config_argument
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="Trace file to write (default: stdout).")
@allow_long_option
@trust_option
def trace(config: str, output: str | None) -> None:
    """Run CONFIG's forward and backward pass and write its trace (JSON)."""
    if output:
        _check_output(output, inputs=[config])
    text = dumps(_load_trace(config))
    if output:
        try:
            write_text_atomic(output, text, inputs=[config])
        except OutputError as e:
            raise click.ClickException(str(e)) from None
        click.echo(f"wrote {output}", err=True)
    else:
        try:
            sys.stdout.write(text)
            sys.stdout.flush()
        except OSError as e:
            sys.stdout = open(os.devnull, "w")  # what could not be written is dropped, not retried at exit
            raise click.ClickException(f"cannot write the trace to standard output: {e.strerror}") from None


@cli.command()
@config_argument
@click.option("--tolerance", default=1e-6, show_default=True, help="Largest relative error that passes.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@trust_option
def check(config: str, tolerance: float, as_json: bool) -> None:
    """Compare analytic gradients with numerical ones (central differences) for CONFIG's inputs."""
    t = _load_trace(config)
    if t["kind"] != "graph":
        raise click.ClickException(f"{config}: 'check' compares gradients of graph configs; this is a {t['kind']} config")
    rows = [_check_row(n, tolerance) for n in t["nodes"] if "numeric_grad" in n]
    if as_json:
        click.echo(json.dumps(rows, indent=1, ensure_ascii=False))
    else:
        click.echo(f"{'input':<10} {'analytic':>12} {'numeric':>12} {'rel. error':>11}")
        for r in rows:
            a, num = decode_value(r["analytic"]), decode_value(r["numeric"])
            err = "-" if r["relative_error"] is None else format_number(r["relative_error"], 2)
            if a.ndim == 0:
                cells = f"{format_number(a, 6):>12} {format_number(num, 6):>12}"
            else:
                cells = f"{'shape ' + 'x'.join(map(str, a.shape)):>25}"
            click.echo(f"{r['input']:<10} {cells} {err:>11}  {r['status']}" + (f" ({r['note']})" if r["note"] else ""))
    failed = [r["input"] for r in rows if r["status"] == "FAIL"]
    if failed:
        raise click.ClickException(f"gradient check failed for {', '.join(failed)}: relative error above "
                                   f"{tolerance:g}, or an analytic gradient outside the one-sided slopes of a kink")
    if not any(r["status"] in ("ok", "kink") for r in rows):
        raise click.ClickException(f"{config}: no gradient could be checked numerically"
                                   + "".join(f"; {r['input']}: {r['note']}" for r in rows))


def _check_row(node: dict, tolerance: float) -> dict:
    """One input's verdict: ok, kink (the analytic gradient is a valid subgradient there), n/a, or FAIL."""
    err = None if node["relative_error"] is None else float(decode_value(node["relative_error"]))
    kinks = node.get("kinks", [])
    unavailable = node.get("numeric_unavailable")
    notes = []
    if kinks:
        where = ", ".join(node["label"] + (f"[{', '.join(map(str, k['index']))}]" if k["index"] else "")
                          for k in kinks[:3])
        notes.append(f"kink at {where}: not differentiable, one-sided slopes "
                     f"{format_number(decode_value(kinks[0]['left']))} and "
                     f"{format_number(decode_value(kinks[0]['right']))}")
    if unavailable:
        notes.append(f"{unavailable['count']} element(s) not checked: {unavailable['reason']}")
    # what fails is an error beyond the numerical estimate's own (truncation, rounding); NaN compares false
    excess = err if node.get("excess_error") is None else float(decode_value(node["excess_error"]))
    if err is not None and excess <= tolerance < err:
        notes.append("within the numerical estimate's own error")
    bad = (err is not None and not excess <= tolerance) or not all(k["subgradient"] for k in kinks)
    status = "FAIL" if bad else "kink" if kinks else "ok" if err is not None else "n/a"
    return {"input": node["label"], "analytic": node["grad"], "numeric": node["numeric_grad"], "relative_error": err,
            "status": status, "ok": not bad, "note": "; ".join(notes)}


@cli.command()
@config_argument
@click.option("--quality", type=QUALITY_CHOICE, default="preview", show_default=True,
              help="preview: 854x480 at 15 fps; hd: 1920x1080 at 60 fps; low: 426x240 at 10 fps (drafts).")
@click.option("-o", "--output", type=click.Path(dir_okay=False),
              help="File to write (default: out/<config name>.mp4, or .png with --still).")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default=None,
              help="mp4 (H.264, plays in browsers), webm (VP9), gif, mov, or png (a still); default: from -o's "
                   "extension, else mp4.")
@click.option("--still", is_flag=True, help="Write a PNG of one frame instead of a video (as --format png).")
@click.option("--upto", type=click.IntRange(min=0),
              help="Stop at the end of animation N (from 0): with --still, the frame then on screen; for a video, "
                   "a clip cut there. `render.py info CONFIG` lists the animations (default: all).")
@click.option("--transparent", is_flag=True,
              help="Keep an alpha channel for compositing (webm, mov, gif, png). Text takes the theme's colour: "
                   "use --theme light over white slides (the dark theme's white text vanishes there).")
@click.option("--theme", type=THEME_CHOICE, default="dark", show_default=True,
              help="dark (Manim's look) or light (white background for slides and print).")
@click.option("--lang", type=LANG_CHOICE, default=DEFAULT_LANG, show_default=True, help="Caption language.")
@click.option("--resolution", help="WIDTHxHEIGHT instead of the quality's size, e.g. 1280x720 (even numbers).")
@click.option("--fps", type=click.IntRange(1, 120), help="Frames per second instead of the quality's.")
@pace_option
@click.option("-q", "--quiet", is_flag=True, help="No progress line.")
@click.option("-v", "--verbose", is_flag=True, help="Manim's own progress bars and messages instead of one line.")
@click.option("-j", "--jobs", default="auto", show_default=True, callback=lambda ctx, param, value: _jobs(value),
              help="Chunks of an MP4 clip rendered at once, cut at its steps and joined without re-encoding; "
                   "auto: one per two cores (one render already keeps 1.6 cores busy).")
@allow_long_option
@trust_option
def render(config: str, quality: str, output: str | None, fmt: str, still: bool, upto: int | None,
           transparent: bool, theme: str, lang: str, resolution: str | None, fps: int | None, quiet: bool,
           verbose: bool, pace: float, jobs: int) -> None:
    """Render CONFIG (a YAML config or a trace JSON) as a clip or a still."""
    import dataclasses

    from pipeline.render_job import RenderLimitError, parse_resolution, render_scene
    from engine.source import trace_path_soon

    if quiet and verbose:
        raise click.BadParameter("choose one of --quiet and --verbose", param_hint="--quiet")
    size = QUALITIES[quality]
    if resolution:
        try:
            width, height = parse_resolution(resolution)
        except ValueError as e:
            raise click.BadParameter(str(e), param_hint="--resolution") from None
        size = dataclasses.replace(size, width=width, height=height)
    if fps:
        size = dataclasses.replace(size, fps=fps)
    fmt = _output_format(output, fmt, still)
    out = Path(output or Path("out") / f"{Path(config).stem}.{fmt}")
    _check_output(str(out), inputs=[config])
    options = RenderOptions(quality=size, theme=theme, lang=lang, timing=Timing(pace), fmt=fmt, still=still,
                            transparent=transparent, upto=upto,
                            progress="none" if quiet else "manim" if verbose else "line")
    with _user_errors(config, RenderLimitError, OutputError):
        trace = trace_path_soon(config)  # traced on the other core while Manim loads, if not cached
        try:
            if jobs > 1 and fmt == "mp4" and upto is None and not still:
                from pipeline.chunks import render_chunked
                trace = trace.result()
                render_chunked(trace, out, options, jobs)
            else:
                render_scene(trace, out, options)
        except BaseException:  # Ctrl-C or SIGTERM while the child still traces: it stops too
            getattr(trace, "stop", lambda: None)()
            raise
    click.echo(f"wrote {out}", err=True)


@cli.command()
@config_argument
@click.option("--quality", type=QUALITY_CHOICE, default="preview", show_default=True,
              help="The frame size the pixel measures are taken at.")
@click.option("--theme", type=THEME_CHOICE, default="dark", show_default=True)
@click.option("--lang", type=LANG_CHOICE, default=DEFAULT_LANG, show_default=True)
@click.option("--json", "as_json", is_flag=True,
              help="Print every paused frame's texts (string, kind, box, x-height, contrast) and the violations.")
# the one level since issue 26 (10 px, every rule): --strict, which once asked for it, is accepted and changes nothing
@click.option("--strict", is_flag=True, hidden=True, expose_value=False)
@allow_long_option
@trust_option
def audit(config: str, quality: str, theme: str, lang: str, as_json: bool) -> None:
    """Check what CONFIG's scene shows at every pause: inside the frame, no overlaps, no edge through a
    label, every text (exponents included) at least 10 px at 854x480 and readable in contrast (WCAG AA
    4.5:1), names and the active gate in view, every total derivative equal to the trace's."""
    from engine.source import trace_path_for

    with _user_errors(config):
        trace = trace_path_for(config)  # a bad input is refused before Manim is imported (half a second)
        from audit.run import audit_trace
        from audit.screen import grouped
        report = audit_trace(trace, quality=quality, theme=theme, lang=lang, source=config)
    if as_json:
        click.echo(json.dumps(report.to_json(), indent=1, ensure_ascii=False))
    else:
        texts = sum(len(f.texts) for f in report.frames)
        click.echo(f"{config} ({theme}, {lang}, {report.width}x{report.height}): {len(report.frames)} paused frames, "
                   f"{texts} texts checked")
        for line in grouped(report.violations):
            click.echo(f"  {line}")
    if report.violations:
        raise click.ClickException(f"{len(report.violations)} problem(s) on screen")


@cli.command()
@config_argument
@click.option("--lang", type=LANG_CHOICE, default=DEFAULT_LANG, show_default=True)
@allow_long_option
@trust_option
def info(config: str, lang: str) -> None:
    """List CONFIG's animations: `render --still --upto N` shows the frame at the end of animation N."""
    from engine.source import trace_path_for

    with _user_errors(config):
        trace = trace_path_for(config)  # a bad input is refused before Manim is imported (half a second)
        from audit.run import audit_trace
        report = audit_trace(trace, lang=lang, source=config)
    plays = report.plays
    click.echo(f"{config}: {len(report.steps)} steps (a lecture's `steps:` name them by index or by the start of "
               "the name; each is a slide)")
    click.echo(f"{'step':>5} {'start':>7}  name")
    for i, (name, start) in enumerate(report.steps):
        click.echo(f"{i:>5} {start:>6.1f}s  {name}")
    click.echo(f"{config}: {len(plays)} animations, {plays[-1].end if plays else 0:.1f} s; --upto N stops at the end "
               f"of animation N (0 to {len(plays) - 1})")
    click.echo(f"{'upto':>5} {'start':>7} {'end':>7}  caption on screen")
    for p in plays:
        click.echo(f"{p.index:>5} {p.start:>6.1f}s {p.end:>6.1f}s  {p.caption[:70]}")


@cli.command()
@config_argument
@click.option("--lang", type=LANG_CHOICE, default=DEFAULT_LANG, show_default=True)
@click.option("--json", "as_json", is_flag=True, help='Print {"steps": [{"name", "start", "narration"}]}.')
@allow_long_option
@trust_option
def narrate(config: str, lang: str, as_json: bool) -> None:
    """Print CONFIG's narration written from its trace: each step's name, start and what is said over it."""
    from pipeline.auto_narration import spoken_steps
    from engine.source import trace_path_for

    with _user_errors(config):
        steps = spoken_steps(trace_path_for(config), lang)
    if as_json:
        click.echo(json.dumps({"steps": [{"name": s.name, "start": s.start, "narration": s.narration} for s in steps]},
                              ensure_ascii=False, indent=1))
        return
    for i, s in enumerate(steps):
        click.echo(f"{i:>3} {s.start:>6.1f}s  {s.name}\n{'':>12}{s.narration}")


@cli.command()
@click.argument("source", metavar="LECTURE_OR_CONFIG", type=click.Path(dir_okay=False),
                callback=_file_or_shipped((CONFIGS, LECTURES), "config or lecture"))
@click.option("--to", "to", type=click.Choice(HANDOUT_FORMATS), default=None,
              help="pdf (vector figures, two steps a page) or html (one self-contained page); default: from -o, else pdf.")
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="The handout (default: out/<name>.pdf).")
@click.option("--theme", type=THEME_CHOICE, default="light", show_default=True)
@click.option("--lang", type=LANG_CHOICE, default=DEFAULT_LANG, show_default=True)
@click.option("--allow-outside", is_flag=True, help="Allow a lecture's clip configs outside its folder tree.")
@allow_long_option
@trust_option
def handout(source: str, to: str | None, output: str | None, theme: str, lang: str, allow_outside: bool) -> None:
    """A printable handout of a config (or its trace) or a lecture: each step's figure, drawn as vectors, with
    its narration beneath (authored, or written from the trace), under chapter headings."""
    from pipeline.handout import make_handout

    out, to = _output_and_format(output, to, HANDOUT_FORMATS, "pdf", "--to", "a handout is .pdf or .html",
                                 lambda fmt: Path("out") / f"{Path(source).stem}.{fmt}")
    _check_output(str(out), inputs=[source])
    out.parent.mkdir(parents=True, exist_ok=True)
    with _user_errors(source, OutputError):
        count = make_handout(Path(source), out, to=to, lang=lang, theme=theme, allow_outside=allow_outside)
    click.echo(f"wrote {out} ({count} figures)", err=True)


FORMAT_OF_SUFFIX = {f".{f}": f for f in FORMATS}


def _output_format(output: str | None, fmt: str | None, still: bool) -> str:
    """The format to write: --format, else --still's png, else -o's extension, else mp4; a contradiction
    between them (--format gif -o x.mp4, --still -o x.mp4) is refused rather than written misnamed."""
    suffix = Path(output).suffix.lower() if output else ""
    from_suffix = FORMAT_OF_SUFFIX.get(suffix)
    if output and from_suffix is None:
        raise click.BadParameter(f"{output}: unknown extension {suffix or '(none)'}; use one of "
                                 f"{', '.join(FORMAT_OF_SUFFIX)}", param_hint="-o")
    wanted = fmt or ("png" if still else None)
    if still and fmt not in (None, "png"):
        raise click.BadParameter(f"--still writes a PNG, not {fmt}", param_hint="--format")
    if wanted and from_suffix and wanted != from_suffix:
        raise click.BadParameter(f"{output} is named as {from_suffix} but the format asked for is {wanted}",
                                 param_hint="-o")
    return wanted or from_suffix or "mp4"


class _BatchProgress:
    """One bar for the whole batch: clip i of n, elapsed time and an estimate of what is left."""

    def __init__(self):
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, \
            TimeRemainingColumn
        self.bar = Progress(TextColumn("rendering clips"), BarColumn(), MofNCompleteColumn(),
                            TimeElapsedColumn(), TextColumn("left"), TimeRemainingColumn())
        self.task = None

    def start(self, total: int, cached: int):
        self.bar.start()
        self.task = self.bar.add_task("clips", total=total, completed=cached)

    def advance(self):
        self.bar.advance(self.task)

    def stop(self):
        if self.task is not None:
            self.bar.stop()


class _CourseProgress(_BatchProgress):
    """The course's bar: clips done of all it needs (cached ones count as done), running, retried, time left."""

    def __init__(self):
        from rich.progress import TextColumn
        super().__init__()
        self.bar.columns = (TextColumn("course clips"), *self.bar.columns[1:3],
                            TextColumn("{task.fields[running]} running, {task.fields[retried]} retried"),
                            *self.bar.columns[3:])

    def start(self, total: int, cached: int):
        self.bar.start()
        self.task = self.bar.add_task("clips", total=total, completed=cached, running=0, retried=0)

    def status(self, running: int, retried: int):
        self.bar.update(self.task, running=running, retried=retried)


@cli.command()
@click.argument("course_file", metavar="COURSE", type=click.Path(dir_okay=False))
@click.option("-o", "--output", "out_dir", type=click.Path(file_okay=False), default="out/course", show_default=True,
              help="Folder the videos are written into, laid out by the course's `output` pattern.")
@click.option("--cluster", default=None, metavar="local|ray://HOST:PORT",
              help="Render the clips on Ray: `local` starts a Ray instance here with --jobs workers, ray://HOST:PORT "
                   "uses a running cluster (this checkout's code is uploaded to it). Default: local worker processes.")
@click.option("-j", "--jobs", type=click.IntRange(1, 64), default=2, show_default=True,
              help="Worker processes (or local Ray workers) rendering clips at once.")
@click.option("--allow-outside", is_flag=True, help="Allow lectures' clip configs outside their folder trees.")
@click.option("--allow-large", is_flag=True,
              help="Render the course even when its plan (printed first) is estimated above 2 hours or 10 GB.")
@allow_long_option
@trust_option
def course(course_file: str, out_dir: str, cluster: str | None, jobs: int, allow_outside: bool,
           allow_large: bool) -> None:
    """Render every video of COURSE (lectures x languages x themes x qualities x formats): each distinct
    clip once, cached clips not at all, then each video joined from the cache."""
    from pipeline.course import render_course

    if cluster is not None and cluster != "local" and not cluster.startswith("ray://"):
        raise click.BadParameter(f"{cluster!r}: use local or ray://HOST:PORT", param_hint="--cluster")
    progress = _CourseProgress()
    try:
        summary = render_course(Path(course_file), Path(out_dir), jobs=jobs, cluster=cluster, progress=progress,
                                allow_outside=allow_outside, say=lambda line: click.echo(line, err=True),
                                allow_large=allow_large)
    except (ConfigError, OutputError) as e:
        raise click.ClickException(str(e)) from None
    finally:
        progress.stop()
        if cluster is not None:
            from pipeline.cluster import shutdown
            shutdown()
    for line in summary.lines():
        click.echo(line, err=True)
    for v in summary.variants:
        click.echo(f"wrote {v.output}", err=True)


@cli.command()
@click.argument("lecture_file", metavar="LECTURE", type=click.Path(dir_okay=False),
                callback=_file_or_shipped((LECTURES,), "lecture"))
@click.option("--quality", type=QUALITY_CHOICE, default="preview", show_default=True,
              help="Quality of every clip.")
@click.option("-o", "--output", type=click.Path(dir_okay=False), default=None,
              help="The joined video (default: out/lecture.mp4, or .webm); .srt and .vtt subtitles beside it.")
@click.option("--format", "fmt", type=click.Choice(LECTURE_FORMATS), default=None,
              help="mp4 (H.264, AAC, mov_text subtitles) or webm (VP9, Opus, WebVTT); default: from -o, else mp4.")
@click.option("--lang", type=LANG_CHOICE, default=DEFAULT_LANG, show_default=True, help="Caption language.")
@click.option("--theme", type=THEME_CHOICE, default="dark", show_default=True,
              help="dark or light (white background).")
@pace_option
@click.option("--voice", type=click.Choice(VOICES), default="none", show_default=True,
              help="draft: speak the narration with espeak-ng (offline; a rough voice for timing, marked as a draft). "
                   "A chapter's recorded narration_audio is used either way.")
@click.option("--burn-subtitles", is_flag=True,
              help="Draw the subtitles into the picture (scaled above a subtitle band) for players that ignore "
                   "subtitle tracks.")
@click.option("-j", "--jobs", type=click.IntRange(1, 16), default=2, show_default=True,
              help="Clips rendered at once.")
@click.option("--allow-outside", is_flag=True,
              help="Allow clip configs and audio outside the lecture file's folder tree (and the shipped configs).")
@allow_long_option
@trust_option
def lecture(lecture_file: str, quality: str, output: str | None, fmt: str | None, lang: str, theme: str, pace: float,
            voice: str, burn_subtitles: bool, jobs: int, allow_outside: bool) -> None:
    """Render every clip of LECTURE (cached) and join them into one video with chapters, a title card per
    chapter, subtitles cut at the steps (a text track per language, and .srt/.vtt beside it) and the voice."""
    from pipeline.lecture import render_lecture

    out, fmt = _output_and_format(output, fmt, LECTURE_FORMATS, "mp4", "--format",
                                  "a lecture is an .mp4 or .webm (its .srt and .vtt are written beside it)",
                                  lambda fmt: Path(f"out/lecture.{fmt}"))
    _check_output(str(out), inputs=[lecture_file])
    progress = _BatchProgress()
    try:
        chapters = render_lecture(Path(lecture_file), out, quality=quality, lang=lang, theme=theme, jobs=jobs,
                                  progress=progress, allow_outside=allow_outside, fmt=fmt, pace=pace, voice=voice,
                                  burn_subtitles=burn_subtitles)
    except (ConfigError, OutputError) as e:
        raise click.ClickException(str(e)) from None
    finally:
        progress.stop()
    click.echo(f"wrote {out} ({chapters[-1].end:.1f} s, {len(chapters)} chapters) and its .srt/.vtt subtitles",
               err=True)


@cli.command()
@click.argument("source", metavar="LECTURE_OR_CONFIG", type=click.Path(dir_okay=False),
                callback=_file_or_shipped((CONFIGS, LECTURES), "config or lecture"))
@click.option("--to", "to", type=click.Choice(SLIDE_FORMATS), default=None,
              help="html (reveal.js, one offline file), pptx or pdf (a frame per step); default: from -o, else html.")
@click.option("-o", "--output", type=click.Path(dir_okay=False),
              help="The deck (default: out/<name>.html); manim-slides' folder for `manim-slides present` beside it.")
@click.option("--quality", type=QUALITY_CHOICE, default="preview", show_default=True)
@click.option("--theme", type=THEME_CHOICE, default="dark", show_default=True)
@click.option("--lang", type=LANG_CHOICE, default=DEFAULT_LANG, show_default=True)
@click.option("--allow-outside", is_flag=True, help="Allow a lecture's clip configs outside its folder tree.")
@allow_long_option
@trust_option
def slides(source: str, to: str | None, output: str | None, quality: str, theme: str, lang: str,
           allow_outside: bool) -> None:
    """Step-through slides of a config or a lecture: one slide per step (each forward value, each backward
    gate, each summary), speaker notes saying what it shows and the clip's narration, made by manim-slides."""
    from pipeline.slides import make_slides

    out, to = _output_and_format(output, to, SLIDE_FORMATS, "html", "--to", "slides are .html, .pptx or .pdf",
                                 lambda fmt: Path("out") / f"{Path(source).stem}.{fmt}")
    _check_output(str(out), inputs=[source])
    try:
        count = make_slides(Path(source), out, to=to, quality=quality, theme=theme, lang=lang,
                            allow_outside=allow_outside)
    except (ConfigError, OutputError) as e:
        raise click.ClickException(str(e)) from None
    except FileNotFoundError as e:
        raise click.ClickException(f"{source}: cannot read: {e.strerror}") from None
    click.echo(f"wrote {out} ({count} slides) and {out.stem}_slides/ for `manim-slides present`", err=True)


@cli.command()
@click.argument("outdir", type=click.Path(file_okay=False, exists=True))
@click.option("--title", default="Backpropagation clips", show_default=True, help="Heading of the page.")
@click.option("--configs", "configs", multiple=True, type=click.Path(file_okay=False, exists=True),
              help="A folder of the clips' configs (clip NAME.mp4 is narrated from NAME.yaml); the shipped ones after.")
@click.option("--lang", type=LANG_CHOICE, default=DEFAULT_LANG, show_default=True, help="Narration language.")
@allow_long_option
@trust_option
def gallery(outdir: str, title: str, configs: tuple[str, ...], lang: str) -> None:
    """Write OUTDIR/index.html: every MP4/WebM clip in OUTDIR with its poster frame, narration and embed snippet."""
    from pipeline.gallery import build_gallery
    from scenes.trace_data import TraceError

    try:
        index = build_gallery(Path(outdir), title, tuple(Path(c) for c in configs), lang)
    except (ConfigError, TraceError, OutputError) as e:
        raise click.ClickException(str(e)) from None
    click.echo(f"wrote {index}", err=True)


@contextlib.contextmanager
def _user_errors(source: str, *also: type[Exception]):
    """A user's mistake met in the block (a bad config or trace, a file that cannot be read, any of ``also``) as
    the one-line message of a ClickException, without the traceback."""
    from scenes.trace_data import TraceError

    try:
        yield
    except (ConfigError, TraceError, *also) as e:
        raise click.ClickException(str(e)) from None
    except FileNotFoundError as e:
        raise click.ClickException(f"{source}: cannot read: {e.strerror}") from None


def _check_output(path: str, inputs=()) -> None:
    try:
        check_output_path(path, inputs)
    except OutputError as e:
        raise click.ClickException(str(e)) from None


if __name__ == "__main__":
    cli()
