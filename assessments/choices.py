"""Choice sets for parameters, assessments, exit cases and monitoring."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class ParameterKey(models.TextChoices):
    """Every number the rules use (参数), never a literal in the logic."""

    POVERTY_LINE = "poverty_line", _("扶贫标准（元/人·年，现价）")
    MONITORING_THRESHOLD = "monitoring_threshold", _("监测标准（元/人·年）")
    MONITORING_FACTOR = "monitoring_factor", _("监测标准系数（未设监测标准时 × 扶贫标准）")
    NOTICE_DAYS = "notice_days", _("公示天数")
    INCOME_YEAR_START = "income_year_start", _("收入年度起始（月-日）")
    TRANSFER_ITEMS_COUNTED = "transfer_items_counted", _("计入收入的转移性收入项目")
    INCIDENCE_THRESHOLD = "incidence_threshold", _("贫困发生率退出标准（%）")
    WRONG_EXIT_MAX = "wrong_exit_max", _("错退率上限（%）")
    MISSED_MAX = "missed_max", _("漏评率上限（%）")
    APPROVAL_MIN = "approval_min", _("群众认可度下限（%）")
    TRANSITION_YEARS = "transition_years", _("脱贫过渡期（年）")
    VILLAGE_EXIT_CHECKLIST = "village_exit_checklist", _("贫困村出列指标清单")
    WATER_MIN_LITRES = "water_min_litres", _("饮水安全：人均日供水量下限（升）")
    WATER_MAX_FETCH_MINUTES = "water_max_fetch_minutes", _("饮水安全：取水往返时间上限（分钟）")
    COMPULSORY_EDUCATION_AGES = "compulsory_education_ages", _("义务教育年龄（起止岁数）")


class TransferItem(models.TextChoices):
    """Items of transfer income (转移性收入)."""

    DIBAO = "dibao", _("低保金")
    TEKUN = "tekun", _("特困供养金")
    PENSION = "pension", _("养老金")
    ECOLOGICAL = "ecological", _("生态补偿金")
    FAMILY_PLANNING = "family_planning", _("计划生育金")
    RELIEF = "relief", _("救济救灾金")
    REMITTANCE = "remittance", _("赡养性收入（亲友汇款）")
    OTHER = "other", _("其他转移性收入")


class ExitCaseStatus(models.TextChoices):
    PROPOSED = "proposed", _("村提名")
    APPRAISED = "appraised", _("民主评议通过")
    VERIFIED = "verified", _("村委会和工作队核实")
    ACKNOWLEDGED = "acknowledged", _("贫困户认可")
    IN_NOTICE = "in_notice", _("村内公示")
    NOTICE_ENDED = "notice_ended", _("公示无异议，报乡镇审核")
    TOWNSHIP_REVIEWED = "township_reviewed", _("乡镇审核通过")
    CERTIFIED = "certified", _("县级审定，已脱贫")
    RETURNED = "returned", _("退回修改")
    REJECTED = "rejected", _("不予退出")
    WITHDRAWN = "withdrawn", _("撤回")


class FlagKind(models.TextChoices):
    UNSTABLE = "unstable", _("脱贫不稳定户")
    MARGINAL = "marginal", _("边缘易致贫户")
    SUDDEN = "sudden", _("突发严重困难户")


class FlagStatus(models.TextChoices):
    PROPOSED = "proposed", _("核实中")
    APPRAISED = "appraised", _("评议通过")
    IN_NOTICE = "in_notice", _("公示中")
    ACTIVE = "active", _("纳入监测")
    REMOVAL_PROPOSED = "removal_proposed", _("风险消除核实中")
    REMOVAL_APPRAISED = "removal_appraised", _("风险消除评议通过")
    REMOVAL_IN_NOTICE = "removal_in_notice", _("风险消除公示中")
    REMOVED = "removed", _("风险已消除")
    RETURNED = "returned", _("已返贫，监测结束")
    REJECTED = "rejected", _("未纳入")


class MeasureCategory(models.TextChoices):
    """Help measure categories (帮扶措施类别)."""

    INDUSTRY = "industry", _("产业扶贫")
    EMPLOYMENT = "employment", _("就业/劳务输出")
    RELOCATION = "relocation", _("易地扶贫搬迁")
    EDUCATION = "education", _("教育扶贫/雨露计划")
    HEALTH = "health", _("健康扶贫")
    HOUSING = "housing", _("危房改造")
    SOCIAL_SECURITY = "social_security", _("兜底保障/低保")
    ECOLOGICAL = "ecological", _("生态补偿/护林员")
    FINANCE = "finance", _("金融/小额信贷")
    SOLAR = "solar", _("光伏扶贫")
    OTHER = "other", _("其他")


class FiveBatches(models.TextChoices):
    """五个一批."""

    PRODUCTION = "production", _("发展生产脱贫一批")
    RELOCATION = "relocation", _("易地扶贫搬迁脱贫一批")
    ECOLOGICAL = "ecological", _("生态补偿脱贫一批")
    EDUCATION = "education", _("发展教育脱贫一批")
    SOCIAL_SECURITY = "social_security", _("社会保障兜底一批")


class VillageExitCaseStatus(models.TextChoices):
    """Status of a village exit case; the steps are in ``assessments.area_exits``."""

    PROPOSED = "proposed", _("乡镇提出")
    IN_NOTICE = "in_notice", _("乡镇内公示")
    NOTICE_ENDED = "notice_ended", _("公示无异议，报县审批")
    APPROVED = "approved", _("县级批准出列")
    RETURNED = "returned", _("退回修改")
    REJECTED = "rejected", _("不予出列")
    WITHDRAWN = "withdrawn", _("撤回")


class CountyExitCaseStatus(models.TextChoices):
    """Status of a county exit case; the steps are in ``assessments.area_exits``."""

    APPLIED = "applied", _("县级申请")
    PREFECTURE_REVIEWED = "prefecture_reviewed", _("市级初审通过")
    VERIFYING = "verifying", _("省级核查（已抽样）")
    EVALUATED = "evaluated", _("核查评估完成")
    IN_NOTICE = "in_notice", _("公示中")
    NOTICE_ENDED = "notice_ended", _("公示无异议，报省审批")
    APPROVED = "approved", _("省级批准摘帽")
    RETURNED = "returned", _("退回修改")
    REJECTED = "rejected", _("不予摘帽")
    WITHDRAWN = "withdrawn", _("撤回")


#: Outcomes of an objection to an exit (household, village or county).
OBJECTION_OUTCOMES = [("pending", _("待处理")), ("upheld", _("异议成立，退回")), ("dismissed", _("异议不成立"))]
