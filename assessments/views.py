"""Pages for the annual reassessment and exit certification (年度核查、脱贫退出):
the campaign's progress, a household's assessments and its form, exit cases with their
steps, rule results and actions, the county review queue, the certificate download and
the public verification of a certificate.

Every view reads through :mod:`assessments.selectors` (outside the jurisdiction is a 404)
and writes only through the services, whose refusals it shows in Chinese beside the field
they concern. The buttons shown are those the services would accept from the user's role.
"""

from __future__ import annotations

from datetime import date

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from assessments import selectors
from assessments.certificates import certificate_issue, public_facts
from assessments.choices import ExitCaseStatus
from assessments.eligibility import all_passed, build_snapshot, evaluate
from assessments.exit_cases import (
    OBJECTION_DECIDERS,
    PROPOSERS,
    STEPS,
    WORKFLOW,
    available_steps,
    exit_case_certify_batch,
    exit_case_propose,
    exit_objection_raise,
    exit_objection_resolve,
)
from assessments.forms import (
    FIRST_YEAR,
    AssessmentForm,
    AssessmentYearForm,
    CertifyBatchForm,
    ExitObjectionRaiseForm,
    ExitObjectionResolveForm,
    ExitStepForm,
    ProposeForm,
    VerifyForm,
)
from assessments.services import ASSESSABLE, assessment_record
from assessments.step_views import take_step
from households.choices import POOR_NOT_EXITED, MemberStatus
from households.forms import attach_error
from households.views import can_enter_data
from registry.errors import ApplicationError
from registry.roles import Role
from registry.views import forbidden
from villages import selectors as village_selectors

PAGE_SIZE = 50
CLOSED_CASE_STATUSES = (ExitCaseStatus.REJECTED, ExitCaseStatus.WITHDRAWN)
RULES_FAILED_HEADING = gettext_lazy("不符合退出标准，以下 %(count)d 项未达到：")
NOT_IN_QUEUE = gettext_lazy("不在待审定队列（可能已被审定、退回，或不在您的管辖范围内）。")
#: How the values a rule used are labelled on the case page.
VALUE_LABELS = {
    "per_capita_net_income": gettext_lazy("人均纯收入（元）"),
    "poverty_line": gettext_lazy("扶贫标准（元）"),
    "year": gettext_lazy("年度"),
    "food_secure": gettext_lazy("不愁吃"),
    "clothing_secure": gettext_lazy("不愁穿"),
    "litres": gettext_lazy("人均日供水量（升）"),
    "fetch_minutes": gettext_lazy("取水往返（分钟）"),
    "quality_safe": gettext_lazy("水质达标"),
    "ages": gettext_lazy("义务教育年龄"),
    "out_of_school": gettext_lazy("未在校成员"),
    "exempt_member_ids": gettext_lazy("免于入学成员（编号）"),
    "uninsured": gettext_lazy("未参保成员"),
    "members": gettext_lazy("人数"),
    "housing_grade": gettext_lazy("住房安全等级"),
    "renovated": gettext_lazy("危房已改造"),
}


def can_propose(user) -> bool:
    """Return whether the user's role proposes exits (村提名: the work team); the service decides."""
    return user.is_superuser or user.role in PROPOSERS


def can_decide_exit_objections(user) -> bool:
    return user.is_superuser or user.role in OBJECTION_DECIDERS


def can_certify(user) -> bool:
    return user.is_superuser or user.role == Role.COUNTY


def _user_name(user) -> str:
    if user is None:
        return _("系统")
    return user.get_full_name() or user.username


# Reassessment campaign -------------------------------------------------------------------


@login_required
def campaign(request, year: int | None = None):
    """Show the reassessment campaign of a year: per village, households due, assessed, overdue."""
    if year is None:
        form = AssessmentYearForm(request.GET or None)
        if form.is_bound and form.is_valid():
            return redirect("assessments:campaign", year=form.cleaned_data["year"])
        return redirect("assessments:campaign", year=selectors.campaign_default_year())
    if not FIRST_YEAR <= year <= date.today().year:
        raise Http404
    data = selectors.reassessment_campaign(user=request.user, year=year)
    page = Paginator(data.rows, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "assessments/campaign.html",
        {
            "campaign": data,
            "page": page,
            "year_form": AssessmentYearForm(initial={"year": year}, auto_id="campaign-%s"),
            "previous_year": year - 1 if year > FIRST_YEAR else None,
            "next_year": year + 1 if year < date.today().year else None,
        },
    )


@login_required
def campaign_village(request, year: int, village: str):
    """List one village's households due for the year's reassessment, unassessed first."""
    division = village_selectors.division_get_for_user(user=request.user, code=village)
    if not FIRST_YEAR <= year <= date.today().year:
        raise Http404
    households = selectors.campaign_village_households(user=request.user, year=year, village=division.code)
    page = Paginator(households, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "assessments/campaign_village.html",
        {"year": year, "village": division, "page": page, "can_enter_data": can_enter_data(request.user)},
    )


# A household's assessments ---------------------------------------------------------------


@login_required
def household_assessments(request, pk):
    """Show a household's assessments and exit cases by year, and open another year's form."""
    household = selectors.household_for_assessment(user=request.user, household_id=pk)
    form = AssessmentYearForm(request.GET or None, auto_id="year-%s")
    if form.is_bound and form.is_valid():
        return redirect("assessments:assessment", pk=household.pk, year=form.cleaned_data["year"])
    if not form.is_bound:
        form = AssessmentYearForm(initial={"year": selectors.campaign_default_year()}, auto_id="year-%s")
    return render(
        request,
        "assessments/household.html",
        {
            "household": household,
            "assessments": list(household.assessments.all()),
            "cases": list(household.exit_cases.all()),
            "year_form": form,
            "show_errors": True,
            "assessable": household.status in ASSESSABLE,
        },
    )


def _exempt_choices(household, assessment) -> list:
    exempt = set(assessment.education_exempt_members or []) if assessment else set()
    return [m for m in household.members.all() if m.status == MemberStatus.ACTIVE or m.pk in exempt]


def _eligibility_preview(assessment) -> tuple[list | None, str]:
    """Return a fresh evaluation of a stored assessment (read only), or the reason there is none."""
    if assessment is None:
        return None, ""
    try:
        results = evaluate(build_snapshot(assessment))
    except ApplicationError as error:
        return None, str(error)
    return results, ""


def _assessment_page(request, household, year, *, form=None, conflict=False, propose_form=None, propose_error=None):
    user = request.user
    assessment = selectors.assessment_get(user=user, household=household, year=year)
    locked = selectors.assessment_is_locked(assessment)
    editable = can_enter_data(user) and household.status in ASSESSABLE and not locked
    default_day = selectors.default_assessed_on(year, household.village_id)
    if form is None:
        form = AssessmentForm(
            initial=AssessmentForm.initial_for(assessment, assessed_on=default_day),
            members=_exempt_choices(household, assessment),
        )
    if not editable and not form.is_bound:
        for field in form.fields.values():
            field.disabled = True
    on_date = (
        form.cleaned_data.get("assessed_on")
        if form.is_bound and hasattr(form, "cleaned_data") and form.cleaned_data.get("assessed_on")
        else (assessment.assessed_on if assessment else default_day)
    )
    indicators, indicators_error = None, ""
    try:
        indicators = selectors.derived_indicators(household=household, year=year, on_date=on_date)
    except ApplicationError as error:
        indicators_error = str(error)
    results, preview_error = _eligibility_preview(assessment)
    open_case = next(
        (c for c in household.exit_cases.all() if c.year == year and c.status not in CLOSED_CASE_STATUSES), None
    )
    proposable = (
        can_propose(user) and assessment is not None and household.status in POOR_NOT_EXITED and open_case is None
    )
    return render(
        request,
        "assessments/assessment_form.html",
        {
            "household": household,
            "year": year,
            "assessment": assessment,
            "form": form,
            "show_errors": True,
            "conflict": conflict,
            "editable": editable,
            "locked": locked,
            "indicators": indicators,
            "indicators_error": indicators_error,
            "results": results,
            "all_passed": results is not None and all_passed(results),
            "preview_error": preview_error,
            "open_case": open_case,
            "propose_form": (propose_form or ProposeForm(auto_id="propose-%s")) if proposable else None,
            "propose_error": propose_error,
        },
    )


@login_required
def assessment_view(request, pk, year):
    """Record or correct a household's assessment for a year (年度核查表), on a phone if need be."""
    household = selectors.household_for_assessment(user=request.user, household_id=pk)
    if not FIRST_YEAR <= year <= date.today().year:
        raise Http404
    if request.method != "POST":
        return _assessment_page(request, household, year)
    if not can_enter_data(request.user):
        return forbidden(request)
    assessment = selectors.assessment_get(user=request.user, household=household, year=year)
    form = AssessmentForm(request.POST, members=_exempt_choices(household, assessment))
    conflict = False
    if form.is_valid():
        expected = form.cleaned_data["version"]
        try:
            assessment_record(
                actor=request.user,
                household=household,
                year=year,
                data=form.assessment_data(),
                expected_version=expected,
            )
        except ApplicationError as error:
            attach_error(error, form)
            current = selectors.assessment_get(user=request.user, household=household, year=year)
            conflict = error.code == "conflict" and current is not None and current.version != expected
        else:
            messages.success(request, _("已保存 %(year)s 年度核查。") % {"year": year})
            return redirect("assessments:assessment", pk=household.pk, year=year)
    return _assessment_page(request, household, year, form=form, conflict=conflict)


@login_required
@require_POST
def propose(request, pk, year):
    """Propose the household's exit for the year (村提名); a refusal lists the failed rules."""
    household = selectors.household_for_assessment(user=request.user, household_id=pk)
    if not can_propose(request.user):
        return forbidden(request)
    form = ProposeForm(request.POST, auto_id="propose-%s")
    if not form.is_valid():
        return _assessment_page(request, household, year, propose_form=form)
    try:
        case = exit_case_propose(
            actor=request.user, household=household, year=year, on_date=form.cleaned_data["on_date"]
        )
    except ApplicationError as error:
        rules = [str(r) for r in error.fields.get("rules", [])]
        heading = RULES_FAILED_HEADING % {"count": len(rules)} if rules else str(error)
        return _assessment_page(
            request, household, year, propose_form=form, propose_error={"heading": heading, "rules": rules}
        )
    messages.success(request, _("已提名 %(year)s 年脱贫退出，进入民主评议。") % {"year": year})
    return redirect(case)


# Exit cases ---------------------------------------------------------------------------------


@login_required
def exit_case_list(request):
    """List the exit cases of the user's jurisdiction, by status and year."""
    status = request.GET.get("status") or ""
    status = status if status in ExitCaseStatus.values else ""
    year = request.GET.get("year") or ""
    year = int(year) if year.isdigit() else None
    cases = selectors.exit_case_list(user=request.user, status=status, year=year)
    page = Paginator(cases, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "assessments/exit_case_list.html",
        {"page": page, "statuses": ExitCaseStatus.choices, "status": status, "year": year},
    )


def _value_rows(values: dict) -> list[tuple[str, str]]:
    rows = []
    for key, value in (values or {}).items():
        if isinstance(value, bool):
            shown = _("是") if value else _("否")
        elif isinstance(value, list | tuple):
            shown = "–".join(str(v) for v in value) if key == "ages" else ("、".join(str(v) for v in value) or _("无"))
        elif value is None or value == "":
            shown = "—"
        else:
            shown = str(value)
        rows.append((VALUE_LABELS.get(key, key), shown))
    return rows


def _step_label(action: str) -> str:
    step = STEPS.get(action)
    if step is not None:
        return str(step.label)
    return _("村提名") if action == "propose" else action


def _case_page(request, case, *, bound_step=None, raise_form=None, resolve=None, status=200):
    """Render an exit case; ``bound_step`` (action, form) and ``resolve`` (objection id, form)
    replace the blank forms with the ones just posted, so their errors show beside the fields."""
    user = request.user
    actions = []
    for step in available_steps(case, user):
        if bound_step and bound_step[0] == step.action:
            form = bound_step[1]
        else:
            form = ExitStepForm(step=step, auto_id=f"{step.action}-%s")
        actions.append({"step": step, "form": form})
    deciding = can_decide_exit_objections(user)
    objections = []
    for objection in case.objections.all():
        pending = objection.outcome == "pending"
        form = None
        if pending and deciding and objection.recorded_by_id != user.pk:
            if resolve and resolve[0] == objection.pk:
                form = resolve[1]
            else:
                form = ExitObjectionResolveForm(auto_id=f"objection{objection.pk}-%s")
        objections.append({"objection": objection, "pending": pending, "form": form})
    snapshot = case.snapshot or {}
    figures = snapshot.get("assessment", {})
    return render(
        request,
        "assessments/exit_case.html",
        {
            "case": case,
            "household": case.household,
            "steps": [
                {"step": s, "label": _step_label(s.action), "actor": _user_name(s.actor)} for s in case.steps.all()
            ],
            "rules": [{**r, "value_rows": _value_rows(r.get("values"))} for r in case.rule_results or []],
            "figures": figures,
            "standards": snapshot.get("standards", {}),
            "assessment_changed": case.assessment.version != figures.get("version"),
            "actions": actions,
            "objections": objections,
            "raise_form": (raise_form or ExitObjectionRaiseForm(auto_id="raise-%s"))
            if case.status == ExitCaseStatus.IN_NOTICE and can_enter_data(user)
            else None,
            "show_errors": True,
            "certificate": case.status == ExitCaseStatus.CERTIFIED and bool(case.certificate_code),
        },
        status=status,
    )


@login_required
def exit_case_view(request, pk):
    """Show an exit case: steps, rule results, judged figures, objections and the user's actions."""
    case = selectors.exit_case_get_for_user(user=request.user, case_id=pk)
    return _case_page(request, case)


@login_required
@require_POST
def exit_case_step(request, pk, action):
    """Apply one step of the exit procedure; a refusal shows beside the step's fields."""
    case = selectors.exit_case_get_for_user(user=request.user, case_id=pk)
    return take_step(
        request, WORKFLOW, case, action, url=case.get_absolute_url(),
        render_page=lambda request, case, bound, status: _case_page(request, case, bound_step=bound, status=status),
    )  # fmt: skip


@login_required
@require_POST
def objection_raise(request, pk):
    """Record an objection raised during the village notice (登记公示异议)."""
    case = selectors.exit_case_get_for_user(user=request.user, case_id=pk)
    if not can_enter_data(request.user):
        return forbidden(request)
    form = ExitObjectionRaiseForm(request.POST, auto_id="raise-%s")
    if form.is_valid():
        try:
            exit_objection_raise(
                actor=request.user,
                case=case,
                objector=form.cleaned_data["objector"],
                content=form.cleaned_data["content"],
                raised_on=form.cleaned_data["raised_on"],
            )
        except ApplicationError as error:
            attach_error(error, form)
        else:
            messages.success(request, _("已登记异议；处理完毕前不能结束公示。"))
            return redirect(case)
    if case.status != ExitCaseStatus.IN_NOTICE:
        messages.error(request, "；".join(str(e) for errs in form.errors.values() for e in errs))
        return redirect(case)
    return _case_page(request, case, raise_form=form)


@login_required
@require_POST
def objection_resolve(request, pk, objection_pk):
    """Decide an objection (异议处理): upheld returns the case for amendment."""
    case = selectors.exit_case_get_for_user(user=request.user, case_id=pk)
    objection = selectors.exit_objection_get_for_user(user=request.user, objection_id=objection_pk)
    if objection.case_id != case.pk:
        raise Http404
    if not can_decide_exit_objections(request.user):
        return forbidden(request)
    form = ExitObjectionResolveForm(request.POST, auto_id=f"objection{objection.pk}-%s")
    if form.is_valid():
        try:
            exit_objection_resolve(
                actor=request.user,
                objection=objection,
                upheld=form.cleaned_data["outcome"] == "upheld",
                resolution=form.cleaned_data["resolution"],
            )
        except ApplicationError as error:
            messages.error(request, str(error))
            return redirect(case)
        else:
            messages.success(request, _("异议已处理。"))
            return redirect(case)
    return _case_page(request, case, resolve=(objection.pk, form))


@login_required
def certificate(request, pk):
    """Download the exit certificate (脱贫证明) of a certified, unrevoked case as a PDF."""
    case = selectors.exit_case_get_for_user(user=request.user, case_id=pk)
    if case.status != ExitCaseStatus.CERTIFIED or not case.certificate_code or case.revoked:
        raise Http404
    response = HttpResponse(certificate_issue(actor=request.user, case=case), content_type="application/pdf")
    response["Content-Disposition"] = content_disposition_header(
        as_attachment=True, filename=f"脱贫证明-{case.household.registry_number}-{case.year}.pdf"
    )
    response["Cache-Control"] = "private, no-store"
    return response


# County review queue --------------------------------------------------------------------


@login_required
def queue(request):
    """The county's review queue (县级审定): tick cases and certify them in one action.

    Each ticked case is still checked and recorded on its own; the result page lists every
    ticked case as certified or refused with the reason — none is skipped.
    """
    cases = selectors.county_review_queue(user=request.user)
    certifying = can_certify(request.user)
    if request.method == "POST":
        if not certifying:
            return forbidden(request)
        form = CertifyBatchForm(request.POST, auto_id="batch-%s")
        if form.is_valid():
            ids = form.cleaned_data["cases"]
            found = {case.pk: case for case in cases.filter(pk__in=ids)}
            outcome = exit_case_certify_batch(
                actor=request.user, cases=[found[i] for i in ids if i in found], on_date=form.cleaned_data["on_date"]
            )
            by_id = {case.pk: (case, error) for case, error in outcome}
            rows = []
            for case_id in ids:
                result, error = by_id.get(case_id, (None, NOT_IN_QUEUE))
                rows.append(
                    {
                        "id": case_id,
                        "case": found.get(case_id),  # as listed: with the head's name
                        "certificate_code": result.certificate_code if result is not None and not error else "",
                        "error": error,
                        "certified": error is None,
                    }
                )
            return render(
                request,
                "assessments/queue_result.html",
                {
                    "rows": rows,
                    "certified": sum(1 for r in rows if r["certified"]),
                    "refused": sum(1 for r in rows if not r["certified"]),
                },
            )
    else:
        form = CertifyBatchForm(auto_id="batch-%s")
    page = Paginator(cases, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "assessments/queue.html",
        {"page": page, "form": form, "can_certify": certifying, "show_errors": True},
    )


# Public verification (no login) ---------------------------------------------------------


def verify(request):
    """Ask for a certificate's verification code (公开核验); no login."""
    form = VerifyForm(request.GET or None)
    if form.is_bound and form.is_valid():
        return redirect("verify_code", code=form.cleaned_data["code"])
    return render(request, "assessments/verify.html", {"form": form, "show_errors": form.is_bound})


def verify_code(request, code):
    """Show what the public may know of a certificate: masked name, village, exit year, validity."""
    facts = public_facts(code)
    if facts is None:
        response = render(
            request,
            "assessments/verify.html",
            {"form": VerifyForm(initial={"code": code[:32]}), "not_found": True},
            status=404,
        )
    else:
        response = render(request, "assessments/verify_result.html", {"facts": facts})
    response["X-Robots-Tag"] = "noindex"
    response["Cache-Control"] = "no-store"
    return response
