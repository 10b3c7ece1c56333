"""Data-quality findings and the runs that produce them (数据质量核查结果与核查批次).

A finding is one defect a rule found: the rule, the household (and member), the values
that offend. A run re-checks a division and moves each finding along its lifecycle
(see :mod:`quality.services`); findings are never deleted.
"""

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from quality.choices import FindingStatus


class QualityRun(models.Model):
    """One run of the rules over a division (核查批次), with what each rule found."""

    scope_code = models.CharField(_("核查范围（区划代码）"), max_length=12, blank=True, help_text=_("空为全部"))
    rule_set_version = models.CharField(_("规则版本"), max_length=20)
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("发起人"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text=_("空为系统（定时核查）"),
    )
    started_at = models.DateTimeField(_("开始时间"))
    finished_at = models.DateTimeField(_("结束时间"), null=True, blank=True)
    counts = models.JSONField(
        _("各规则结果"), default=dict, blank=True, help_text=_("规则 → 发现、新增、重新打开、已整改数")
    )

    scope_path = "scope_code"

    class Meta:
        verbose_name = _("数据质量核查批次")
        verbose_name_plural = _("数据质量核查批次")
        ordering = ["-started_at"]
        indexes = [models.Index(fields=["scope_code", "started_at"], name="quality_run_scope_idx")]

    def __str__(self):
        return f"{self.scope_code or _('全部')} {self.started_at:%Y-%m-%d %H:%M}"


class Finding(models.Model):
    """One defect found by one rule in one household, or one member of it (数据质量问题)."""

    rule = models.CharField(_("核查规则"), max_length=40)
    household = models.ForeignKey(
        "households.Household", verbose_name=_("贫困户"), on_delete=models.PROTECT, related_name="quality_findings"
    )
    member = models.ForeignKey(
        "households.Member",
        verbose_name=_("家庭成员"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="quality_findings",
    )
    county_code = models.CharField(_("县级代码"), max_length=6, editable=False)
    division_code = models.CharField(_("所在村代码"), max_length=12, editable=False)
    values = models.JSONField(_("问题数据"), default=dict, encoder=DjangoJSONEncoder)
    status = models.CharField(_("状态"), max_length=10, choices=FindingStatus.choices, default=FindingStatus.OPEN)
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("认可人"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    accepted_reason = models.CharField(_("核实理由"), max_length=500, blank=True)
    accepted_at = models.DateTimeField(_("认可时间"), null=True, blank=True)
    first_found_at = models.DateTimeField(_("首次发现"))
    last_checked_at = models.DateTimeField(_("最近核查"))
    fixed_at = models.DateTimeField(_("整改时间"), null=True, blank=True)

    scope_path = "division_code"
    scope_county_path = "county_code"

    class Meta:
        verbose_name = _("数据质量问题")
        verbose_name_plural = _("数据质量问题")
        ordering = ["pk"]
        constraints = [
            # Two partial constraints, not one: a NULL member would make every
            # household-level finding distinct from the next.
            models.UniqueConstraint(
                fields=["rule", "household"],
                condition=Q(member__isnull=True),
                name="finding_one_per_rule_household",
                violation_error_message=_("同一规则对同一户只记一条问题。"),
            ),
            models.UniqueConstraint(
                fields=["rule", "household", "member"],
                condition=Q(member__isnull=False),
                name="finding_one_per_rule_member",
                violation_error_message=_("同一规则对同一成员只记一条问题。"),
            ),
            models.CheckConstraint(
                condition=~Q(status=FindingStatus.ACCEPTED)
                | (Q(accepted_at__isnull=False, accepted_by__isnull=False) & ~Q(accepted_reason="")),
                name="finding_accepted_has_who_when_why",
                violation_error_message=_("认可的问题必须记录认可人、时间和理由。"),
            ),
            models.CheckConstraint(
                condition=Q(status=FindingStatus.FIXED, fixed_at__isnull=False)
                | (~Q(status=FindingStatus.FIXED) & Q(fixed_at__isnull=True)),
                name="finding_fixed_at_iff_fixed",
                violation_error_message=_("已整改的问题必须有整改时间。"),
            ),
        ]
        indexes = [
            models.Index(fields=["division_code", "rule", "status"], name="finding_division_rule_idx"),
            models.Index(fields=["county_code", "status"], name="finding_county_status_idx"),
        ]

    def __str__(self):
        return f"{self.rule} · {self.household_id}" + (f" · {self.member_id}" if self.member_id else "")
