"""How well the text policy does, measured on a held-out labelled set written apart from the
exemplars (tests/moderation/data/text_heldout.jsonl): per content category precision and recall,
the benign false-positive rate, and the block rate on adversarial prompts (public figures' names
obfuscated, or named by a role they are known for).

The names are matched against an in-memory registry (tests/moderation/data/text_figures.json built
into unsaved `PublicFigure` rows and indexed like the real registry), so evaluating writes nothing
and needs no figure in the database. Thresholds are the settings' (tuned on the exemplars alone,
`moderation.text.tune`); the held-out set never tunes anything.

- `precision` of a category: of the texts judged that category, the share labelled with it;
- `recall`: of the texts labelled with it, the share refused (under any category: a hate prompt
  refused as harassment is still refused); `recall_exact`: refused under that very category;
- `benign_false_positive_rate`: benign texts refused (names or categories);
- `adversarial_block_rate`: adversarial texts refused; `adversarial_name_rate`: by the name
  matcher alone (most of them would also trip a category).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.conf import settings

from moderation.models import PublicFigure
from moderation.text.categories import (
    BENIGN,
    CATEGORIES,
    Embedded,
    exemplar_model,
    judgement_from,
    texts_embed,
)
from moderation.text.names import NameIndex, index_build
from moderation.text.policy import thresholds_for

DATA = Path(settings.BASE_DIR) / "tests" / "moderation" / "data"
HELDOUT_PATH = DATA / "text_heldout.jsonl"
FIGURES_PATH = DATA / "text_figures.json"
ADVERSARIAL = "adversarial"


def heldout_load(path: Path = HELDOUT_PATH) -> list[dict[str, str]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def figures_index(path: Path = FIGURES_PATH) -> NameIndex:
    figures = [
        PublicFigure(
            name=f["name"],
            aliases=f.get("aliases", []),
            roles=f.get("roles", []),
            status=f.get("status", PublicFigure.Status.LIVING),
            estate_block=f.get("estate_block", False),
        )
        for f in json.loads(path.read_text())
    ]
    return index_build(figures)


def _predict(
    rows: list[dict[str, str]], embedded: list[Embedded], names: NameIndex, *, teen: bool
) -> list[tuple[str, bool]]:
    """Each text's (category or "", matched a name)."""
    model, thresholds = exemplar_model(), thresholds_for(teen=teen)
    return [
        (judgement_from(model, e, thresholds).category, names.find(r["text"]) is not None)
        for r, e in zip(rows, embedded, strict=True)
    ]


def _rates(rows: list[dict[str, str]], predicted: list[tuple[str, bool]]) -> dict[str, Any]:
    labels = [r["label"] for r in rows]
    refused = [bool(category) or named for category, named in predicted]
    categories: dict[str, dict[str, float | int]] = {}
    for category in CATEGORIES:
        mine = [i for i, label in enumerate(labels) if label == category]
        called = [i for i, (c, _) in enumerate(predicted) if c == category and labels[i] != ADVERSARIAL]
        right = sum(1 for i in called if labels[i] == category)
        categories[category] = {
            "precision": round(right / len(called), 4) if called else 1.0,
            "recall": round(sum(refused[i] for i in mine) / len(mine), 4) if mine else 0.0,
            "recall_exact": round(sum(predicted[i][0] == category for i in mine) / len(mine), 4)
            if mine
            else 0.0,
            "n": len(mine),
        }
    benign = [i for i, label in enumerate(labels) if label == BENIGN]
    adversarial = [i for i, label in enumerate(labels) if label == ADVERSARIAL]
    return {
        "categories": categories,
        "benign_false_positive_rate": round(sum(refused[i] for i in benign) / len(benign), 4),
        "benign_n": len(benign),
        "adversarial_block_rate": round(sum(refused[i] for i in adversarial) / len(adversarial), 4),
        "adversarial_name_rate": round(sum(predicted[i][1] for i in adversarial) / len(adversarial), 4),
        "adversarial_n": len(adversarial),
    }


def text_policy_evaluate() -> dict[str, Any]:
    """The text policy's figures on the held-out set, for adults (the top level) and for teens."""
    rows = heldout_load()
    names = figures_index()
    embedded = texts_embed([r["text"] for r in rows])
    result = _rates(rows, _predict(rows, embedded, names, teen=False))
    teen = _rates(rows, _predict(rows, embedded, names, teen=True))
    result["teen"] = {
        "categories": {
            c: {"precision": v["precision"], "recall": v["recall"]} for c, v in teen["categories"].items()
        },
        "benign_false_positive_rate": teen["benign_false_positive_rate"],
    }
    result["thresholds"] = {"adult": thresholds_for(teen=False), "teen": thresholds_for(teen=True)}
    return result
