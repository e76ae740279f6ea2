"""The public-figure registry in the admin: a figure's names, aliases, roles and characters, status
(living; deceased, with the estate's block), contact, the cameo they allow, and inlines for their
reference photos (each embedded on save; no face or several faces is refused in the form) and voice
samples (embedded by moderation.likeness.voices). Every change is audited.

Permissions (Django's model permissions): moderation.{view,add,change,delete}_publicfigure,
_figureface and _figurevoice.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.db.models import Count, QuerySet
from django.forms.models import BaseInlineFormSet
from django.http import HttpRequest
from django.utils.html import format_html

from moderation.audit import audit_record
from moderation.likeness import voices
from moderation.likeness.loader import ScreeningUnavailable
from moderation.likeness.registry import figure_face_save, photo_face
from moderation.models import FigureFace, FigureVoice, PublicFigure
from moderation.text.names import figure_names_changed  # the text policy's index of names rebuilds

FIGURE_FIELDS = (
    "name",
    "aliases",
    "roles",
    "status",
    "estate_block",
    "estate_contact",
    "allowed_cameo_id",
    "active",
)


def _state(figure: PublicFigure) -> dict[str, Any]:
    state = {name: getattr(figure, name) for name in FIGURE_FIELDS}
    state["allowed_cameo_id"] = str(figure.allowed_cameo_id) if figure.allowed_cameo_id else None
    return state


class FigureFaceForm(forms.ModelForm):
    """A new reference photo is checked here (one face), so a refusal shows in the form."""

    class Meta:
        model = FigureFace
        fields = ("photo",)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.checked: tuple[bytes, Any, str] | None = None
        if not self.instance._state.adding:  # a stored photo is removed and added again, never swapped
            self.fields["photo"].disabled = True

    def clean_photo(self) -> Any:
        upload = self.cleaned_data.get("photo")
        if not self.instance._state.adding or upload is None or not hasattr(upload, "read"):
            return upload
        upload.seek(0)
        try:
            webp, face = photo_face(upload.read())
        except ScreeningUnavailable as exc:
            raise ValidationError("Face screening is unavailable right now; try again later.") from exc
        self.checked = (webp, face, upload.name or "photo")
        return upload


class FigureFaceFormSet(BaseInlineFormSet):
    def save_new(self, form: Any, commit: bool = True) -> FigureFace:
        assert form.checked is not None, "clean_photo checked every new photo"
        webp, face, filename = form.checked
        return figure_face_save(
            figure=self.instance, webp=webp, face=face, filename=filename, actor=getattr(self, "actor", None)
        )


class FigureFaceInline(admin.TabularInline):
    model = FigureFace
    form = FigureFaceForm
    formset = FigureFaceFormSet
    extra = 1
    fields = ("photo", "preview", "box", "created_at")
    readonly_fields = ("preview", "box", "created_at")

    @admin.display(description="Face")
    def preview(self, face: FigureFace) -> str:
        if not face.pk or not face.photo:
            return "-"
        return format_html('<img src="{}" alt="" style="max-height:96px">', face.photo.url)


class FigureVoiceForm(forms.ModelForm):
    """A new voice sample is decoded and its speech measured here, so a refusal shows in the form."""

    class Meta:
        model = FigureVoice
        fields = ("sample",)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.audio: tuple[bytes, str] | None = None
        if not self.instance._state.adding:
            self.fields["sample"].disabled = True

    def clean_sample(self) -> Any:
        upload = self.cleaned_data.get("sample")
        if not self.instance._state.adding or upload is None or not hasattr(upload, "read"):
            return upload
        upload.seek(0)
        data = upload.read()
        try:
            embedding = voices.voice_embed(voices.audio_decode(data), voices.RATE)
        except voices.VoiceModelUnavailable as exc:
            raise ValidationError("Voice screening is unavailable right now; try again later.") from exc
        if embedding is None or not np.isfinite(embedding).all():
            raise ValidationError("This recording has too little speech to recognise a voice.")
        self.audio = (data, upload.name or "sample")
        return upload


class FigureVoiceFormSet(BaseInlineFormSet):
    def save_new(self, form: Any, commit: bool = True) -> FigureVoice:
        assert form.audio is not None, "clean_sample checked every new sample"
        audio, filename = form.audio
        voice = voices.figure_voice_add(figure=self.instance, audio=audio, filename=filename)
        actor = getattr(self, "actor", None)
        audit_record(
            action="registry.voice_add",
            actor_id=getattr(actor, "id", None),
            actor=getattr(actor, "username", ""),
            subject_kind="figure",
            subject_id=self.instance.id,
            after={"voice_id": str(voice.id)},
            detail={"figure": self.instance.name},
        )
        return voice


class FigureVoiceInline(admin.TabularInline):
    model = FigureVoice
    form = FigureVoiceForm
    formset = FigureVoiceFormSet
    extra = 1
    fields = ("sample", "created_at")
    readonly_fields = ("created_at",)


@admin.register(PublicFigure)
class PublicFigureAdmin(admin.ModelAdmin):
    list_display = (
        "name",
        "status",
        "estate_block",
        "active",
        "blocks_display",
        "faces_count",
        "voices_count",
    )
    list_filter = ("status", "estate_block", "active")
    search_fields = ("name", "aliases", "roles")
    readonly_fields = ("created_by", "created_at", "updated_at")
    fieldsets = (
        (None, {"fields": ("name", "aliases", "roles", "active")}),
        ("Status", {"fields": ("status", "estate_block", "estate_contact")}),
        ("Cameo", {"fields": ("allowed_cameo_id",)}),
        ("Record", {"fields": ("created_by", "created_at", "updated_at")}),
    )
    inlines = (FigureFaceInline, FigureVoiceInline)

    def get_queryset(self, request: HttpRequest) -> QuerySet[PublicFigure]:
        return (
            super()
            .get_queryset(request)
            .annotate(faces_n=Count("faces", distinct=True), voices_n=Count("voices", distinct=True))
        )

    @admin.display(description="Blocks", boolean=True)
    def blocks_display(self, figure: PublicFigure) -> bool:
        return figure.blocks

    @admin.display(description="Photos", ordering="faces_n")
    def faces_count(self, figure: Any) -> int:
        return int(getattr(figure, "faces_n", 0))

    @admin.display(description="Voices", ordering="voices_n")
    def voices_count(self, figure: Any) -> int:
        return int(getattr(figure, "voices_n", 0))

    def save_model(self, request: HttpRequest, obj: PublicFigure, form: Any, change: bool) -> None:
        before = _state(PublicFigure.objects.get(pk=obj.pk)) if change else None
        if not change:
            obj.created_by = request.user  # type: ignore[assignment]
        super().save_model(request, obj, form, change)
        audit_record(
            action="registry.figure_change" if change else "registry.figure_add",
            actor_id=request.user.pk,
            actor=request.user.get_username(),
            subject_kind="figure",
            subject_id=obj.id,
            before=before,
            after=_state(obj),
        )
        figure_names_changed()

    def delete_model(self, request: HttpRequest, obj: PublicFigure) -> None:
        self._deleted(request, [obj])
        super().delete_model(request, obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[PublicFigure]) -> None:
        self._deleted(request, list(queryset))
        super().delete_queryset(request, queryset)

    def _deleted(self, request: HttpRequest, figures: list[PublicFigure]) -> None:
        for figure in figures:
            audit_record(
                action="registry.figure_delete",
                actor_id=request.user.pk,
                actor=request.user.get_username(),
                subject_kind="figure",
                subject_id=figure.id,
                before=_state(figure),
            )
        figure_names_changed()

    def save_formset(self, request: HttpRequest, form: Any, formset: Any, change: bool) -> None:
        formset.actor = request.user
        kind = "face" if formset.model is FigureFace else "voice"
        deleted = [str(f.instance.pk) for f in formset.deleted_forms if f.instance.pk]
        super().save_formset(request, form, formset, change)
        for entry_id in deleted:
            audit_record(
                action=f"registry.{kind}_delete",
                actor_id=request.user.pk,
                actor=request.user.get_username(),
                subject_kind="figure",
                subject_id=form.instance.id,
                before={f"{kind}_id": entry_id},
            )
