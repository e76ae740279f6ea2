"""The held-out paraphrase set → bench/data/paraphrases.json, for bench/creation.py.

    .venv/bin/python bench/paraphrases_make.py        (rewrites the set; the same bytes every time)

Each prompt describes one held-out scene of the built-in model's world (a colour x motion pair it
never saw in training, drawn with `world.scene_sample(..., held_out=True, pans=False)` from a fixed
seed) and carries that scene as its ground truth, with the seed to render it with.

The words are this file's own, written apart from both the world's captions and the prompt
enhancer's vocabulary: synonyms (crimson for red, orb for ball, hops for bounces, "after dark" for
night), word orders the captions never use, extra words ("honestly", "cinematic"), typos (in
about one prompt in six: 43 of 236), and a few dozen sentences written by hand (HANDWRITTEN).
Each prompt lists the kinds it exercises, so accuracy can be split by kind. No prompt equals or
contains any caption the world could write for its scene (every one of them is enumerated and
checked).
"""

from __future__ import annotations

import itertools
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any, cast

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from generation.builtin import world  # noqa: E402  (the repository root is on the path only now)

OUT = ROOT / "bench" / "data" / "paraphrases.json"
SEED = 2626  # the scenes' draw; a prompt's render seed is its index
GENERATED = 200  # prompts made from the vocabulary below; HANDWRITTEN follow them
KINDS = ("synonym", "order", "extra", "typo", "handwritten")
SYNONYM_SHARE = 0.65  # prompts that use synonyms; the rest keep the world's plain words
TYPO_SHARE = 0.17
EXTRA_SHARE = 0.4

COLOUR_WORDS: dict[str, tuple[str, ...]] = {
    "red": ("crimson", "scarlet", "cherry-red", "ruby", "tomato-red"),
    "orange": ("tangerine", "pumpkin-orange", "apricot", "carrot-coloured", "clementine"),
    "yellow": ("lemon", "canary", "golden", "mustard", "buttercup"),
    "green": ("emerald", "lime", "jade", "leaf-green", "forest-green"),
    "blue": ("azure", "navy", "cobalt", "sapphire", "royal-blue"),
    "purple": ("violet", "lavender", "plum", "lilac", "amethyst"),
    "pink": ("rose", "bubblegum", "blush", "hot-pink", "flamingo"),
    "white": ("snowy", "ivory", "milky", "pearl", "chalk-white"),
}
SHAPE_WORDS: dict[str, tuple[str, ...]] = {
    "ball": ("orb", "sphere", "globe", "marble"),
    "box": ("cube", "crate", "block", "square"),
    "triangle": ("pyramid", "wedge", "three-sided shape"),
    "diamond": ("rhombus", "lozenge", "gem shape"),
    "star": ("five-pointed star", "starburst", "star shape"),
    "heart": ("heart shape", "love heart", "valentine"),
    "fish": ("goldfish", "minnow", "little fish"),
    "ghost": ("spook", "phantom", "spectre"),
    "cat": ("kitty", "kitten", "pussycat"),
}
Verb = tuple[str, str, str]  # bare, third person, -ing: "hop", "hops", "hopping"
MOTION_WORDS: dict[str, tuple[Verb, ...]] = {
    "left": (
        ("glide left", "glides left", "gliding left"),
        ("scoot to the left", "scoots to the left", "scooting to the left"),
        ("head leftward", "heads leftward", "heading leftward"),
        ("travel toward the left edge", "travels toward the left edge", "travelling toward the left edge"),
        ("cruise left", "cruises left", "cruising left"),
    ),
    "right": (
        ("glide right", "glides right", "gliding right"),
        ("scoot to the right", "scoots to the right", "scooting to the right"),
        ("head rightward", "heads rightward", "heading rightward"),
        ("zip right", "zips right", "zipping right"),
        ("cruise right", "cruises right", "cruising right"),
    ),
    "up": (
        ("climb upward", "climbs upward", "climbing upward"),
        ("ascend", "ascends", "ascending"),
        ("soar skyward", "soars skyward", "soaring skyward"),
        ("lift upward", "lifts upward", "lifting upward"),
        ("go up", "goes up", "going up"),
    ),
    "down": (
        ("descend", "descends", "descending"),
        ("sink toward the ground", "sinks toward the ground", "sinking toward the ground"),
        ("lower itself", "lowers itself", "lowering itself"),
        ("glide downward", "glides downward", "gliding downward"),
        ("go down", "goes down", "going down"),
    ),
    "bounce": (
        ("hop", "hops", "hopping"),
        ("jump", "jumps", "jumping"),
        ("bound", "bounds", "bounding"),
        ("boing", "boings", "boinging"),
        ("spring up and down", "springs up and down", "springing up and down"),
    ),
    "fall": (
        ("plummet", "plummets", "plummeting"),
        ("tumble down", "tumbles down", "tumbling down"),
        ("drop", "drops", "dropping"),
        ("plunge to the ground", "plunges to the ground", "plunging to the ground"),
        ("crash down", "crashes down", "crashing down"),
    ),
    "grow": (
        ("swell", "swells", "swelling"),
        ("expand", "expands", "expanding"),
        ("inflate", "inflates", "inflating"),
        ("get larger", "gets larger", "getting larger"),
        ("balloon in size", "balloons in size", "ballooning in size"),
    ),
    "shrink": (
        ("dwindle", "dwindles", "dwindling"),
        ("contract", "contracts", "contracting"),
        ("deflate", "deflates", "deflating"),
        ("get tinier", "gets tinier", "getting tinier"),
        ("shrivel up", "shrivels up", "shrivelling up"),
    ),
}
# The world's own words, for prompts that test order, extra words or typos without synonyms.
PLAIN_MOTION: dict[str, Verb] = {
    "left": ("move left", "moves left", "moving left"),
    "right": ("move right", "moves right", "moving right"),
    "up": ("rise", "rises", "rising"),
    "down": ("sink", "sinks", "sinking"),
    "bounce": ("bounce", "bounces", "bouncing"),
    "fall": ("fall", "falls", "falling"),
    "grow": ("grow", "grows", "growing"),
    "shrink": ("shrink", "shrinks", "shrinking"),
}
SPEED_WORDS: dict[str, tuple[str, ...]] = {
    "slowly": ("lazily", "at a snail's pace", "gently", "unhurriedly", "leisurely"),
    "quickly": ("fast", "rapidly", "swiftly", "at top speed", "in a hurry"),
}
BACKGROUND_WORDS: dict[str, tuple[str, ...]] = {
    "room": (
        "indoors on a cobalt floor",
        "in a room with a navy carpet",
        "on blue floor tiles indoors",
        "inside, over a blue-painted floor",
    ),
    "field": ("in a meadow", "on a lawn", "out in a pasture", "on a grassy hill", "among tall grass"),
    "night": ("after dark", "in the dead of night", "under the stars", "at midnight", "in the nighttime"),
    "beach": ("on the sand by the sea", "at the seaside", "on the shore", "on a sandy coast"),
    "gray": (
        "in a grey room",
        "in a dull concrete room",
        "against a plain grey backdrop",
        "in a bare, colourless studio",
    ),
}
PLAIN_BACKGROUND = {
    "room": "on a blue floor",
    "field": "in a grassy field",
    "night": "at night",
    "beach": "on the beach",
    "gray": "in a gray room",
}
COMPANY = (
    " beside a little {}",
    ", with a tiny {} resting on the ground",
    " near a wee {}",
    " while a small {} sits close by",
)
KNOCK = (
    ", crashing into a little {}",
    " until it bumps a tiny {}",
    ", smacking into a small {}",
    ", shoving a little {} along",
)
PREFIXES = (
    "honestly, ",
    "in the video, ",
    "okay so ",
    "I'd love to see ",
    "please make this: ",
    "imagine ",
    "cinematic shot: ",
    "my idea: ",
    "short clip, ",
)
SUFFIXES = (
    ", cinematic",
    " in the video",
    ", honestly",
    " please",
    ", 4k",
    ", super cute",
    " lol",
    " for my story",
    ", shot on film",
)
ADJECTIVES = ("cute ", "shiny ", "happy ", "funny little ")


def _article(phrase: str) -> str:
    return "an" if phrase[0] in "aeiou" else "a"


def _pick(rng: np.random.Generator, options: tuple[str, ...] | list[str]) -> str:
    return options[int(rng.integers(len(options)))]


def _words(scene: world.Scene, rng: np.random.Generator, synonyms: bool) -> dict[str, Any]:
    """The scene's parts in words: each part a synonym with some chance when `synonyms`, at least one."""
    slots = rng.random(5) < 0.6 if synonyms else np.zeros(5, bool)
    if synonyms and not slots.any():
        slots[int(rng.integers(5))] = True
    colour = _pick(rng, COLOUR_WORDS[scene.colour]) if slots[0] else scene.colour
    shape = _pick(rng, SHAPE_WORDS[scene.shape]) if slots[1] else scene.shape
    verb = MOTION_WORDS[scene.motion][int(rng.integers(5))] if slots[2] else PLAIN_MOTION[scene.motion]
    place = _pick(rng, BACKGROUND_WORDS[scene.background]) if slots[3] else PLAIN_BACKGROUND[scene.background]
    speed = scene.speed and (_pick(rng, SPEED_WORDS[scene.speed]) if slots[4] else scene.speed)
    company = ""
    if scene.second:
        c2, o2 = scene.second
        c2_word = _pick(rng, COLOUR_WORDS[c2]) if slots[0] else c2
        other = f"{c2_word} {_pick(rng, SHAPE_WORDS[o2]) if slots[1] else o2}"
        company = _pick(rng, KNOCK if scene.hits else COMPANY).format(other)
    return {"col": colour, "shape": shape, "verb": verb, "place": place, "speed": speed, "company": company}


def _canonical(w: dict[str, Any], rng: np.random.Generator) -> str:
    """Subject, verb, place: the order the world's captions use too."""
    subject = f"{w['col']} {w['shape']}"
    verb = w["verb"][1 + int(rng.integers(2))]
    speed = f" {w['speed']}" if w["speed"] else ""
    return f"{_article(subject)} {subject} {verb}{speed} {w['place']}{w['company']}"


def _reordered(w: dict[str, Any], rng: np.random.Generator) -> str:
    """The same parts in an order no world caption has."""
    col, shape, (bare, third, ing), place, company = w["col"], w["shape"], w["verb"], w["place"], w["company"]
    speed = f" {w['speed']}" if w["speed"] else ""
    subject = f"{col} {shape}"
    a, a_shape = _article(subject), _article(shape)
    forms = [
        f"{place} {third}{speed} {a} {subject}{company}",
        f"{ing}{speed} {place}: {a} {subject}{company}",
        f"{a_shape} {shape}, {col} in colour, that {third}{speed} {place}{company}",
        f"there is {a} {subject} {place} and it {third}{speed}{company}",
        f"{subject}, {ing}{speed}, {place}{company}",
        f"{place}: {shape} ({col}) {ing}{speed}{company}",
        f"watch {a} {subject} {bare}{speed} {place}{company}",
        f"{a_shape} {shape} painted {col} {third}{speed} {place}{company}",
    ]
    if w["speed"]:
        forms.append(f"{w['speed']}, {a} {subject} {third} {place}{company}")
    return _pick(rng, forms)


def _extra(text: str, w: dict[str, Any], rng: np.random.Generator) -> str:
    """Words that say nothing about the scene: before it, after it, or before the subject's colour."""
    where = int(rng.integers(3))
    if where == 0:
        return _pick(rng, PREFIXES) + text
    subject = f"{_article(w['col'])} {w['col']} "
    if where == 1 or subject not in text:
        return text + _pick(rng, SUFFIXES)
    adjective = _pick(rng, ADJECTIVES)
    return text.replace(subject, f"{_article(adjective)} {adjective}{w['col']} ", 1)


def _typo(word: str, rng: np.random.Generator) -> str:
    """One slip of the fingers: a letter dropped, doubled, swapped with the next, or a vowel changed."""
    i = 1 + int(rng.integers(len(word) - 2))  # never the first or last letter
    kind = int(rng.integers(4))
    if kind == 0:
        return word[:i] + word[i + 1 :]
    if kind == 1:
        return word[:i] + word[i] + word[i:]
    if kind == 2:
        return word[:i] + word[i + 1] + word[i] + word[i + 2 :]
    vowels = [j for j, c in enumerate(word) if c in "aeiou" and 0 < j < len(word) - 1]
    j = vowels[int(rng.integers(len(vowels)))] if vowels else i
    return word[:j] + _pick(rng, [v for v in "aeiou" if v != word[j]]) + word[j + 1 :]


def _misspell(text: str, w: dict[str, Any], rng: np.random.Generator) -> str:
    """A typo in one of the words that carry the scene: the colour, the shape or the verb."""
    targets = [
        w["col"].split("-")[0],
        w["shape"].split()[-1],
        w["verb"][1].split()[0],
        w["verb"][2].split()[0],
    ]
    present = [t for t in targets if len(t) >= 4 and f" {t}" in f" {text}"]
    if not present:
        return text
    word = _pick(rng, present)
    at = f" {text}".index(f" {word}")
    return text[:at] + _typo(word, rng) + text[at + len(word) :]


class _Scripted:
    """Stands in for a random generator that is only asked for `integers(n)`: answers from a fixed
    list of choices (0 past its end) and records each n asked for."""

    def __init__(self, choices: tuple[int, ...]) -> None:
        self.choices = choices
        self.asked: list[int] = []

    def integers(self, n: int) -> int:
        self.asked.append(n)
        return self.choices[len(self.asked) - 1] if len(self.asked) <= len(self.choices) else 0


def world_captions(scene: world.Scene) -> set[str]:
    """Every caption `world.caption` can write for the scene, lower-cased: it draws only integers,
    as many for a scene whatever they come out as, so every list of answers is every caption."""

    def caption(choices: tuple[int, ...]) -> tuple[str, list[int]]:
        scripted = _Scripted(choices)
        return world.caption(scene, cast(np.random.Generator, scripted)), scripted.asked

    _, asked = caption(())
    return {caption(choices)[0].lower() for choices in itertools.product(*(range(n) for n in asked))}


def reuses_a_caption(text: str, scene: world.Scene) -> bool:
    lowered = text.lower()
    return any(caption in lowered for caption in world_captions(scene))


def paraphrase(scene: world.Scene, rng: np.random.Generator) -> tuple[str, list[str]]:
    """One prompt for the scene and the kinds it exercises; drawn again while it reuses a caption."""
    while True:
        synonyms = bool(rng.random() < SYNONYM_SHARE)
        reorder = bool(rng.random() < 0.5) or not synonyms  # plain words alone would be a caption
        words = _words(scene, rng, synonyms)
        text = _reordered(words, rng) if reorder else _canonical(words, rng)
        kinds = [k for k, on in (("synonym", synonyms), ("order", reorder)) if on]
        if rng.random() < EXTRA_SHARE:
            text, kinds = _extra(text, words, rng), [*kinds, "extra"]
        if rng.random() < TYPO_SHARE:
            slipped = _misspell(text, words, rng)
            if slipped != text:
                text, kinds = slipped, [*kinds, "typo"]
        if rng.random() < 0.3:
            text = text[0].upper() + text[1:] + ("." if text[-1].isalpha() else "")
        if not reuses_a_caption(text, scene):
            return text, kinds


# Sentences written by hand, one per scene after the generated ones (the scene's index, in order):
# (colour, shape, motion) repeats the drawn scene so that the two cannot drift apart, then the
# sentence and its kinds.
HANDWRITTEN: tuple[tuple[tuple[str, str, str], str, tuple[str, ...]], ...] = (
    (
        ("green", "heart", "right"),
        "Make me a video of an emerald heart dashing to the right across the sand by the sea, nice and fast.",
        ("synonym", "extra"),
    ),
    (
        ("red", "diamond", "grow"),
        "Indoors on a blue floor, a scarlet rhombus swells up quickly "
        "while a small tangerine rhombus just sits there.",
        ("synonym", "order"),
    ),
    (
        ("yellow", "fish", "up"),
        "A yelow goldfish swims upward in a room with a blue carpet, a "
        "tiny red heart lying on the floor beside it.",
        ("synonym", "typo"),
    ),
    (
        ("yellow", "heart", "up"),
        "In a grey, empty room, a canary-yellow love heart creeps up toward the ceiling, taking its time.",
        ("synonym", "order"),
    ),
    (
        ("blue", "star", "fall"),
        "cobalt star drops out of the sky onto the meadow, landing next to a little rose-coloured ball",
        ("synonym",),
    ),
    (
        ("purple", "ghost", "down"),
        "On the sand by the ocean a violet spook sinks fast, honestly kind of spooky",
        ("synonym", "order", "extra"),
    ),
    (
        ("red", "star", "grow"),
        "i want a crimsn star that slowly gets bigger and bigger, blue floor indoors",
        ("synonym", "order", "extra", "typo"),
    ),
    (
        ("purple", "diamond", "down"),
        "Over a grassy meadow, a plum-coloured rhombus descends in a rush.",
        ("synonym", "order"),
    ),
    (
        ("blue", "ghost", "shrink"),
        "navy phantom shrinking fast in a gray room, a pink kitty waiting on the floor",
        ("synonym",),
    ),
    (
        ("yellow", "fish", "up"),
        "There's a golden fish rising out of the long grass, and a "
        "little red pyramid sits on the ground by it.",
        ("synonym", "order"),
    ),
    (
        ("green", "heart", "right"),
        "Cinematic: in a concrete-grey room a jade heart slides across to the right side of the frame.",
        ("synonym", "order", "extra"),
    ),
    (
        ("green", "heart", "right"),
        "lime-green valentine slowly making its way right along a blue "
        "floor, a small purple rhombus on the floor",
        ("synonym",),
    ),
    (
        ("purple", "ghost", "right"),
        "A lavender ghost races to the right through the meadow and "
        "knocks into a small pink star, sending it skidding.",
        ("synonym",),
    ),
    (
        ("white", "ghost", "left"),
        "snow-white phantom glides over the beach toward the left, a "
        "small tangerine phantom waiting on the sand",
        ("synonym",),
    ),
    (
        ("blue", "diamond", "fall"),
        "in the grass, a sapphire gem shape falls from above and lands; a small purple fish lies nearby",
        ("synonym", "order"),
    ),
    (("pink", "fish", "bounce"), "Pink fish boucing up and down in a dull gray room lol", ("typo", "extra")),
    (
        ("purple", "triangle", "down"),
        "At midnight, a violet pyramid descends quickly from the top of the frame.",
        ("synonym", "order"),
    ),
    (
        ("orange", "fish", "down"),
        "quick clip: a tangerine goldfish going downwards fast over a navy-blue floor indoors",
        ("synonym", "extra"),
    ),
    (("blue", "ghost", "fall"), "A navy blue ghost plummets to the ground in a green field.", ("synonym",)),
    (
        ("pink", "box", "bounce"),
        "a rose-pink crate bounces like crazy on a blue floor with a small purple rhombus sitting there",
        ("synonym", "extra"),
    ),
    (
        ("blue", "diamond", "fall"),
        "beach scene. a cobalt diamond drops onto the sand beside a little green kitty",
        ("synonym", "order"),
    ),
    (("orange", "heart", "bounce"), "an orange heart hops lazily along the shoreline", ("synonym",)),
    (
        ("red", "ghost", "left"),
        "Quick! A ruby red spooky ghost zooms off to the left in a grey room",
        ("synonym", "extra"),
    ),
    (("orange", "heart", "bounce"), "On a blue floor, in a room: orange heart, slow bouncing.", ("order",)),
    (
        ("red", "triangle", "left"),
        "a red triangle racing leftwards across the blue floor of a room, very fast",
        ("synonym", "extra"),
    ),
    (
        ("pink", "ghost", "bounce"),
        "pinkk ghost boinging around on blue tiles, a purple ball parked beside it",
        ("synonym", "typo"),
    ),
    (
        ("yellow", "fish", "up"),
        "A lemon-yellow fish slowly swims up to the top, the floor below is blue",
        ("synonym", "order"),
    ),
    (
        ("blue", "diamond", "shrink"),
        "by the sea on the sand, an azure diamond gradually gets smaller and smaller",
        ("synonym", "order"),
    ),
    (
        ("purple", "fish", "right"),
        "a slow violet fish swimming right along the beach, with a small green fish lying on the sand",
        ("synonym",),
    ),
    (
        ("blue", "cat", "fall"),
        "In the dark, a blue kitten tumbles to the ground next to a tiny white heart",
        ("synonym", "order"),
    ),
    (
        ("red", "fish", "left"),
        "A red fish slides left across a grey room and bumps into a little orange triangle, knocking it away",
        ("synonym",),
    ),
    (
        ("yellow", "triangle", "up"),
        "yellow triangle going up, room with blue floor, small green diamond on the floor",
        ("order",),
    ),
    (
        ("pink", "cat", "bounce"),
        "a bubblegum-pink cat jumping around in a grassy meadow, so cute",
        ("synonym", "extra"),
    ),
    (("orange", "star", "bounce"), "gentle bouncing orange strar in a field of grass", ("typo", "order")),
    (
        ("purple", "star", "down"),
        "a purple starr slowly sinking down over a green meadow",
        ("synonym", "typo"),
    ),
    (
        ("red", "ball", "grow"),
        "a cherry-red sphere rapidly puffs up on a sandy beach beside a little golden ball",
        ("synonym",),
    ),
)


def scene_truth(scene: world.Scene) -> dict[str, Any]:
    return {
        "colour": scene.colour,
        "shape": scene.shape,
        "motion": scene.motion,
        "background": scene.background,
        "speed": scene.speed,
        "second": list(scene.second) if scene.second else None,
        "hits": scene.hits,
    }


def scenes() -> Iterator[world.Scene]:
    rng = np.random.default_rng(SEED)
    while True:
        yield world.scene_sample(rng, held_out=True, pans=False)


def prompts_make() -> list[dict[str, Any]]:
    words_rng = np.random.default_rng(SEED + 1)
    rows = []
    for index, scene in zip(range(GENERATED + len(HANDWRITTEN)), scenes(), strict=False):
        if index < GENERATED:
            text, kinds = paraphrase(scene, words_rng)
        else:
            (colour, shape, motion), text, hand_kinds = HANDWRITTEN[index - GENERATED]
            if (colour, shape, motion) != (scene.colour, scene.shape, scene.motion):
                raise ValueError(f"hand-written prompt {index} is not about its scene {scene}")
            if reuses_a_caption(text, scene):
                raise ValueError(f"hand-written prompt {index} reuses a world caption: {text!r}")
            text, kinds = text, ["handwritten", *hand_kinds]
        rows.append(
            {"id": f"p{index:03d}", "text": text, "kinds": kinds, "seed": index, "scene": scene_truth(scene)}
        )
    return rows


def main() -> None:
    rows = prompts_make()
    document = {
        "about": (
            "Held-out scenes of the built-in world (colour x motion pairs never seen in training), "
            "each described in words written apart from the world's captions and the prompt enhancer; "
            "made by bench/paraphrases_make.py"
        ),
        "scene_seed": SEED,
        "kinds": list(KINDS),
        "prompts": rows,
    }
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(document, indent=1, ensure_ascii=False) + "\n")
    counts = {kind: sum(kind in row["kinds"] for row in rows) for kind in KINDS}
    print(json.dumps({"prompts": len(rows), "kinds": counts}))


if __name__ == "__main__":
    main()
