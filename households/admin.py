"""Admin for households (the third door): registration, edits and every workflow step.

Status fields are read-only; each transition of the workflow table is an admin action
that asks for the reason and the effective date and calls the same workflow function
as the pages and the API, so four-eyes, notices, objections and exclusions all apply.
"""

from datetime import date

from django import forms
from django.contrib import admin
from django.template.response import TemplateResponse
from django.utils.translation import gettext_lazy as _

from households import services
from households.choices import ObjectionOutcome
from households.crosscheck import crosscheck_import
from households.models import (
    CrossCheckEntry,
    CrossCheckImport,
    Household,
    Member,
    MemberEvent,
    Objection,
    PersonalDataAccess,
    StatusChange,
)
from households.workflow import TRANSITIONS, WORKFLOW, household_transition
from registry.admin_base import MaskedIdentifiersMixin, ScopedModelAdmin, VersionedAdminForm, expected_version
from registry.roles import Capability, user_has_capability
from registry.workflow import role_allows

STATUS_FIELDS = ["registry_number", "status", "step", "notice_ends_on", "status_reason", "status_date", "version"]


class TransitionForm(forms.Form):
    reason = forms.CharField(label=_("理由"), max_length=500, required=False, widget=forms.Textarea(attrs={"rows": 2}))
    on_date = forms.DateField(label=_("生效日期"), initial=date.today)


def _transition_action(action: str):
    t = TRANSITIONS[action]

    def run(modeladmin, request, queryset):
        form = TransitionForm(request.POST if "apply" in request.POST else None)
        if form.is_valid():
            modeladmin.run_action(
                request,
                lambda household: household_transition(
                    actor=request.user,
                    household=household,
                    action=action,
                    reason=form.cleaned_data["reason"],
                    on_date=form.cleaned_data["on_date"],
                ),
                queryset,
                _("“%(action)s”已办理 %%(count)d 户。") % {"action": t.label},
            )
            return None
        context = {
            **modeladmin.admin_site.each_context(request),
            "title": t.label,
            "form": form,
            "queryset": queryset,
            "opts": modeladmin.model._meta,
            "action_name": action,
            "needs_reason": t.needs_reason,
            "reason_choices": t.reason_choices,
        }
        return TemplateResponse(request, "admin/households/household/transition.html", context)

    run.__name__ = f"transition_{action}"
    return admin.action(description=t.label)(run)


class MemberInline(admin.TabularInline):
    model = Member
    fields = ["name", "relationship", "sex", "birth_date", "ethnicity", "status"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request, obj=None):
        return False


class StatusChangeInline(admin.TabularInline):
    model = StatusChange
    fields = ["effective_date", "action", "from_status", "to_status", "to_step", "actor", "reason"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


class HouseholdAdminForm(VersionedAdminForm):
    class Meta:
        model = Household
        fields = ["village", *services.HOUSEHOLD_FIELDS]


class HouseholdAddForm(HouseholdAdminForm):
    """A new household with its head; more members follow as events (birth, marriage, move)."""

    head_name = forms.CharField(label=_("户主姓名"), max_length=50)
    head_id_number = forms.CharField(label=_("户主身份证号"), max_length=18)
    on_date = forms.DateField(label=_("申请日期"), required=False, help_text=_("留空为今天。"))


@admin.register(Household)
class HouseholdAdmin(MaskedIdentifiersMixin, ScopedModelAdmin):
    capability = Capability.ENTER_HOUSEHOLDS
    masked_fields = ("phone",)
    editable_fields = services.HOUSEHOLD_FIELDS
    form = HouseholdAdminForm
    list_display = ["registry_number", "village", "attribute", "main_cause", "status", "step", "identified_year"]
    list_filter = ["status", "step", "attribute", "main_cause"]
    search_fields = ["registry_number"]
    list_select_related = ["village"]
    readonly_fields = STATUS_FIELDS
    autocomplete_fields = ["village"]
    inlines = [MemberInline, StatusChangeInline]
    actions = [_transition_action(name) for name, t in TRANSITIONS.items() if not t.internal]

    def get_readonly_fields(self, request, obj=None):
        return [*STATUS_FIELDS, "village"] if obj else STATUS_FIELDS

    def get_actions(self, request):
        """Offer only the steps the user's role may take (the workflow checks again)."""
        actions = super().get_actions(request)
        user = request.user
        for name, t in TRANSITIONS.items():
            if not role_allows(WORKFLOW, t, user):
                actions.pop(f"transition_{name}", None)
        return actions

    def get_form(self, request, obj=None, change=False, **kwargs):
        if obj is None:
            kwargs["form"] = HouseholdAddForm
        return super().get_form(request, obj, change=change, **kwargs)

    def get_fieldsets(self, request, obj=None):
        fieldsets = super().get_fieldsets(request, obj)
        if obj is None:
            own = ("head_name", "head_id_number", "on_date")
            fields = [f for f in fieldsets[0][1]["fields"] if f not in own]
            return [(None, {"fields": [*own, *fields]})]
        return fieldsets

    def create_service(self, *, request, form):
        data = form.cleaned_data
        household = {k: data[k] for k in services.HOUSEHOLD_FIELDS if k in data}
        head = {"name": data["head_name"], "id_number": data["head_id_number"], "relationship": "head"}
        return services.household_apply(
            actor=request.user,
            village=data["village"],
            household=household,
            members=[head],
            on_date=data.get("on_date"),
        )

    def update_service(self, *, request, instance, changes):
        return services.household_update(
            actor=request.user, household=instance, changes=changes, expected_version=expected_version(request)
        )


class MemberAdminForm(VersionedAdminForm):
    class Meta:
        model = Member
        fields = [f for f in services.MEMBER_FIELDS if f != "relationship"]


@admin.register(Member)
class MemberAdmin(MaskedIdentifiersMixin, ScopedModelAdmin):
    capability = Capability.ENTER_HOUSEHOLDS
    masked_fields = ("id_number", "disability_certificate")
    editable_fields = tuple(f for f in services.MEMBER_FIELDS if f != "relationship")
    form = MemberAdminForm
    list_display = ["name", "household", "relationship", "sex", "status"]
    list_filter = ["status", "relationship", "sex"]
    search_fields = ["name", "household__registry_number"]
    list_select_related = ["household"]
    readonly_fields = ["household", "relationship", "status", "status_date", "current", "version"]

    def has_add_permission(self, request):
        return False  # Members join through an event (birth, marriage, move) on their household.

    def update_service(self, *, request, instance, changes):
        return services.member_update(
            actor=request.user, member=instance, changes=changes, expected_version=expected_version(request)
        )


class ResolveForm(forms.Form):
    outcome = forms.ChoiceField(
        label=_("处理结果"), choices=[c for c in ObjectionOutcome.choices if c[0] != ObjectionOutcome.PENDING]
    )
    resolution = forms.CharField(label=_("处理理由"), widget=forms.Textarea(attrs={"rows": 3}))


@admin.register(Objection)
class ObjectionAdmin(ScopedModelAdmin):
    list_display = ["household", "step", "objector", "raised_on", "outcome", "resolved_by"]
    list_filter = ["outcome", "step"]
    search_fields = ["household__registry_number", "objector"]
    list_select_related = ["household", "resolved_by"]
    actions = ["resolve"]

    def get_actions(self, request):
        actions = super().get_actions(request)
        if not request.user.is_superuser and request.user.role not in services.OBJECTION_DECIDERS:
            actions.pop("resolve", None)
        return actions

    @admin.action(description=_("处理所选异议"))
    def resolve(self, request, queryset):
        form = ResolveForm(request.POST if "apply" in request.POST else None)
        if form.is_valid():
            self.run_action(
                request,
                lambda objection: services.objection_resolve(
                    actor=request.user, objection=objection, **form.cleaned_data
                ),
                queryset,
                _("已处理 %(count)d 条异议。"),
            )
            return None
        context = {
            **self.admin_site.each_context(request),
            "title": _("处理异议"),
            "form": form,
            "queryset": queryset,
            "opts": self.model._meta,
            "action_name": "resolve",
        }
        return TemplateResponse(request, "admin/households/household/transition.html", context)


@admin.register(StatusChange)
class StatusChangeAdmin(ScopedModelAdmin):
    list_display = ["household", "action", "from_status", "to_status", "to_step", "actor", "effective_date"]
    list_filter = ["action", "to_status"]
    search_fields = ["household__registry_number"]
    list_select_related = ["household", "actor"]


@admin.register(MemberEvent)
class MemberEventAdmin(ScopedModelAdmin):
    list_display = ["household", "member", "kind", "event_date", "recorded_by"]
    list_filter = ["kind"]
    list_select_related = ["household", "member", "recorded_by"]


class CrossCheckUploadForm(forms.ModelForm):
    upload = forms.FileField(label=_("名单文件（CSV 或 XLSX：身份证号、类别、说明）"))

    class Meta:
        model = CrossCheckImport
        fields = ["source"]


@admin.register(CrossCheckImport)
class CrossCheckImportAdmin(ScopedModelAdmin):
    capability = Capability.MANAGE_CROSSCHECK
    form = CrossCheckUploadForm
    list_display = ["source", "file_name", "row_count", "imported_by", "imported_at"]
    list_select_related = ["imported_by"]

    def has_change_permission(self, request, obj=None):
        return obj is None and super().has_change_permission(request, obj)

    def create_service(self, *, request, form):
        upload = form.cleaned_data["upload"]
        return crosscheck_import(
            actor=request.user, data=upload.read(), filename=upload.name, source=form.cleaned_data["source"]
        )


@admin.register(CrossCheckEntry)
class CrossCheckEntryAdmin(MaskedIdentifiersMixin, ScopedModelAdmin):
    masked_fields = ("id_number",)

    list_display = ["batch", "category", "note"]
    list_filter = ["category"]
    list_select_related = ["batch"]


@admin.register(PersonalDataAccess)
class PersonalDataAccessAdmin(ScopedModelAdmin):
    """The personal-data access log: read-only for everyone, visible to auditors and administrators."""

    list_display = ["created_at", "username", "token_prefix", "client_address", "door", "household", "count", "reason"]
    list_filter = ["door"]
    search_fields = ["username", "token_prefix", "reason", "household__registry_number"]
    list_select_related = ["household"]
    date_hierarchy = "created_at"

    def has_module_permission(self, request):
        return user_has_capability(request.user, Capability.READ_AUDIT)

    def has_view_permission(self, request, obj=None):
        return user_has_capability(request.user, Capability.READ_AUDIT)
