from django.http import HttpRequest, HttpResponse, JsonResponse

from alphapanda import metrics as metrics_
from alphapanda.health import readiness


def healthz(request: HttpRequest) -> JsonResponse:
    """Liveness: the process answers."""
    return JsonResponse({"status": "ok"})


def readyz(request: HttpRequest) -> JsonResponse:
    """Readiness: every dependency answers, and each broker queue has a worker."""
    report = readiness()
    return JsonResponse(report, status=200 if report["ready"] else 503)


def metrics(request: HttpRequest) -> HttpResponse:
    """Prometheus text format of this web process. Unauthenticated, as scrapers expect: it carries
    counts and timings only, never account figures or secrets; keep it off the public internet
    (a reverse proxy rule) where that matters. A plain view, so it stays out of the API schema."""
    body, content_type = metrics_.exposition()
    return HttpResponse(body, content_type=content_type)
