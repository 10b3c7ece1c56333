"""The division browser (区划浏览): province → village, with poverty status and work team."""

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.shortcuts import redirect, render

from villages import selectors
from villages.choices import DivisionLevel
from villages.filtersets import DivisionFilterSet


@login_required
def division_index(request):
    """Search the divisions of the user's jurisdiction, or list its top divisions."""
    filterset = DivisionFilterSet(request.GET or None, queryset=selectors.division_list(user=request.user))
    if request.GET.get("q"):
        page = Paginator(filterset.qs, 50).get_page(request.GET.get("page"))
        return render(request, "villages/division_search.html", {"filterset": filterset, "page": page})
    roots = list(selectors.division_roots_for_user(user=request.user))
    if len(roots) == 1:
        return redirect(roots[0])
    return render(request, "villages/division_search.html", {"filterset": filterset, "roots": roots})


@login_required
def division_detail(request, code):
    """Show one division: its status, incidence, work team and children."""
    division = selectors.division_get_for_user(user=request.user, code=code)
    children = list(selectors.division_children(user=request.user, division=division))
    incidence = selectors.poverty_incidence_for([division, *children])
    teams = {}
    if division.level == DivisionLevel.VILLAGE:
        teams = selectors.stationed_teams_by_village(user=request.user, village_codes=[division.code])
    elif division.level == DivisionLevel.TOWNSHIP:
        teams = selectors.stationed_teams_by_village(user=request.user, village_codes=[c.code for c in children])
    history = []
    if division.level == DivisionLevel.VILLAGE:
        history = list(selectors.work_team_list(user=request.user, filters={"village": division.code}))
    return render(
        request,
        "villages/division_detail.html",
        {
            "division": division,
            "ancestors": selectors.division_ancestors(user=request.user, division=division),
            "incidence": incidence[division.code],
            "team": teams.get(division.code),
            "team_history": history,
            "children": [{"division": c, "incidence": incidence[c.code], "team": teams.get(c.code)} for c in children],
            "groups": division.villager_groups.all() if division.level == DivisionLevel.VILLAGE else [],
        },
    )
