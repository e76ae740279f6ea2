"""C2PA manifests in Kino's MP4s: signing what the worker makes, and reading any file back.

Every clip gets a manifest through c2pa's Builder *intents*, which write the actions the standard
requires and refuse what it forbids:

- a new clip (`mp4_sign`) uses the create intent with the digital source type
  `trainedAlgorithmicMedia`: c2pa adds the `c2pa.created` action, and refuses a `parentOf`
  ingredient (a creation has no parent). A remix is still a creation: its parent clip went *into*
  the model, so the parent's signed file is an `inputTo` ingredient, with its own manifest inside.
- a later edit (`mp4_edit_sign`: stitching, extending) uses the edit intent: the clip it changes is
  the `parentOf` ingredient (c2pa adds `c2pa.opened`), or the clips it joins are `componentOf`
  ingredients (c2pa adds a `c2pa.placed` for each).

The engine and model version are the created action's `softwareAgent`, given as an action
*template* (C2PA 2.x: a template's fields apply to every action of its kind). An explicit
`c2pa.created` action would switch off the intent's parentOf check (c2pa-rs adds and checks its own
action only when the definition has none), so the agent rides on the template instead.

What a manifest says of a person is the public @handle as the CreativeWork's author: no cameo
identities, no prompts.

`manifest_summary` reads a file with Kino's trust anchors: "trusted" (signed under Kino's root, or
another root Kino trusts), "valid-untrusted" (intact, signed by someone else), "invalid" (the media
or the manifest changed after signing), or "none" (no manifest).
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from functools import cache
from importlib.metadata import version
from typing import Any, Literal

import c2pa
from django.conf import settings

from provenance.signing import SigningMaterial, signing_material, trust_anchors_pem

MP4 = "video/mp4"
AI_MEDIA = "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia"
CLAIM_GENERATOR = "Kino"
LINEAGE = ("inputTo", "parentOf")  # the ingredients a remix chain follows, nearest first
CHAIN_MAX = 64  # generations read back; a manifest store is finite, but a reader must not loop
State = Literal["trusted", "valid-untrusted", "invalid", "none"]
_STATES: dict[str, State] = {"Trusted": "trusted", "Valid": "valid-untrusted", "Invalid": "invalid"}


class SigningFailed(RuntimeError):
    """c2pa refused to sign (a bad file, a refused ingredient, a credential c2pa will not use)."""


class IngredientRefused(SigningFailed):
    """c2pa could not read a parent's file as an ingredient (not an MP4 it parses): the clip itself can
    still be signed without it."""


@dataclass(frozen=True)
class Creation:
    """What a new clip's manifest says: which engine made it, for whom (the public handle)."""

    engine: str
    model_version: str
    handle: str
    parent_mp4: bytes | None = None  # a remix: the parent's signed file, an `inputTo` ingredient


def mp4_sign(mp4: bytes, creation: Creation) -> bytes:
    """The MP4 with a signed manifest of its creation; the input itself when signing is off.

    Raises `SigningMisconfigured` (the credentials) or `SigningFailed` (c2pa refused): never an
    unsigned file while signing is on.
    """
    if not settings.PROVENANCE_SIGNING:
        return mp4
    parents = [(creation.parent_mp4, "inputTo")] if creation.parent_mp4 is not None else []
    return _sign(
        mp4,
        intent=c2pa.C2paBuilderIntent.CREATE,
        handle=creation.handle,
        templates=[_agent_template("c2pa.created", creation.engine, creation.model_version)],
        ingredients=parents,
    )


def mp4_edit_sign(
    mp4: bytes,
    *,
    parents: list[bytes],
    relationship: Literal["parentOf", "componentOf"],
    handle: str,
    engine: str = CLAIM_GENERATOR,
    model_version: str = "",
) -> bytes:
    """The MP4 of an edit (stitch, extend) with a signed manifest naming the signed clips it came from.

    `parentOf`: exactly one parent, the clip this one changes (an extension). `componentOf`: the
    clips joined into this one (a stitch), each placed. `engine`/`model_version` name what made the
    new frames (Kino itself for a plain cut). Off and failures as `mp4_sign`.
    """
    if relationship == "parentOf" and len(parents) != 1:
        raise ValueError("An edit has exactly one parentOf clip; join several as componentOf.")
    if not parents:
        raise ValueError("An edit names the signed clips it came from.")
    if not settings.PROVENANCE_SIGNING:
        return mp4
    agent = (engine, model_version or _kino_version())
    return _sign(
        mp4,
        intent=c2pa.C2paBuilderIntent.EDIT,
        handle=handle,
        templates=[_agent_template(action, *agent) for action in ("c2pa.opened", "c2pa.placed")],
        ingredients=[(parent, relationship) for parent in parents],
    )


def _sign(
    mp4: bytes,
    *,
    intent: c2pa.C2paBuilderIntent,
    handle: str,
    templates: list[dict[str, Any]],
    ingredients: list[tuple[bytes, str]],
) -> bytes:
    material = signing_material()
    with _builder(_definition(handle, templates), material) as builder:
        for parent, relationship in ingredients:
            _ingredient_add(builder, parent, relationship)
        # After the ingredients: the intent's rules (create: no parentOf; edit: one parent) are
        # checked against what the builder holds when it signs.
        if intent == c2pa.C2paBuilderIntent.CREATE:
            builder.set_intent(intent, c2pa.C2paDigitalSourceType.TRAINED_ALGORITHMIC_MEDIA)
        else:
            builder.set_intent(intent)
        return _signed(builder, mp4, material)


def _definition(handle: str, templates: list[dict[str, Any]]) -> dict[str, Any]:
    author = "@" + handle.lstrip("@")
    return {
        "title": f"Kino clip by {author}",
        "claim_generator_info": [{"name": CLAIM_GENERATOR, "version": _kino_version()}],
        "assertions": [
            {"label": "c2pa.actions.v2", "data": {"actions": [], "templates": templates}},
            {
                "label": "stds.schema-org.CreativeWork",
                "data": {
                    "@context": "https://schema.org",
                    "@type": "CreativeWork",
                    "author": [{"@type": "Person", "name": author}],
                },
            },
        ],
    }


def _agent_template(action: str, engine: str, model_version: str) -> dict[str, Any]:
    return {"action": action, "softwareAgent": {"name": engine, "version": model_version}}


def _builder(definition: dict[str, Any], material: SigningMaterial) -> c2pa.Builder:
    context = c2pa.Context.from_dict(
        {
            "builder": {
                "claim_generator_info": {"name": CLAIM_GENERATOR, "version": _kino_version()},
                "thumbnail": {"enabled": False},  # c2pa makes thumbnails of images only; say so
                # An edit's componentOf clips each get the c2pa.placed action the standard asks for.
                "actions": {"auto_placed_action": {"enabled": True}},
            },
            # The signed file is read back before it is returned: a manifest c2pa itself would call
            # invalid never leaves this function.
            "verify": {"verify_after_sign": True, "remote_manifest_fetch": False, "ocsp_fetch": False},
            "trust": {"trust_anchors": material.anchors_pem},
        }
    )
    try:
        return c2pa.Builder(definition, context=context)
    finally:
        context.close()


def _ingredient_add(builder: c2pa.Builder, parent_mp4: bytes, relationship: str) -> None:
    title = _title(parent_mp4) or "an earlier clip"
    try:
        builder.add_ingredient({"title": title, "relationship": relationship}, MP4, io.BytesIO(parent_mp4))
    except c2pa.C2paError as exc:
        raise IngredientRefused(f"c2pa refused the {relationship} ingredient: {exc}") from exc


def _signed(builder: c2pa.Builder, mp4: bytes, material: SigningMaterial) -> bytes:
    out = io.BytesIO()
    signer = material.signer()
    try:
        builder.sign(signer, MP4, io.BytesIO(mp4), out)
    except c2pa.C2paError as exc:
        raise SigningFailed(f"c2pa refused to sign the clip: {exc}") from exc
    finally:
        signer.close()
    return out.getvalue()


@cache
def _kino_version() -> str:
    return version("kino")


# --- reading -------------------------------------------------------------------------------------


def manifest_store(mp4: bytes) -> dict[str, Any] | None:
    """The file's manifest store as c2pa reads it with Kino's trust anchors; None when it has none."""
    anchors = trust_anchors_pem()
    config: dict[str, Any] = {"verify": {"remote_manifest_fetch": False, "ocsp_fetch": False}}
    if anchors:
        config["trust"] = {"trust_anchors": anchors}
    context = c2pa.Context.from_dict(config)
    try:
        reader = c2pa.Reader.try_create(MP4, io.BytesIO(mp4), None, context)
        if reader is None:
            return None
        with reader:
            store: dict[str, Any] = json.loads(reader.json())
            return store
    finally:
        context.close()


def manifest_summary(mp4: bytes) -> dict[str, Any]:
    """What the file's manifest says and whether to believe it (see the module's docstring)."""
    try:
        store = manifest_store(mp4)
    except c2pa.C2paError:
        # c2pa cannot parse the file's boxes: whatever manifest it had cannot be checked, and a
        # file Kino stored should always parse, so this is never "none".
        return {**_EMPTY, "state": "invalid", "failures": ["asset.unreadable"]}
    if store is None or store.get("active_manifest") not in store.get("manifests", {}):
        return dict(_EMPTY)
    manifests = store["manifests"]
    active = manifests[store["active_manifest"]]
    results = store.get("validation_results") or {}
    return {
        "state": _STATES.get(store.get("validation_state", ""), "invalid"),
        "failures": _failure_codes(results),
        **_manifest_fields(active),
        "ingredients": [_ingredient(item) for item in active.get("ingredients", [])],
        "chain": _chain(manifests, active),
    }


_EMPTY: dict[str, Any] = {
    "state": "none",
    "failures": [],
    "title": None,
    "claim_generator": None,
    "author": None,
    "actions": [],
    "signer": None,
    "ingredients": [],
    "chain": [],
}


def _manifest_fields(manifest: dict[str, Any]) -> dict[str, Any]:
    signature = manifest.get("signature_info") or {}
    generator: dict[str, Any] = next(iter(manifest.get("claim_generator_info") or []), {})
    return {
        "title": manifest.get("title"),
        "claim_generator": _agent(generator) if generator else None,
        "author": _author(manifest),
        "actions": _actions(manifest),
        "signer": {
            "issuer": signature.get("issuer"),
            "common_name": signature.get("common_name"),
            "time": signature.get("time"),  # from a timestamp authority; None without one
        }
        if signature
        else None,
    }


def _assertion(manifest: dict[str, Any], *labels: str) -> dict[str, Any]:
    for item in manifest.get("assertions", []):
        if item.get("label") in labels:
            return item.get("data") or {}
    return {}


def _actions(manifest: dict[str, Any]) -> list[dict[str, Any]]:
    """Each action with its source type and agent, the agent filled from its template when it has none."""
    data = _assertion(manifest, "c2pa.actions.v2", "c2pa.actions")
    templates = {item.get("action"): item for item in data.get("templates") or []}
    actions = []
    for action in data.get("actions", []):
        template = templates.get(action.get("action")) or templates.get("*") or {}
        agent = action.get("softwareAgent") or template.get("softwareAgent")
        actions.append(
            {
                "action": action.get("action"),
                "digital_source_type": action.get("digitalSourceType") or template.get("digitalSourceType"),
                "software_agent": _agent(agent) if agent else None,
            }
        )
    return actions


def _agent(agent: dict[str, Any] | str) -> dict[str, str | None]:
    if isinstance(agent, str):  # C2PA 1.x wrote the agent as one string
        return {"name": agent, "version": None}
    return {"name": agent.get("name"), "version": agent.get("version")}


def _author(manifest: dict[str, Any]) -> str | None:
    authors = _assertion(manifest, "stds.schema-org.CreativeWork").get("author") or []
    return next((item.get("name") for item in authors if isinstance(item, dict) and item.get("name")), None)


def _failure_codes(results: dict[str, Any]) -> list[str]:
    failures = [item.get("code") for item in (results.get("activeManifest") or {}).get("failure", [])]
    for delta in results.get("ingredientDeltas") or []:
        failures += [item.get("code") for item in (delta.get("validationDeltas") or {}).get("failure", [])]
    return sorted({code for code in failures if code})


def _ingredient_state(ingredient: dict[str, Any]) -> State:
    """As c2pa found the ingredient when it was added (with Kino's anchors), from its stored results."""
    if not ingredient.get("active_manifest"):
        return "none"
    results = (ingredient.get("validation_results") or {}).get("activeManifest") or {}
    if results.get("failure"):
        return "invalid"
    trusted = any(item.get("code") == "signingCredential.trusted" for item in results.get("success", []))
    return "trusted" if trusted else "valid-untrusted"


def _ingredient(ingredient: dict[str, Any]) -> dict[str, Any]:
    return {
        "title": ingredient.get("title"),
        "relationship": ingredient.get("relationship"),
        "state": _ingredient_state(ingredient),
    }


def _chain(manifests: dict[str, Any], active: dict[str, Any]) -> list[dict[str, Any]]:
    """The remix chain the manifests record: parent, grandparent, … each from its own manifest."""
    chain: list[dict[str, Any]] = []
    seen = {active.get("label")}
    manifest = active
    while len(chain) < CHAIN_MAX:
        ingredient = next(
            (
                item
                for item in manifest.get("ingredients", [])
                if item.get("relationship") in LINEAGE and item.get("active_manifest") in manifests
            ),
            None,
        )
        if ingredient is None or ingredient["active_manifest"] in seen:
            break
        label = ingredient["active_manifest"]
        seen.add(label)
        manifest = manifests[label]
        chain.append({**_ingredient(ingredient), **_manifest_fields(manifest)})
    return chain


def _title(mp4: bytes) -> str | None:
    try:
        store = manifest_store(mp4)
    except c2pa.C2paError:
        return None
    if not store:
        return None
    return (store.get("manifests", {}).get(store.get("active_manifest")) or {}).get("title")
