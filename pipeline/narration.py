"""What a lecture says and when: narration per chapter and per step, read at a stated speed.

A chapter's narration is shown (and spoken) over its title card; a step's over that step. A step with
narration lasts at least as long as its text takes to read, or its voice takes to say:

    reading time = max(MIN_CUE_SECONDS, characters / chars_per_second)

counting every character of the text, spaces and punctuation included, at the language's reading speed
(engine/languages.py): 15 characters a second in English (BBC subtitle guidance: 160-180 words a minute)
and 12 in Korean (Netflix's Korean timed-text guide for adult programmes). A lecture is watched as well
as read, so these are the slower ends of those guides.
"""
from __future__ import annotations

import unicodedata
from dataclasses import dataclass

from pydantic import Field, field_validator

from engine.config import Strict
from engine.languages import DEFAULT_LANG, LANGS, language

MIN_CUE_SECONDS = 1.5


def reading_seconds(text: str, lang: str) -> float:
    text = " ".join(text.split())
    if not text:
        return 0.0
    return max(MIN_CUE_SECONDS, len(text) / language(lang).chars_per_second)


MAX_NARRATION_CHARS = 2_000  # one text (a chapter's or a step's, in one language): over two minutes read
# Format characters that join, not control: emoji sequences (👩‍💻) and scripts that need them (ZWNJ in Persian)
JOINERS = "\u200c\u200d"


def tidy_text(narration):
    """Narration as it may go into subtitle files: no timing lines, no control characters, one paragraph
    of lines. Raises ValueError (pydantic reports it with the key)."""
    texts = narration.values() if isinstance(narration, dict) else [narration]
    for text in texts:
        if len(text) > MAX_NARRATION_CHARS:
            raise ValueError(f"is {len(text):,} characters; a narration text is at most {MAX_NARRATION_CHARS:,} "
                             "(split it over the clip's steps)")
        if "-->" in text:
            raise ValueError("must not contain '-->' (it would start a subtitle cue of its own)")
        bad = sorted({f"U+{ord(c):04X}" for c in text
                      if unicodedata.category(c) in ("Cc", "Cf") and c not in "\n\t" + JOINERS})
        if bad:
            raise ValueError(f"must not contain control characters ({', '.join(bad[:3])})")

    def tidy(text):
        return "\n".join(line.strip() for line in text.replace("\t", " ").splitlines() if line.strip())
    return {k: tidy(v) for k, v in narration.items()} if isinstance(narration, dict) else tidy(narration)


Narration = str | dict[str, str]


def text_in(narration: Narration, lang: str, fallback: bool = True) -> str:
    """The narration in ``lang``; one text for every language, or (with ``fallback``) the default language's."""
    if isinstance(narration, str):
        return narration
    return narration.get(lang) or (narration.get(DEFAULT_LANG, "") if fallback else "")


class StepNarration(Strict):
    step: int | str = Field(description="the step: its index in the clip (0 is the title), or the start of its "
                                        "name as `render.py info` lists it; keys match in order")
    narration: str | dict[str, str] = Field(description="what is said over the step, or one text per language")

    @field_validator("narration")
    @classmethod
    def _plain_text(cls, narration):
        return _checked_languages(tidy_text(narration))

    @field_validator("step")
    @classmethod
    def _a_step(cls, step):
        if isinstance(step, int) and step < 0:
            raise ValueError("a step index counts from 0")
        if isinstance(step, str) and not step.strip():
            raise ValueError("a step name must not be empty")
        return step


def _checked_languages(narration):
    if isinstance(narration, dict):
        unknown = sorted(set(narration) - set(LANGS))
        if unknown:
            raise ValueError(f"unknown language {unknown[0]!r} (use {', '.join(LANGS)})")
    return narration


@dataclass(frozen=True)
class Cue:
    start: float  # seconds into the lecture
    end: float
    text: str
