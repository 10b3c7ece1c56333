"""The data-quality pages (数据质量核查): counts per rule, open findings, accept, run."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from quality import selectors, services
from quality.choices import FindingStatus
from quality.filtersets import FindingFilterSet
from quality.forms import AcceptForm
from quality.jobs import JOB_KIND
from quality.rules import RULES
from registry.errors import ApplicationError
from registry.jobs import job_create, job_get_for_user
from registry.roles import Capability, user_has_capability
from registry.views import forbidden
from villages import selectors as village_selectors

PAGE_SIZE = 50
ACCEPTED = _("已认可该问题。")


@login_required
def quality_index(request):
    """Go to the quality page of the user's division, or list them when there are several."""
    roots = list(village_selectors.division_roots_for_user(user=request.user))
    if len(roots) == 1:
        return redirect("quality:division", code=roots[0].code)
    return render(request, "quality/index.html", {"roots": roots})


@login_required
def quality_division(request, code):
    """Show a division's findings: counts per rule, then the list, filtered by rule and status."""
    division = village_selectors.division_get_for_user(user=request.user, code=code)
    filters = request.GET.copy()
    filters.setdefault("status", FindingStatus.OPEN)
    filters["within"] = division.code
    filterset = FindingFilterSet(filters, queryset=selectors.finding_list(user=request.user))
    findings = filterset.qs.order_by("rule", "household__registry_number", "member_id", "pk")
    page = Paginator(findings, PAGE_SIZE).get_page(request.GET.get("page"))
    for finding in page:
        finding.rule_info = RULES.get(finding.rule)
        finding.explanation = selectors.finding_explanation(finding)
    return render(
        request,
        "quality/division.html",
        {
            "division": division,
            "ancestors": village_selectors.division_ancestors(user=request.user, division=division),
            "counts": selectors.rule_counts(user=request.user, prefix=division.prefix),
            "filterset": filterset,
            "rule_value": filters.get("rule", ""),
            "status_value": filters.get("status", ""),
            "statuses": FindingStatus.choices,
            "rules": [(code, rule.title) for code, rule in RULES.items()],
            "page": page,
            "latest_run": selectors.latest_run(scope_code=division.code),
            "can_run": services.may_run(request.user, division),
            "can_accept": user_has_capability(request.user, Capability.ACCEPT_QUALITY_FINDINGS),
            "accept_form": AcceptForm(),
        },
    )


@login_required
@require_POST
def quality_run_start(request, code):
    """Start a run over the division in the background and show its progress."""
    division = village_selectors.division_get_for_user(user=request.user, code=code)
    if not services.may_run(request.user, division):
        return forbidden(request, _("您没有运行数据质量核查的权限。"))
    job = job_create(actor=request.user, kind=JOB_KIND, params={"division": division.code})
    return redirect("quality:job", job_id=job.pk)


@login_required
def quality_job(request, job_id):
    """Show a run's progress (refreshing itself while it runs), then what each rule found."""
    job = job_get_for_user(user=request.user, job_id=job_id)
    division = None
    if job.kind == JOB_KIND:
        division = village_selectors.division_get_for_user(user=request.user, code=job.params["division"])
    counts = (job.result or {}).get("counts", {})
    rows = [{"rule": RULES[code], **counts[code]} for code in RULES if code in counts]
    return render(request, "quality/job.html", {"job": job, "division": division, "rows": rows})


@login_required
@require_POST
def finding_accept(request, finding_id):
    """Accept a finding as true, with the reason; refusals come back as a message in Chinese."""
    finding = selectors.finding_get_for_user(user=request.user, finding_id=finding_id)
    if not user_has_capability(request.user, Capability.ACCEPT_QUALITY_FINDINGS):
        return forbidden(request, _("只有乡镇、县级审核人员可以认可数据质量问题。"))
    form = AcceptForm(request.POST)
    reason = form.data.get("reason", "")
    try:
        services.finding_accept(actor=request.user, finding=finding, reason=reason)
    except ApplicationError as error:
        messages.error(request, str(error))
    else:
        messages.success(request, ACCEPTED)
    back = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()}):
        back = reverse("quality:division", kwargs={"code": finding.division_code})
    return redirect(back)
