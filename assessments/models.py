"""Parameters, annual reassessments, help measures and exit cases (年度核查与退出)."""

from decimal import Decimal

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from assessments.choices import ExitCaseStatus, FiveBatches, MeasureCategory, ParameterKey

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


OBJECTION_OUTCOMES = [("pending", _("待处理")), ("upheld", _("异议成立，退回")), ("dismissed", _("异议不成立"))]


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
