"""Division levels and how much of the 12-digit statistical code (统计用区划代码) names each.

The base knows the levels because roles and the jurisdiction scope are defined by them;
the divisions themselves (``villages.Division``) live in the app above, which re-exports
these from ``villages.choices`` where its models and migrations have always read them.
"""

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
