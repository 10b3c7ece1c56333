"""Parameters, annual reassessments, help measures and exit cases (年度核查与退出)."""

from decimal import Decimal

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from assessments.choices import (
    OBJECTION_OUTCOMES,
    CountyExitCaseStatus,
    ExitCaseStatus,
    FiveBatches,
    FlagKind,
    FlagStatus,
    MeasureCategory,
    ParameterKey,
    VillageExitCaseStatus,
)
from villages.choices import RegionClass

money = {"max_digits": 12, "decimal_places": 2, "default": Decimal("0"), "validators": [MinValueValidator(0)]}


class Parameter(models.Model):
    """One value of a rule parameter (参数): national by default, a province's row overrides.

    ``year`` 0 means every year; ``scope_code`` empty means national; ``qualifier`` names
    a variant (the procedure of a notice period, the region class of a threshold).
    """

    key = models.CharField(_("参数"), max_length=40, choices=ParameterKey.choices)
    qualifier = models.CharField(_("细分"), max_length=40, blank=True)
    year = models.PositiveSmallIntegerField(_("年度"), default=0, help_text=_("0 表示各年通用"))
    scope_code = models.CharField(_("适用区划代码"), max_length=12, blank=True, help_text=_("空为全国"))
    value = models.JSONField(_("值"), encoder=DjangoJSONEncoder)
    note = models.CharField(_("依据"), max_length=200, blank=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    scope_path = "scope_code"

    class Meta:
        verbose_name = _("参数")
        verbose_name_plural = _("参数")
        ordering = ["key", "qualifier", "year", "scope_code"]
        constraints = [
            models.UniqueConstraint(
                fields=["key", "qualifier", "year", "scope_code"],
                name="parameter_unique_key_year_scope",
                violation_error_message=_("同一参数、年度、区划只能有一个值。"),
            )
        ]

    def __str__(self):
        where = self.scope_code or "全国"
        when = self.year or "各年"
        return f"{self.get_key_display()} {self.qualifier} {when} {where}".replace("  ", " ")


class Assessment(models.Model):
    """A household's annual reassessment (年度核查): income for the income year and 两不愁三保障."""

    household = models.ForeignKey(
        "households.Household", verbose_name=_("贫困户"), on_delete=models.PROTECT, related_name="assessments"
    )
    county_code = models.CharField(_("县级代码"), max_length=6, editable=False)
    year = models.PositiveSmallIntegerField(_("核查年度"))
    assessed_on = models.DateField(_("核查日期"))
    assessed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("核查人"), on_delete=models.PROTECT, null=True, blank=True
    )
    household_size = models.PositiveSmallIntegerField(_("家庭人口（核查日）"), editable=False)
    wage_income = models.DecimalField(_("工资性收入"), **money)
    operating_income = models.DecimalField(_("生产经营性收入"), **money)
    operating_cost = models.DecimalField(_("生产经营性支出"), **money)
    property_income = models.DecimalField(_("财产性收入"), **money)
    transfers = models.JSONField(
        _("转移性收入明细"), default=dict, blank=True, encoder=DjangoJSONEncoder, help_text=_("项目 → 金额（元）")
    )
    transfer_income = models.DecimalField(_("计入的转移性收入"), editable=False, **money)
    net_income = models.DecimalField(
        _("家庭纯收入"), max_digits=12, decimal_places=2, editable=False, default=Decimal("0")
    )
    per_capita_net_income = models.DecimalField(
        _("人均纯收入"), max_digits=12, decimal_places=2, editable=False, default=Decimal("0")
    )
    food_secure = models.BooleanField(_("不愁吃"), default=True)
    clothing_secure = models.BooleanField(_("不愁穿"), default=True)
    water_litres_per_person_day = models.PositiveIntegerField(_("人均日供水量（升）"), null=True, blank=True)
    water_fetch_minutes = models.PositiveIntegerField(_("取水往返时间（分钟）"), null=True, blank=True)
    water_quality_safe = models.BooleanField(_("水质达标"), default=True)
    education_exempt_members = models.JSONField(
        _("因身体原因免于入学的成员"), default=list, blank=True, help_text=_("送教上门等，成员 id 列表")
    )
    notes = models.TextField(_("备注"), blank=True)
    version = models.PositiveIntegerField(_("版本"), default=1, editable=False)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    scope_path = "household__village_id"
    scope_county_path = "county_code"

    class Meta:
        verbose_name = _("年度核查")
        verbose_name_plural = _("年度核查")
        ordering = ["household", "-year"]
        constraints = [
            models.UniqueConstraint(
                fields=["household", "year"],
                name="assessment_one_per_household_year",
                violation_error_message=_("该户本年度已有核查记录。"),
            ),
            models.CheckConstraint(
                condition=Q(wage_income__gte=0, operating_income__gte=0, operating_cost__gte=0, property_income__gte=0),
                name="assessment_amounts_non_negative",
                violation_error_message=_("收入和支出金额不能为负数。"),
            ),
        ]
        indexes = [
            models.Index(fields=["county_code", "year"], name="assessment_county_year_idx"),
            models.Index(fields=["updated_at"], name="assessment_updated_idx"),
        ]

    def __str__(self):
        return f"{self.household} {self.year}"


class HelpMeasure(models.Model):
    """A help measure received by a household (帮扶措施)."""

    household = models.ForeignKey(
        "households.Household", verbose_name=_("贫困户"), on_delete=models.PROTECT, related_name="help_measures"
    )
    county_code = models.CharField(_("县级代码"), max_length=6, editable=False)
    category = models.CharField(_("措施类别"), max_length=20, choices=MeasureCategory.choices)
    five_batches = models.CharField(_("五个一批"), max_length=20, choices=FiveBatches.choices)
    measure_date = models.DateField(_("日期"))
    amount = models.DecimalField(_("金额（元）"), **money)
    fund_source = models.CharField(_("资金来源"), max_length=100, blank=True)
    responsible_unit = models.CharField(_("责任单位"), max_length=100, blank=True)
    description = models.CharField(_("内容"), max_length=200, blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("登记人"), on_delete=models.PROTECT, null=True, blank=True
    )
    created_at = models.DateTimeField(_("登记时间"), auto_now_add=True)

    scope_path = "household__village_id"
    scope_county_path = "county_code"

    class Meta:
        verbose_name = _("帮扶措施")
        verbose_name_plural = _("帮扶措施")
        ordering = ["household", "-measure_date"]
        indexes = [models.Index(fields=["county_code", "measure_date"], name="measure_county_date_idx")]

    def __str__(self):
        return f"{self.household} {self.get_category_display()} {self.measure_date}"


class HelperVisit(models.Model):
    """A helper's visit to a household (走访记录)."""

    household = models.ForeignKey(
        "households.Household", verbose_name=_("贫困户"), on_delete=models.PROTECT, related_name="helper_visits"
    )
    county_code = models.CharField(_("县级代码"), max_length=6, editable=False)
    helper = models.ForeignKey(
        "villages.Helper", verbose_name=_("帮扶责任人"), on_delete=models.PROTECT, null=True, blank=True
    )
    visited_on = models.DateField(_("走访日期"))
    note = models.CharField(_("走访情况"), max_length=500, blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("登记人"), on_delete=models.PROTECT, null=True, blank=True
    )

    scope_path = "household__village_id"
    scope_county_path = "county_code"

    class Meta:
        verbose_name = _("走访记录")
        verbose_name_plural = _("走访记录")
        ordering = ["household", "-visited_on"]

    def __str__(self):
        return f"{self.household} {self.visited_on}"


class ExitCase(models.Model):
    """A household's exit case (脱贫退出) for one year, with the rule results it was judged on."""

    household = models.ForeignKey(
        "households.Household", verbose_name=_("贫困户"), on_delete=models.PROTECT, related_name="exit_cases"
    )
    county_code = models.CharField(_("县级代码"), max_length=6, editable=False)
    year = models.PositiveSmallIntegerField(_("退出年度"))
    assessment = models.ForeignKey(
        Assessment, verbose_name=_("依据的年度核查"), on_delete=models.PROTECT, related_name="exit_cases"
    )
    status = models.CharField(
        _("状态"), max_length=20, choices=ExitCaseStatus.choices, default=ExitCaseStatus.PROPOSED, editable=False
    )
    rule_set_version = models.CharField(_("规则版本"), max_length=20, editable=False)
    rule_results = models.JSONField(_("规则判定结果"), encoder=DjangoJSONEncoder, editable=False)
    snapshot = models.JSONField(_("判定数据快照"), encoder=DjangoJSONEncoder, editable=False)
    eligible = models.BooleanField(_("符合退出标准"), editable=False)
    acknowledged_by = models.CharField(_("户主确认签字人"), max_length=50, blank=True, editable=False)
    notice_ends_on = models.DateField(_("公示截止日期"), null=True, blank=True, editable=False)
    status_reason = models.CharField(_("状态原因"), max_length=500, blank=True, editable=False)
    certified_on = models.DateField(_("审定日期"), null=True, blank=True, editable=False)
    certificate_code = models.CharField(
        _("证明校验码"), max_length=16, unique=True, null=True, blank=True, editable=False
    )
    revoked = models.BooleanField(_("已撤销"), default=False, editable=False)
    revoked_reason = models.CharField(_("撤销原因"), max_length=200, blank=True, editable=False)
    version = models.PositiveIntegerField(_("版本"), default=1, editable=False)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    scope_path = "household__village_id"
    scope_county_path = "county_code"

    class Meta:
        verbose_name = _("脱贫退出")
        verbose_name_plural = _("脱贫退出")
        ordering = ["-year", "household"]
        constraints = [
            models.UniqueConstraint(
                fields=["household", "year"],
                condition=~Q(status__in=[ExitCaseStatus.REJECTED, ExitCaseStatus.WITHDRAWN]),
                name="exit_case_one_open_per_household_year",
                violation_error_message=_("该户本年度已有退出申请。"),
            )
        ]
        indexes = [
            models.Index(fields=["county_code", "status"], name="exit_case_county_status_idx"),
            models.Index(fields=["updated_at"], name="exit_case_updated_idx"),
            # Certified exits per household and year, read without the wide rows (their
            # snapshots): the reassessment's exit years and the dashboards' exits per year.
            models.Index(
                fields=["county_code", "household", "year"],
                include=["revoked", "assessment"],
                condition=Q(status="certified"),
                name="exit_case_certified_idx",
            ),
        ]

    def __str__(self):
        return f"{self.household} {self.year} {self.get_status_display()}"

    def get_absolute_url(self):
        return reverse("assessments:exit_case", kwargs={"pk": self.pk})


class ExitCaseStep(models.Model):
    """One step of an exit case (退出程序记录)."""

    case = models.ForeignKey(ExitCase, verbose_name=_("退出申请"), on_delete=models.PROTECT, related_name="steps")
    county_code = models.CharField(_("县级代码"), max_length=6, editable=False)
    action = models.CharField(_("操作"), max_length=32)
    from_status = models.CharField(_("原状态"), max_length=20, choices=ExitCaseStatus.choices, blank=True)
    to_status = models.CharField(_("新状态"), max_length=20, choices=ExitCaseStatus.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("经办人"), on_delete=models.PROTECT, null=True, blank=True
    )
    reason = models.CharField(_("说明"), max_length=500, blank=True)
    effective_date = models.DateField(_("生效日期"))
    created_at = models.DateTimeField(_("时间"), auto_now_add=True)

    scope_path = "case__household__village_id"
    scope_county_path = "county_code"

    class Meta:
        verbose_name = _("退出程序记录")
        verbose_name_plural = _("退出程序记录")
        ordering = ["case", "id"]

    def __str__(self):
        return f"{self.case} {self.action}"


class ExitObjection(models.Model):
    """An objection raised during an exit case's village notice; it blocks until decided."""

    case = models.ForeignKey(ExitCase, verbose_name=_("退出申请"), on_delete=models.PROTECT, related_name="objections")
    county_code = models.CharField(_("县级代码"), max_length=6, editable=False)
    objector = models.CharField(_("异议人"), max_length=50)
    content = models.TextField(_("异议内容"))
    raised_on = models.DateField(_("提出日期"))
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("登记人"), on_delete=models.PROTECT, related_name="+"
    )
    outcome = models.CharField(
        _("处理结果"),
        max_length=16,
        choices=OBJECTION_OUTCOMES,
        default="pending",
    )
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("处理人"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    resolved_at = models.DateTimeField(_("处理时间"), null=True, blank=True)
    resolution = models.TextField(_("处理理由"), blank=True)

    scope_path = "case__household__village_id"
    scope_county_path = "county_code"

    class Meta:
        verbose_name = _("退出公示异议")
        verbose_name_plural = _("退出公示异议")
        ordering = ["case", "id"]

    def __str__(self):
        return f"{self.case} · {self.objector}"


# Village exit (贫困村出列), county exit (贫困县摘帽) and annual reduction plans (年度减贫计划) ---------


percent = {"max_digits": 7, "decimal_places": 2, "null": True, "blank": True, "editable": False}


class AreaExitStepBase(models.Model):
    """One step of a village or county exit case (程序记录); see the concrete models."""

    county_code = models.CharField(_("县级代码"), max_length=6, editable=False)
    action = models.CharField(_("操作"), max_length=32)
    from_status = models.CharField(_("原状态"), max_length=20, blank=True)
    to_status = models.CharField(_("新状态"), max_length=20)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("经办人"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    reason = models.CharField(_("说明"), max_length=500, blank=True)
    effective_date = models.DateField(_("生效日期"))
    created_at = models.DateTimeField(_("时间"), auto_now_add=True)

    class Meta:
        abstract = True
        ordering = ["case", "id"]

    def __str__(self):
        return f"{self.case} {self.action}"


class AreaExitObjectionBase(models.Model):
    """An objection (异议) raised during a village or county exit notice; it blocks until decided."""

    county_code = models.CharField(_("县级代码"), max_length=6, editable=False)
    objector = models.CharField(_("异议人"), max_length=50)
    content = models.TextField(_("异议内容"))
    raised_on = models.DateField(_("提出日期"))
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("登记人"), on_delete=models.PROTECT, related_name="+"
    )
    outcome = models.CharField(_("处理结果"), max_length=16, choices=OBJECTION_OUTCOMES, default="pending")
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("处理人"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    resolved_at = models.DateTimeField(_("处理时间"), null=True, blank=True)
    resolution = models.TextField(_("处理理由"), blank=True)

    class Meta:
        abstract = True
        ordering = ["case", "id"]

    def __str__(self):
        return f"{self.case} · {self.objector}"


class VillageExitCase(models.Model):
    """A poverty village's exit case (贫困村出列) for one year: incidence and checklist, as judged."""

    village = models.ForeignKey(
        "villages.Division",
        verbose_name=_("村"),
        on_delete=models.PROTECT,
        related_name="village_exit_cases",
        limit_choices_to={"level": "village"},
    )
    county_code = models.CharField(_("县级代码"), max_length=6, editable=False)
    year = models.PositiveSmallIntegerField(_("出列年度"), validators=[MinValueValidator(1978)])
    status = models.CharField(
        _("状态"),
        max_length=20,
        choices=VillageExitCaseStatus.choices,
        default=VillageExitCaseStatus.PROPOSED,
        editable=False,
    )
    poor_persons = models.PositiveIntegerField(_("未脱贫人口"), editable=False)
    rural_population = models.PositiveIntegerField(_("农村户籍人口"), editable=False)
    incidence = models.DecimalField(_("贫困发生率（%）"), **percent)
    region_class = models.CharField(_("区域类别"), max_length=16, choices=RegionClass.choices, editable=False)
    threshold = models.DecimalField(_("退出标准（%）"), **percent)
    checklist = models.JSONField(
        _("出列指标"), encoder=DjangoJSONEncoder, blank=True, editable=False, help_text=_("指标 → {达标, 佐证}")
    )
    check_results = models.JSONField(_("判定结果"), encoder=DjangoJSONEncoder, editable=False)
    notice_ends_on = models.DateField(_("公示截止日期"), null=True, blank=True, editable=False)
    status_reason = models.CharField(_("状态原因"), max_length=500, blank=True, editable=False)
    approved_on = models.DateField(_("批准日期"), null=True, blank=True, editable=False)
    version = models.PositiveIntegerField(_("版本"), default=1, editable=False)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    scope_path = "village_id"
    scope_county_path = "county_code"

    class Meta:
        verbose_name = _("贫困村出列")
        verbose_name_plural = _("贫困村出列")
        ordering = ["-year", "village"]
        constraints = [
            models.UniqueConstraint(
                fields=["village"],
                condition=~Q(status__in=[VillageExitCaseStatus.REJECTED, VillageExitCaseStatus.WITHDRAWN]),
                name="village_exit_one_live_case_per_village",
                violation_error_message=_("该村已有在办或已批准的出列申请。"),
            )
        ]
        indexes = [models.Index(fields=["county_code", "status"], name="village_exit_county_status_idx")]

    def __str__(self):
        return f"{self.village.name} {self.year} 年出列（{self.get_status_display()}）"


class VillageExitStep(AreaExitStepBase):
    """One step of a village exit case (出列程序记录)."""

    case = models.ForeignKey(
        VillageExitCase, verbose_name=_("出列申请"), on_delete=models.PROTECT, related_name="steps"
    )

    scope_path = "case__village_id"
    scope_county_path = "county_code"

    class Meta(AreaExitStepBase.Meta):
        verbose_name = _("出列程序记录")
        verbose_name_plural = _("出列程序记录")


class VillageExitObjection(AreaExitObjectionBase):
    """An objection raised during a village exit's notice within the township."""

    case = models.ForeignKey(
        VillageExitCase, verbose_name=_("出列申请"), on_delete=models.PROTECT, related_name="objections"
    )

    scope_path = "case__village_id"
    scope_county_path = "county_code"

    class Meta(AreaExitObjectionBase.Meta):
        verbose_name = _("出列公示异议")
        verbose_name_plural = _("出列公示异议")


class CountyExitCase(models.Model):
    """A poverty county's exit case (贫困县摘帽): application, reviews, the province's evaluation.

    The evaluation (专项评估检查) draws a seeded sample of exited households and of villages,
    records each visit, and stores the three rates, the comprehensive incidence and the
    result of each veto, so the decision can be read and recomputed later.
    """

    county = models.ForeignKey(
        "villages.Division",
        verbose_name=_("县"),
        on_delete=models.PROTECT,
        related_name="county_exit_cases",
        limit_choices_to={"level": "county"},
    )
    county_code = models.CharField(_("县级代码"), max_length=6, editable=False)
    year = models.PositiveSmallIntegerField(_("摘帽年度"), validators=[MinValueValidator(1978)])
    status = models.CharField(
        _("状态"),
        max_length=20,
        choices=CountyExitCaseStatus.choices,
        default=CountyExitCaseStatus.APPLIED,
        editable=False,
    )
    region_class = models.CharField(_("区域类别"), max_length=16, choices=RegionClass.choices, editable=False)
    threshold = models.DecimalField(_("退出标准（%）"), **percent)
    rural_population = models.PositiveIntegerField(_("农村户籍人口"), editable=False)
    poor_persons = models.PositiveIntegerField(_("申请时未脱贫人口"), editable=False)
    incidence = models.DecimalField(_("申请时贫困发生率（%）"), **percent)
    sample_seed = models.BigIntegerField(_("抽样种子"), null=True, blank=True, editable=False)
    sample_household_count = models.PositiveIntegerField(_("抽查脱贫户数"), null=True, blank=True, editable=False)
    sample_village_count = models.PositiveIntegerField(_("抽查村数"), null=True, blank=True, editable=False)
    sampled_on = models.DateField(_("抽样日期"), null=True, blank=True, editable=False)
    sample_frame = models.JSONField(
        _("抽样框"), encoder=DjangoJSONEncoder, default=dict, blank=True, editable=False,
        help_text=_("抽样时脱贫户和村的数量及其有序名单的 SHA-256 摘要"),
    )  # fmt: skip
    wrong_exit_rate = models.DecimalField(_("错退率（%）"), **percent)
    missed_rate = models.DecimalField(_("漏评率（%）"), **percent)
    approval_rate = models.DecimalField(_("群众认可度（%）"), **percent)
    comprehensive_incidence = models.DecimalField(_("综合贫困发生率（%）"), **percent)
    evaluation = models.JSONField(
        _("评估结果"), encoder=DjangoJSONEncoder, default=dict, blank=True, editable=False,
        help_text=_("各项比率的分子分母与一票否决判定"),
    )  # fmt: skip
    evaluation_passed = models.BooleanField(_("评估通过"), null=True, blank=True, editable=False)
    notice_ends_on = models.DateField(_("公示截止日期"), null=True, blank=True, editable=False)
    status_reason = models.CharField(_("状态原因"), max_length=500, blank=True, editable=False)
    approved_on = models.DateField(_("批准日期"), null=True, blank=True, editable=False)
    version = models.PositiveIntegerField(_("版本"), default=1, editable=False)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    scope_path = "county_id"

    class Meta:
        verbose_name = _("贫困县摘帽")
        verbose_name_plural = _("贫困县摘帽")
        ordering = ["-year", "county"]
        constraints = [
            models.UniqueConstraint(
                fields=["county"],
                condition=~Q(status__in=[CountyExitCaseStatus.REJECTED, CountyExitCaseStatus.WITHDRAWN]),
                name="county_exit_one_live_case_per_county",
                violation_error_message=_("该县已有在办或已批准的摘帽申请。"),
            )
        ]

    def __str__(self):
        return f"{self.county.name} {self.year} 年摘帽（{self.get_status_display()}）"


class CountyExitStep(AreaExitStepBase):
    """One step of a county exit case (摘帽程序记录)."""

    case = models.ForeignKey(CountyExitCase, verbose_name=_("摘帽申请"), on_delete=models.PROTECT, related_name="steps")

    scope_path = "case__county_id"

    class Meta(AreaExitStepBase.Meta):
        verbose_name = _("摘帽程序记录")
        verbose_name_plural = _("摘帽程序记录")


class CountyExitObjection(AreaExitObjectionBase):
    """An objection raised during a county exit's public notice."""

    case = models.ForeignKey(
        CountyExitCase, verbose_name=_("摘帽申请"), on_delete=models.PROTECT, related_name="objections"
    )

    scope_path = "case__county_id"

    class Meta(AreaExitObjectionBase.Meta):
        verbose_name = _("摘帽公示异议")
        verbose_name_plural = _("摘帽公示异议")


class SampledHousehold(models.Model):
    """An exited household drawn for the county exit evaluation, and its verification visit (入户核查)."""

    case = models.ForeignKey(
        CountyExitCase, verbose_name=_("摘帽申请"), on_delete=models.PROTECT, related_name="sampled_households"
    )
    county_code = models.CharField(_("县级代码"), max_length=6, editable=False)
    position = models.PositiveIntegerField(_("抽中顺序"), editable=False)
    household = models.ForeignKey(
        "households.Household", verbose_name=_("脱贫户"), on_delete=models.PROTECT, related_name="+"
    )
    persons = models.PositiveSmallIntegerField(_("抽样时在册人口"), editable=False)
    visited_on = models.DateField(_("核查日期"), null=True, blank=True, editable=False)
    wrongly_exited = models.BooleanField(_("错退"), null=True, blank=True, editable=False)
    approves = models.BooleanField(_("认可脱贫工作"), null=True, blank=True, editable=False)
    note = models.CharField(_("核查情况"), max_length=500, blank=True, editable=False)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("核查人"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )

    scope_path = "household__village_id"
    scope_county_path = "county_code"

    class Meta:
        verbose_name = _("抽查脱贫户")
        verbose_name_plural = _("抽查脱贫户")
        ordering = ["case", "position"]
        constraints = [
            models.UniqueConstraint(
                fields=["case", "household"],
                name="sampled_household_once_per_case",
                violation_error_message=_("同一户在一次评估中只能抽中一次。"),
            ),
            models.CheckConstraint(
                condition=Q(visited_on__isnull=True) | Q(wrongly_exited__isnull=False, approves__isnull=False),
                name="sampled_household_visit_complete",
                violation_error_message=_("核查记录必须写明是否错退、是否认可。"),
            ),
        ]

    def __str__(self):
        return f"{self.case} · {self.household}"


class SampledVillage(models.Model):
    """A village drawn for the county exit evaluation, and its survey of missed poor (漏评核查)."""

    case = models.ForeignKey(
        CountyExitCase, verbose_name=_("摘帽申请"), on_delete=models.PROTECT, related_name="sampled_villages"
    )
    county_code = models.CharField(_("县级代码"), max_length=6, editable=False)
    position = models.PositiveIntegerField(_("抽中顺序"), editable=False)
    village = models.ForeignKey("villages.Division", verbose_name=_("村"), on_delete=models.PROTECT, related_name="+")
    rural_population = models.PositiveIntegerField(_("农村户籍人口"), editable=False)
    registered_persons = models.PositiveIntegerField(_("建档立卡人口"), editable=False)
    unregistered_population = models.PositiveIntegerField(_("非建档立卡农村人口"), editable=False)
    visited_on = models.DateField(_("核查日期"), null=True, blank=True, editable=False)
    missed_persons = models.PositiveIntegerField(_("发现漏评人口"), null=True, blank=True, editable=False)
    note = models.CharField(_("核查情况"), max_length=500, blank=True, editable=False)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("核查人"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )

    scope_path = "village_id"
    scope_county_path = "county_code"

    class Meta:
        verbose_name = _("抽查村")
        verbose_name_plural = _("抽查村")
        ordering = ["case", "position"]
        constraints = [
            models.UniqueConstraint(
                fields=["case", "village"],
                name="sampled_village_once_per_case",
                violation_error_message=_("同一村在一次评估中只能抽中一次。"),
            ),
            models.CheckConstraint(
                condition=Q(missed_persons__isnull=True) | Q(missed_persons__lte=models.F("unregistered_population")),
                name="sampled_village_missed_within_unregistered",
                violation_error_message=_("漏评人口不能超过该村非建档立卡农村人口。"),
            ),
        ]

    def __str__(self):
        return f"{self.case} · {self.village.name}"


class ReductionPlan(models.Model):
    """A county's annual poverty reduction plan (年度减贫计划): persons, villages, county exit."""

    county = models.ForeignKey(
        "villages.Division",
        verbose_name=_("县"),
        on_delete=models.PROTECT,
        related_name="reduction_plans",
        limit_choices_to={"level": "county"},
    )
    county_code = models.CharField(_("县级代码"), max_length=6, editable=False)
    year = models.PositiveSmallIntegerField(_("计划年度"), validators=[MinValueValidator(1978)])
    persons_to_exit = models.PositiveIntegerField(_("计划脱贫人口"))
    villages_to_exit = models.PositiveIntegerField(_("计划出列村数"))
    county_exits = models.BooleanField(_("计划当年摘帽"), default=False)
    note = models.CharField(_("说明"), max_length=500, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("录入人"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        editable=False,
    )
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    scope_path = "county_id"

    class Meta:
        verbose_name = _("年度减贫计划")
        verbose_name_plural = _("年度减贫计划")
        ordering = ["county", "-year"]
        constraints = [
            models.UniqueConstraint(
                fields=["county", "year"],
                name="reduction_plan_one_per_county_year",
                violation_error_message=_("该县本年度已有减贫计划。"),
            )
        ]

    def __str__(self):
        return f"{self.county.name} {self.year} 年减贫计划"


# Monitoring against return to poverty (防止返贫监测) -------------------------------------------


#: What raised a monitoring flag: an annual assessment below the threshold, or a sudden event.
FLAG_TRIGGERS = [("assessment", _("年度核查低于监测标准")), ("event", _("突发事件"))]
#: Flag statuses that no longer count as the household's open flag.
FLAG_CLOSED_STATUSES = (FlagStatus.REMOVED, FlagStatus.RETURNED, FlagStatus.REJECTED)


class MonitoringFlag(models.Model):
    """A household under monitoring (防止返贫监测对象); the steps are in ``assessments.monitoring``."""

    household = models.ForeignKey(
        "households.Household", verbose_name=_("贫困户"), on_delete=models.PROTECT, related_name="monitoring_flags"
    )
    county_code = models.CharField(_("县级代码"), max_length=6, editable=False)
    kind = models.CharField(_("监测对象类型"), max_length=20, choices=FlagKind.choices)
    status = models.CharField(
        _("状态"), max_length=20, choices=FlagStatus.choices, default=FlagStatus.PROPOSED, editable=False
    )
    trigger = models.CharField(_("触发方式"), max_length=16, choices=FLAG_TRIGGERS, editable=False)
    reason = models.CharField(_("纳入理由"), max_length=500)
    source_assessment = models.ForeignKey(
        Assessment,
        verbose_name=_("触发的年度核查"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="monitoring_flags",
        editable=False,
    )
    event = models.CharField(_("突发事件"), max_length=200, blank=True, help_text=_("重大疾病、自然灾害、意外事故等"))
    raised_on = models.DateField(_("提出日期"), editable=False)
    notice_ends_on = models.DateField(_("公示截止日期"), null=True, blank=True, editable=False)
    status_reason = models.CharField(_("状态原因"), max_length=500, blank=True, editable=False)
    version = models.PositiveIntegerField(_("版本"), default=1, editable=False)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    scope_path = "household__village_id"
    scope_county_path = "county_code"

    class Meta:
        verbose_name = _("防返贫监测对象")
        verbose_name_plural = _("防返贫监测对象")
        ordering = ["-raised_on", "household"]
        constraints = [
            models.UniqueConstraint(
                fields=["household"],
                condition=~Q(status__in=FLAG_CLOSED_STATUSES),
                name="monitoring_flag_one_open_per_household",
                violation_error_message=_("该户已有未结束的监测记录。"),
            ),
            models.CheckConstraint(
                condition=Q(trigger="event") | Q(source_assessment__isnull=False),
                name="monitoring_flag_assessment_trigger_has_source",
                violation_error_message=_("由年度核查触发的监测必须指明该核查。"),
            ),
        ]
        indexes = [models.Index(fields=["county_code", "status"], name="flag_county_status_idx")]

    def __str__(self):
        return f"{self.household} {self.get_kind_display()} {self.get_status_display()}"


class MonitoringFlagStep(models.Model):
    """One step of a monitoring flag (监测程序记录)."""

    flag = models.ForeignKey(MonitoringFlag, verbose_name=_("监测对象"), on_delete=models.PROTECT, related_name="steps")
    county_code = models.CharField(_("县级代码"), max_length=6, editable=False)
    action = models.CharField(_("操作"), max_length=32)
    from_status = models.CharField(_("原状态"), max_length=20, choices=FlagStatus.choices, blank=True)
    to_status = models.CharField(_("新状态"), max_length=20, choices=FlagStatus.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("经办人"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    reason = models.CharField(_("说明"), max_length=500, blank=True)
    effective_date = models.DateField(_("生效日期"))
    created_at = models.DateTimeField(_("时间"), auto_now_add=True)

    scope_path = "flag__household__village_id"
    scope_county_path = "county_code"

    class Meta:
        verbose_name = _("监测程序记录")
        verbose_name_plural = _("监测程序记录")
        ordering = ["flag", "id"]

    def __str__(self):
        return f"{self.flag} {self.action}"
