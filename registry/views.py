"""Pages of the registry project itself: the refusal and error pages (the home page is the dashboards')."""

from django.http import JsonResponse
from django.shortcuts import render

from registry.api.errors import NOT_FOUND, error_body
from registry.errors import PERMISSION_DENIED


def forbidden(request, message=PERMISSION_DENIED):
    """Refuse a role that may not act here: 403 with the reason, before any form is read."""
    return render(request, "registry/forbidden.html", {"message": message}, status=403)


def not_found(request, exception=None):
    """Render the 404 page; under ``/api/`` answer in the API's one error format instead."""
    if request.path_info.startswith("/api/"):
        return JsonResponse(error_body("not_found", NOT_FOUND), status=404, json_dumps_params={"ensure_ascii": False})
    return render(request, "404.html", status=404)
