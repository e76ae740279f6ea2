"""Kino's C2PA trust anchors, published: any reader can check that a file Kino signed chains to them.

GET /.well-known/c2pa/trust-anchors.pem: the PEM roots of PROVENANCE_TRUST_ANCHORS, public (no
login), cacheable for an hour (a new root is added beside the old one long before it signs).
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, HttpResponseNotFound
from django.views.decorators.cache import cache_control
from django.views.decorators.http import require_safe

from provenance.signing import trust_anchors_pem

CACHE_S = 3600


@require_safe
@cache_control(public=True, max_age=CACHE_S)
def trust_anchors(request: HttpRequest) -> HttpResponse:
    pem = trust_anchors_pem()
    if not pem:
        return HttpResponseNotFound("No trust anchors are configured.", content_type="text/plain")
    return HttpResponse(pem, content_type="application/x-pem-file")
