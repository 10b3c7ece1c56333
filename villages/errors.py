"""Messages the villages services refuse with; tests import them."""

from django.utils.translation import gettext_lazy as _

DIVISION_CODE_LEVEL_MISMATCH = _("区划代码 %(code)s 与层级“%(level)s”不符：本级以下的位数必须为 0。")
DIVISION_PARENT_MISMATCH = _("区划代码 %(code)s 不属于上级区划 %(parent)s。")
DIVISION_PARENT_LEVEL = _("“%(level)s”的上级必须是“%(parent_level)s”。")
NOT_A_VILLAGE = _("只能选择村级区划。")
NOT_A_COUNTY = _("只能选择县级区划。")
TEAM_TOO_FEW_MEMBERS = _("驻村工作队至少要有 %(minimum)d 名队员（含队长）。")
TEAM_NEEDS_ONE_LEADER = _("驻村工作队必须有且只有一名队长。")
TEAM_TERM_TOO_SHORT = _("驻村工作队任期不少于 %(years)d 年。")
TEAM_ALREADY_STATIONED = _("%(village)s已有在驻的工作队，不能重复派驻。")
TEAM_ALREADY_WITHDRAWN = _("该工作队已经撤出。")
TEAM_WITHDRAW_VILLAGE_NOT_EXITED = _("贫困村不摘帽、贫困户不脱贫，工作队不撤出：%(village)s尚未出列，不能撤出工作队。")
TEAM_WITHDRAW_HOUSEHOLDS_NOT_EXITED = _(
    "贫困村不摘帽、贫困户不脱贫，工作队不撤出：%(village)s还有 %(count)d 户贫困户未脱贫，不能撤出工作队。"
)
TEAM_WITHDRAW_BEFORE_START = _("撤出日期不能早于任期开始日期。")
HELPER_IS_POOR = _("帮扶责任人不能是建档立卡贫困人口（%(name)s 在册于贫困户 %(household)s）。")
HELPER_DIVISION_LEVEL = _("帮扶责任人必须归属到县、乡镇或村。")
HELPER_NEEDS_CONTACT = _("帮扶责任人必须填写姓名、工作单位和联系电话。")
STATUS_FIELD_UNKNOWN = _("不能修改这些字段：%(fields)s")
EXIT_ONLY_BY_WORKFLOW = _("出列、摘帽状态只能通过贫困村出列、贫困县摘帽程序改变。")
