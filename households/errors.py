"""Messages the household services refuse with; tests import them."""

from django.utils.translation import gettext_lazy as _

# The workflow engine's messages, which the household procedures refuse with too.
from registry.workflow import (  # noqa: F401
    DATE_BEFORE_PREVIOUS,
    DATE_IN_FUTURE,
    NOTICE_NOT_ENDED,
    OBJECTION_ALREADY_RESOLVED,
    OBJECTION_ONLY_IN_NOTICE,
    OBJECTION_PENDING,
    OBJECTION_RESOLUTION_REQUIRED,
    REASON_REQUIRED,
    REASON_TOO_LONG,
    TRANSITION_ROLE,
    TRANSITION_UNKNOWN,
)

ID_SEX_MISMATCH = _("身份证号显示性别为“%(id_sex)s”，与填写的“%(sex)s”不符。")
ID_BIRTH_MISMATCH = _("身份证号中的出生日期 %(id_birth)s 与填写的 %(birth)s 不符。")
ID_DUPLICATE_IN_FORM = _("同一户中身份证号 %(id)s 重复。")
ID_ALREADY_REGISTERED = _("%(name)s 已在贫困户 %(household)s 中登记，一个人只能在一户中有效登记。")
ID_ALREADY_CURRENT = _("该身份证号已在另一户有效登记中（可能刚被他人登记），请核实。")
HEAD_EXACTLY_ONE = _("每户必须有且只有一名户主。")
HOUSEHOLD_NEEDS_MEMBERS = _("请至少登记一名家庭成员（户主）。")
OTHER_CAUSES_INVALID = _("其他致贫原因最多两项，且不能与主要致贫原因重复。")
GROUP_NOT_IN_VILLAGE = _("所选村民小组不属于该村。")
NOT_A_VILLAGE = _("贫困户必须登记在村级区划下。")
VERSION_CONFLICT = _("该记录已被他人修改（当前版本 %(current)d，您打开时为版本 %(expected)d）。请刷新后重新编辑。")
FIELD_NOT_EDITABLE = _("不能直接修改这些字段：%(fields)s（状态只能通过流程操作改变）。")
HOUSEHOLD_CLOSED = _("该户已%(status)s，记录只读。")

TRANSITION_NOT_ALLOWED = _("当前状态“%(status)s / %(step)s”下不能执行“%(action)s”。")
EXCLUSION_HITS = _("不符合识别条件（%(count)d 项）：%(hits)s")

OBJECTION_OUTCOME_INVALID = _("请选择异议处理结果。")

MEMBER_NOT_ACTIVE = _("%(name)s 已不在册。")
MEMBER_NEW_HEAD_REQUIRED = _("户主%(event)s后，必须指定新的户主。")
MEMBER_NEW_HEAD_INVALID = _("新户主必须是本户另一名在册成员。")
MEMBER_LAST_ACTIVE = _("%(name)s 是本户最后一名在册成员；整户情况请办理“自然减少”。")
EVENT_KIND_INVALID = _("此处不能登记“%(kind)s”。")
EVENT_DATE_BEFORE_BIRTH = _("变动日期不能早于出生日期。")

HELPER_INACTIVE = _("该帮扶责任人已不在岗。")
HELPER_OUT_OF_AREA = _("帮扶责任人 %(helper)s 的所属区划不包含该户所在村。")

CROSSCHECK_BAD_HEADER = _("文件表头必须包含：身份证号(id_number)、类别(category)。")
CROSSCHECK_BAD_CATEGORY = _("未知类别“%(value)s”，可选：%(choices)s。")
CROSSCHECK_EMPTY = _("文件中没有数据行。")
CROSSCHECK_ROW = _("第 %(row)d 行 %(column)s：%(reason)s")
