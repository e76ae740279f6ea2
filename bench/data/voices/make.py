"""How ami_chunks.flac and ami_chunks.json beside this file were made (kept for the record).

    .venv/bin/python bench/data/voices/make.py PYANNOTE_TESTS_DATA

PYANNOTE_TESTS_DATA is `tests/data` of the unpacked pyannote.audio 4.0.7 sdist (README.md). Every
stretch where one speaker alone talks (its RTTM turns less everyone else's) is cut into pieces of
about 1.5 s (never under 1.2 s), the same way bench/moderation.py cuts the fixture conversation;
pieces with less than MODERATION_VOICE_MIN_SPEECH_S of speech are left out. The pieces are stored
one after another in one FLAC (16 kHz mono, 16 bit) with their speaker and origin in the JSON.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import numpy as np
import soundfile

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent.parent
RATE = 16_000


def main(data: Path) -> None:
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from bench.moderation import CHUNK_S, MIN_CHUNK_S, alone_spans
    from moderation.likeness.voices import voice_embed

    turns: dict[str, list[tuple[float, float, str]]] = {}
    for rttm in sorted(data.glob("debug.*.rttm")):
        for row in (line.split() for line in rttm.read_text().splitlines() if line.strip()):
            turns.setdefault(row[1], []).append((float(row[3]), float(row[3]) + float(row[4]), row[7]))
    pieces, index, offset = [], [], 0
    for uri, spoken in sorted(turns.items()):
        wav, rate = soundfile.read(data / f"{uri.replace('trn00', 'trñ00')}.wav", dtype="float32")
        assert rate == RATE
        for who, start, end in alone_spans(spoken):
            t = start
            while end - t >= MIN_CHUNK_S:
                stop = min(end, t + CHUNK_S) if end - (t + CHUNK_S) >= MIN_CHUNK_S else end
                piece = wav[int(t * RATE) : int(stop * RATE)]
                if voice_embed(piece, RATE) is not None:
                    index.append(
                        {
                            "speaker": who,
                            "uri": uri,
                            "start_s": round(t, 3),
                            "end_s": round(stop, 3),
                            "offset": offset,
                            "samples": len(piece),
                        }
                    )
                    pieces.append(piece)
                    offset += len(piece)
                t = stop
    soundfile.write(HERE / "ami_chunks.flac", np.concatenate(pieces), RATE, subtype="PCM_16")
    (HERE / "ami_chunks.json").write_text(json.dumps(index, indent=1, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
