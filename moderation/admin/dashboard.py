"""The staff dashboard at /admin/moderation/dashboard/, linked first in the admin index's
Moderation section. The admin site has no hook for a page that is not a model's, so this module
adds the URL and the index entry to the one site (`admin.site`) when the admin is discovered."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import path, reverse

from moderation.dashboard import dashboard_figures

PERMISSION = "moderation.view_queueitem"
WINDOWS = {"7": 7, "30": 30, "all": None}  # ?days=: the window the figures cover


def dashboard_view(request: HttpRequest) -> HttpResponse:
    if not request.user.has_perm(PERMISSION):
        raise PermissionDenied
    chosen = request.GET.get("days", "30")
    if chosen not in WINDOWS:
        chosen = "30"
    days = WINDOWS[chosen]
    context = {
        **admin.site.each_context(request),
        "title": "Moderation dashboard",
        "figures": dashboard_figures(days=days),
        "chosen": chosen,
        "windows": list(WINDOWS),
    }
    return TemplateResponse(request, "admin/moderation/dashboard.html", context)


def _with_dashboard_urls(get_urls: Any) -> Any:
    def urls() -> list[Any]:
        view = admin.site.admin_view(dashboard_view)
        return [path("moderation/dashboard/", view, name="moderation_dashboard"), *get_urls()]

    return urls


def _with_dashboard_entry(get_app_list: Any) -> Any:
    def app_list(request: HttpRequest, app_label: str | None = None) -> list[dict[str, Any]]:
        apps = get_app_list(request, app_label)
        if not request.user.has_perm(PERMISSION):
            return apps
        for app in apps:
            if app["app_label"] == "moderation":
                entry = {
                    "name": "Dashboard",
                    "object_name": "Dashboard",
                    "admin_url": reverse("admin:moderation_dashboard"),
                    "add_url": None,
                    "view_only": True,
                    "perms": {"view": True},
                }
                app["models"].insert(0, entry)
        return apps

    return app_list


def dashboard_install(site: admin.AdminSite = admin.site) -> None:
    """Once per process (the admin's autodiscovery imports this module once)."""
    if getattr(site, "_moderation_dashboard", False):
        return
    site.get_urls = _with_dashboard_urls(site.get_urls)  # type: ignore[method-assign]
    site.get_app_list = _with_dashboard_entry(site.get_app_list)  # type: ignore[method-assign]
    site._moderation_dashboard = True  # type: ignore[attr-defined]


dashboard_install()
