"""The voice track: segments (recorded narration, the draft voice) placed at their times, whatever order
they come in, each cut where the next one starts."""
import numpy as np
import pytest

from pipeline.voice import RATE, mix


def test_segments_are_placed_by_their_start_whatever_order_they_come_in():
    # a chapter's recorded voice (at 2 s) listed before an earlier clip's draft voice (at 0 s, 3 s long): the
    # draft is cut at 2 s and the recording plays whole from 2 s
    recorded, draft = np.full(RATE, 0.5, np.float32), np.full(3 * RATE, 0.25, np.float32)
    track = mix([(2.0, recorded), (0.0, draft)], 4.0)
    assert track.size == 4 * RATE
    assert np.all(track[:2 * RATE] == 0.25) and np.all(track[2 * RATE:3 * RATE] == 0.5)
    assert np.all(track[3 * RATE:] == 0)


def _fake_espeak(monkeypatch, returncode=0, stderr="", writes=True):
    """espeak-ng replaced: each call recorded, its WAV written where -w says (a few bytes stand for the sound)."""
    import subprocess
    from pathlib import Path

    from pipeline import voice

    calls = []

    def run(args, input=None, **kwargs):
        calls.append((args, input))
        if writes:
            Path(args[args.index("-w") + 1]).write_bytes(b"RIFF" + args[2].encode())
        return subprocess.CompletedProcess(args, returncode, "", stderr)

    monkeypatch.setattr(voice, "espeak_version", lambda: "espeak-ng 1.51")
    monkeypatch.setattr(voice.subprocess, "run", run)
    return calls


@pytest.mark.parametrize("lang,espeak_voice", [("en", "en-us"), ("ko", "ko")])
def test_a_draft_voice_speaks_the_text_from_standard_input_in_the_language_s_voice(tmp_path, monkeypatch, lang,
                                                                                     espeak_voice):
    from pipeline.voice import synthesise

    calls = _fake_espeak(monkeypatch)
    path = synthesise("-v x says", lang, tmp_path)  # a leading "-" stays text: it is never an argument
    [(args, given)] = calls
    assert args[:5] == ["espeak-ng", "-v", espeak_voice, "-s", "150"] and args[5] == "-w" and args[7:] == ["--stdin"]
    assert given == "-v x says" and path.parent == tmp_path and path.suffix == ".wav"
    assert synthesise("-v x says", lang, tmp_path) == path and len(calls) == 1  # the second from the cache


def test_one_text_in_two_languages_or_two_texts_are_cached_apart(tmp_path, monkeypatch):
    from pipeline.voice import synthesise

    calls = _fake_espeak(monkeypatch)
    paths = {synthesise("a", "en", tmp_path), synthesise("a", "ko", tmp_path), synthesise("b", "en", tmp_path)}
    assert len(paths) == 3 and len(calls) == 3


@pytest.mark.parametrize("writes", [False, True])  # a failed run's partial WAV is not kept either
def test_espeak_failing_is_one_line_naming_the_language(tmp_path, monkeypatch, writes):
    from pipeline.voice import VoiceError, synthesise

    _fake_espeak(monkeypatch, returncode=1, stderr="  no voice\n" + "x" * 300, writes=writes)
    with pytest.raises(VoiceError) as e:
        synthesise("a", "ko", tmp_path)
    assert str(e.value) == "espeak-ng could not speak a ko narration: no voice\n" + "x" * 191
    assert not list(tmp_path.glob("*.wav"))
