"""The enhancer's own development set: paraphrases of held-out scenes (world.HELD_OUT colour x motion
pairs) with the colour, shape and motion each one means, written to tune the built-in enhancer on.
The benchmark (bench/creation.py) scores it on another set, written apart from its vocabulary.

`python -m tests.generation.enhance_dev` prints the attribute accuracy and the latency.
"""

from __future__ import annotations

import json
import os
import sys
import time

# (prompt, colour, shape, motion). About a third use words the vocabulary does not list (marked *).
DEV: tuple[tuple[str, str, str, str], ...] = (
    # red, left
    ("a crimson ball rolling to the left on a blue floor", "red", "ball", "left"),
    ("leftward goes the scarlet cube, slowly", "red", "box", "left"),
    ("strawberry-red heart sliding left across the sand", "red", "heart", "left"),  # *
    ("a red kitty heads left, the camera still", "red", "cat", "left"),
    ("the firetruck red star scoots to the left", "red", "star", "left"),  # *
    ("a ruby diamond drifitng left at night", "red", "diamond", "left"),
    # orange, bounce
    ("an orange ball bouncing in a grassy field", "orange", "ball", "bounce"),
    ("tangerine cube hopping up and down on the beach", "orange", "box", "bounce"),
    ("bouncing happily, a pumpkin-coloured star", "orange", "star", "bounce"),
    ("a citrus orange fish that keeps bobbing up and down", "orange", "fish", "bounce"),  # *
    ("an amber ghost bounsing quickly in a grey room", "orange", "ghost", "bounce"),
    ("the orange triangle jumps around on green grass", "orange", "triangle", "bounce"),
    # yellow, up
    ("a yellow balloon-like ball floating up into the sky", "yellow", "ball", "up"),
    ("golden star rising slowly at night", "yellow", "star", "up"),
    ("a lemon cube ascends on a sandy beach", "yellow", "box", "up"),
    ("upward drifts a daffodil yellow heart", "yellow", "heart", "up"),  # *
    ("a mustard kitten levitates, camera pans right", "yellow", "cat", "up"),
    ("a yelow pyramid climbing higher and higher", "yellow", "triangle", "up"),
    # green, right
    ("a green ball moving to the right", "green", "ball", "right"),
    ("an emerald cube slides rightward on a navy floor", "green", "box", "right"),
    ("to the right glides a lime fish", "green", "fish", "right"),
    ("avocado green ghost travelling right across the meadow", "green", "ghost", "right"),  # *
    ("a jade gem sailing towards the right side of the frame", "green", "diamond", "right"),  # *
    ("the greeen star quickly zips right", "green", "star", "right"),  # *
    # blue, fall
    ("a blue ball falling onto the floor", "blue", "ball", "fall"),
    ("navy cube drops to the ground in a grassy field", "blue", "box", "fall"),
    ("an azure heart plummets at night", "blue", "heart", "fall"),
    ("denim blue kitten tumbling down onto the sand", "blue", "cat", "fall"),  # *
    ("a cobalt triangle falls down in a plain grey room", "blue", "triangle", "fall"),
    ("the sapphire star, suddenly faling", "blue", "star", "fall"),
    # purple, down
    ("a purple ball sinking slowly", "purple", "ball", "down"),
    ("violet cube descending gently on green grass", "purple", "box", "down"),
    ("a lavender ghost drifts downward at night", "purple", "ghost", "down"),
    ("lilac heart moving down on the beach", "purple", "heart", "down"),
    ("a plum-coloured fish lowering itself towards the floor", "purple", "fish", "down"),  # *
    ("the purpel star goes down, camera panning left", "purple", "star", "down"),
    # pink, bounce
    ("a pink ball bouncing on a blue floor", "pink", "ball", "bounce"),
    ("magenta cube hopping in a gray room", "pink", "box", "bounce"),
    ("a rose-coloured heart springs up and down on the beach", "pink", "heart", "bounce"),
    ("bubblegum kitty leaping about in the meadow", "pink", "cat", "bounce"),
    ("a candy pink fish boinging along at night", "pink", "fish", "bounce"),  # *
    ("the fuchsia triangle keeps bouncng", "pink", "triangle", "bounce"),
    # white, left
    ("a white ball moving left on the beach", "white", "ball", "left"),
    ("ivory cube sliding to the left at night", "white", "box", "left"),
    ("a snowy ghost drifts leftwards", "white", "ghost", "left"),
    ("porcelain white star gliding left on a blue floor", "white", "star", "left"),  # *
    ("a frosty-white fish swims leftward through a grassy field", "white", "fish", "left"),  # *
    ("the whte heart travels to the left", "white", "heart", "left"),
    # red, grow
    ("a red ball growing bigger and bigger", "red", "ball", "grow"),
    ("a crimson cube expands on a blue floor", "red", "box", "grow"),
    ("scarlet star swelling up slowly at night", "red", "star", "grow"),
    ("a cherry heart inflating on the beach", "red", "heart", "grow"),
    ("a tomato-red ghost that puffs up in a grey room", "red", "ghost", "grow"),  # *
    ("the red kitten getting larger on green grass", "red", "cat", "grow"),  # *
    # blue, shrink
    ("a blue ball shrinking", "blue", "ball", "shrink"),
    ("cobalt cube getting smaller on the sand", "blue", "box", "shrink"),
    ("an ocean-blue star dwindles away at night", "blue", "star", "shrink"),  # *
    ("a turquoise fish shrinks slowly in a gray room", "blue", "fish", "shrink"),
    ("the navy heart deflates on green grass", "blue", "heart", "shrink"),
    ("a sky blue ghost shrinkng quickly", "blue", "ghost", "shrink"),
    # orange, down
    ("an orange ball sinking on a blue floor", "orange", "ball", "down"),
    ("a tangerine cube descends slowly at night", "orange", "box", "down"),
    ("apricot star drifting downwards over the beach", "orange", "star", "down"),
    ("a copper heart moving down in a grassy field", "orange", "heart", "down"),
    ("papaya-orange fish gently sinks towards the floor", "orange", "fish", "down"),  # *
    ("the orage kitten going down slowly", "orange", "cat", "down"),
    # purple, right
    ("a purple ball moving right", "purple", "ball", "right"),
    ("violet cube slides to the right on the beach", "purple", "box", "right"),
    ("an amethyst diamond drifting rightward at night", "purple", "diamond", "right"),
    ("a grape-coloured ghost glides right over green grass", "purple", "ghost", "right"),
    ("to the right, a wine purple fish heads off", "purple", "fish", "right"),  # *
    ("the purple star travels right while the camera stays put", "purple", "star", "right"),
)

# Written after the first version (e1d9251) and scored once before any change ("first contact": colour
# 0.825, shape 1.0, motion 0.975 on these 40); the misses then led to generic fixes (a "-coloured"
# suffix, swapped letters, comparatives), and these joined the set.
SECOND: tuple[tuple[str, str, str, str], ...] = (
    ("watch as a blood-red disc slips off toward the left edge", "red", "ball", "left"),
    ("leftwards, slowly, drifts a maroon square", "red", "box", "left"),
    ("A rusty orange orb keeps boinging on the lawn", "orange", "ball", "bounce"),
    ("the peach coloured pyramid hops about on a beach", "orange", "triangle", "bounce"),
    ("a gold star soars upward into a dark night sky", "yellow", "star", "up"),
    ("banana yellow block rising up off the ground", "yellow", "box", "up"),
    ("the honey-coloured cat floats up gently", "yellow", "cat", "up"),
    ("a mint green diamond sliding towards the right", "green", "diamond", "right"),
    ("olive colored box heading rightwards across grass", "green", "box", "right"),
    ("forest-green ghost cruises to the right at midnight", "green", "ghost", "right"),
    ("an indigo ball drops onto the floor", "purple", "ball", "fall"),
    ("a baby blue fish falls from above onto sand", "blue", "fish", "fall"),
    ("cerulean cube tumbling to the ground", "blue", "box", "fall"),
    ("a mauve heart slowly descending", "purple", "heart", "down"),
    ("eggplant purple star slipping downward in a gray studio", "purple", "star", "down"),
    ("the orchid triangle going downwards", "purple", "triangle", "down"),
    ("hot pink ball bounding around a blue room", "pink", "ball", "bounce"),
    ("a blush-pink ghost jumps repeatedly", "pink", "ghost", "bounce"),
    ("coral kitten bouncing up and down on the shore", "pink", "cat", "bounce"),
    ("a pearl white heart moves towards the left", "white", "heart", "left"),
    ("cream colored sphere rolls leftward on the sand", "white", "ball", "left"),
    ("a chalk-white fish darts left at night", "white", "fish", "left"),
    ("a red orb gradually getting larger", "red", "ball", "grow"),
    ("burgundy star swells in size on the lawn", "red", "star", "grow"),
    ("a vermilion box growing huge", "red", "box", "grow"),
    ("a blue heart gets tinier and tinier", "blue", "heart", "shrink"),
    ("royal blue cat shrinking down on the beach", "blue", "cat", "shrink"),
    ("cyan triangle contracts slowly in a plain grey room", "blue", "triangle", "shrink"),
    ("an orange ghost sinking toward the sand", "orange", "ghost", "down"),
    ("a rust colored fish descending at night", "orange", "fish", "down"),
    ("a pumpkin ball moves downward slowly", "orange", "ball", "down"),
    ("a purple cube glides right across a blue floor", "purple", "box", "right"),
    ("violet ghost travels rightward under the stars", "purple", "ghost", "right"),
    ("lilac kitty strolling to the right", "purple", "cat", "right"),
    ("a red triangle zooms left, the camera panning right", "red", "triangle", "left"),
    ("yellow fish swimming upwards next to a small blue box", "yellow", "fish", "up"),
    ("a grren ball movng right", "green", "ball", "right"),
    ("a bleu star falling", "blue", "star", "fall"),
    ("an oragne cube bouncing", "orange", "box", "bounce"),
    ("a pnik heart boucning in the park", "pink", "heart", "bounce"),
)

# Written after the second batch's fixes and scored once: the honest estimate (colour 0.944, shape
# 1.0, motion 1.0 on these 36 at first contact; misses: "marmalade", "ocean coloured"). Not tuned on,
# with one exception to own up to: reading "X coloured" as a colour (any X) came after seeing the miss.
HELD_BACK: tuple[tuple[str, str, str, str], ...] = (
    ("picture a ruby-toned globe gliding leftward beside a little white cube", "red", "ball", "left"),
    ("Slowly to the left: one crimson heart, with the camera panning right", "red", "heart", "left"),
    ("there's a firey red fish swimming left past a small yellow star", "red", "fish", "left"),
    ("an orange-ish box boings up and down beside a tiny purple heart", "orange", "box", "bounce"),
    ("on a grassy hill a marmalade cat keeps hopping", "orange", "cat", "bounce"),
    ("Bouncy bouncy! a tangerine-hued diamond on the seashore", "orange", "diamond", "bounce"),
    ("a canary-yellow ghost lifts upward into the night", "yellow", "ghost", "up"),
    ("watch the gold coloured triangle ascend slowly", "yellow", "triangle", "up"),
    ("rising quickly, a lemony star", "yellow", "star", "up"),
    ("a leafy green cube pushes right into a small pink ball", "green", "box", "right"),
    ("the lime-colored kitty scurries rightwards across a navy carpet", "green", "cat", "right"),
    ("emerald heart sliding right fast, camera tracks left", "green", "heart", "right"),
    ("a deep blue sphere plunges to the floor of a gray room", "blue", "ball", "fall"),
    ("suddenly an ocean coloured ghost drops down", "blue", "ghost", "fall"),
    ("a cyan fishy tumbles down onto the beach", "blue", "fish", "fall"),
    ("a violet-purple box drifting lower and lower", "purple", "box", "down"),
    ("purple star descending calmly in a meadow", "purple", "star", "down"),
    ("a grapey cat sinks down at nighttime", "purple", "cat", "down"),
    ("a rosy pink ball bounces on the sand next to a white box", "pink", "ball", "bounce"),
    ("magenta ghost jumping up and down in a plain gray room", "pink", "ghost", "bounce"),
    ("a bright pink star hopping slowly", "pink", "star", "bounce"),
    ("white cube slides towards the left, then bumps a small red star", "white", "box", "left"),
    ("a snow-white kitten creeping left across the lawn", "white", "cat", "left"),
    ("an off-white diamond moving leftwards at night", "white", "diamond", "left"),
    ("a scarlet ghost swells up bigger and bigger", "red", "ghost", "grow"),
    ("red triangle expanding slowly on the beach", "red", "triangle", "grow"),
    ("the reddish fish grows", "red", "fish", "grow"),
    ("a blue cube getting smaller and smaller at night", "blue", "box", "shrink"),
    ("navy-blue star shrinks quickly", "blue", "star", "shrink"),
    ("a blu heart shrinkin in a grassy field", "blue", "heart", "shrink"),
    ("orange fish sinks slowly under the night sky", "orange", "fish", "down"),
    ("an amber triangle lowering down onto green grass", "orange", "triangle", "down"),
    ("the ornage star descends", "orange", "star", "down"),
    ("a purple ghost hurries to the right", "purple", "ghost", "right"),
    ("lavender ball rolling right beside a small green box", "purple", "ball", "right"),
    ("a puprle heart slides right on a blue floor", "purple", "heart", "right"),
)

# Written after 6045e5c and scored once, never tuned on: colour, shape and motion all 1.0 on these 40 at
# first contact. Written by the vocabulary's author, who knows its words: an optimistic estimate (the
# benchmark's paraphrases, written apart, are the real one).
LAST: tuple[tuple[str, str, str, str], ...] = (
    ("Imagine a cardinal-red bubble gliding to the left over a calm lawn", "red", "ball", "left"),
    ("i want a cherry colored square that goes left really slowly", "red", "box", "left"),
    ("crimson spook floating leftwards in the dark, very eerie", "red", "ghost", "left"),
    ("persimmon dice bouncing like crazy in a studio", "orange", "box", "bounce"),
    ("an apricot-tinted valentine doing little hops on the dunes", "orange", "heart", "bounce"),
    ("tangerine goldfish leaps up and down on a blue rug", "orange", "fish", "bounce"),
    ("a buttercup yellow crystal climbing steadily upward", "yellow", "diamond", "up"),
    ("dandelion-colored tomcat ascending toward the top of the screen", "yellow", "cat", "up"),
    ("the sunflower orb drifts skyward at midnight", "yellow", "ball", "up"),
    ("A moss green crate cruising rightwards along the floor", "green", "box", "right"),
    ("shamrock kitty pads over to the right side", "green", "cat", "right"),
    ("pistachio heart traveling east across a meadow", "green", "heart", "right"),
    ("periwinkle-blue marble falling off a ledge onto the carpet", "blue", "ball", "fall"),
    ("a denim block topples down at night", "blue", "box", "fall"),
    ("aqua phantom plummeting to the sand below", "blue", "ghost", "fall"),
    ("a heather purple pyramid slowly sinks in an empty room", "purple", "triangle", "down"),
    ("mulberry calico descending toward the ground", "purple", "cat", "down"),
    ("an amethyst goldfish dipping downward by the ocean", "purple", "fish", "down"),
    ("raspberry pink sphere springing around a grey studio", "pink", "ball", "bounce"),
    ("watermelon-pink moggy keeps jumping on the lawn", "pink", "cat", "bounce"),
    ("peony star bopping up and down", "pink", "star", "bounce"),
    ("a linen-white lozenge slides to the left", "white", "diamond", "left"),
    ("vanilla colored wraith heading left under the moon", "white", "ghost", "left"),
    ("platinum triangle scooting leftward on the sand", "white", "triangle", "left"),
    ("garnet cube swelling larger and larger", "red", "box", "grow"),
    ("a scarlet koi puffing up in a garden", "red", "fish", "grow"),
    ("claret heart expanding slowly in a plain room", "red", "heart", "grow"),
    ("powder blue orb shriveling up on the shore", "blue", "ball", "shrink"),
    ("a steel-blue kitten getting tinier", "blue", "cat", "shrink"),
    ("cornflower gem contracting at night", "blue", "diamond", "shrink"),
    ("terracotta ghost gently settling down on the lawn", "orange", "ghost", "down"),
    ("a mandarin-orange box lowering itself slowly", "orange", "box", "down"),
    ("burnt orange star drifting downward inside", "orange", "star", "down"),
    ("a royal purple fish swims off to the right", "purple", "fish", "right"),
    ("plum colored orb rolling rightward at dusk", "purple", "ball", "right"),
    ("an orchid heart glides right past a tiny white cube", "purple", "heart", "right"),
    ("a scralet ball slidding left", "red", "ball", "left"),
    ("a yelow cat rizing", "yellow", "cat", "up"),
    ("pruple ghsot moving rihgt", "purple", "ghost", "right"),
    ("a blue box shrnking slowley", "blue", "box", "shrink"),
)


def accuracy(cases: tuple[tuple[str, str, str, str], ...] = DEV + SECOND) -> dict[str, float]:
    from generation.enhance.mapper import world_enhance

    hits = {"colour": 0, "shape": 0, "motion": 0, "all": 0}
    for prompt, colour, shape, motion in cases:
        scene = world_enhance(prompt).scene
        assert scene is not None
        right = {"colour": scene["colour"] == colour, "shape": scene["shape"] == shape}
        right["motion"] = scene["motion"] == motion
        right["all"] = all(right.values())
        for key, ok in right.items():
            hits[key] += ok
    return {key: count / len(cases) for key, count in hits.items()}


def main() -> None:
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    django.setup()
    from generation.enhance.mapper import world_enhance

    started = time.perf_counter()
    world_enhance("a red ball bouncing")
    first = time.perf_counter() - started
    started = time.perf_counter()
    figures = accuracy()
    warm = (time.perf_counter() - started) / len(DEV + SECOND)
    timing = {"first_call_s": round(first, 2), "warm_call_ms": round(warm * 1000, 1)}
    out = {
        "n": len(DEV + SECOND),
        **figures,
        "held_back": accuracy(HELD_BACK),
        "last": accuracy(LAST),
        **timing,
    }
    sys.stdout.write(json.dumps(out) + "\n")


if __name__ == "__main__":
    main()
