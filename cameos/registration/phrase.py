"""The spoken digits: what a registration's phrase sounded like, read by pocketsphinx (CMU Sphinx)
against a grammar of exactly as many digits as the challenge asked for.

A fixed-length grammar is what makes a small acoustic model usable here: an open-length digit
grammar decoded no espeak-ng reading exactly (tests/fixtures/voices/README.md). Measured here with
this decoder on 30 random phrases of 4-6 digits each, read by espeak-ng after a second of silence:
en-us+f3 13/30 exact and 21/30 within one digit, en-us+m3 8/30 and 15/30 (the README's ten
readings: 2/10 exact here; a word that starts a reading without a pause is often lost). Exact
matching would refuse most honest readings, so CAMEO_PHRASE_MAX_WRONG (default 1) digit may be
misheard: a replayed recording of other digits misses by 3 or more in every case measured, and
guessing 5 digits to within one succeeds about once in 2,000 tries.

The decoder knows only the ten digit words (and "oh" for zero), so it loads in about 0.1 s; it is
built once per process and per phrase length, and decodes under a lock (it keeps state).
"""

from __future__ import annotations

import importlib.util
import logging
import os
import tempfile
import threading
from pathlib import Path
from typing import Any

import numpy as np

logger = logging.getLogger(__name__)

RATE = 16_000
WORDS = {
    "zero": ("0", "Z IH R OW"),
    "oh": ("0", "OW"),
    "one": ("1", "W AH N"),
    "two": ("2", "T UW"),
    "three": ("3", "TH R IY"),
    "four": ("4", "F AO R"),
    "five": ("5", "F AY V"),
    "six": ("6", "S IH K S"),
    "seven": ("7", "S EH V AH N"),
    "eight": ("8", "EY T"),
    "nine": ("9", "N AY N"),
}


class PhraseModelUnavailable(RuntimeError):
    """pocketsphinx or its English acoustic model is missing: the phrase cannot be checked (fail closed)."""


_lock = threading.Lock()
_decoders: dict[int, Any] = {}


def _after_fork() -> None:
    global _lock
    _lock = threading.Lock()


os.register_at_fork(after_in_child=_after_fork)


def _grammar(count: int) -> str:
    alternatives = " | ".join(WORDS)
    sequence = " ".join(["<digit>"] * count)
    return f"#JSGF V1.0;\ngrammar digits;\n<digit> = {alternatives};\npublic <phrase> = {sequence};\n"


def _decoder(count: int) -> Any:
    """The process's decoder for phrases of `count` digits (built on first use)."""
    decoder = _decoders.get(count)
    if decoder is not None:
        return decoder
    spec = importlib.util.find_spec("pocketsphinx")
    if spec is None or not spec.submodule_search_locations:
        raise PhraseModelUnavailable("pocketsphinx is not installed")
    model = Path(next(iter(spec.submodule_search_locations))) / "model" / "en-us" / "en-us"
    if not (model / "mdef").is_file():
        raise PhraseModelUnavailable(f"the acoustic model is missing: {model}")
    from pocketsphinx import Decoder

    with tempfile.TemporaryDirectory() as folder:
        words = Path(folder) / "digits.dict"
        words.write_text("".join(f"{word} {phones}\n" for word, (_, phones) in WORDS.items()))
        grammar = Path(folder) / "digits.gram"
        grammar.write_text(_grammar(count))
        try:
            decoder = Decoder(hmm=str(model), dict=str(words), jsgf=str(grammar), loglevel="FATAL")
        except (RuntimeError, ValueError) as exc:
            raise PhraseModelUnavailable(f"pocketsphinx could not start: {exc}") from exc
    _decoders[count] = decoder
    logger.info("cameos.phrase_decoder_loaded", extra={"digits": count})
    return decoder


def digits_heard(samples: np.ndarray, *, count: int) -> str:
    """The `count` digits pocketsphinx hears in `samples` (float32 mono, 16 kHz), space-separated
    ("4 7 2 9 1"); "" when it hears nothing that fits."""
    pcm = (np.clip(np.nan_to_num(samples), -1.0, 1.0) * 32767).astype("<i2").tobytes()
    with _lock:
        decoder = _decoder(count)
        decoder.start_utt()
        decoder.process_raw(pcm, full_utt=True)
        decoder.end_utt()
        hypothesis = decoder.hyp()
    if hypothesis is None:
        return ""
    return " ".join(WORDS[word][0] for word in hypothesis.hypstr.split() if word in WORDS)


def digits_wrong(heard: str, asked: str) -> int:
    """How many digits differ, position by position (a length mismatch counts every missing one)."""
    a, b = heard.split(), asked.split()
    return sum(x != y for x, y in zip(a, b, strict=False)) + abs(len(a) - len(b))
