"""Pages of the registry project itself: the home page and error pages."""

from django.contrib.auth.decorators import login_required
from django.http import JsonResponse
from django.shortcuts import render

from registry.api.errors import NOT_FOUND, error_body
from registry.errors import PERMISSION_DENIED
from villages import selectors as village_selectors


@login_required
def home(request):
    """Land on the dashboard of the user's jurisdiction; with several top divisions, list them."""
    roots = list(village_selectors.division_roots_for_user(user=request.user))
    if len(roots) == 1:
        from dashboards.views import render_dashboard

        return render_dashboard(request, roots[0])
    incidence = village_selectors.poverty_incidence_for(roots)
    rows = [{"division": d, "incidence": incidence[d.code]} for d in roots]
    teams = village_selectors.work_team_list(user=request.user, filters={"status": "stationed"})
    return render(
        request,
        "registry/home.html",
        {"rows": rows, "team_count": teams.count(), "role_label": request.user.get_role_display()},
    )


def forbidden(request, message=PERMISSION_DENIED):
    """Refuse a role that may not act here: 403 with the reason, before any form is read."""
    return render(request, "households/forbidden.html", {"message": message}, status=403)


def not_found(request, exception=None):
    """Render the 404 page; under ``/api/`` answer in the API's one error format instead."""
    if request.path_info.startswith("/api/"):
        return JsonResponse(error_body("not_found", NOT_FOUND), status=404, json_dumps_params={"ensure_ascii": False})
    return render(request, "404.html", status=404)
