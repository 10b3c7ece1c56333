"""The dashboard pages (统计看板): each user lands on their own jurisdiction's."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext, pgettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from dashboards import charts, reports
from dashboards import selectors as dashboard_selectors
from dashboards.jobs import JOB_KIND
from dashboards.services import report_request
from households.privacy import may_reveal
from registry.errors import ApplicationError
from registry.jobs import job_list_for_user
from villages import selectors as village_selectors

#: Areas drawn in the incidence chart; the table below it lists them all.
CHART_AREAS = 30
FIRST_YEAR = dashboard_selectors.FIRST_YEAR


def year_choices(last_year: int) -> list[tuple[int, str]]:
    """Return the years a dashboard or report may be asked for, newest first."""
    return [(y, str(y)) for y in range(last_year, FIRST_YEAR - 1, -1)]


class YearForm(forms.Form):
    year = forms.TypedChoiceField(label=_("年度"), coerce=int)

    def __init__(self, *args, last_year: int, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["year"].choices = year_choices(last_year)


def _year(request, *, user, division) -> tuple[int, YearForm]:
    """Return the asked year (a valid one, else the default) and the form that chooses it."""
    from datetime import date

    last_year = date.today().year
    default = dashboard_selectors.dashboard_year_default(user=user, division=division)
    form = YearForm(request.GET if "year" in request.GET else None, initial={"year": default}, last_year=last_year)
    year = form.cleaned_data["year"] if form.is_bound and form.is_valid() else default
    return year, form


def dashboard_charts(board: dashboard_selectors.Dashboard) -> dict:
    """Return the SVG charts of a dashboard."""
    areas = sorted(
        (row for row in board.areas if row.incidence.rate is not None),
        key=lambda row: (-row.incidence.rate, row.division.code),
    )
    # Counties of the west (3 %) and of the centre and east (2 %) can share a province: one line
    # only when every area has the same threshold; each bar is marked against its own anyway.
    thresholds = {row.incidence.threshold for row in areas if row.incidence.threshold is not None}
    threshold = thresholds.pop() if len(thresholds) == 1 else None
    incidence_rows = [
        {
            "label": row.division.name,
            "value": row.incidence.rate,
            "href": reverse("dashboards:division", kwargs={"code": row.division.code}),
            "emphasis": row.incidence.below_threshold is False,
        }
        for row in areas[:CHART_AREAS]
    ]
    plan = board.plan
    result = {
        "incidence": charts.bar_chart(
            title=gettext("贫困发生率"),
            rows=incidence_rows,
            unit="%",
            threshold=threshold,
            threshold_label=gettext("退出标准"),
            emphasis_label="" if threshold is not None else gettext("达到或超过本县退出标准"),
        ),
        "years": charts.column_chart(
            title=gettext("历年识别、脱贫与返贫（户）"),
            categories=[str(row.year) for row in board.years],
            series=[
                (gettext("识别"), [row.identified_households for row in board.years]),
                (gettext("脱贫"), [row.exited_households for row in board.years]),
                (gettext("返贫"), [row.returned_households for row in board.years]),
            ],
            unit=pgettext("chart unit", "户"),
        ),
        "cause": charts.bar_chart(
            title=gettext("按主要致贫原因（户）"),
            rows=[(row.label, row.households) for row in board.by_cause if row.households],
            unit=pgettext("chart unit", "户"),
        ),
        "attribute": charts.bar_chart(
            title=gettext("按贫困户属性（户）"),
            rows=[(row.label, row.households) for row in board.by_attribute],
            unit=pgettext("chart unit", "户"),
        ),
        "measure": charts.bar_chart(
            title=gettext("%(year)s 年帮扶措施（项）") % {"year": board.year},
            rows=[(row.label, row.measures) for row in board.by_measure if row.measures],
            unit=gettext("项"),
        ),
        "five_batches": charts.bar_chart(
            title=gettext("%(year)s 年五个一批（户）") % {"year": board.year},
            rows=[(row.label, row.households) for row in board.by_five_batches],
            unit=pgettext("chart unit", "户"),
        ),
    }
    if plan.has_plan:
        rows = [(gettext("脱贫人口"), plan.persons_exited, plan.persons_to_exit)]
        if plan.villages_to_exit:
            rows.append((gettext("贫困村出列"), plan.villages_exited, plan.villages_to_exit))
        if plan.counties_to_exit:
            rows.append((gettext("贫困县摘帽"), plan.counties_exited, plan.counties_to_exit))
        result["plan"] = charts.progress_chart(
            title=gettext("%(year)s 年减贫计划完成情况") % {"year": plan.year}, rows=rows
        )
    return result


def render_dashboard(request, division):
    """Render ``division``'s dashboard (already fetched within the user's scope)."""
    user = request.user
    year, form = _year(request, user=user, division=division)
    board = dashboard_selectors.dashboard(user=user, division=division, year=year)
    return render(
        request,
        "dashboards/dashboard.html",
        {
            "board": board,
            "division": division,
            "ancestors": village_selectors.division_ancestors(user=user, division=division),
            "year_form": form,
            "charts": dashboard_charts(board),
            "chart_areas": CHART_AREAS,
            "report_form": report_form(user=user, division=division, year=year),
            "report_jobs": job_list_for_user(user=user, kind=JOB_KIND)[:5],
        },
    )


@login_required
def home(request):
    """Land on the dashboard of the user's jurisdiction; with several top divisions, list them."""
    roots = list(village_selectors.division_roots_for_user(user=request.user))
    if len(roots) == 1:
        return render_dashboard(request, roots[0])
    incidence = village_selectors.poverty_incidence_for(roots)
    rows = [{"division": d, "incidence": incidence[d.code]} for d in roots]
    teams = village_selectors.work_team_list(user=request.user, filters={"status": "stationed"})
    return render(
        request,
        "dashboards/home.html",
        {"rows": rows, "team_count": teams.count(), "role_label": request.user.get_role_display()},
    )


@login_required
def dashboard_home(request):
    """Land on the dashboard of the user's jurisdiction (a choice when it has several tops)."""
    roots = list(village_selectors.division_roots_for_user(user=request.user))
    if len(roots) == 1:
        return redirect("dashboards:division", code=roots[0].code)
    return redirect("home")


@login_required
def dashboard_division(request, code):
    """Show the dashboard of one division in the user's jurisdiction (404 outside it)."""
    division = village_selectors.division_get_for_user(user=request.user, code=code)
    return render_dashboard(request, division)


class ReportForm(forms.Form):
    report = forms.ChoiceField(label=_("报表"))
    year = forms.TypedChoiceField(label=_("年度"), coerce=int)
    unmask = forms.BooleanField(label=_("含完整身份证号和电话（需填写理由，将记录查看）"), required=False)
    reason = forms.CharField(label=_("查看理由"), required=False, max_length=200)

    def __init__(self, *args, division, last_year: int, may_unmask: bool, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["report"].choices = [(r.code, r.title) for r in reports.reports_for(division)]
        self.fields["year"].choices = year_choices(last_year)
        if not may_unmask:
            del self.fields["unmask"]
            del self.fields["reason"]


def report_form(*, user, division, data=None, year=None) -> ReportForm:
    from datetime import date

    return ReportForm(
        data,
        initial={"year": year},
        division=division,
        last_year=date.today().year,
        may_unmask=may_reveal(user),
        prefix="report",
    )


@login_required
@require_POST
def report_create(request, code):
    """Queue a report of the division (a background job) and show its progress."""
    division = village_selectors.division_get_for_user(user=request.user, code=code)
    form = report_form(user=request.user, division=division, data=request.POST)
    if not form.is_valid():
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, error)
        return redirect(f"{reverse('dashboards:division', kwargs={'code': code})}#reports")
    data = form.cleaned_data
    try:
        job = report_request(
            actor=request.user,
            division=division,
            report_code=data["report"],
            year=data["year"],
            unmask=bool(data.get("unmask")),
            reason=data.get("reason", ""),
        )
    except ApplicationError as error:
        messages.error(request, str(error))
        return redirect(f"{reverse('dashboards:division', kwargs={'code': code})}#reports")
    return redirect("jobs:detail", job_id=job.pk)
