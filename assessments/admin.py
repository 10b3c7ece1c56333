"""Admin for the assessments app (the third door); every write goes through the services.

Annual reassessments are recorded and corrected through the same service as the page
and the API (computed figures, version check, audit). Household, village and county
exits, monitoring flags and reduction plans: status fields are read-only; each step of a
procedure is an admin action that asks for what the step needs and calls the same
service as the pages and the API, so roles, four eyes, notices, objections, rules and
vetoes all apply.
"""

import json
from datetime import date
from decimal import Decimal
from functools import partial

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.template.response import TemplateResponse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy as _

from assessments import area_exits, exit_cases, monitoring, plans, services
from assessments.choices import TransferItem
from assessments.forms import ExitStepForm
from assessments.models import (
    Assessment,
    CountyExitCase,
    CountyExitObjection,
    CountyExitStep,
    ExitCase,
    ExitCaseStep,
    ExitObjection,
    MonitoringFlag,
    MonitoringFlagStep,
    ReductionPlan,
    SampledHousehold,
    SampledVillage,
    VillageExitCase,
    VillageExitObjection,
    VillageExitStep,
)
from assessments.selectors import assessment_is_locked
from households.choices import Cause, MemberStatus
from registry.admin_base import ScopedModelAdmin, VersionedAdminForm, expected_version
from registry.roles import Capability, Role, roles_with

ACTION_TEMPLATE = "admin/households/household/transition.html"

# Village exit, county exit and reduction plans --------------------------------------------------


def _is(user, *roles) -> bool:
    return user.is_active and (user.is_superuser or user.role in roles)


def _checks_html(results: list[dict]):
    """Render stored check results, one line each: passed or not, label, explanation with its values."""
    return format_html_join(
        mark_safe("<br>"),
        "{} {}：{}",
        (("✔" if r["passed"] else "✘", r["label"], r["explanation"]) for r in results),
    )


class StepForm(forms.Form):
    reason = forms.CharField(label=_("理由"), max_length=500, required=False, widget=forms.Textarea(attrs={"rows": 2}))
    on_date = forms.DateField(label=_("生效日期"), initial=date.today)


class DateForm(forms.Form):
    on_date = forms.DateField(label=_("生效日期"), initial=date.today)


class SampleForm(forms.Form):
    households = forms.IntegerField(label=_("抽查脱贫户数"), min_value=1)
    villages = forms.IntegerField(label=_("抽查村数"), min_value=1)
    seed = forms.IntegerField(
        label=_("抽样种子"),
        min_value=0,
        required=False,
        help_text=_("留空则随机生成；同一种子、同一抽样框得到同一样本。"),
    )
    on_date = forms.DateField(label=_("抽样日期"), initial=date.today)


class ObjectionForm(forms.Form):
    objector = forms.CharField(label=_("异议人"), max_length=50, required=False)
    content = forms.CharField(label=_("异议内容"), widget=forms.Textarea(attrs={"rows": 3}))
    raised_on = forms.DateField(label=_("提出日期"), initial=date.today)


class ResolveForm(forms.Form):
    upheld = forms.TypedChoiceField(
        label=_("处理结果"),
        choices=[("1", _("异议成立，退回")), ("0", _("异议不成立"))],
        coerce=lambda value: value == "1",
    )
    resolution = forms.CharField(label=_("处理理由"), widget=forms.Textarea(attrs={"rows": 3}))


class HouseholdVisitForm(forms.Form):
    wrongly_exited = forms.BooleanField(label=_("错退（不符合退出标准）"), required=False)
    approves = forms.BooleanField(label=_("认可脱贫工作"), required=False)
    visited_on = forms.DateField(label=_("核查日期"), initial=date.today)
    note = forms.CharField(label=_("核查情况"), max_length=500, required=False)


class VillageVisitForm(forms.Form):
    missed_persons = forms.IntegerField(label=_("发现漏评人口"), min_value=0)
    visited_on = forms.DateField(label=_("核查日期"), initial=date.today)
    note = forms.CharField(label=_("核查情况"), max_length=500, required=False)


def _checklist_fields(user) -> dict[str, forms.Field]:
    """Return a met box and an evidence field per item of the checklist in force for the user's province."""
    first = user.jurisdictions.values_list("code", flat=True).first() if user.pk else None
    fields = {}
    for item in area_exits.checklist_items(first or ""):
        label = area_exits.checklist_label(item)
        fields[f"{item}__met"] = forms.BooleanField(label=_("%(item)s：已达标") % {"item": label}, required=False)
        fields[f"{item}__evidence"] = forms.CharField(
            label=_("%(item)s：佐证材料") % {"item": label}, max_length=500, required=False
        )
    return fields


def _checklist(data: dict) -> dict:
    items = {key.split("__")[0] for key in data if key.endswith("__met")}
    return {item: {"met": data[f"{item}__met"], "evidence": data[f"{item}__evidence"]} for item in sorted(items)}


def ask(modeladmin, request, queryset, form, *, label, name: str) -> TemplateResponse:
    """Render the page on which an action asks for ``form`` (again, with its errors, if it did not validate)."""
    context = {
        **modeladmin.admin_site.each_context(request),
        "title": label,
        "form": form,
        "queryset": queryset,
        "opts": modeladmin.model._meta,
        "action_name": name,
    }
    return TemplateResponse(request, ACTION_TEMPLATE, context)


def form_action(name: str, label, form_class, apply, *, roles: frozenset[str] | None = None, form_factory=None):
    """Return an admin action that asks for ``form_class`` and then calls ``apply(request, obj, data)`` per object.

    ``roles`` (when given) limits who is offered the action; the service checks again.
    """

    def run(modeladmin, request, queryset):
        form_cls = form_factory(request) if form_factory else form_class
        form = form_cls(request.POST if "apply" in request.POST else None)
        if form.is_valid():
            modeladmin.run_action(
                request,
                lambda obj: apply(request, obj, form.cleaned_data),
                queryset,
                _("“%(action)s”已办理 %%(count)d 件。") % {"action": label},
            )
            return None
        return ask(modeladmin, request, queryset, form, label=label, name=name)

    run.__name__ = name
    run.roles = roles
    return admin.action(description=label)(run)


def step_form(step) -> type[forms.Form]:
    """Return the form a plain step asks for: its date, and its reason — required where the step needs one."""
    if not step.needs_reason:
        return StepForm
    reason = forms.CharField(label=_("理由"), max_length=500, widget=forms.Textarea(attrs={"rows": 2}))
    return type("ReasonStepForm", (StepForm,), {"reason": reason})


def step_actions(steps: dict, transition, *, form_for=step_form, skip: tuple[str, ...] = ()) -> list:
    """Return one admin action per plain step of a table (steps taking data have their own).

    Each asks for what ``form_for(step)`` holds (``reason`` and ``on_date``); the steps in
    ``skip`` are left to an action of their own.
    """
    actions = []
    for step in steps.values():
        if step.internal or not step.roles or step.action in skip:
            continue

        def apply(request, obj, data, action=step.action):
            return transition(
                actor=request.user, case=obj, action=action, reason=data["reason"], on_date=data["on_date"]
            )

        actions.append(form_action(f"step_{step.action}", step.label, form_for(step), apply, roles=step.roles))
    return actions


class CaseAdminMixin:
    """Offer only the actions the user's role may take; show a case's rows on its page, not on the add form."""

    def get_inlines(self, request, obj):
        return self.inlines if obj is not None else []

    def get_actions(self, request):
        actions = super().get_actions(request)
        for name, (func, _name, _description) in list(actions.items()):
            roles = getattr(func, "roles", None)
            if roles is not None and not _is(request.user, *roles):
                actions.pop(name)
        return actions


class ReadOnlyInline(admin.TabularInline):
    """Rows of a case shown on its page; whoever may see the case (scoped) sees them."""

    extra = 0
    can_delete = False

    def has_view_permission(self, request, obj=None):
        return request.user.is_active and request.user.is_staff

    def get_readonly_fields(self, request, obj=None):
        return self.fields

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class VillageExitStepInline(ReadOnlyInline):
    model = VillageExitStep
    fields = ["effective_date", "action", "from_status", "to_status", "actor", "reason"]


class VillageExitObjectionInline(ReadOnlyInline):
    model = VillageExitObjection
    fields = ["objector", "content", "raised_on", "outcome", "resolution", "resolved_by"]


class VillageExitAddForm(forms.ModelForm):
    on_date = forms.DateField(label=_("提出日期"), required=False, help_text=_("留空为今天。"))

    class Meta:
        model = VillageExitCase
        fields = ["village", "year"]


def _resubmit_village(request, case, data):
    return area_exits.village_exit_resubmit(
        actor=request.user, case=case, checklist=_checklist(data), on_date=data["on_date"]
    )


def _checklist_form(request):
    return type("ChecklistForm", (DateForm,), _checklist_fields(request.user))


def _raise_village_objection(request, case, data):
    return area_exits.village_exit_objection_raise(actor=request.user, case=case, **data)


@admin.register(VillageExitCase)
class VillageExitCaseAdmin(CaseAdminMixin, ScopedModelAdmin):
    list_display = ["village", "year", "status", "incidence", "threshold", "notice_ends_on", "approved_on"]
    list_filter = ["status", "year"]
    search_fields = ["village__name", "village__code"]
    list_select_related = ["village"]
    autocomplete_fields = ["village"]
    inlines = [VillageExitStepInline, VillageExitObjectionInline]
    readonly_fields = [
        "status", "poor_persons", "rural_population", "incidence", "region_class", "threshold", "checks",
        "notice_ends_on", "status_reason", "approved_on", "version",
    ]  # fmt: skip
    actions = [
        *step_actions(area_exits.VILLAGE_STEPS, area_exits.village_exit_transition),
        form_action(
            "resubmit", area_exits.VILLAGE_STEPS["resubmit"].label, None, _resubmit_village,
            roles=area_exits.BY_TOWNSHIP, form_factory=_checklist_form,
        ),
        form_action("raise_objection", _("登记公示异议"), ObjectionForm, _raise_village_objection),
    ]  # fmt: skip

    def has_add_permission(self, request):
        return _is(request.user, Role.TOWNSHIP)

    @admin.display(description=_("出列条件判定"))
    def checks(self, case):
        return _checks_html(case.check_results)

    def get_form(self, request, obj=None, change=False, **kwargs):
        if obj is None:
            kwargs["form"] = type("VillageExitProposeForm", (VillageExitAddForm,), _checklist_fields(request.user))
        return super().get_form(request, obj, change=change, **kwargs)

    def get_fields(self, request, obj=None):
        if obj is None:
            return ["village", "year", "on_date", *_checklist_fields(request.user)]
        return ["village", "year", *self.readonly_fields]

    def create_service(self, *, request, form):
        data = form.cleaned_data
        return area_exits.village_exit_propose(
            actor=request.user,
            village=data["village"],
            year=data["year"],
            checklist=_checklist(data),
            on_date=data.get("on_date"),
        )


class CountyExitStepInline(ReadOnlyInline):
    model = CountyExitStep
    fields = ["effective_date", "action", "from_status", "to_status", "actor", "reason"]


class CountyExitObjectionInline(ReadOnlyInline):
    model = CountyExitObjection
    fields = ["objector", "content", "raised_on", "outcome", "resolution", "resolved_by"]


class SampledHouseholdInline(ReadOnlyInline):
    model = SampledHousehold
    fields = ["position", "household", "persons", "visited_on", "wrongly_exited", "approves", "recorded_by"]


class SampledVillageInline(ReadOnlyInline):
    model = SampledVillage
    fields = ["position", "village", "unregistered_population", "visited_on", "missed_persons", "recorded_by"]


class CountyExitAddForm(forms.ModelForm):
    on_date = forms.DateField(label=_("申请日期"), required=False, help_text=_("留空为今天。"))

    class Meta:
        model = CountyExitCase
        fields = ["county", "year"]


def _draw_sample(request, case, data):
    return area_exits.county_exit_draw_sample(actor=request.user, case=case, **data)


def _evaluate(request, case, data):
    return area_exits.county_exit_evaluate(actor=request.user, case=case, on_date=data["on_date"])


def _resubmit_county(request, case, data):
    return area_exits.county_exit_resubmit(actor=request.user, case=case, on_date=data["on_date"])


def _raise_county_objection(request, case, data):
    return area_exits.county_exit_objection_raise(actor=request.user, case=case, **data)


@admin.register(CountyExitCase)
class CountyExitCaseAdmin(CaseAdminMixin, ScopedModelAdmin):
    form = CountyExitAddForm
    list_display = [
        "county", "year", "status", "wrong_exit_rate", "missed_rate", "approval_rate", "comprehensive_incidence",
        "evaluation_passed", "approved_on",
    ]  # fmt: skip
    list_filter = ["status", "year", "evaluation_passed"]
    search_fields = ["county__name", "county__code"]
    list_select_related = ["county"]
    autocomplete_fields = ["county"]
    inlines = [CountyExitStepInline, SampledHouseholdInline, SampledVillageInline, CountyExitObjectionInline]
    readonly_fields = [
        "status", "region_class", "threshold", "rural_population", "poor_persons", "incidence", "sample_seed",
        "sample_household_count", "sample_village_count", "sampled_on", "sample_frame", "wrong_exit_rate",
        "missed_rate", "approval_rate", "comprehensive_incidence", "evaluation_checks", "evaluation_passed",
        "notice_ends_on", "status_reason", "approved_on", "version",
    ]  # fmt: skip
    steps = area_exits.COUNTY_STEPS
    actions = [
        *step_actions(steps, area_exits.county_exit_transition),
        form_action("draw_sample", steps["draw_sample"].label, SampleForm, _draw_sample, roles=area_exits.BY_PROVINCE),
        form_action("evaluate", steps["evaluate"].label, DateForm, _evaluate, roles=area_exits.BY_PROVINCE),
        form_action("resubmit", steps["resubmit"].label, DateForm, _resubmit_county, roles=area_exits.BY_COUNTY),
        form_action("raise_objection", _("登记公示异议"), ObjectionForm, _raise_county_objection),
    ]

    def has_add_permission(self, request):
        return _is(request.user, Role.COUNTY)

    @admin.display(description=_("专项评估判定"))
    def evaluation_checks(self, case):
        return _checks_html(case.evaluation.get("checks", []))

    def get_fields(self, request, obj=None):
        return ["county", "year", "on_date"] if obj is None else ["county", "year", *self.readonly_fields]

    def create_service(self, *, request, form):
        data = form.cleaned_data
        return area_exits.county_exit_apply(
            actor=request.user, county=data["county"], year=data["year"], on_date=data.get("on_date")
        )


def _record_household_visit(request, sampled, data):
    return area_exits.county_exit_record_household_visit(actor=request.user, sampled=sampled, **data)


def _record_village_visit(request, sampled, data):
    return area_exits.county_exit_record_village_visit(actor=request.user, sampled=sampled, **data)


@admin.register(SampledHousehold)
class SampledHouseholdAdmin(CaseAdminMixin, ScopedModelAdmin):
    list_display = ["case", "position", "household", "persons", "visited_on", "wrongly_exited", "approves"]
    list_filter = ["wrongly_exited", "approves"]
    search_fields = ["household__registry_number"]
    list_select_related = ["case__county", "household"]
    actions = [
        form_action(
            "record_visit", _("登记入户核查"), HouseholdVisitForm, _record_household_visit, roles=area_exits.BY_PROVINCE
        )
    ]


@admin.register(SampledVillage)
class SampledVillageAdmin(CaseAdminMixin, ScopedModelAdmin):
    list_display = ["case", "position", "village", "unregistered_population", "visited_on", "missed_persons"]
    search_fields = ["village__name", "village__code"]
    list_select_related = ["case__county", "village"]
    actions = [
        form_action(
            "record_visit", _("登记漏评核查"), VillageVisitForm, _record_village_visit, roles=area_exits.BY_PROVINCE
        )
    ]


def _resolve(service):
    def apply(request, objection, data):
        return service(actor=request.user, objection=objection, **data)

    return apply


@admin.register(VillageExitObjection)
class VillageExitObjectionAdmin(CaseAdminMixin, ScopedModelAdmin):
    list_display = ["case", "objector", "raised_on", "outcome", "resolved_by"]
    list_filter = ["outcome"]
    list_select_related = ["case__village", "resolved_by"]
    actions = [
        form_action(
            "resolve", _("处理所选异议"), ResolveForm, _resolve(area_exits.village_exit_objection_resolve),
            roles=area_exits.VILLAGE.objection_deciders,
        )
    ]  # fmt: skip


@admin.register(CountyExitObjection)
class CountyExitObjectionAdmin(CaseAdminMixin, ScopedModelAdmin):
    list_display = ["case", "objector", "raised_on", "outcome", "resolved_by"]
    list_filter = ["outcome"]
    list_select_related = ["case__county", "resolved_by"]
    actions = [
        form_action(
            "resolve", _("处理所选异议"), ResolveForm, _resolve(area_exits.county_exit_objection_resolve),
            roles=area_exits.COUNTY_WORKFLOW.objection_deciders,
        )
    ]  # fmt: skip


class ReductionPlanForm(forms.ModelForm):
    class Meta:
        model = ReductionPlan
        fields = ["county", "year", *plans.PLAN_FIELDS]


@admin.register(ReductionPlan)
class ReductionPlanAdmin(ScopedModelAdmin):
    form = ReductionPlanForm
    editable_fields = plans.PLAN_FIELDS
    list_display = [
        "county", "year", "persons_to_exit", "persons_exited", "villages_to_exit", "villages_exited", "county_exits",
        "county_exit_done",
    ]  # fmt: skip
    list_filter = ["year", "county_exits"]
    search_fields = ["county__name", "county__code"]
    list_select_related = ["county"]
    autocomplete_fields = ["county"]

    def has_add_permission(self, request):
        return _is(request.user, Role.COUNTY)

    def has_change_permission(self, request, obj=None):
        return _is(request.user, Role.COUNTY)

    def get_readonly_fields(self, request, obj=None):
        return ["county", "year", "created_by"] if obj else []

    @admin.display(description=_("已脱贫人口"))
    def persons_exited(self, plan):
        return plans.reduction_plan_progress(plan=plan).persons_exited

    @admin.display(description=_("已出列村数"))
    def villages_exited(self, plan):
        return plans.reduction_plan_progress(plan=plan).villages_exited

    @admin.display(description=_("摘帽完成"), boolean=True)
    def county_exit_done(self, plan):
        return plans.reduction_plan_progress(plan=plan).county_exit_done

    def create_service(self, *, request, form):
        data = form.cleaned_data
        return plans.reduction_plan_create(
            actor=request.user, county=data["county"], year=data["year"], **{k: data[k] for k in plans.PLAN_FIELDS}
        )

    def update_service(self, *, request, instance, changes):
        return plans.reduction_plan_update(actor=request.user, plan=instance, **changes)


# Monitoring flags (防止返贫监测) and return to poverty (返贫) ----------------------------------------


class MonitoringFlagStepInline(ReadOnlyInline):
    model = MonitoringFlagStep
    fields = ["effective_date", "action", "from_status", "to_status", "actor", "reason"]


class MonitoringFlagAddForm(forms.ModelForm):
    on_date = forms.DateField(label=_("提出日期"), required=False, help_text=_("留空为今天。"))

    class Meta:
        model = MonitoringFlag
        fields = ["household", "kind", "event", "reason"]


class ReturnToPovertyForm(forms.Form):
    cause = forms.ChoiceField(label=_("返贫原因"), choices=Cause.choices)
    reason = forms.CharField(label=_("理由"), max_length=500, widget=forms.Textarea(attrs={"rows": 2}))
    on_date = forms.DateField(label=_("返贫日期"), initial=date.today)


def _flag_step_actions() -> list:
    actions = []
    for step in monitoring.STEPS.values():
        if step.internal:
            continue

        def apply(request, flag, data, action=step.action):
            return monitoring.monitoring_flag_transition(
                actor=request.user, flag=flag, action=action, reason=data["reason"], on_date=data["on_date"]
            )

        actions.append(form_action(f"step_{step.action}", step.label, step_form(step), apply, roles=step.roles))
    return actions


def _return_to_poverty(request, flag, data):
    return monitoring.return_to_poverty(actor=request.user, household=flag.household, **data)


@admin.register(MonitoringFlag)
class MonitoringFlagAdmin(CaseAdminMixin, ScopedModelAdmin):
    form = MonitoringFlagAddForm
    list_display = ["household", "kind", "status", "trigger", "raised_on", "notice_ends_on"]
    list_filter = ["status", "kind", "trigger"]
    search_fields = ["household__registry_number"]
    list_select_related = ["household"]
    autocomplete_fields = ["household"]
    inlines = [MonitoringFlagStepInline]
    readonly_fields = [
        "status", "trigger", "source_assessment", "raised_on", "notice_ends_on", "status_reason", "version",
    ]  # fmt: skip
    actions = [
        *_flag_step_actions(),
        form_action(
            "return_to_poverty", _("认定返贫"), ReturnToPovertyForm, _return_to_poverty,
            roles=monitoring.BY_COUNTY,
        ),
    ]  # fmt: skip

    def has_add_permission(self, request):
        return _is(request.user, Role.WORK_TEAM)

    def get_fields(self, request, obj=None):
        if obj is None:
            return ["household", "kind", "event", "reason", "on_date"]
        return ["household", "kind", "event", "reason", *self.readonly_fields]

    def get_readonly_fields(self, request, obj=None):
        return ["household", "kind", "event", "reason", *self.readonly_fields] if obj else []

    def create_service(self, *, request, form):
        data = form.cleaned_data
        return monitoring.monitoring_flag_raise(
            actor=request.user, household=data["household"], kind=data["kind"], reason=data["reason"],
            event=data["event"], on_date=data.get("on_date"),
        )  # fmt: skip


@admin.register(MonitoringFlagStep)
class MonitoringFlagStepAdmin(ScopedModelAdmin):
    list_display = ["flag", "action", "from_status", "to_status", "actor", "effective_date"]
    list_filter = ["action"]
    list_select_related = ["flag__household", "actor"]


# Annual reassessment (年度核查) -------------------------------------------------------------------

TRANSFER_PREFIX = "transfer_"
TRANSFER_FIELDS = [TRANSFER_PREFIX + item.value for item in TransferItem]
#: What the service computes from what is entered: never typed in, shown read-only.
COMPUTED_FIELDS = ["household_size", "transfer_income", "net_income", "per_capita_net_income"]
INDICATOR_FIELDS = [
    "food_secure", "clothing_secure", "water_litres_per_person_day", "water_fetch_minutes", "water_quality_safe",
]  # fmt: skip


def _amount(label) -> forms.DecimalField:
    return forms.DecimalField(label=label, required=False, min_value=0, max_digits=12, decimal_places=2)


class AssessmentAdminBaseForm(VersionedAdminForm):
    """What the work team enters for a year; the transfers item by item, as on the page.

    On an existing assessment the exempt members are ticked among the household's members.
    """

    class Meta:
        model = Assessment
        fields = ["household", "year", "assessed_on", *services.INCOME_FIELDS, *INDICATOR_FIELDS, "notes"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        assessment = self.instance
        if not assessment.pk:
            return
        for item, amount in (assessment.transfers or {}).items():
            self.initial[TRANSFER_PREFIX + item] = Decimal(str(amount))
        if "education_exempt_members" in self.fields:
            exempt = set(assessment.education_exempt_members or [])
            members = assessment.household.members.order_by("id")
            members = [m for m in members if m.status == MemberStatus.ACTIVE or m.pk in exempt]
            self.fields["education_exempt_members"] = forms.TypedMultipleChoiceField(
                label=Assessment._meta.get_field("education_exempt_members").verbose_name,
                choices=[(m.pk, m.name) for m in members],
                coerce=int,
                required=False,
                widget=forms.CheckboxSelectMultiple,
                help_text=_("义务教育阶段因身体原因不能入学、送教上门的成员。"),
            )

    def assessment_data(self) -> dict:
        """Return everything entered, under the names ``assessment_record`` takes."""
        data = self.cleaned_data
        entered = {name: data[name] for name in ("assessed_on", *services.INCOME_FIELDS, *INDICATOR_FIELDS, "notes")}
        entered["transfers"] = transfers_of(data, {})
        if "education_exempt_members" in self.fields:
            entered["education_exempt_members"] = sorted(data["education_exempt_members"])
        return entered


#: One amount field per transfer item (declared, so the admin may list them among its fields).
AssessmentAdminForm = type(
    "AssessmentAdminForm",
    (AssessmentAdminBaseForm,),
    {TRANSFER_PREFIX + item.value: _amount(item.label) for item in TransferItem},
)


def transfers_of(data: dict, current: dict) -> dict:
    """Return ``current`` transfers with the items among ``data`` (``transfer_<item>``) set; empty drops one."""
    transfers = dict(current)
    for name, amount in data.items():
        if not name.startswith(TRANSFER_PREFIX):
            continue
        item = name.removeprefix(TRANSFER_PREFIX)
        if amount is None:
            transfers.pop(item, None)
        else:
            transfers[item] = str(amount)
    return transfers


@admin.register(Assessment)
class AssessmentAdmin(ScopedModelAdmin):
    """Annual reassessments: recorded and corrected through ``assessment_record``, like the page and the API.

    The service computes the income figures and the household size, sets the version and
    refuses a stale form; an assessment a certified exit relies on is shown read-only.
    """

    capability = Capability.ENTER_HOUSEHOLDS
    form = AssessmentAdminForm
    editable_fields = (*services.ASSESSMENT_FIELDS, *TRANSFER_FIELDS)
    list_display = [
        "household", "year", "assessed_on", "household_size", "net_income", "per_capita_net_income", "assessed_by",
        "version",
    ]  # fmt: skip
    list_filter = ["year"]
    search_fields = ["household__registry_number"]
    list_select_related = ["household", "assessed_by"]
    autocomplete_fields = ["household"]

    def has_change_permission(self, request, obj=None):
        """Refuse the change form where the service would: a locked assessment, a household no longer assessed."""
        if not super().has_change_permission(request, obj):
            return False
        if obj is None:
            return True
        if not hasattr(obj, "_admin_editable"):  # asked several times per page: look once
            obj._admin_editable = obj.household.status in services.ASSESSABLE and not assessment_is_locked(obj)
        return obj._admin_editable

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return []
        return ["household", "year", *COMPUTED_FIELDS, "transfers_display", "exempt_display", "assessed_by", "version"]

    def get_fieldsets(self, request, obj=None):
        editable = obj is None or self.has_change_permission(request, obj)
        fieldsets = [
            (None, {"fields": ["household", "year", "assessed_on"]}),
            (_("收入"), {"fields": list(services.INCOME_FIELDS)}),
            (_("转移性收入"), {"fields": TRANSFER_FIELDS if editable else ["transfers_display"]}),
            (_("两不愁三保障"), {"fields": INDICATOR_FIELDS}),
            (None, {"fields": ["notes"]}),
        ]
        if obj is None:
            return fieldsets
        fieldsets[3][1]["fields"] = [*INDICATOR_FIELDS, "education_exempt_members" if editable else "exempt_display"]
        return [
            *fieldsets,
            (_("计算结果（由系统计算）"), {"fields": COMPUTED_FIELDS}),
            (None, {"fields": ["assessed_by", "version", *(["expected_version"] if editable else [])]}),
        ]

    @admin.display(description=_("转移性收入明细"))
    def transfers_display(self, assessment):
        return "；".join(f"{TransferItem(k).label} {v} 元" for k, v in (assessment.transfers or {}).items()) or "—"

    @admin.display(description=_("因身体原因免于入学的成员"))
    def exempt_display(self, assessment):
        ids = assessment.education_exempt_members or []
        return "、".join(assessment.household.members.filter(pk__in=ids).values_list("name", flat=True)) or "—"

    def create_service(self, *, request, form):
        data = form.cleaned_data
        # Version 0: "there was none when I looked", as the API posts it.
        return services.assessment_record(
            actor=request.user, household=data["household"], year=data["year"], data=form.assessment_data(),
            expected_version=0,
        )  # fmt: skip

    def update_service(self, *, request, instance, changes):
        data = {name: value for name, value in changes.items() if not name.startswith(TRANSFER_PREFIX)}
        if len(data) < len(changes):
            data["transfers"] = transfers_of(changes, instance.transfers or {})
        if "education_exempt_members" in data:
            data["education_exempt_members"] = sorted(data["education_exempt_members"])
        return services.assessment_record(
            actor=request.user, household=instance.household, year=instance.year, data=data,
            expected_version=expected_version(request),
        )  # fmt: skip


# Household exit cases (脱贫退出) ----------------------------------------------------------------


class ExitCaseStepInline(ReadOnlyInline):
    model = ExitCaseStep
    fields = ["effective_date", "step", "from_status", "to_status", "actor", "reason"]

    @admin.display(description=_("操作"))
    def step(self, row):
        return step_label(row.action)


class ExitObjectionInline(ReadOnlyInline):
    model = ExitObjection
    fields = ["objector", "content", "raised_on", "recorded_by", "outcome", "resolution", "resolved_by"]


def step_label(action: str) -> str:
    """Return how a recorded step of an exit case reads (村提名, 撤销 and the table's labels)."""
    if action in exit_cases.STEPS:
        return str(exit_cases.STEPS[action].label)
    return str({"propose": _("村提名"), "revoke": _("撤销脱贫（错退）")}.get(action, action))


class ExitCaseProposeForm(forms.ModelForm):
    on_date = forms.DateField(label=_("提名日期"), required=False, help_text=_("留空为今天。"))

    class Meta:
        model = ExitCase
        fields = ["household", "year"]


class RevokeForm(forms.Form):
    reason = forms.CharField(
        label=_("撤销理由"),
        max_length=ExitCase._meta.get_field("revoked_reason").max_length,
        widget=forms.Textarea(attrs={"rows": 2}),
    )


class CertifyForm(forms.Form):
    on_date = forms.DateField(label=_("审定日期"), initial=date.today)


def _exit_step_form(step):
    """The page's form of the step: the signatory for the acknowledgement, a required reason where needed."""
    return partial(ExitStepForm, step=step)


def _raise_exit_objection(request, case, data):
    return exit_cases.exit_objection_raise(actor=request.user, case=case, **data)


def _revoke(request, case, data):
    return exit_cases.exit_case_revoke(actor=request.user, case=case, reason=data["reason"])


@admin.action(description=exit_cases.STEPS["county_certify"].label)
def certify(modeladmin, request, queryset):
    """Certify the selected cases as one batch (批量审定), each still checked on its own; report each."""
    form = CertifyForm(request.POST if "apply" in request.POST else None)
    label = exit_cases.STEPS["county_certify"].label
    if not form.is_valid():
        return ask(modeladmin, request, queryset, form, label=label, name="step_county_certify")
    cases = list(queryset.order_by("pk"))
    outcome = exit_cases.exit_case_certify_batch(actor=request.user, cases=cases, on_date=form.cleaned_data["on_date"])
    for case, error in outcome:
        which = f"{case.household} {case.year}"
        if error is None:
            message = _("%(case)s：已审定，证明校验码 %(code)s。") % {"case": which, "code": case.certificate_code}
            modeladmin.message_user(request, message, messages.SUCCESS)
        else:
            modeladmin.message_user(request, f"{which}：{error}", messages.ERROR)
    found = {str(case.pk) for case in cases}
    for missing in sorted(set(request.POST.getlist(helpers.ACTION_CHECKBOX_NAME)) - found):
        modeladmin.message_user(request, _("#%(id)s：不在您的管辖范围内，未办理。") % {"id": missing}, messages.ERROR)
    certified = sum(1 for _case, error in outcome if error is None)
    summary = _("审定通过 %(certified)s 户，未通过 %(refused)s 户。") % {
        "certified": certified,
        "refused": len(outcome) - certified,
    }
    modeladmin.message_user(request, summary, messages.INFO)
    return None


certify.__name__ = "step_county_certify"
certify.roles = exit_cases.STEPS["county_certify"].roles


@admin.register(ExitCase)
class ExitCaseAdmin(CaseAdminMixin, ScopedModelAdmin):
    """Household exit cases: proposed, taken step by step, certified (in batches) and revoked through the services.

    Everything on a case is read-only; its steps are actions offered to the roles that
    take them, and the services check the order, four eyes, notices, objections and rules.
    """

    form = ExitCaseProposeForm
    list_display = [
        "household", "year", "status", "eligible", "notice_ends_on", "certified_on", "certificate_code", "revoked",
    ]  # fmt: skip
    list_filter = ["status", "year", "revoked"]
    search_fields = ["household__registry_number", "certificate_code"]
    list_select_related = ["household"]
    autocomplete_fields = ["household"]
    inlines = [ExitCaseStepInline, ExitObjectionInline]
    readonly_fields = [
        "assessment", "status", "checks", "figures", "rule_set_version", "eligible", "acknowledged_by",
        "notice_ends_on", "status_reason", "certified_on", "certificate_code", "revoked", "revoked_reason", "version",
        "snapshot_display",
    ]  # fmt: skip
    actions = [
        *step_actions(exit_cases.STEPS, exit_cases.exit_case_transition, form_for=_exit_step_form,
                      skip=("county_certify",)),
        certify,
        form_action(
            "raise_objection", _("登记公示异议"), ObjectionForm, _raise_exit_objection,
            roles=roles_with(Capability.ENTER_HOUSEHOLDS),
        ),
        form_action("revoke", _("撤销脱贫（错退）"), RevokeForm, _revoke, roles=exit_cases.REVOKERS),
    ]  # fmt: skip

    def has_add_permission(self, request):
        return _is(request.user, *exit_cases.PROPOSERS)

    def get_fields(self, request, obj=None):
        return ["household", "year", "on_date"] if obj is None else ["household", "year", *self.readonly_fields]

    @admin.display(description=_("退出条件判定"))
    def checks(self, case):
        return _checks_html(case.rule_results or [])

    @admin.display(description=_("判定依据"))
    def figures(self, case):
        judged = (case.snapshot or {}).get("assessment", {})
        standards = (case.snapshot or {}).get("standards", {})
        return _(
            "%(year)s 年度核查（%(date)s，版本 %(version)s）：家庭人口 %(size)s 人，家庭纯收入 %(net)s 元，"
            "人均纯收入 %(per_capita)s 元；扶贫标准 %(line)s 元。"
        ) % {
            "year": judged.get("year", "—"),
            "date": judged.get("assessed_on", "—"),
            "version": judged.get("version", "—"),
            "size": judged.get("household_size", "—"),
            "net": judged.get("net_income", "—"),
            "per_capita": judged.get("per_capita_net_income", "—"),
            "line": standards.get("poverty_line", "—"),
        }

    @admin.display(description=_("判定数据快照"))
    def snapshot_display(self, case):
        return format_html("<pre>{}</pre>", json.dumps(case.snapshot or {}, ensure_ascii=False, indent=2))

    def create_service(self, *, request, form):
        data = form.cleaned_data
        return exit_cases.exit_case_propose(
            actor=request.user, household=data["household"], year=data["year"], on_date=data["on_date"]
        )

    @staticmethod
    def describe_error(error):
        """A refused proposal names each rule it failed, one per line, as the page lists them."""
        rules = [str(rule) for rule in error.fields.get("rules", [])]
        if error.code != "rules_failed" or not rules:
            return ScopedModelAdmin.describe_error(error)
        heading = _("不符合退出标准，以下 %(count)d 项未达到：") % {"count": len(rules)}
        return format_html("{}<br>{}", heading, format_html_join(mark_safe("<br>"), "✘ {}", ((r,) for r in rules)))


def _resolve_exit_objection(request, objection, data):
    return exit_cases.exit_objection_resolve(actor=request.user, objection=objection, **data)


@admin.register(ExitObjection)
class ExitObjectionAdmin(CaseAdminMixin, ScopedModelAdmin):
    list_display = ["case", "objector", "raised_on", "recorded_by", "outcome", "resolved_by"]
    list_filter = ["outcome"]
    search_fields = ["case__household__registry_number", "objector"]
    list_select_related = ["case__household", "recorded_by", "resolved_by"]
    actions = [
        form_action(
            "resolve", _("处理所选异议"), ResolveForm, _resolve_exit_objection, roles=exit_cases.OBJECTION_DECIDERS
        )
    ]
