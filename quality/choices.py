"""Choice sets of the data-quality engine (数据质量核查)."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class FindingStatus(models.TextChoices):
    """Where a finding stands: still there, corrected, or checked and accepted as true."""

    OPEN = "open", _("待整改")
    ACCEPTED = "accepted", _("已核实认可")
    FIXED = "fixed", _("已整改")


class Severity(models.TextChoices):
    """How sure a rule is that the data is wrong."""

    ERROR = "error", _("错误")
    WARNING = "warning", _("疑点")


class Subject(models.TextChoices):
    """What one finding of a rule names: a household, or a member of it."""

    HOUSEHOLD = "household", _("户")
    MEMBER = "member", _("成员")


class DeathSource(models.TextChoices):
    """Where the registry learnt that a member it still counts has died."""

    MEMBER_EVENT = "member_event", _("成员变动记录")
    CROSSCHECK = "crosscheck", _("公安部门死亡名单")
