"""Choice sets for geography and poverty status (区划与贫困状态)."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class DivisionLevel(models.TextChoices):
    PROVINCE = "province", _("省")
    PREFECTURE = "prefecture", _("市/州")
    COUNTY = "county", _("县/市/区")
    TOWNSHIP = "township", _("乡/镇/街道")
    VILLAGE = "village", _("村/社区")


#: How many leading digits of the 12-digit code identify a division of each level.
LEVEL_PREFIX_LENGTH = {
    DivisionLevel.PROVINCE: 2,
    DivisionLevel.PREFECTURE: 4,
    DivisionLevel.COUNTY: 6,
    DivisionLevel.TOWNSHIP: 9,
    DivisionLevel.VILLAGE: 12,
}

#: The level directly below each level.
CHILD_LEVEL = {
    DivisionLevel.PROVINCE: DivisionLevel.PREFECTURE,
    DivisionLevel.PREFECTURE: DivisionLevel.COUNTY,
    DivisionLevel.COUNTY: DivisionLevel.TOWNSHIP,
    DivisionLevel.TOWNSHIP: DivisionLevel.VILLAGE,
}


class PovertyCountyType(models.TextChoices):
    NONE = "none", _("非贫困县")
    NATIONAL_KEY = "national_key", _("国家扶贫开发工作重点县")
    CONTIGUOUS = "contiguous", _("集中连片特困地区县")
    PROVINCIAL = "provincial", _("省定贫困县")


class RegionClass(models.TextChoices):
    """Region class deciding the incidence threshold for exit (中东部 2 %, 西部 3 %)."""

    CENTRAL_EAST = "central_east", _("中东部")
    WEST = "west", _("西部")


class CountyExitStatus(models.TextChoices):
    NOT_EXITED = "not_exited", _("未摘帽")
    EXITED = "exited", _("已摘帽")


class VillageExitStatus(models.TextChoices):
    NOT_EXITED = "not_exited", _("未出列")
    EXITED = "exited", _("已出列")


class WorkTeamStatus(models.TextChoices):
    STATIONED = "stationed", _("驻村中")
    WITHDRAWN = "withdrawn", _("已撤出")


class TeamRole(models.TextChoices):
    LEADER = "leader", _("队长")
    MEMBER = "member", _("队员")
