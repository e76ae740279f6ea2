"""The invite-only beta as web pages: the waitlist and invite redemption. Same services as the API."""

from __future__ import annotations

from types import SimpleNamespace

from django import forms
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods
from rest_framework.throttling import ScopedRateThrottle

from accounts import services
from accounts.models import Invite, invite_code_normalize
from config.errors import KinoError


def _throttled(request: HttpRequest, scope: str) -> bool:
    # The throttle reads only the client address, the user and the view's scope, which a page has too.
    view = SimpleNamespace(throttle_scope=scope)
    return not ScopedRateThrottle().allow_request(request, view)  # type: ignore[arg-type]


class WaitlistForm(forms.Form):
    email = forms.EmailField(
        max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": "email", "placeholder": "you@example.com"}),
    )


class CodeForm(forms.Form):
    code = forms.CharField(
        max_length=40,
        widget=forms.TextInput(attrs={"autocapitalize": "characters", "placeholder": "XXXX-XXXX-XXXX-XXXX"}),
    )


class SignupForm(forms.Form):
    username = forms.CharField(
        max_length=30, widget=forms.TextInput(attrs={"autocapitalize": "none", "autocomplete": "username"})
    )
    display_name = forms.CharField(max_length=50, required=False, label="Display name")
    email = forms.EmailField(max_length=254, widget=forms.EmailInput(attrs={"autocomplete": "email"}))
    birthdate = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}), label="Birthdate")
    password = forms.CharField(
        max_length=128, strip=False, widget=forms.PasswordInput(attrs={"autocomplete": "new-password"})
    )


@require_http_methods(["GET", "POST"])
def waitlist_page(request: HttpRequest) -> HttpResponse:
    form = WaitlistForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if _throttled(request, "waitlist"):
            form.add_error(None, "Too many tries from here. Please wait a minute.")
        else:
            services.waitlist_join(email=form.cleaned_data["email"])
            return render(request, "beta/waitlist_done.html", {"email": form.cleaned_data["email"]})
    return render(
        request,
        "beta/waitlist.html",
        {"form": form, "code_form": CodeForm()},
        status=400 if form.errors else 200,
    )


@require_http_methods(["GET"])
def invite_enter(request: HttpRequest) -> HttpResponse:
    form = CodeForm(request.GET or None)
    if form.is_valid():
        return redirect("beta:redeem", code=invite_code_normalize(form.cleaned_data["code"]))
    return render(request, "beta/invite_enter.html", {"form": form})


@require_http_methods(["GET", "POST"])
def invite_redeem_page(request: HttpRequest, code: str) -> HttpResponse:
    if _throttled(request, "invite_check"):
        return render(request, "beta/invite_problem.html", {"problem": "throttled"}, status=429)
    invite = Invite.objects.filter(code=invite_code_normalize(code)).first()
    state = invite.status if invite else "unknown"
    if state != "valid":
        return render(
            request, "beta/invite_problem.html", {"problem": state}, status=404 if invite is None else 410
        )
    form = SignupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if _throttled(request, "signup"):
            form.add_error(None, "Too many sign-ups from here. Please try again later.")
        else:
            try:
                user = services.invite_redeem(code=code, **form.cleaned_data)
            except KinoError as exc:
                for field, errors in exc.fields.items():
                    target = field if field in form.fields else None
                    for error in errors:
                        form.add_error(target, error["message"])
                if not exc.fields:
                    form.add_error(None, str(exc.detail))
            else:
                invites = user.invites_created.order_by("created_at")
                return render(request, "beta/welcome.html", {"user": user, "invites": invites}, status=201)
    return render(
        request, "beta/redeem.html", {"form": form, "invite": invite}, status=400 if form.errors else 200
    )
