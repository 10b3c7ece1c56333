"""Choice sets for geography and poverty status (区划与贫困状态).

``DivisionLevel`` and ``LEVEL_PREFIX_LENGTH`` are the base's (:mod:`registry.levels`: roles
and scopes are defined by them); they are re-exported here for the models, migrations and
code that read them from villages.
"""

from django.db import models
from django.utils.translation import gettext_lazy as _

from registry.levels import LEVEL_PREFIX_LENGTH as LEVEL_PREFIX_LENGTH
from registry.levels import DivisionLevel as DivisionLevel

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
