from django.http import HttpRequest, JsonResponse

from alphapanda.health import readiness


def healthz(request: HttpRequest) -> JsonResponse:
    """Liveness: the process answers."""
    return JsonResponse({"status": "ok"})


def readyz(request: HttpRequest) -> JsonResponse:
    """Readiness: every dependency answers, and each broker queue has a worker."""
    report = readiness()
    return JsonResponse(report, status=200 if report["ready"] else 503)
