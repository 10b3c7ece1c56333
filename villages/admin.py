"""Admin for geography, poverty status, work teams and helpers (all writes via services)."""

from datetime import date

from django import forms
from django.contrib import admin
from django.template.response import TemplateResponse
from django.utils.translation import gettext_lazy as _

from registry.admin_base import MaskedIdentifiersMixin, ScopedModelAdmin
from registry.roles import Capability
from villages import services
from villages.models import (
    CountyStatus,
    Division,
    Helper,
    VillagerGroup,
    VillageStatus,
    WorkTeam,
    WorkTeamMember,
)


@admin.register(Division)
class DivisionAdmin(ScopedModelAdmin):
    capability = Capability.MANAGE_DIVISIONS
    editable_fields = ("name",)
    list_display = ["code", "name", "level", "parent"]
    list_filter = ["level"]
    search_fields = ["code", "name"]
    list_select_related = ["parent"]
    autocomplete_fields = ["parent"]

    def get_readonly_fields(self, request, obj=None):
        return ["code", "level", "parent"] if obj else []

    def create_service(self, *, request, form):
        data = form.cleaned_data
        return services.division_create(
            actor=request.user, code=data["code"], name=data["name"], level=data["level"], parent=data["parent"]
        )

    def update_service(self, *, request, instance, changes):
        return services.division_rename(actor=request.user, division=instance, name=changes["name"])


class StatusAdmin(ScopedModelAdmin):
    """Poverty status; the exit fields change only through the exit workflows."""

    capability = Capability.MANAGE_POVERTY_STATUS
    status_service = None
    division_field = ""

    def get_readonly_fields(self, request, obj=None):
        readonly = ["exit_status", "exit_year"]
        return [self.division_field, *readonly] if obj else readonly

    def create_service(self, *, request, form):
        data = dict(form.cleaned_data)
        division = data.pop(self.division_field)
        fields = {k: v for k, v in data.items() if k in self.editable_fields}
        return type(self).status_service(actor=request.user, **{self.division_field: division}, **fields)

    def update_service(self, *, request, instance, changes):
        division = getattr(instance, self.division_field)
        return type(self).status_service(actor=request.user, **{self.division_field: division}, **changes)


@admin.register(CountyStatus)
class CountyStatusAdmin(StatusAdmin):
    status_service = staticmethod(services.county_status_set)
    division_field = "county"
    editable_fields = tuple(sorted(services.COUNTY_STATUS_FIELDS - {"exit_status", "exit_year"}))
    list_display = [
        "county",
        "poverty_type",
        "deep_poverty",
        "region_class",
        "planned_exit_year",
        "exit_status",
        "exit_year",
    ]
    list_filter = ["poverty_type", "deep_poverty", "region_class", "exit_status"]
    search_fields = ["county__name", "county__code"]
    list_select_related = ["county"]
    autocomplete_fields = ["county"]


@admin.register(VillageStatus)
class VillageStatusAdmin(StatusAdmin):
    status_service = staticmethod(services.village_status_set)
    division_field = "village"
    editable_fields = tuple(sorted(services.VILLAGE_STATUS_FIELDS - {"exit_status", "exit_year"}))
    list_display = [
        "village",
        "is_poverty_village",
        "deep_poverty",
        "identified_year",
        "rural_population",
        "exit_status",
        "exit_year",
    ]
    list_filter = ["is_poverty_village", "deep_poverty", "exit_status"]
    search_fields = ["village__name", "village__code"]
    list_select_related = ["village"]
    autocomplete_fields = ["village"]


@admin.register(VillagerGroup)
class VillagerGroupAdmin(ScopedModelAdmin):
    capability = Capability.MANAGE_DIVISIONS
    list_display = ["village", "number", "name"]
    search_fields = ["village__name", "name"]
    list_select_related = ["village"]
    autocomplete_fields = ["village"]

    def has_change_permission(self, request, obj=None):
        return obj is None and super().has_change_permission(request, obj)

    def create_service(self, *, request, form):
        data = form.cleaned_data
        return services.villager_group_create(
            actor=request.user, village=data["village"], number=data["number"], name=data["name"]
        )


class WorkTeamMemberInline(admin.TabularInline):
    model = WorkTeamMember
    fields = ["name", "role", "title", "unit", "phone", "user"]
    extra = 3
    min_num = 0
    can_delete = True
    autocomplete_fields = ["user"]

    def get_queryset(self, request):
        return super().get_queryset(request).filter(active=True)

    def has_add_permission(self, request, obj=None):
        return True

    def has_change_permission(self, request, obj=None):
        return True

    def has_delete_permission(self, request, obj=None):
        return True  # "Deleting" a member in the inline marks them as having left.

    def has_view_permission(self, request, obj=None):
        return True


class WithdrawForm(forms.Form):
    on_date = forms.DateField(label=_("撤出日期"), initial=date.today)
    reason = forms.CharField(label=_("撤出原因"), max_length=200)


@admin.register(WorkTeam)
class WorkTeamAdmin(ScopedModelAdmin):
    capability = Capability.MANAGE_WORK_TEAMS
    editable_fields = tuple(sorted(services.TEAM_FIELDS))
    list_display = ["village", "dispatching_unit", "term_start", "term_end", "status"]
    list_filter = ["status"]
    search_fields = ["village__name", "village__code", "dispatching_unit", "members__name"]
    list_select_related = ["village"]
    autocomplete_fields = ["village"]
    readonly_fields = ["status", "withdrawn_on", "withdrawal_reason"]
    inlines = [WorkTeamMemberInline]
    actions = ["withdraw"]

    def get_readonly_fields(self, request, obj=None):
        return [*self.readonly_fields, "village"] if obj else self.readonly_fields

    def save_formset(self, request, form, formset, change):
        """Members are written by the work-team services in ``save_related``."""

    def _members(self, formsets) -> list[dict]:
        members = []
        for formset in formsets:
            for form in formset.forms:
                data = getattr(form, "cleaned_data", None)
                if not data or data.get("DELETE") or not data.get("name"):
                    continue
                member = {k: data.get(k) for k in ("name", "role", "title", "unit", "phone", "user")}
                if data.get("id") is not None:
                    member["id"] = data["id"].pk
                members.append(member)
        return members

    def save_model(self, request, obj, form, change):
        """The team is written with its members in ``save_related``."""

    def save_related(self, request, form, formsets, change):
        obj = form.instance
        members = self._members(formsets)
        if not change:
            data = form.cleaned_data
            team = services.work_team_create(
                actor=request.user,
                village=data["village"],
                dispatching_unit=data["dispatching_unit"],
                term_start=data["term_start"],
                term_end=data["term_end"],
                members=members,
            )
            obj.pk = team.pk
            return
        original = WorkTeam.objects.get(pk=obj.pk)
        changes = {n: form.cleaned_data[n] for n in form.changed_data if n in self.editable_fields}
        if changes:
            services.work_team_update(actor=request.user, team=original, **changes)
        if any(formset.has_changed() for formset in formsets):
            services.work_team_set_members(actor=request.user, team=original, members=members)

    @admin.action(description=_("撤出所选工作队"))
    def withdraw(self, request, queryset):
        form = WithdrawForm(request.POST if "apply" in request.POST else None)
        if form.is_valid():
            self.run_action(
                request,
                lambda team: services.work_team_withdraw(
                    actor=request.user,
                    team=team,
                    on_date=form.cleaned_data["on_date"],
                    reason=form.cleaned_data["reason"],
                ),
                queryset,
                _("已撤出 %(count)d 支工作队。"),
            )
            return None
        context = {
            **self.admin_site.each_context(request),
            "title": _("撤出工作队"),
            "form": form,
            "queryset": queryset,
            "opts": self.model._meta,
            "action_name": "withdraw",
        }
        return TemplateResponse(request, "admin/villages/workteam/withdraw.html", context)


@admin.register(WorkTeamMember)
class WorkTeamMemberAdmin(ScopedModelAdmin):
    """Read-only roster across teams; members are edited on their team."""

    list_display = ["name", "role", "title", "unit", "team", "active"]
    list_filter = ["role", "active"]
    search_fields = ["name", "team__village__name"]
    list_select_related = ["team", "team__village"]


@admin.register(Helper)
class HelperAdmin(MaskedIdentifiersMixin, ScopedModelAdmin):
    capability = Capability.MANAGE_HELPERS
    masked_fields = ("id_number", "phone")
    editable_fields = tuple(sorted(services.HELPER_FIELDS))
    list_display = ["name", "unit", "title", "division", "active"]
    list_filter = ["active"]
    search_fields = ["name", "unit", "division__name"]
    list_select_related = ["division"]
    autocomplete_fields = ["division"]
    exclude = ["county_code"]

    def get_readonly_fields(self, request, obj=None):
        return ["division"] if obj else []

    def create_service(self, *, request, form):
        data = form.cleaned_data
        return services.helper_create(
            actor=request.user,
            division=data["division"],
            name=data["name"],
            unit=data["unit"],
            phone=data["phone"],
            id_number=data.get("id_number", ""),
            title=data.get("title", ""),
        )

    def update_service(self, *, request, instance, changes):
        return services.helper_update(actor=request.user, helper=instance, **changes)
