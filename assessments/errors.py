"""Messages the assessment and exit services refuse with; tests import them."""

from django.utils.translation import gettext_lazy as _

from registry.workflow import DATA_CHANGED

NOT_ASSESSABLE = _("只有已识别、返贫或已脱贫（过渡期内）的户才做年度核查；该户为“%(status)s”。")
ASSESSMENT_DATE_YEAR = _("核查日期 %(date)s 不在 %(year)s 年度的核查期内。")
TRANSFER_ITEM_UNKNOWN = _("未知的转移性收入项目：%(item)s")
AMOUNT_NEGATIVE = _("金额不能为负数：%(field)s")
EXEMPT_NOT_MEMBER = _("免于入学的成员必须是本户成员。")
ASSESSMENT_LOCKED = _("该核查已被 %(year)s 年的退出审定采用，不能再修改；如有错误请走撤销程序。")

EXIT_NOT_REGISTERED = _("只有已识别（未脱贫）或返贫的户才能申请退出；该户为“%(status)s”。")
EXIT_NO_ASSESSMENT = _("该户没有 %(year)s 年度核查记录，不能申请退出。")
EXIT_RULES_FAILED = _("不符合退出标准（%(count)d 项未达到）：%(rules)s")
EXIT_ALREADY_OPEN = _("该户 %(year)s 年已有退出申请。")
EXIT_DATA_CHANGED = DATA_CHANGED
EXIT_ACK_NAME_REQUIRED = _("请填写签字认可的户主或家庭成员姓名。")
MEASURE_FIVE_BATCHES = _("请选择该措施对应的“五个一批”。")
CASE_NOT_IN_NOTICE = _("只能在公示期间登记异议。")
EXIT_STEP_NOT_ALLOWED = _("退出申请当前为“%(status)s”，不能执行“%(action)s”。")
ACK_NAME_TOO_LONG = _("签字认可人姓名不能超过 %(limit)d 个字。")
MEASURE_FIELD_UNKNOWN = _("不能设置这些字段：%(fields)s")
REVOKE_REASON_REQUIRED = _("撤销必须说明理由。")
