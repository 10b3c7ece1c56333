"""Pages of the monitoring against return to poverty (防止返贫监测): the flags of the
jurisdiction, one flag with its steps and the actions the user's role may take, the form
that proposes a household for monitoring after a sudden event, and the county's
registration of a return to poverty (认定返贫).

Reads go through :func:`registry.scoping.scope_queryset` / :func:`get_scoped_or_404`
(outside the jurisdiction is a 404); writes only through :mod:`assessments.monitoring`,
whose refusals show in Chinese beside the field they concern.

There is no batch of :func:`~assessments.monitoring.monitoring_check_assessment` in the
services (it checks one assessment), so the list has no "check a year" button.
"""

from __future__ import annotations

from datetime import date

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Prefetch
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from assessments.choices import FlagKind, FlagStatus
from assessments.forms import ExitStepForm
from assessments.models import MonitoringFlag, MonitoringFlagStep
from assessments.monitoring import (
    FLAG_REASON_REQUIRED,
    RETURN_CAUSE_UNKNOWN,
    RETURN_REASON_REQUIRED,
    STEPS,
    WORKFLOW,
    available_steps,
    in_transition,
    monitoring_flag_raise,
    return_to_poverty,
)
from assessments.selectors import _head_name
from assessments.step_views import take_step
from households.choices import Cause
from households.forms import RegistryForm, _not_in_future, attach_error, date_field
from households.models import Household
from households.selectors import household_queryset
from registry.errors import ApplicationError
from registry.roles import Role
from registry.scoping import get_scoped_or_404, scope_queryset
from registry.views import forbidden

PAGE_SIZE = 50
HOUSEHOLD_NOT_FOUND = gettext_lazy("在您的管辖范围内没有该户编号的贫困户。")


def can_raise(user) -> bool:
    """Return whether the user's role proposes flags (the village work team); the service decides."""
    return user.is_superuser or user.role == Role.WORK_TEAM


def can_return(user) -> bool:
    """Return whether the user's role registers a return to poverty (the county); the service decides."""
    return user.is_superuser or user.role == Role.COUNTY


# Forms ---------------------------------------------------------------------------------


class FlagRaiseForm(RegistryForm):
    """A proposal to monitor a household after a sudden event (突发事件)."""

    kind = forms.ChoiceField(label=gettext_lazy("监测对象类型"), choices=FlagKind.choices)
    event = forms.CharField(
        label=gettext_lazy("突发事件"),
        max_length=200,
        required=False,
        help_text=gettext_lazy("重大疾病、自然灾害、意外事故等"),
    )
    reason = forms.CharField(
        label=gettext_lazy("纳入理由"),
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 3}),
        error_messages={"required": FLAG_REASON_REQUIRED},
    )
    on_date = date_field(gettext_lazy("提出日期"), help_text=gettext_lazy("留空为今天。"))

    def clean_on_date(self):
        return _not_in_future(self.cleaned_data.get("on_date"))


class ReturnToPovertyForm(RegistryForm):
    """The county's registration of a return to poverty (认定返贫)."""

    cause = forms.ChoiceField(
        label=gettext_lazy("返贫原因"), choices=Cause.choices, error_messages={"required": RETURN_CAUSE_UNKNOWN}
    )
    reason = forms.CharField(
        label=gettext_lazy("理由"),
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 2}),
        error_messages={"required": RETURN_REASON_REQUIRED},
    )
    on_date = date_field(gettext_lazy("生效日期"), help_text=gettext_lazy("留空为今天。"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["cause"].choices = [("", _("请选择")), *Cause.choices]

    def clean_on_date(self):
        return _not_in_future(self.cleaned_data.get("on_date"))


# Reads -----------------------------------------------------------------------------------


def flag_queryset():
    return MonitoringFlag.objects.select_related("household__village__parent").annotate(
        head_name=_head_name("household_id")
    )


def flag_list_for(*, user, status: str = "", kind: str = ""):
    """Return the flags ``user`` may see, newest first, optionally by status and kind."""
    queryset = scope_queryset(flag_queryset(), user)
    if status:
        queryset = queryset.filter(status=status)
    if kind:
        queryset = queryset.filter(kind=kind)
    return queryset.order_by("-raised_on", "household__registry_number", "-id")


def flag_get_for_user(*, user, flag_id: int) -> MonitoringFlag:
    """Return one flag with its steps and source assessment, or 404 outside the jurisdiction."""
    steps = MonitoringFlagStep.objects.select_related("actor").order_by("id")
    queryset = flag_queryset().select_related("source_assessment").prefetch_related(Prefetch("steps", queryset=steps))
    return get_scoped_or_404(queryset, user, pk=flag_id)


def _step_label(action: str) -> str:
    step = STEPS.get(action)
    if step is not None:
        return str(step.label)
    return _("提出监测") if action == "raise" else action


def _user_name(user) -> str:
    if user is None:
        return _("系统")
    return user.get_full_name() or user.username


# Pages -----------------------------------------------------------------------------------


@login_required
def flag_list(request):
    """List the monitoring flags of the user's jurisdiction, by status and kind."""
    status = request.GET.get("status") or ""
    status = status if status in FlagStatus.values else ""
    kind = request.GET.get("kind") or ""
    kind = kind if kind in FlagKind.values else ""
    flags = flag_list_for(user=request.user, status=status, kind=kind)
    page = Paginator(flags, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "assessments/monitoring/flag_list.html",
        {
            "page": page,
            "statuses": FlagStatus.choices,
            "kinds": FlagKind.choices,
            "status": status,
            "kind": kind,
            "can_raise": can_raise(request.user),
        },
    )


def _flag_page(request, flag, *, bound_step=None, return_form=None, status=200):
    """Render a flag; ``bound_step`` (action, form) and ``return_form`` replace the blank forms
    with the ones just posted, so their errors show beside the fields."""
    user = request.user
    actions = []
    for step in available_steps(flag, user):
        if bound_step and bound_step[0] == step.action:
            form = bound_step[1]
        else:
            form = ExitStepForm(step=step, auto_id=f"{step.action}-%s")
        actions.append({"step": step, "form": form})
    returnable = flag.status == FlagStatus.ACTIVE and can_return(user)
    return render(
        request,
        "assessments/monitoring/flag.html",
        {
            "flag": flag,
            "household": flag.household,
            "steps": [
                {"step": s, "label": _step_label(s.action), "actor": _user_name(s.actor)} for s in flag.steps.all()
            ],
            "actions": actions,
            "return_form": (return_form or ReturnToPovertyForm(auto_id="return-%s")) if returnable else None,
            "show_errors": True,
        },
        status=status,
    )


@login_required
def flag_view(request, pk):
    """Show a flag: household, kind, reason, trigger, steps and the user's actions."""
    return _flag_page(request, flag_get_for_user(user=request.user, flag_id=pk))


@login_required
@require_POST
def flag_step(request, pk, action):
    """Apply one step of the flag or removal procedure; a refusal shows beside the step's fields."""
    flag = flag_get_for_user(user=request.user, flag_id=pk)
    return take_step(
        request, WORKFLOW, flag, action, url=reverse("assessments:monitoring_flag", args=[flag.pk]),
        render_page=lambda request, flag, bound, status: _flag_page(request, flag, bound_step=bound, status=status),
    )  # fmt: skip


@login_required
@require_POST
def flag_return(request, pk):
    """Register the flagged household as returned to poverty (认定返贫, county)."""
    flag = flag_get_for_user(user=request.user, flag_id=pk)
    if not can_return(request.user):
        return forbidden(request)
    form = ReturnToPovertyForm(request.POST, auto_id="return-%s")
    if form.is_valid():
        try:
            return_to_poverty(
                actor=request.user,
                household=flag.household,
                cause=form.cleaned_data["cause"],
                reason=form.cleaned_data["reason"],
                on_date=form.cleaned_data["on_date"],
            )
        except ApplicationError as error:
            attach_error(error, form)
        else:
            messages.success(request, _("已认定返贫，监测结束。"))
            return redirect("assessments:monitoring_flag", pk=flag.pk)
    if flag.status != FlagStatus.ACTIVE:
        messages.error(request, "；".join(str(e) for errs in form.errors.values() for e in errs))
        return redirect("assessments:monitoring_flag", pk=flag.pk)
    return _flag_page(request, flag, return_form=form)


@login_required
def flag_raise_choose(request):
    """Find a household by its registry number (in scope) and open its raise form."""
    number = (request.GET.get("registry_number") or "").strip()
    if number:
        household = scope_queryset(Household.objects.all(), request.user).filter(registry_number=number).first()
        if household is not None:
            return redirect("assessments:monitoring_raise", household_pk=household.pk)
        messages.error(request, str(HOUSEHOLD_NOT_FOUND))
    return redirect(reverse("assessments:monitoring_flags"))


@login_required
def flag_raise(request, household_pk):
    """Propose a household for monitoring after a sudden event (work team)."""
    household = get_scoped_or_404(household_queryset(), request.user, pk=household_pk)
    if request.method == "POST":
        if not can_raise(request.user):
            return forbidden(request)
        form = FlagRaiseForm(request.POST, auto_id="flag-%s")
        if form.is_valid():
            try:
                flag = monitoring_flag_raise(
                    actor=request.user,
                    household=household,
                    kind=form.cleaned_data["kind"],
                    reason=form.cleaned_data["reason"],
                    event=form.cleaned_data["event"],
                    on_date=form.cleaned_data["on_date"],
                )
            except ApplicationError as error:
                attach_error(error, form)
            else:
                messages.success(request, _("已提出纳入监测，进入核实和民主评议。"))
                return redirect("assessments:monitoring_flag", pk=flag.pk)
    else:
        form = FlagRaiseForm(initial={"kind": FlagKind.SUDDEN}, auto_id="flag-%s")
    flags = scope_queryset(MonitoringFlag.objects.filter(household=household), request.user).order_by("-raised_on")
    return render(
        request,
        "assessments/monitoring/flag_raise.html",
        {
            "household": household,
            "form": form,
            "show_errors": True,
            "can_raise": can_raise(request.user),
            "in_transition": in_transition(household, date.today().year),
            "flags": list(flags),
        },
    )
