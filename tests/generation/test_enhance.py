"""Prompt enhancement: the built-in model's mapping onto its world by meaning, storyboards, the
diffusers templates, and the cost of a call once the embedder is loaded."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from generation.builtin import world
from generation.builtin.evaluate import held_out_cases
from generation.enhance import Enhanced, enhancer_family, prompt_enhance, shots_enhance, spans, vocabulary
from generation.enhance.spans import tokenize
from generation.enhance.vocabulary import STOPWORDS

NOTES = "@robo (Robo): a cheerful cardboard robot. @alice (Alice): always wearing a red cap."


def builtin(prompt: str) -> Enhanced:
    return prompt_enhance(prompt, family="builtin")


@pytest.mark.parametrize(
    ("prompt", "caption"),
    [
        ("a cherry-red sphere hopping on a navy floor", "a red ball bouncing on a blue floor"),
        ("crimson ball bouncing, blue ground", "a red ball bouncing on a blue floor"),
        ("on the sand, hopping up and down, a tangerine cube", "an orange box bouncing on the beach"),
        ("a lovely emerald fish gliding towards the right", "a green fish moving right on a blue floor"),
        ("a bouncng purpel ball in a grey room", "a purple ball bouncing in a gray room"),
        (
            "a scarlet cube glides to the right and crashes into a little green pyramid, camera panning left",
            "a red box moving right on a blue floor until it hits a small green triangle"
            " as the camera pans left",
        ),
        ("next to a small yellow one, a violet kitten sinks slowly at night", None),
        ("an ocean-blue star dwindles at night", "a blue star shrinking at night"),
        ("a rust colored fish falls onto golden sand", "an orange fish falling on the beach"),
    ],
    ids=[
        "synonyms",
        "terse",
        "word-order",
        "extra-words",
        "typos",
        "second-object-pan",
        "cue-first",
        "said-to-be-a-colour",
        "coloured-and-a-coloured-place",
    ],
)
def test_a_paraphrase_maps_to_the_world_caption(prompt, caption):
    enhanced = builtin(prompt)

    if caption is None:  # the second object comes first in the prompt: the main one is still the kitten
        assert enhanced.caption == "a purple cat sinking slowly at night next to a small yellow box"
    else:
        assert enhanced.caption == caption
    assert enhanced.enhancer == "builtin-world/1"


def test_the_worlds_own_captions_map_back_to_their_scenes():
    """Every part of a scene survives the trip: second objects, knocks, pans, speeds, places."""
    for case in held_out_cases(40):
        enhanced = builtin(case.prompt)
        scene = enhanced.scene
        assert scene is not None
        second = tuple(scene["second"]) if scene["second"] else None
        rebuilt = world.Scene(
            scene["colour"],
            scene["shape"],
            scene["motion"],
            scene["background"],
            scene["speed"],
            scene["pan"],
            second,
            scene["hits"],
        )
        assert rebuilt == case.scene, case.prompt
        assert enhanced.unmapped == (), case.prompt


def test_the_caption_is_in_the_worlds_own_wording():
    enhanced = builtin("a crimson ball bouncing, blue ground")
    scene = enhanced.scene

    assert scene is not None
    rebuilt = world.Scene(scene["colour"], scene["shape"], scene["motion"], scene["background"])
    ing = world._VERBS[rebuilt.motion][0][0]
    assert (
        enhanced.caption == f"a {rebuilt.colour} {rebuilt.shape} {ing} {world.BACKGROUNDS['room'].phrases[0]}"
    )


def test_a_place_that_would_hide_the_object_gives_way_and_is_reported():
    enhanced = builtin("a white star spinning in a room")  # the world's room is white above, blue below

    assert enhanced.unmapped == ("room",)
    assert enhanced.scene is not None
    assert "background" in enhanced.scene["defaulted"]
    assert not world.colour_clashes("white", enhanced.scene["background"])


def test_the_floor_alone_names_no_place():
    enhanced = builtin("a blue ball falling onto the floor")

    assert enhanced.scene is not None
    assert "background" in enhanced.scene["defaulted"]
    assert enhanced.unmapped == ()


def test_words_the_world_cannot_show_are_reported_in_order():
    enhanced = builtin("a purple dragon flying over a castle at night")

    assert enhanced.unmapped == ("dragon", "castle")
    assert enhanced.scene is not None
    assert enhanced.scene["colour"] == "purple"
    assert enhanced.scene["background"] == "night"
    assert "shape" in enhanced.scene["defaulted"]


@pytest.mark.parametrize(
    ("prompt", "dropped"),
    [
        ("a red ball bouncing and spinning", ("spinning",)),  # one motion per scene
        ("a red ball and a blue box and a green star", ("green", "star")),  # room for two objects
        ("a fast falling ball", ("fast",)),  # a fall has gravity's speed
        ("a white ghost on the beach at night", ("night",)),  # one place
        ("a big pink cat spinning", ("big",)),  # sizes are the world's to pick
        ("a bright green ball drifting by the edge", ("bright", "edge")),  # real words, not typos
        (
            "a red ball in the water near a tree, photo, soft light",
            ("water", "tree", "photo", "soft", "light"),
        ),
    ],
    ids=[
        "second-motion",
        "third-object",
        "speed-of-a-fall",
        "second-place",
        "size",
        "no-false-typos",
        "everyday-words",
    ],
)
def test_what_the_scene_cannot_hold_is_reported_not_dropped(prompt, dropped):
    assert builtin(prompt).unmapped == dropped


@pytest.mark.parametrize(
    "prompt",
    [
        "a cherry-red sphere hopping on a navy floor",
        "please show me a lovely emerald fish gliding towards the right, music playing",
        "an enormous golden pyramid spins wildly above the ocean",
        "two dogs chase a frisbee through the park",
    ],
)
def test_every_content_word_is_in_the_caption_or_unmapped(prompt):
    """The words the scene took are the ones whose meaning reached the caption; all others are listed."""
    enhanced = builtin(prompt)
    content = [t.text for t in tokenize(prompt) if t.content]

    assert [w for w in content if w in enhanced.unmapped] == list(enhanced.unmapped)
    for word in content:
        if word not in enhanced.unmapped:
            assert word not in STOPWORDS


def test_a_cameo_handle_is_left_to_the_cast():
    """The built-in engine pastes a cast cameo over the main object; its handle is no unmapped word."""
    enhanced = builtin("@robo.the_bot bounces slowly, a blue star")

    assert enhanced.caption == "a blue star bouncing slowly in a grassy field"
    assert enhanced.unmapped == ()


@pytest.mark.parametrize("colour", list(world.COLOURS))
def test_a_default_background_never_hides_the_object(colour):
    scene = builtin(f"a {colour} star").scene

    assert scene is not None
    assert scene["colour"] == colour
    assert "background" in scene["defaulted"]
    assert not world.colour_clashes(colour, scene["background"])


@pytest.mark.parametrize("background", list(world.BACKGROUNDS))
def test_default_colours_never_clash_with_the_background(background):
    phrase = world.BACKGROUNDS[background].phrases[0]
    scene = builtin(f"a star spinning {phrase} next to a small box").scene

    assert scene is not None
    assert scene["background"] == background
    assert {"colour", "second_colour"} <= set(scene["defaulted"])
    main, second = scene["colour"], scene["second"][0]
    assert main != second
    assert not world.colour_clashes(main, background)
    assert not world.colour_clashes(second, background)


def test_storyboard_objects_keep_their_colour_and_shape_across_shots():
    shots = shots_enhance(
        [
            "a red fish swims right on the beach",
            "the fish bounces",
            "a green star spins",
            "then it grows",
            "the fish falls",
        ],
        family="builtin",
    )

    captions = [s.caption for s in shots]
    assert captions == [
        "a red fish moving right on the beach",
        "a red fish bouncing on the beach",
        "a green star spinning on the beach",
        "a green star growing on the beach",
        "a red fish falling on the beach",
    ]
    assert shots[1].scene is not None
    assert shots[1].scene["carried"] == ["colour", "background"]


def test_a_storyboard_place_that_would_hide_a_new_object_does_not_carry():
    first, second = shots_enhance(
        ["a blue fish swims right on the grass", "a green star spins"], family="builtin"
    )

    assert first.scene is not None
    assert second.scene is not None
    assert first.scene["background"] == "field"
    assert "background" not in second.scene["carried"]
    assert not world.colour_clashes("green", second.scene["background"])


def test_a_new_object_in_a_storyboard_gets_a_colour_of_its_own():
    first, second = shots_enhance(["a red fish swims right", "a ball bounces"], family="builtin")

    assert first.scene is not None
    assert second.scene is not None
    assert second.scene["shape"] == "ball"
    assert second.scene["colour"] != "red"


def test_the_ltx2_template_keeps_the_prompt_first_and_adds_sound_and_the_cast():
    enhanced = prompt_enhance("@robo waves at @alice in a kitchen", family="LTX2Pipeline", cast_notes=NOTES)

    assert enhanced.caption.startswith("@robo waves at @alice in a kitchen. Cast: " + NOTES)
    assert "camera" in enhanced.caption
    assert "light" in enhanced.caption
    assert "Sound:" in enhanced.caption
    assert enhanced.unmapped == ()
    assert enhanced.enhancer == "template/ltx2/1"
    assert prompt_enhance("@robo waves at @alice in a kitchen", family="ltx2", cast_notes=NOTES) == enhanced


@pytest.mark.parametrize("family", ["WanPipeline", "WanVACEPipeline"])
def test_the_wan_templates_have_no_sound(family):
    enhanced = prompt_enhance("a dog runs on the beach at sunset", family=family, cast_notes=NOTES)

    assert enhanced.caption.startswith("a dog runs on the beach at sunset.")
    assert NOTES in enhanced.caption
    assert "Sound" not in enhanced.caption
    assert "Soft natural light" not in enhanced.caption  # the prompt gives the light (sunset)


def test_storyboard_shots_get_their_own_cast_notes_in_the_template():
    shots = shots_enhance(["a robot walks", "it sits down"], family="WanPipeline", cast_notes=[NOTES])

    assert NOTES in shots[0].caption
    assert "Cast:" not in shots[1].caption


@pytest.mark.parametrize(
    ("engine", "family"),
    [
        ("builtin", "builtin"),
        ("tiny-ltx2", "LTX2Pipeline"),
        ("tiny-wan", "WanPipeline"),
        ("tiny-wan-vace", "WanVACEPipeline"),
    ],
)
def test_the_family_comes_from_the_configured_engine(settings, engine, family):
    settings.GENERATION_ENGINE = engine

    assert enhancer_family() == family
    assert prompt_enhance("a red ball").enhancer.startswith("builtin" if family == "builtin" else "template")


def test_an_unknown_family_is_refused():
    with pytest.raises(ValueError, match="unknown enhancer family"):
        prompt_enhance("a red ball", family="sora")


def test_later_calls_embed_only_the_prompts_new_phrases():
    builtin("a red ball bouncing")  # the embedder loaded, the vocabulary embedded
    anchors = sum(len(group) for values in vocabulary.ANCHORS.values() for group in values.values())
    before = dict(spans.embedded)

    builtin("a cobalt pyramid rising slowly over a grassy meadow")
    builtin("a cobalt pyramid rising slowly over a grassy meadow")

    assert spans.vocabulary.cache_info().misses == 1
    assert spans.encoder.cache_info().misses == 1
    new_texts = spans.embedded["texts"] - before["texts"]
    assert 0 < new_texts < 20 < anchors  # the first call's phrases, once; never the vocabulary again
    assert spans.embedded["calls"] - before["calls"] == 1


def test_the_vocabulary_names_only_what_the_world_knows():
    vocabulary.anchors_check()


def test_concurrent_callers_get_what_one_caller_gets():
    """The web process serves previews from several threads at once."""
    prompts = [
        f"a {colour} heart drifting {way} {place}"
        for colour, way, place in [
            ("scarlet", "left", "at dusk"),
            ("lilac", "upward", "by the shore"),
            ("mint", "down", "indoors"),
            ("ivory", "right", "on a lawn"),
            ("amber", "left", "in the park"),
            ("cobalt", "up", "at midnight"),
        ]
    ]
    with ThreadPoolExecutor(max_workers=4) as pool:
        together = list(pool.map(builtin, prompts * 2))

    assert together == [builtin(p) for p in prompts * 2]
