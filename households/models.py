"""Registered households and their members (建档立卡贫困户与家庭成员).

Nothing here is ever deleted: a household leaves through a status (rejected, removed,
natural decrease), a member through a member status with the event that caused it.
"""

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from households import id_checks
from households.choices import (
    Attribute,
    Cause,
    CrossCheckCategory,
    DisclosureDoor,
    Education,
    Ethnicity,
    HouseholdStatus,
    HousingGrade,
    HousingStructure,
    IdentificationStandard,
    IdentificationStep,
    LabourAbility,
    MemberEventKind,
    MemberStatus,
    MigrantWork,
    ObjectionOutcome,
    Relationship,
    Sex,
    StudentStatus,
)
from villages.choices import DivisionLevel

non_negative = MinValueValidator(0)


class Household(models.Model):
    """A household identified as a whole (整户识别)."""

    registry_number = models.CharField(_("户编号"), max_length=32, unique=True, editable=False)
    county_code = models.CharField(_("县级代码"), max_length=6, editable=False)
    village = models.ForeignKey(
        "villages.Division",
        verbose_name=_("村"),
        on_delete=models.PROTECT,
        related_name="households",
        limit_choices_to={"level": DivisionLevel.VILLAGE},
    )
    group = models.ForeignKey(
        "villages.VillagerGroup",
        verbose_name=_("村民小组"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="households",
    )
    identification_standard = models.CharField(
        _("识别标准"),
        max_length=12,
        choices=IdentificationStandard.choices,
        default=IdentificationStandard.NATIONAL,
    )
    attribute = models.CharField(_("贫困户属性"), max_length=12, choices=Attribute.choices)
    main_cause = models.CharField(_("主要致贫原因"), max_length=20, choices=Cause.choices)
    other_causes = models.JSONField(_("其他致贫原因"), default=list, blank=True, help_text=_("最多两项"))
    identified_year = models.PositiveSmallIntegerField(_("识别年度"), null=True, blank=True)
    housing_area = models.DecimalField(
        _("住房面积（平方米）"), max_digits=8, decimal_places=2, null=True, blank=True, validators=[non_negative]
    )
    housing_structure = models.CharField(_("住房结构"), max_length=16, choices=HousingStructure.choices, blank=True)
    housing_grade = models.CharField(_("住房安全等级"), max_length=1, choices=HousingGrade.choices, blank=True)
    housing_renovated = models.BooleanField(_("危房已改造"), default=False)
    drinking_water_safe = models.BooleanField(_("饮水安全"), default=True)
    electricity = models.BooleanField(_("通生活用电"), default=True)
    road_distance_km = models.DecimalField(
        _("距村主干路（公里）"), max_digits=6, decimal_places=2, null=True, blank=True, validators=[non_negative]
    )
    cultivated_land_mu = models.DecimalField(
        _("耕地面积（亩）"), max_digits=8, decimal_places=2, default=0, validators=[non_negative]
    )
    forest_land_mu = models.DecimalField(
        _("林地面积（亩）"), max_digits=8, decimal_places=2, default=0, validators=[non_negative]
    )
    relocated = models.BooleanField(_("易地扶贫搬迁户"), default=False)
    phone = models.CharField(_("联系电话"), max_length=20, blank=True)
    helper = models.ForeignKey(
        "villages.Helper",
        verbose_name=_("帮扶责任人"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="households",
    )
    status = models.CharField(
        _("状态"), max_length=20, choices=HouseholdStatus.choices, default=HouseholdStatus.APPLIED, editable=False
    )
    step = models.CharField(
        _("识别环节"),
        max_length=20,
        choices=IdentificationStep.choices,
        default=IdentificationStep.APPLICATION,
        editable=False,
    )
    notice_ends_on = models.DateField(_("公示截止日期"), null=True, blank=True, editable=False)
    status_reason = models.CharField(_("状态原因"), max_length=500, blank=True, editable=False)
    status_date = models.DateField(_("状态日期"), null=True, blank=True, editable=False)
    version = models.PositiveIntegerField(_("版本"), default=1, editable=False)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    scope_path = "village_id"
    scope_county_path = "county_code"

    class Meta:
        verbose_name = _("贫困户")
        verbose_name_plural = _("贫困户")
        ordering = ["registry_number"]
        indexes = [
            models.Index(fields=["county_code", "status"], name="household_county_status_idx"),
            # A county's list in id order (the API's cursor pages, the export's chunks).
            models.Index(fields=["county_code", "id"], name="household_county_id_idx"),
            models.Index(fields=["village", "status"], name="household_village_status_idx"),
            models.Index(fields=["updated_at"], name="household_updated_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(housing_area__gte=0) | Q(housing_area__isnull=True),
                name="household_housing_area_non_negative",
                violation_error_message=_("住房面积不能为负数。"),
            ),
            models.CheckConstraint(
                condition=Q(cultivated_land_mu__gte=0, forest_land_mu__gte=0),
                name="household_land_non_negative",
                violation_error_message=_("耕地、林地面积不能为负数。"),
            ),
            models.CheckConstraint(
                condition=Q(road_distance_km__gte=0) | Q(road_distance_km__isnull=True),
                name="household_road_distance_non_negative",
                violation_error_message=_("距主干路距离不能为负数。"),
            ),
        ]

    def __str__(self):
        return self.registry_number

    def get_absolute_url(self):
        return reverse("households:detail", kwargs={"pk": self.pk})

    @property
    def is_active(self) -> bool:
        """Return whether the household is still in the registry (not rejected, removed or gone)."""
        from households.choices import CLOSED_STATUSES

        return self.status not in CLOSED_STATUSES

    @property
    def head(self):
        for member in self.members.all():
            if member.relationship == Relationship.HEAD and member.status == MemberStatus.ACTIVE:
                return member
        return None


class Member(models.Model):
    """A member of a household (家庭成员)."""

    household = models.ForeignKey(Household, verbose_name=_("贫困户"), on_delete=models.PROTECT, related_name="members")
    county_code = models.CharField(_("县级代码"), max_length=6, editable=False)
    name = models.CharField(_("姓名"), max_length=50)
    id_number = models.CharField(_("公民身份号码"), max_length=18)
    sex = models.CharField(_("性别"), max_length=1, choices=Sex.choices)
    birth_date = models.DateField(_("出生日期"))
    ethnicity = models.CharField(_("民族"), max_length=2, choices=Ethnicity.choices, default=Ethnicity.HAN)
    relationship = models.CharField(_("与户主关系"), max_length=12, choices=Relationship.choices)
    education = models.CharField(_("文化程度"), max_length=12, choices=Education.choices, blank=True)
    student_status = models.CharField(
        _("在校生状况"), max_length=24, choices=StudentStatus.choices, default=StudentStatus.NOT_STUDENT
    )
    chronic_disease = models.BooleanField(_("长期慢性病"), default=False)
    serious_illness = models.BooleanField(_("患有大病"), default=False)
    disabled = models.BooleanField(_("残疾"), default=False)
    disability_certificate = models.CharField(_("残疾证号"), max_length=30, blank=True)
    labour_ability = models.CharField(_("劳动技能"), max_length=12, choices=LabourAbility.choices, blank=True)
    migrant_work = models.CharField(_("务工状况"), max_length=16, choices=MigrantWork.choices, default=MigrantWork.NONE)
    migrant_months = models.PositiveSmallIntegerField(
        _("务工时间（月）"), default=0, validators=[MinValueValidator(0), MaxValueValidator(12)]
    )
    basic_medical_insurance = models.BooleanField(_("参加城乡居民基本医疗保险"), default=True)
    serious_illness_insurance = models.BooleanField(_("参加大病保险"), default=False)
    pension_insurance = models.BooleanField(_("参加城乡居民基本养老保险"), default=False)
    dibao_recipient = models.BooleanField(_("享受低保"), default=False)
    tekun_recipient = models.BooleanField(_("享受特困供养"), default=False)
    status = models.CharField(
        _("成员状态"), max_length=16, choices=MemberStatus.choices, default=MemberStatus.ACTIVE, editable=False
    )
    status_date = models.DateField(_("状态日期"), null=True, blank=True, editable=False)
    current = models.BooleanField(
        _("在有效户中在册"),
        default=True,
        editable=False,
        help_text=_("成员在册且所在户仍有效；同一身份证号只能有一条。"),
    )
    version = models.PositiveIntegerField(_("版本"), default=1, editable=False)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    scope_path = "household__village_id"
    scope_county_path = "county_code"

    class Meta:
        verbose_name = _("家庭成员")
        verbose_name_plural = _("家庭成员")
        ordering = ["household", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["household"],
                condition=Q(relationship=Relationship.HEAD, status=MemberStatus.ACTIVE),
                name="member_one_active_head",
                violation_error_message=_("每户只能有一名户主。"),
            ),
            models.UniqueConstraint(
                fields=["id_number"],
                condition=Q(current=True),
                name="member_id_number_one_current_household",
                violation_error_message=_("该身份证号已在另一户有效登记中。"),
            ),
            models.CheckConstraint(
                condition=Q(migrant_months__gte=0, migrant_months__lte=12),
                name="member_migrant_months_0_12",
                violation_error_message=_("务工时间应在 0 到 12 个月之间。"),
            ),
            models.CheckConstraint(
                condition=Q(current=False) | Q(status=MemberStatus.ACTIVE),
                name="member_current_is_active",
                violation_error_message=_("非在册成员不能计入有效户。"),
            ),
        ]
        indexes = [
            models.Index(fields=["id_number"], name="member_id_number_idx"),
            models.Index(fields=["county_code", "status"], name="member_county_status_idx"),
            models.Index(fields=["county_code", "id"], name="member_county_id_idx"),
            models.Index(fields=["updated_at"], name="member_updated_idx"),
            # The members whose ID number has a defect (households.id_checks), for the quality rules.
            models.Index(fields=["household"], condition=id_checks.bad_shape(), name="member_id_shape_defect_idx"),
            models.Index(fields=["household"], condition=id_checks.bad_check_char(), name="member_id_check_defect_idx"),
            models.Index(fields=["household"], condition=id_checks.birth_mismatch(), name="member_id_birth_defect_idx"),
            models.Index(fields=["household"], condition=id_checks.sex_mismatch(), name="member_id_sex_defect_idx"),
        ]

    def __str__(self):
        return self.name

    @property
    def is_head(self) -> bool:
        return self.relationship == Relationship.HEAD


class StatusChange(models.Model):
    """One step of a household's history (状态变更记录): who moved it where, when and why."""

    household = models.ForeignKey(
        Household, verbose_name=_("贫困户"), on_delete=models.PROTECT, related_name="status_changes"
    )
    county_code = models.CharField(_("县级代码"), max_length=6, editable=False)
    action = models.CharField(_("操作"), max_length=32)
    from_status = models.CharField(_("原状态"), max_length=20, choices=HouseholdStatus.choices)
    to_status = models.CharField(_("新状态"), max_length=20, choices=HouseholdStatus.choices)
    from_step = models.CharField(_("原环节"), max_length=20, choices=IdentificationStep.choices)
    to_step = models.CharField(_("新环节"), max_length=20, choices=IdentificationStep.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("经办人"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="household_status_changes",
    )
    reason = models.CharField(_("说明"), max_length=500, blank=True)
    effective_date = models.DateField(_("生效日期"))
    created_at = models.DateTimeField(_("时间"), auto_now_add=True)

    scope_path = "household__village_id"
    scope_county_path = "county_code"

    class Meta:
        verbose_name = _("状态变更记录")
        verbose_name_plural = _("状态变更记录")
        ordering = ["household", "id"]
        # Returns to poverty (返贫) per county and year, counted by the dashboards.
        indexes = [models.Index(fields=["county_code", "action"], name="statuschange_county_action_idx")]

    def __str__(self):
        return f"{self.household} {self.get_from_status_display()} → {self.get_to_status_display()}"


class Objection(models.Model):
    """An objection (异议) raised during a public notice; it blocks the next step until resolved."""

    household = models.ForeignKey(
        Household, verbose_name=_("贫困户"), on_delete=models.PROTECT, related_name="objections"
    )
    county_code = models.CharField(_("县级代码"), max_length=6, editable=False)
    step = models.CharField(_("公示环节"), max_length=20, choices=IdentificationStep.choices)
    objector = models.CharField(_("异议人"), max_length=50, help_text=_("可匿名，填“匿名”"))
    content = models.TextField(_("异议内容"))
    raised_on = models.DateField(_("提出日期"))
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("登记人"),
        on_delete=models.PROTECT,
        related_name="objections_recorded",
    )
    outcome = models.CharField(
        _("处理结果"), max_length=16, choices=ObjectionOutcome.choices, default=ObjectionOutcome.PENDING
    )
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("处理人"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="objections_resolved",
    )
    resolved_at = models.DateTimeField(_("处理时间"), null=True, blank=True)
    resolution = models.TextField(_("处理理由"), blank=True)

    scope_path = "household__village_id"
    scope_county_path = "county_code"

    class Meta:
        verbose_name = _("异议")
        verbose_name_plural = _("异议")
        ordering = ["household", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(outcome=ObjectionOutcome.PENDING, resolved_by__isnull=True)
                | (~Q(outcome=ObjectionOutcome.PENDING) & Q(resolved_by__isnull=False)),
                name="objection_resolved_by_iff_resolved",
                violation_error_message=_("已处理的异议必须记录处理人。"),
            )
        ]

    def __str__(self):
        return f"{self.household} · {self.objector} · {self.get_outcome_display()}"


class MemberEvent(models.Model):
    """A dated change of membership (出生、死亡、婚入、婚出、迁入、迁出)."""

    household = models.ForeignKey(
        Household, verbose_name=_("贫困户"), on_delete=models.PROTECT, related_name="member_events"
    )
    member = models.ForeignKey(Member, verbose_name=_("成员"), on_delete=models.PROTECT, related_name="events")
    county_code = models.CharField(_("县级代码"), max_length=6, editable=False)
    kind = models.CharField(_("变动类型"), max_length=16, choices=MemberEventKind.choices)
    event_date = models.DateField(_("变动日期"))
    note = models.CharField(_("说明"), max_length=200, blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("登记人"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="member_events_recorded",
    )
    created_at = models.DateTimeField(_("登记时间"), auto_now_add=True)

    scope_path = "household__village_id"
    scope_county_path = "county_code"

    class Meta:
        verbose_name = _("成员变动")
        verbose_name_plural = _("成员变动")
        ordering = ["household", "event_date", "id"]

    def __str__(self):
        return f"{self.member} {self.get_kind_display()} {self.event_date}"


class CrossCheckImport(models.Model):
    """One department list imported for cross-checking (部门比对数据导入)."""

    source = models.CharField(_("数据来源部门"), max_length=100)
    file_name = models.CharField(_("文件名"), max_length=200)
    scope_code = models.CharField(_("所属区划代码"), max_length=12)
    imported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("导入人"), on_delete=models.PROTECT, null=True, blank=True
    )
    imported_at = models.DateTimeField(_("导入时间"), auto_now_add=True)
    row_count = models.PositiveIntegerField(_("行数"), default=0)

    scope_path = "scope_code"

    class Meta:
        verbose_name = _("部门比对数据")
        verbose_name_plural = _("部门比对数据")
        ordering = ["-imported_at"]

    def __str__(self):
        return f"{self.source} {self.file_name}"


class CrossCheckEntry(models.Model):
    """One person found on a department list, matched by ID number."""

    batch = models.ForeignKey(
        CrossCheckImport, verbose_name=_("导入批次"), on_delete=models.PROTECT, related_name="entries"
    )
    id_number = models.CharField(_("公民身份号码"), max_length=18, db_index=True)
    category = models.CharField(_("类别"), max_length=24, choices=CrossCheckCategory.choices)
    note = models.CharField(_("说明"), max_length=200, blank=True)
    scope_code = models.CharField(_("所属区划代码"), max_length=12)

    scope_path = "scope_code"

    class Meta:
        verbose_name = _("部门比对记录")
        verbose_name_plural = _("部门比对记录")
        ordering = ["batch", "id"]

    def __str__(self):
        return f"{self.get_category_display()} {self.id_number[:6]}…"


class PersonalDataAccess(models.Model):
    """One disclosure of full ID numbers or phones (个人信息查看记录), as the PIPL asks of sensitive data.

    Written for every unmasked page view, unmasked export and API response that carried
    full numbers; never changed or deleted (the database refuses it). ``objects`` names
    what was shown (``{"household": [ids], "member": [ids]}``); an export names its
    filters and how many households it held instead.
    """

    created_at = models.DateTimeField(_("时间"), default=timezone.now, db_index=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("查看人"),
        on_delete=models.PROTECT,
        null=True,
        related_name="personal_data_accesses",
    )
    username = models.CharField(_("查看人账号"), max_length=150)
    token_prefix = models.CharField(_("接口令牌前缀"), max_length=12, blank=True)
    client_address = models.GenericIPAddressField(_("客户端地址"), null=True, blank=True)
    door = models.CharField(_("途径"), max_length=8, choices=DisclosureDoor.choices)
    household = models.ForeignKey(
        Household, verbose_name=_("贫困户"), on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    member = models.ForeignKey(
        Member, verbose_name=_("家庭成员"), on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    objects_shown = models.JSONField(_("涉及对象"), default=dict, blank=True)
    filters = models.JSONField(_("导出或查询条件"), default=dict, blank=True)
    count = models.PositiveIntegerField(_("涉及户数"), default=0)
    shown_fields = models.CharField(_("显示的信息"), max_length=100)
    reason = models.CharField(_("理由"), max_length=200)
    scope_code = models.CharField(
        _("所属区划代码"), max_length=12, blank=True, help_text=_("涉及对象共同所属的最小区划，用于按管辖范围查看。")
    )

    scope_path = "scope_code"

    class Meta:
        verbose_name = _("个人信息查看记录")
        verbose_name_plural = _("个人信息查看记录")
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["scope_code", "created_at"], name="pii_access_scope_idx"),
            models.Index(fields=["user", "created_at"], name="pii_access_user_idx"),
        ]

    def __str__(self):
        return f"{self.created_at:%Y-%m-%d %H:%M:%S} {self.username} {self.get_door_display()} {self.count}"
