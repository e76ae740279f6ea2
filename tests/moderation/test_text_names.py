"""The text policy on public figures' names: every obfuscation the issue names is caught, roles and
aliases match like names, ordinary words never do, and the per-process index follows the registry."""

from __future__ import annotations

import pytest
from django.urls import reverse

from moderation.errors import TEXT_PUBLIC_FIGURE
from moderation.models import AuditEntry, PublicFigure
from moderation.text import text_check, text_judge
from moderation.text.names import figure_names_changed, index_build, name_find
from moderation.text.normalize import clean_text, name_variants
from tests.factories import UserFactory


def figures() -> list[PublicFigure]:
    return [
        PublicFigure(name="Tom Hanks", roles=["Forrest Gump"]),
        PublicFigure(name="Bryan Cranston", roles=["Walter White"]),
        PublicFigure(name="Scarlett Johansson", aliases=["ScarJo"], roles=["Natasha Romanoff"]),
        PublicFigure(name="Will Smith"),
        PublicFigure(name="Zendaya"),
        PublicFigure(name="Marilyn Monroe", status=PublicFigure.Status.DECEASED),  # no estate block
        PublicFigure(name="Grace Kelly", status=PublicFigure.Status.DECEASED, estate_block=True),
        PublicFigure(name="Retired Person", active=False),
    ]


INDEX = index_build(figures())

CAUGHT = {
    "plain": ("Tom Hanks walking on the beach", "Tom Hanks"),
    "case": ("tOM hANKS at the oscars", "Tom Hanks"),
    "leetspeak": ("T0m H4nks eating spaghetti", "Tom Hanks"),
    "leetspeak symbols": ("Wi11 $mith dancing", "Will Smith"),
    "accents": ("tòm hánks as a pirate", "Tom Hanks"),
    "spaced out": ("t o m  h a n k s riding a bike", "Tom Hanks"),
    "spaced out in part": ("tom h a n k s in a boat", "Tom Hanks"),
    "punctuation": ("T.O.M. H-A-N-K-S in space", "Tom Hanks"),
    "extra spacing": ("tom      hanks", "Tom Hanks"),
    "cyrillic look-alikes": ("\u0422\u043em \u041d\u0430nks in a bathtub", "Tom Hanks"),
    "greek look-alikes": ("Tom \u0397\u03b1nks on stage", "Tom Hanks"),
    "fullwidth": ("\uff34\uff4f\uff4d \uff28\uff41\uff4e\uff4b\uff53", "Tom Hanks"),
    "zero-width": ("to\u200bm han\u200dks", "Tom Hanks"),
    "joined handle": ("realtomhanks doing a dance", "Tom Hanks"),
    "underscored handle": ("@tom_hanks_official", "Tom Hanks"),
    "handle with digits": ("tomhanks1956", "Tom Hanks"),
    "alias": ("ScarJo on a yacht", "Scarlett Johansson"),
    "alias split": ("Scar-Jo on a yacht", "Scarlett Johansson"),
    "one word split": ("Zen-daya at the beach", "Zendaya"),
    "one letter off": ("Scarlet Johanson in a bikini", "Scarlett Johansson"),
    "role": ("Walter White cooking in an RV", "Bryan Cranston"),
    "role in leetspeak": ("W4lt3r Wh1te shooting a dealer", "Bryan Cranston"),
    "second role": ("Forrest Gump running across America", "Tom Hanks"),
    "role of an alias-holder": ("natasha romanoff fighting soldiers", "Scarlett Johansson"),
    "deceased with an estate block": ("Grace Kelly in a convertible", "Grace Kelly"),
}


@pytest.mark.parametrize(("text", "figure"), CAUGHT.values(), ids=CAUGHT.keys())
def test_each_obfuscation_is_caught(text: str, figure: str):
    match = INDEX.find(text)
    assert match is not None, text
    assert match.figure_name == figure


PASSES = {
    "tomato and hank": "a tomato and a hank of yarn",
    "thanks": "thanks tom, that was lovely",
    "first name alone": "tom walking his dog",
    "surname alone": "hanks of wool drying in the sun",
    "smite": "I will smite you, foul dragon",
    "smith and will": "a smith will forge a sword",
    "white walls": "a walter painting a white fence",
    "inside a word": "the mandrake root in a potion class",
    "single letters": "a b c d e f g, sing along",
    "spelled ordinary word": "s p a g h e t t i",
    "stark contrast": "stark contrast between light and shadow",
    "deceased without estate block": "Marilyn Monroe style red lipstick",
    "inactive entry": "a retired person feeding ducks",
    "one word inside a word": "zendayas",
}


@pytest.mark.parametrize("text", PASSES.values(), ids=PASSES.keys())
def test_ordinary_words_are_not_names(text: str):
    assert INDEX.find(text) is None


def test_normalisation_keeps_numbers_and_reads_leetspeak_inside_words():
    assert clean_text("I have 3 cats and a s3xy car") == "i have 3 cats and a sexy car"
    assert ["tom", "hanks"] in name_variants("T0m H4nks!")


@pytest.mark.django_db
def test_registry_changes_reach_the_index_through_the_version(django_capture_on_commit_callbacks):
    # Given a figure registered and the index told
    figure = PublicFigure.objects.create(name="Pedro Pascal")
    with django_capture_on_commit_callbacks(execute=True):
        figure_names_changed()
    assert name_find("pedro pascal in the desert") is not None
    assert name_find("the mandalorian in the desert") is None
    # When a role is added without telling the index, this process keeps its index (no query per check)
    PublicFigure.objects.filter(pk=figure.pk).update(roles=["The Mandalorian"])
    assert name_find("the mandalorian in the desert") is None
    # Nor does telling it change anything before the write commits (others would rebuild too early)
    with django_capture_on_commit_callbacks(execute=False) as pending:
        figure_names_changed()
    assert name_find("the mandalorian in the desert") is None
    # Then once it commits, the next check sees the role
    for callback in pending:
        callback()
    assert name_find("the mandalorian in the desert") is not None
    # And a figure deleted stops blocking
    figure.delete()
    with django_capture_on_commit_callbacks(execute=True):
        figure_names_changed()
    assert name_find("pedro pascal in the desert") is None


@pytest.mark.django_db
def test_a_write_that_bypasses_the_version_is_seen_within_the_max_age(settings):
    name_find("warm the index")
    PublicFigure.objects.create(name="Pedro Pascal")
    assert name_find("pedro pascal") is None
    settings.MODERATION_TEXT_NAMES_MAX_AGE_S = 0
    assert name_find("pedro pascal") is not None


@pytest.mark.django_db
def test_a_refusal_names_a_code_for_the_writer_and_the_figure_for_moderators():
    figure = PublicFigure.objects.create(name="Bryan Cranston", roles=["Walter White"])
    figure_names_changed()
    verdict = text_check("W4lt3r  Wh1te selling candy", kind="caption")
    assert not verdict.allowed
    assert verdict.error == TEXT_PUBLIC_FIGURE
    assert verdict.category == "public_figure"
    assert verdict.figure_id == figure.id
    assert "Bryan Cranston" not in verdict.error.message
    entry = AuditEntry.objects.get(action="text.refused")
    assert entry.reason_code == "text_public_figure"
    assert entry.detail["figure_id"] == str(figure.id)
    assert "Walter White" in entry.reason
    # A verdict asked for without side effects records nothing
    assert not text_judge("walter white", kind="caption").allowed
    assert AuditEntry.objects.filter(action="text.refused").count() == 1


def _registry_form(**fields: str) -> dict[str, str]:
    data = {"name": "Bryan Cranston", "aliases": "", "roles": "Walter White", "status": "living"}
    data |= {"estate_contact": "", "allowed_cameo_id": "", "active": "on"}
    for inline in ("faces", "voices"):
        data |= {f"{inline}-TOTAL_FORMS": "0", f"{inline}-INITIAL_FORMS": "0"}
        data |= {f"{inline}-MIN_NUM_FORMS": "0", f"{inline}-MAX_NUM_FORMS": "1000"}
    return data | fields


@pytest.mark.django_db
def test_the_registry_admin_tells_the_index_at_once(client, django_capture_on_commit_callbacks):
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    assert name_find("walter white in the desert") is None  # the index is built, without him
    with django_capture_on_commit_callbacks(execute=True):
        added = client.post(reverse("admin:moderation_publicfigure_add"), _registry_form())
    assert added.status_code == 302, added.content[:2000]
    figure = PublicFigure.objects.get(name="Bryan Cranston")
    assert name_find("walter white in the desert") is not None
    with django_capture_on_commit_callbacks(execute=True):
        change = reverse("admin:moderation_publicfigure_change", args=[figure.pk])
        changed = client.post(change, _registry_form(roles="Heisenberg"))
    assert changed.status_code == 302
    assert name_find("walter white in the desert") is None
    assert name_find("heisenberg in the desert") is not None
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("admin:moderation_publicfigure_delete", args=[figure.pk]), {"post": "yes"})
    assert not PublicFigure.objects.exists()
    assert name_find("bryan cranston in the desert") is None
