"""Choice sets for households and members (贫困户与家庭成员)."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class HouseholdStatus(models.TextChoices):
    """Household status (户状态); one field, one state machine."""

    APPLIED = "applied", _("申请")
    APPRAISED = "appraised", _("评议")
    IN_NOTICE = "in_notice", _("公示")
    REGISTERED = "registered", _("已识别（未脱贫）")
    REJECTED = "rejected", _("未通过")
    EXITED = "exited", _("已脱贫")
    RETURNED = "returned", _("返贫")
    REMOVED = "removed", _("清退")
    NATURAL_DECREASE = "natural_decrease", _("自然减少")


#: Statuses of a household counted as poor and not yet exited (贫困发生率的分子).
POOR_NOT_EXITED = (HouseholdStatus.REGISTERED, HouseholdStatus.RETURNED)


class MemberStatus(models.TextChoices):
    ACTIVE = "active", _("在册")
    DECEASED = "deceased", _("死亡")
    MOVED_OUT = "moved_out", _("迁出")
    MARRIED_OUT = "married_out", _("婚出")
