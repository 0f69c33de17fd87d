"""A lecture's voice track: recorded narration read from a file, or a draft spoken by espeak-ng.

Audio is handled as mono float32 at RATE (a voice needs no more), decoded and resampled by PyAV from
whatever the file is (WAV, MP3, M4A...). A draft voice is Debian's espeak-ng speaking the narration to a
WAV file, offline: a rough voice, meant for timing a lecture before it is recorded. Its files are
cached by what determines them (text, language, espeak-ng's version) and verified like every cache.
"""
from __future__ import annotations

import functools
import hashlib
import itertools
import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np

from infra.cache import CACHE, publish, verified
from engine.config import ConfigError
from infra.io import InputError, open_regular
from engine.languages import LANGUAGES

RATE = 48_000
ESPEAK_WORDS_PER_MINUTE = 150  # espeak-ng's default 175 is quick for a lecture
MAX_SECONDS = 600  # a chapter's voice: ten minutes (115 MB of samples) at most
GAP_SECONDS = 0.3  # silence after a spoken step before the next one starts
VOICE_CACHE = CACHE / "voice"
DRAFT_NOTE = "draft voice synthesised by espeak-ng"


class VoiceError(ConfigError):
    """Audio that cannot be read or made; one line naming the file."""


def read_audio(path: Path) -> np.ndarray:
    """A file's sound as mono float32 samples at RATE."""
    import av

    # through the checked opener, as every input: a FIFO or a device named as a voice would block or never end
    try:
        source = os.fdopen(open_regular(Path(path)), "rb")
    except InputError as e:
        raise VoiceError(str(e)) from None
    try:
        with source, av.open(source) as f:
            if not f.streams.audio:
                raise VoiceError(f"{path}: has no audio stream")
            resampler = av.AudioResampler(format="flt", layout="mono", rate=RATE)
            chunks, total = [], 0
            for frame in itertools.chain(f.decode(audio=0), [None]):  # None flushes the resampler
                for out in resampler.resample(frame):
                    chunks.append(out.to_ndarray().reshape(-1))
                    total += chunks[-1].size
                if total > MAX_SECONDS * RATE:
                    raise VoiceError(f"{path}: lasts more than {MAX_SECONDS} seconds, the most a chapter's voice "
                                     "may last")
    except (av.error.FFmpegError, UnicodeDecodeError) as e:
        raise VoiceError(f"{path}: cannot read it as audio ({e})") from None
    samples = np.concatenate(chunks) if chunks else np.zeros(0, np.float32)
    if not samples.size:
        raise VoiceError(f"{path}: the audio is empty")
    return samples.astype(np.float32)


def seconds(samples: np.ndarray) -> float:
    return samples.size / RATE


@functools.cache
def espeak_version() -> str:
    espeak = shutil.which("espeak-ng")
    if espeak is None:
        raise VoiceError("a draft voice needs espeak-ng (scripts/setup.sh installs it: apt-get install espeak-ng)")
    out = subprocess.run([espeak, "--version"], capture_output=True, text=True, timeout=30).stdout
    found = re.search(r"\d+\.\d+(\.\d+)?", out)  # "eSpeak NG text-to-speech: 1.51  Data at: ..."
    return f"espeak-ng {found[0] if found else 'unknown'}"


def synthesise(text: str, lang: str, cache: Path) -> Path:
    """espeak-ng saying ``text`` in ``lang``, as a WAV file in ``cache``."""
    key = hashlib.sha256(f"{espeak_version()}|{lang}|{ESPEAK_WORDS_PER_MINUTE}|{text}".encode()).hexdigest()[:24]
    path = cache / f"{key}.wav"
    if verified(path, key, "voice cache"):
        return path
    cache.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=cache, prefix=".espeak-") as tmp:
        wav = Path(tmp) / "say.wav"
        # The text goes on standard input, never on the command line, where a leading "-" would be an option.
        r = subprocess.run(["espeak-ng", "-v", LANGUAGES[lang].espeak_voice, "-s", str(ESPEAK_WORDS_PER_MINUTE), "-w",
                            str(wav), "--stdin"], input=text, capture_output=True, text=True, timeout=120)
        if r.returncode != 0 or not wav.exists():
            raise VoiceError(f"espeak-ng could not speak a {lang} narration: {r.stderr.strip()[:200]}")
        publish(wav, path, key)
    return path


def mix(segments: list[tuple[float, np.ndarray]], total: float) -> np.ndarray:
    """One track of ``total`` seconds with each segment starting at its time (later ones cut earlier ones
    short: a segment never runs into the next one's time)."""
    track = np.zeros(int(round(total * RATE)), np.float32)
    starts = sorted(segments, key=lambda s: s[0])
    for i, (start, samples) in enumerate(starts):
        a = int(round(start * RATE))
        b = min(a + samples.size, track.size, int(round(starts[i + 1][0] * RATE)) if i + 1 < len(starts) else track.size)
        if b > a:
            track[a:b] = samples[:b - a]
    return track
