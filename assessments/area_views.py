"""Pages for village exit (贫困村出列), county exit (贫困县摘帽) and annual reduction plans (年度减贫计划).

Like :mod:`assessments.views`: every read goes through :func:`registry.scoping.scope_queryset`
or :func:`~registry.scoping.get_scoped_or_404` (outside the jurisdiction is a 404), every
write through :mod:`assessments.area_exits` or :mod:`assessments.plans`, whose refusals
show in Chinese beside the field they concern. The buttons shown are the steps
:func:`~assessments.area_exits.available_steps` offers the user's role.

The scoped reads (``*_list``, ``*_get_for_user``, :func:`plan_progress_for`) are in
:mod:`assessments.selectors`, shared with the API.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from assessments import area_exits as ax
from assessments.choices import CountyExitCaseStatus, VillageExitCaseStatus
from assessments.filtersets import CountyExitCaseFilterSet, ReductionPlanFilterSet, VillageExitCaseFilterSet
from assessments.forms import (
    FIRST_YEAR,
    ExitObjectionRaiseForm,
    ExitObjectionResolveForm,
    ExitStepForm,
    _not_in_future,
)
from assessments.models import (
    CountyExitObjection,
    ReductionPlan,
    VillageExitObjection,
)
from assessments.plans import PlanProgress, reduction_plan_create, reduction_plan_list, reduction_plan_update
from assessments.selectors import (
    applicable_counties,
    county_exit_case_get_for_user,
    county_exit_case_list,
    plan_progress_for,
    proposable_villages,
    sampled_household_get,
    sampled_village_get,
    village_exit_case_get_for_user,
    village_exit_case_list,
)
from assessments.step_views import take_step
from households.forms import RegistryForm, attach_error, date_field
from households.views import can_enter_data
from registry.errors import ApplicationError
from registry.roles import Role
from registry.scoping import get_scoped_or_404
from registry.views import forbidden
from villages.choices import DivisionLevel
from villages.models import Division

PAGE_SIZE = 50
CLOSED_VILLAGE = (VillageExitCaseStatus.REJECTED, VillageExitCaseStatus.WITHDRAWN)
NO_VILLAGE_CHOSEN = gettext_lazy("请选择要提出出列的贫困村。")
#: How the values of a check are labelled on the case pages.
VALUE_LABELS = {
    "poor_persons": gettext_lazy("未脱贫人口"),
    "missed_persons": gettext_lazy("发现漏评人口"),
    "wrongly_exited_persons": gettext_lazy("错退户人口"),
    "rural_population": gettext_lazy("农村户籍人口"),
    "rate": gettext_lazy("比率（%）"),
    "threshold": gettext_lazy("退出标准（%）"),
    "limit": gettext_lazy("限值（%）"),
    "numerator": gettext_lazy("分子"),
    "denominator": gettext_lazy("分母"),
    "met": gettext_lazy("达标"),
    "evidence": gettext_lazy("佐证材料"),
}


# Forms -------------------------------------------------------------------------------------------------


class AreaDateForm(RegistryForm):
    """The date of a step that takes no reason (evaluation, resubmission of a county application)."""

    on_date = date_field(gettext_lazy("生效日期"), help_text=gettext_lazy("留空为今天。"))

    def clean_on_date(self):
        return _not_in_future(self.cleaned_data.get("on_date"))


class ChecklistForm(AreaDateForm):
    """A village's exit checklist (出列指标): per item, met and its evidence; and the year."""

    year = forms.IntegerField(
        label=gettext_lazy("出列年度"), min_value=FIRST_YEAR, widget=forms.NumberInput(attrs={"inputmode": "numeric"})
    )

    def __init__(self, *args, items: list[str], with_year: bool = True, **kwargs):
        super().__init__(*args, **kwargs)
        if not with_year:
            del self.fields["year"]
        self.items = items
        for item in items:
            label = ax.checklist_label(item)
            met_label = _("%(item)s：已达标") % {"item": label}
            self.fields[f"{item}__met"] = forms.BooleanField(label=met_label, required=False)
            self.fields[f"{item}__evidence"] = forms.CharField(
                label=_("%(item)s：佐证材料") % {"item": label},
                required=False,
                max_length=500,
                widget=forms.Textarea(attrs={"rows": 2}),
            )
        self.polish()

    def checklist(self) -> dict:
        data = self.cleaned_data
        return {
            i: {"met": data.get(f"{i}__met", False), "evidence": data.get(f"{i}__evidence", "")} for i in self.items
        }

    @staticmethod
    def initial_for(checklist: dict) -> dict:
        initial = {}
        for item, entry in (checklist or {}).items():
            initial[f"{item}__met"], initial[f"{item}__evidence"] = entry.get("met"), entry.get("evidence")
        return initial


class SampleForm(AreaDateForm):
    """The province's draw (抽样): sizes and, optionally, the seed."""

    households = forms.IntegerField(label=gettext_lazy("抽查脱贫户数"), min_value=1)
    villages = forms.IntegerField(label=gettext_lazy("抽查村数"), min_value=1)
    seed = forms.IntegerField(
        label=gettext_lazy("抽样种子"),
        required=False,
        min_value=0,
        max_value=2**63 - 1,
        help_text=gettext_lazy("留空则随机生成；种子与抽样结果一并保存，可复现。"),
    )
    field_order = ["households", "villages", "seed", "on_date"]


class HouseholdVisitForm(RegistryForm):
    """The visit to a sampled exited household (入户核查)."""

    wrongly_exited = forms.BooleanField(label=gettext_lazy("错退（不符合退出标准）"), required=False)
    approves = forms.BooleanField(label=gettext_lazy("认可脱贫工作"), required=False)
    visited_on = date_field(gettext_lazy("核查日期"), required=True)
    note = forms.CharField(label=gettext_lazy("核查情况"), required=False, max_length=500)

    def clean_visited_on(self):
        return _not_in_future(self.cleaned_data.get("visited_on"))


class VillageVisitForm(RegistryForm):
    """The survey of a sampled village (漏评核查)."""

    missed_persons = forms.IntegerField(label=gettext_lazy("发现漏评人口"), min_value=0)
    visited_on = date_field(gettext_lazy("核查日期"), required=True)
    note = forms.CharField(label=gettext_lazy("核查情况"), required=False, max_length=500)

    def clean_visited_on(self):
        return _not_in_future(self.cleaned_data.get("visited_on"))


class PlanForm(RegistryForm):
    """A county's reduction plan for a year (年度减贫计划)."""

    persons_to_exit = forms.IntegerField(label=gettext_lazy("计划脱贫人口"), min_value=0)
    villages_to_exit = forms.IntegerField(label=gettext_lazy("计划出列村数"), min_value=0)
    county_exits = forms.BooleanField(label=gettext_lazy("计划当年摘帽"), required=False)
    note = forms.CharField(label=gettext_lazy("说明"), required=False, max_length=500)


# Shared page helpers -------------------------------------------------------------------------------


def _user_name(user) -> str:
    return _("系统") if user is None else (user.get_full_name() or user.username)


def _shown(value) -> str:
    if isinstance(value, bool):
        return _("是") if value else _("否")
    return "—" if value is None or value == "" else str(value)


def _checks(results) -> list[dict]:
    return [
        {**r, "value_rows": [(VALUE_LABELS.get(k, k), _shown(v)) for k, v in (r.get("values") or {}).items()]}
        for r in results or []
    ]


def _step_rows(workflow, case) -> list[dict]:
    rows = []
    for s in case.steps.all():
        step = workflow.steps.get(s.action)
        status = workflow.model._meta.get_field("status")
        labels = dict(status.choices)
        rows.append(
            {
                "step": s,
                "label": str(step.label) if step else s.action,
                "actor": _user_name(s.actor),
                "from": labels.get(s.from_status, ""),
                "to": labels.get(s.to_status, s.to_status),
            }
        )
    return rows


def _year_param(request) -> int | None:
    year = request.GET.get("year") or ""
    return int(year) if year.isdigit() and len(year) == 4 else None


def _objection_rows(case, user, deciders, resolve):
    rows = []
    deciding = user.is_superuser or user.role in deciders
    for objection in case.objections.all():
        pending = objection.outcome == "pending"
        form = None
        if pending and deciding and objection.recorded_by_id != user.pk:
            if resolve and resolve[0] == objection.pk:
                form = resolve[1]
            else:
                form = ExitObjectionResolveForm(auto_id=f"objection{objection.pk}-%s")
        rows.append({"objection": objection, "pending": pending, "form": form})
    return rows


def _refusal_redirect(request, form, url):
    messages.error(request, "；".join(str(e) for errs in form.errors.values() for e in errs))
    return redirect(url)


# Village exit ----------------------------------------------------------------------------------------


def can_propose_village_exit(user) -> bool:
    """Return whether the user's role proposes village exits (乡镇); the service decides."""
    return user.is_superuser or user.role == Role.TOWNSHIP


class ChooseVillageForm(forms.Form):
    village = forms.ChoiceField(label=gettext_lazy("贫困村"), error_messages={"required": NO_VILLAGE_CHOSEN})

    def __init__(self, *args, villages, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["village"].choices = [("", _("请选择"))] + [
            (v.code, f"{v.parent.name if v.parent else ''} {v.name}") for v in villages
        ]


@login_required
def village_exit_list(request):
    """List the village exit cases of the user's jurisdiction; a township opens a proposal from here."""
    status = request.GET.get("status") or ""
    status = status if status in VillageExitCaseStatus.values else ""
    year = _year_param(request)
    cases = VillageExitCaseFilterSet(request.GET or None, queryset=village_exit_case_list(user=request.user)).qs
    page = Paginator(cases, PAGE_SIZE).get_page(request.GET.get("page"))
    choose = None
    if can_propose_village_exit(request.user):
        choose = ChooseVillageForm(villages=list(proposable_villages(user=request.user)), auto_id="choose-%s")
    return render(
        request,
        "assessments/area/village_exit_list.html",
        {"page": page, "statuses": VillageExitCaseStatus.choices, "status": status, "year": year, "choose": choose},
    )


def _village_figures(village):
    try:
        return ax.village_exit_judge(village=village, checklist={})[0]
    except ApplicationError:
        return None


@login_required
def village_exit_propose(request, code=None):
    """Propose a village's exit (乡镇提出): the checklist with evidence; a refusal lists the failed checks."""
    if code is None:
        code = request.GET.get("village") or ""
        if not code:
            messages.error(request, NO_VILLAGE_CHOSEN)
            return redirect("assessments:village_exits")
        return redirect("assessments:village_exit_propose", code=code)
    village = get_scoped_or_404(Division.objects.select_related("parent"), request.user, pk=code)
    if not can_propose_village_exit(request.user):
        return forbidden(request)
    items = ax.checklist_items(village.code)
    error = None
    if request.method == "POST":
        form = ChecklistForm(request.POST, items=items, auto_id="propose-%s")
        if form.is_valid():
            try:
                case = ax.village_exit_propose(
                    actor=request.user,
                    village=village,
                    year=form.cleaned_data["year"],
                    checklist=form.checklist(),
                    on_date=form.cleaned_data["on_date"],
                )
            except ApplicationError as refusal:
                checks = [str(c) for c in refusal.fields.get("checks", [])]
                if checks:
                    error = {"heading": _("不符合出列条件，以下 %(count)d 项未达到：") % {"count": len(checks)}}
                    error["checks"] = checks
                else:
                    attach_error(refusal, form)
            else:
                messages.success(request, _("已提出 %(village)s 出列。") % {"village": village.name})
                return redirect("assessments:village_exit", pk=case.pk)
    else:
        form = ChecklistForm(items=items, initial={"year": date.today().year}, auto_id="propose-%s")
    return render(
        request,
        "assessments/area/village_exit_propose.html",
        {
            "village": village,
            "form": form,
            "items": [
                {"label": ax.checklist_label(i), "met": form[f"{i}__met"], "evidence": form[f"{i}__evidence"]}
                for i in items
            ],
            "figures": _village_figures(village),
            "error": error,
            "show_errors": True,
        },
        status=200 if error is None else 409,
    )


def _village_page(request, case, *, bound=None, raise_form=None, resolve=None, resubmit_form=None, status=200):
    user = request.user
    actions = []
    resubmit = None
    for step in ax.available_steps(case, user):
        if step.action == "resubmit":
            resubmit = resubmit_form or ChecklistForm(
                initial=ChecklistForm.initial_for(case.checklist),
                items=ax.checklist_items(case.village_id),
                with_year=False,
                auto_id="resubmit-%s",
            )
            continue
        form = bound[1] if bound and bound[0] == step.action else ExitStepForm(step=step, auto_id=f"{step.action}-%s")
        actions.append({"step": step, "form": form, "url": _village_step_url(case, step.action)})
    resubmit_items = (
        [
            {"label": ax.checklist_label(i), "met": resubmit[f"{i}__met"], "evidence": resubmit[f"{i}__evidence"]}
            for i in resubmit.items
        ]
        if resubmit
        else []
    )
    return render(
        request,
        "assessments/area/village_exit.html",
        {
            "case": case,
            "checks": _checks(case.check_results),
            "checklist": [
                {"label": ax.checklist_label(item), **entry} for item, entry in (case.checklist or {}).items()
            ],
            "steps": _step_rows(ax.VILLAGE, case),
            "actions": actions,
            "resubmit": resubmit,
            "resubmit_items": resubmit_items,
            "objections": _objection_rows(case, user, ax.VILLAGE.objection_deciders, resolve),
            "raise_form": (raise_form or ExitObjectionRaiseForm(auto_id="raise-%s"))
            if case.status == VillageExitCaseStatus.IN_NOTICE and can_enter_data(user)
            else None,
            "show_errors": True,
        },
        status=status,
    )


def _village_step_url(case, action):
    return reverse("assessments:village_exit_step", args=[case.pk, action])


def _get_village_case(request, pk):
    return village_exit_case_get_for_user(user=request.user, case_id=pk)


@login_required
def village_exit_view(request, pk):
    """Show a village exit case: incidence against the threshold, checklist, checks, steps, objections, actions."""
    return _village_page(request, _get_village_case(request, pk))


def _apply_step(request, workflow, case, action, *, url_name, render_page):
    """Apply one step of an area exit procedure; a refusal shows beside the step's fields."""
    return take_step(
        request, workflow, case, action, url=reverse(url_name, args=[case.pk]),
        render_page=lambda request, case, bound, status: render_page(request, case, bound=bound, status=status),
    )  # fmt: skip


@login_required
@require_POST
def village_exit_step(request, pk, action):
    """Apply one step of the village exit procedure; a refusal shows beside the step's fields."""
    return _apply_step(
        request,
        ax.VILLAGE,
        _get_village_case(request, pk),
        action,
        url_name="assessments:village_exit",
        render_page=_village_page,
    )


@login_required
@require_POST
def village_exit_resubmit(request, pk):
    """Resubmit a returned case with an amended checklist (修改后重新提出)."""
    case = _get_village_case(request, pk)
    if not can_propose_village_exit(request.user):
        return forbidden(request)
    items = ax.checklist_items(case.village_id)
    form = ChecklistForm(request.POST, items=items, with_year=False, auto_id="resubmit-%s")
    if form.is_valid():
        try:
            ax.village_exit_resubmit(
                actor=request.user, case=case, checklist=form.checklist(), on_date=form.cleaned_data["on_date"]
            )
        except ApplicationError as error:
            if error.fields.get("checks"):
                form.add_error(None, [str(c) for c in error.fields["checks"]])
            else:
                attach_error(error, form)
        else:
            messages.success(request, _("已重新提出出列。"))
            return redirect("assessments:village_exit", pk=case.pk)
    return _village_page(request, case, resubmit_form=form)


# Objections (both procedures) ------------------------------------------------------------------------


KINDS = {
    "village": (ax.village_exit_objection_raise, ax.village_exit_objection_resolve, VillageExitObjection),
    "county": (ax.county_exit_objection_raise, ax.county_exit_objection_resolve, CountyExitObjection),
}
WORKFLOWS = {"village": ax.VILLAGE, "county": ax.COUNTY_WORKFLOW}


def _may(user, roles) -> bool:
    return user.is_superuser or user.role in roles


def _case_and_page(request, kind, pk):
    if kind == "village":
        return _get_village_case(request, pk), _village_page, "assessments:village_exit"
    return county_exit_case_get_for_user(user=request.user, case_id=pk), _county_page, "assessments:county_exit"


@login_required
@require_POST
def objection_raise(request, kind, pk):
    """Record an objection raised during the notice (登记公示异议)."""
    case, _page, name = _case_and_page(request, kind, pk)
    if not _may(request.user, WORKFLOWS[kind].objection_recorders):
        return forbidden(request)
    raise_objection = KINDS[kind][0]
    form = ExitObjectionRaiseForm(request.POST, auto_id="raise-%s")
    if form.is_valid():
        try:
            raise_objection(
                actor=request.user,
                case=case,
                objector=form.cleaned_data["objector"],
                content=form.cleaned_data["content"],
                raised_on=form.cleaned_data["raised_on"],
            )
        except ApplicationError as error:
            if error.status == 403:
                return forbidden(request)
            attach_error(error, form)
        else:
            messages.success(request, _("已登记异议；处理完毕前不能结束公示。"))
            return redirect(name, pk=case.pk)
    return _refusal_redirect(request, form, reverse(name, args=[case.pk]))


@login_required
@require_POST
def objection_resolve(request, kind, pk, objection_pk):
    """Decide an objection: upheld sends the case back, dismissed lets the notice close."""
    case, page, name = _case_and_page(request, kind, pk)
    _raise, resolve, model = KINDS[kind]
    objection = get_scoped_or_404(model.objects.all(), request.user, pk=objection_pk, case=case)
    if not _may(request.user, WORKFLOWS[kind].objection_deciders):
        return forbidden(request)
    form = ExitObjectionResolveForm(request.POST, auto_id=f"objection{objection.pk}-%s")
    if form.is_valid():
        try:
            resolve(
                actor=request.user,
                objection=objection,
                upheld=form.cleaned_data["outcome"] == "upheld",
                resolution=form.cleaned_data["resolution"],
            )
        except ApplicationError as error:
            if error.status == 403:
                return forbidden(request)
            messages.error(request, str(error))
        else:
            messages.success(request, _("异议已处理。"))
        return redirect(name, pk=case.pk)
    return page(request, case, resolve=(objection.pk, form))


# County exit -----------------------------------------------------------------------------------------


def can_apply_county_exit(user) -> bool:
    return user.is_superuser or user.role == Role.COUNTY


class ApplyForm(AreaDateForm):
    county = forms.ChoiceField(label=gettext_lazy("县"))
    year = forms.IntegerField(label=gettext_lazy("摘帽年度"), min_value=FIRST_YEAR)
    field_order = ["county", "year", "on_date"]

    def __init__(self, *args, counties, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["county"].choices = [(c.code, c.name) for c in counties]


@login_required
def county_exit_list(request):
    """List the county exit cases of the user's jurisdiction; the county office applies from here."""
    status = request.GET.get("status") or ""
    status = status if status in CountyExitCaseStatus.values else ""
    year = _year_param(request)
    cases = CountyExitCaseFilterSet(request.GET or None, queryset=county_exit_case_list(user=request.user)).qs
    page = Paginator(cases, PAGE_SIZE).get_page(request.GET.get("page"))
    apply_form = None
    if can_apply_county_exit(request.user):
        counties = list(applicable_counties(user=request.user))
        if counties:
            apply_form = ApplyForm(counties=counties, initial={"year": date.today().year}, auto_id="apply-%s")
    return render(
        request,
        "assessments/area/county_exit_list.html",
        {
            "page": page,
            "statuses": CountyExitCaseStatus.choices,
            "status": status,
            "year": year,
            "apply_form": apply_form,
            "show_errors": True,
        },
    )


@login_required
@require_POST
def county_exit_apply(request):
    """Apply for a county's exit (县级申请摘帽); a refusal names the failed check."""
    if not can_apply_county_exit(request.user):
        return forbidden(request)
    counties = list(applicable_counties(user=request.user))
    form = ApplyForm(request.POST, counties=counties, auto_id="apply-%s")
    if form.is_valid():
        county = get_scoped_or_404(Division.objects.all(), request.user, pk=form.cleaned_data["county"])
        try:
            case = ax.county_exit_apply(
                actor=request.user, county=county, year=form.cleaned_data["year"], on_date=form.cleaned_data["on_date"]
            )
        except ApplicationError as error:
            attach_error(error, form)
        else:
            messages.success(request, _("已申请 %(county)s 摘帽。") % {"county": county.name})
            return redirect("assessments:county_exit", pk=case.pk)
    page = Paginator(county_exit_case_list(user=request.user), PAGE_SIZE).get_page(1)
    return render(
        request,
        "assessments/area/county_exit_list.html",
        {
            "page": page,
            "statuses": CountyExitCaseStatus.choices,
            "status": "",
            "year": None,
            "apply_form": form,
            "show_errors": True,
        },
        status=409,
    )


def _county_page(request, case, *, bound=None, sample_form=None, visit=None, raise_form=None, resolve=None, status=200):
    user = request.user
    actions, sample = [], None
    for step in ax.available_steps(case, user):
        if step.action == "draw_sample":
            sample = sample_form or SampleForm(auto_id="sample-%s")
            continue
        if bound and bound[0] == step.action:
            form = bound[1]
        elif step.action in ("evaluate", "resubmit"):
            form = AreaDateForm(auto_id=f"{step.action}-%s")
        else:
            form = ExitStepForm(step=step, auto_id=f"{step.action}-%s")
        url_name = {"evaluate": "county_exit_evaluate", "resubmit": "county_exit_resubmit"}.get(step.action)
        url = (
            reverse(f"assessments:{url_name}", args=[case.pk])
            if url_name
            else reverse("assessments:county_exit_step", args=[case.pk, step.action])
        )
        actions.append({"step": step, "form": form, "url": url})
    visiting = case.status == CountyExitCaseStatus.VERIFYING and (user.is_superuser or user.role == Role.PROVINCE)
    today = date.today().isoformat()
    households = []
    for row in case.sampled_households.all():
        form = None
        if visiting:
            if visit and visit[0] == ("household", row.pk):
                form = visit[1]
            else:
                initial = {"visited_on": row.visited_on or today, "note": row.note}
                if row.visited_on:
                    initial.update(wrongly_exited=row.wrongly_exited, approves=row.approves)
                form = HouseholdVisitForm(initial=initial, auto_id=f"hh{row.pk}-%s")
        households.append({"row": row, "form": form})
    villages = []
    for row in case.sampled_villages.all():
        form = None
        if visiting:
            if visit and visit[0] == ("village", row.pk):
                form = visit[1]
            else:
                initial = {"visited_on": row.visited_on or today, "note": row.note}
                initial["missed_persons"] = row.missed_persons
                form = VillageVisitForm(initial=initial, auto_id=f"v{row.pk}-%s")
        villages.append({"row": row, "form": form})
    evaluation = case.evaluation or {}
    return render(
        request,
        "assessments/area/county_exit.html",
        {
            "case": case,
            "checks": _checks(evaluation.get("checks")),
            "counts": evaluation.get("counts") or {},
            "steps": _step_rows(ax.COUNTY_WORKFLOW, case),
            "actions": actions,
            "sample_form": sample,
            "households": households,
            "villages": villages,
            "objections": _objection_rows(case, user, ax.COUNTY_WORKFLOW.objection_deciders, resolve),
            "raise_form": (raise_form or ExitObjectionRaiseForm(auto_id="raise-%s"))
            if case.status == CountyExitCaseStatus.IN_NOTICE and (user.is_superuser or user.role == Role.PROVINCE)
            else None,
            "show_errors": True,
        },
        status=status,
    )


def _get_county_case(request, pk):
    return county_exit_case_get_for_user(user=request.user, case_id=pk)


def _province_orforbidden(request):
    return None if request.user.is_superuser or request.user.role == Role.PROVINCE else forbidden(request)


@login_required
def county_exit_view(request, pk):
    """Show a county exit case: incidence, the stored sample and its seed, visits, the rates, steps, actions."""
    return _county_page(request, _get_county_case(request, pk))


@login_required
@require_POST
def county_exit_step(request, pk, action):
    """Apply one step of the county exit procedure; a refusal shows beside the step's fields."""
    return _apply_step(
        request,
        ax.COUNTY_WORKFLOW,
        _get_county_case(request, pk),
        action,
        url_name="assessments:county_exit",
        render_page=_county_page,
    )


def _dated_action(request, pk, action, call, done):
    case = _get_county_case(request, pk)
    step = ax.COUNTY_STEPS[action]
    if not (request.user.is_superuser or request.user.role in step.roles):
        return forbidden(request)
    form = AreaDateForm(request.POST, auto_id=f"{action}-%s")
    if form.is_valid():
        try:
            call(actor=request.user, case=case, on_date=form.cleaned_data["on_date"])
        except ApplicationError as error:
            attach_error(error, form)
        else:
            messages.success(request, done)
            return redirect("assessments:county_exit", pk=case.pk)
    return _county_page(request, case, bound=(action, form), status=409)


@login_required
@require_POST
def county_exit_evaluate(request, pk):
    """Compute 错退率, 漏评率, 群众认可度 and the comprehensive incidence (专项评估)."""
    return _dated_action(request, pk, "evaluate", ax.county_exit_evaluate, _("已完成评估。"))


@login_required
@require_POST
def county_exit_resubmit(request, pk):
    """Resubmit a returned application (修改后重新申请); the incidence is counted anew."""
    return _dated_action(request, pk, "resubmit", ax.county_exit_resubmit, _("已重新申请摘帽。"))


@login_required
@require_POST
def county_exit_sample(request, pk):
    """Draw the sample (省级核查抽样) with the given sizes and, optionally, seed."""
    case = _get_county_case(request, pk)
    forbidden = _province_orforbidden(request)
    if forbidden:
        return forbidden
    form = SampleForm(request.POST, auto_id="sample-%s")
    if form.is_valid():
        data = form.cleaned_data
        try:
            ax.county_exit_draw_sample(
                actor=request.user,
                case=case,
                households=data["households"],
                villages=data["villages"],
                seed=data["seed"],
                on_date=data["on_date"],
            )
        except ApplicationError as error:
            attach_error(error, form)
        else:
            messages.success(request, _("已抽样，请逐户、逐村登记核查记录。"))
            return redirect("assessments:county_exit", pk=case.pk)
    return _county_page(request, case, sample_form=form, status=409 if form.errors else 200)


@login_required
@require_POST
def household_visit(request, pk, row_pk):
    """Record (or correct) the visit to a sampled exited household."""
    case = _get_county_case(request, pk)
    row = sampled_household_get(user=request.user, case=case, row_id=row_pk)
    forbidden = _province_orforbidden(request)
    if forbidden:
        return forbidden
    form = HouseholdVisitForm(request.POST, auto_id=f"hh{row.pk}-%s")
    if form.is_valid():
        try:
            ax.county_exit_record_household_visit(actor=request.user, sampled=row, **form.cleaned_data)
        except ApplicationError as error:
            attach_error(error, form)
        else:
            messages.success(request, _("已登记 %(number)s 的核查记录。") % {"number": row.household.registry_number})
            return redirect(reverse("assessments:county_exit", args=[case.pk]) + "#sample")
    return _county_page(request, case, visit=(("household", row.pk), form), status=409)


@login_required
@require_POST
def village_visit(request, pk, row_pk):
    """Record (or correct) the survey of a sampled village."""
    case = _get_county_case(request, pk)
    row = sampled_village_get(user=request.user, case=case, row_id=row_pk)
    forbidden = _province_orforbidden(request)
    if forbidden:
        return forbidden
    form = VillageVisitForm(request.POST, auto_id=f"v{row.pk}-%s")
    if form.is_valid():
        try:
            ax.county_exit_record_village_visit(actor=request.user, sampled=row, **form.cleaned_data)
        except ApplicationError as error:
            attach_error(error, form)
        else:
            messages.success(request, _("已登记该村的核查记录。"))
            return redirect(reverse("assessments:county_exit", args=[case.pk]) + "#sample")
    return _county_page(request, case, visit=(("village", row.pk), form), status=409)


# Reduction plans -------------------------------------------------------------------------------------


def can_plan(user) -> bool:
    return user.is_superuser or user.role == Role.COUNTY


@dataclass
class PlanRow:
    plan: ReductionPlan
    progress: PlanProgress


@login_required
def plan_list(request):
    """List the reduction plans of the user's jurisdiction with their progress; open a county's year."""
    year = _year_param(request)
    plans = ReductionPlanFilterSet(request.GET or None, queryset=reduction_plan_list(user=request.user)).qs
    page = Paginator(plans.order_by("-year", "county_id"), PAGE_SIZE).get_page(request.GET.get("page"))
    progress = plan_progress_for(list(page.object_list))
    counties = list(applicable_counties(user=request.user)) if can_plan(request.user) else []
    return render(
        request,
        "assessments/area/plan_list.html",
        {
            "page": page,
            "rows": [PlanRow(plan, progress[plan.pk]) for plan in page.object_list],
            "year": year,
            "counties": counties,
            "this_year": date.today().year,
        },
    )


@login_required
def plan_view(request, county, year):
    """A county's plan for a year with its progress; the county office enters or edits it here."""
    if not FIRST_YEAR <= year <= date.today().year + 5:
        raise Http404
    division = get_scoped_or_404(Division.objects.all(), request.user, pk=county)
    if division.level != DivisionLevel.COUNTY:
        raise Http404
    plan = reduction_plan_list(user=request.user, year=year).filter(county=division).first()
    editable = can_plan(request.user)
    if request.method == "POST":
        if not editable:
            return forbidden(request)
        form = PlanForm(request.POST, auto_id="plan-%s")
        if form.is_valid():
            try:
                if plan is None:
                    reduction_plan_create(actor=request.user, county=division, year=year, **form.cleaned_data)
                else:
                    reduction_plan_update(actor=request.user, plan=plan, **form.cleaned_data)
            except ApplicationError as error:
                attach_error(error, form)
            else:
                messages.success(request, _("已保存 %(year)s 年减贫计划。") % {"year": year})
                return redirect("assessments:plan", county=division.code, year=year)
    else:
        fields = ("persons_to_exit", "villages_to_exit", "county_exits", "note")
        initial = {f: getattr(plan, f) for f in fields} if plan else None
        form = PlanForm(initial=initial, auto_id="plan-%s")
    if not editable:
        for field in form.fields.values():
            field.disabled = True
    progress = plan_progress_for([plan])[plan.pk] if plan else None
    return render(
        request,
        "assessments/area/plan.html",
        {
            "county": division,
            "year": year,
            "plan": plan,
            "progress": progress,
            "form": form,
            "editable": editable,
            "show_errors": True,
            "previous_year": year - 1,
            "next_year": year + 1,
        },
        status=409 if form.is_bound and form.errors else 200,
    )
