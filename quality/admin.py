"""The admin door to findings and runs: read-only, with "accept" calling the service."""

from django import forms
from django.contrib import admin
from django.template.response import TemplateResponse
from django.utils.translation import gettext_lazy as _

from quality import services
from quality.models import Finding, QualityRun
from quality.rules import RULES
from quality.selectors import finding_explanation
from registry.admin_base import ScopedModelAdmin
from registry.roles import Capability, user_has_capability
from registry.services import REASON_MAX_LENGTH


class AcceptForm(forms.Form):
    reason = forms.CharField(
        label=_("核实理由"), max_length=REASON_MAX_LENGTH, widget=forms.Textarea(attrs={"rows": 3})
    )


class RuleFilter(admin.SimpleListFilter):
    title = _("核查规则")
    parameter_name = "rule"

    def lookups(self, request, model_admin):
        return [(code, rule.title) for code, rule in RULES.items()]

    def queryset(self, request, queryset):
        return queryset.filter(rule=self.value()) if self.value() else queryset


@admin.register(Finding)
class FindingAdmin(ScopedModelAdmin):
    list_display = ["pk", "rule_title", "household", "member", "status", "first_found_at", "last_checked_at"]
    list_filter = [RuleFilter, "status"]
    search_fields = ["household__registry_number", "member__name"]
    list_select_related = ["household", "member"]
    readonly_fields = ["explanation"]
    exclude = ["values"]
    actions = ["accept"]

    def get_actions(self, request):
        actions = super().get_actions(request)
        if not user_has_capability(request.user, Capability.ACCEPT_QUALITY_FINDINGS):
            actions.pop("accept", None)
        return actions

    @admin.display(description=_("核查规则"), ordering="rule")
    def rule_title(self, obj):
        rule = RULES.get(obj.rule)
        return rule.title if rule else obj.rule

    @admin.display(description=_("问题说明"))
    def explanation(self, obj):
        return finding_explanation(obj)

    @admin.action(description=_("核实无误，认可所选问题"))
    def accept(self, request, queryset):
        form = AcceptForm(request.POST if "apply" in request.POST else None)
        if form.is_valid():
            self.run_action(
                request,
                lambda finding: services.finding_accept(
                    actor=request.user, finding=finding, reason=form.cleaned_data["reason"]
                ),
                queryset,
                _("已认可 %(count)d 个问题。"),
            )
            return None
        context = {
            **self.admin_site.each_context(request),
            "title": _("认可数据质量问题"),
            "form": form,
            "queryset": queryset,
            "opts": self.model._meta,
            "action_name": "accept",
        }
        return TemplateResponse(request, "admin/households/household/transition.html", context)


@admin.register(QualityRun)
class QualityRunAdmin(ScopedModelAdmin):
    list_display = ["pk", "scope_code", "rule_set_version", "started_by", "started_at", "finished_at"]
    list_select_related = ["started_by"]
