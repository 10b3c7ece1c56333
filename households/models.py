"""Registered households and their members (建档立卡贫困户与家庭成员).

The core fields the rest of the registry counts on; the full registration record
(attributes, causes, housing, member details) and its workflow grow here.
"""

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from households.choices import HouseholdStatus, MemberStatus
from villages.choices import DivisionLevel


class Household(models.Model):
    """A household identified as a whole (整户识别)."""

    registry_number = models.CharField(_("户编号"), max_length=32, unique=True)
    county_code = models.CharField(_("县级代码"), max_length=6, editable=False, db_index=True)
    village = models.ForeignKey(
        "villages.Division",
        verbose_name=_("村"),
        on_delete=models.PROTECT,
        related_name="households",
        limit_choices_to={"level": DivisionLevel.VILLAGE},
    )
    group = models.ForeignKey(
        "villages.VillagerGroup",
        verbose_name=_("村民小组"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="households",
    )
    status = models.CharField(
        _("状态"), max_length=20, choices=HouseholdStatus.choices, default=HouseholdStatus.APPLIED
    )
    identified_year = models.PositiveSmallIntegerField(_("识别年度"), null=True, blank=True)
    helper = models.ForeignKey(
        "villages.Helper",
        verbose_name=_("帮扶责任人"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="households",
    )
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    scope_path = "village_id"
    scope_county_path = "county_code"

    class Meta:
        verbose_name = _("贫困户")
        verbose_name_plural = _("贫困户")
        ordering = ["registry_number"]
        indexes = [
            models.Index(fields=["county_code", "status"], name="household_county_status_idx"),
            models.Index(fields=["village", "status"], name="household_village_status_idx"),
        ]

    def __str__(self):
        return self.registry_number


class Member(models.Model):
    """A member of a household (家庭成员)."""

    household = models.ForeignKey(Household, verbose_name=_("贫困户"), on_delete=models.PROTECT, related_name="members")
    county_code = models.CharField(_("县级代码"), max_length=6, editable=False, db_index=True)
    name = models.CharField(_("姓名"), max_length=50)
    id_number = models.CharField(_("公民身份号码"), max_length=18)
    is_head = models.BooleanField(_("户主"), default=False)
    status = models.CharField(_("成员状态"), max_length=16, choices=MemberStatus.choices, default=MemberStatus.ACTIVE)

    scope_path = "household__village_id"
    scope_county_path = "county_code"

    class Meta:
        verbose_name = _("家庭成员")
        verbose_name_plural = _("家庭成员")
        ordering = ["household", "-is_head", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["household"],
                condition=Q(is_head=True, status=MemberStatus.ACTIVE),
                name="member_one_active_head",
                violation_error_message=_("每户只能有一名户主。"),
            )
        ]
        indexes = [models.Index(fields=["id_number"], name="member_id_number_idx")]

    def __str__(self):
        return self.name
