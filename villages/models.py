"""Geography, poverty status, work teams and helpers (区划、贫困状态、驻村工作队、帮扶责任人)."""

from django.conf import settings
from django.core.validators import MinValueValidator, RegexValidator
from django.db import models
from django.db.models import Q
from django.db.models.functions import Length
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from villages.choices import (
    LEVEL_PREFIX_LENGTH,
    CountyExitStatus,
    DivisionLevel,
    PovertyCountyType,
    RegionClass,
    TeamRole,
    VillageExitStatus,
    WorkTeamStatus,
)

division_code_validator = RegexValidator(
    r"^\d{12}$", _("区划代码必须是 12 位数字（统计用区划代码）。"), code="division_code"
)
year_validator = MinValueValidator(1978)


class Division(models.Model):
    """An administrative division (行政区划) keyed by its 12-digit statistical code."""

    code = models.CharField(_("区划代码"), max_length=12, primary_key=True, validators=[division_code_validator])
    name = models.CharField(_("名称"), max_length=100)
    level = models.CharField(_("层级"), max_length=12, choices=DivisionLevel.choices)
    parent = models.ForeignKey(
        "self",
        verbose_name=_("上级区划"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="children",
    )

    scope_path = "code"

    class Meta:
        verbose_name = _("行政区划")
        verbose_name_plural = _("行政区划")
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(
                condition=Q(code__length=12),
                name="division_code_12_digits",
                violation_error_message=_("区划代码必须是 12 位数字。"),
            ),
            models.CheckConstraint(
                condition=(Q(level=DivisionLevel.PROVINCE) & Q(parent__isnull=True))
                | (~Q(level=DivisionLevel.PROVINCE) & Q(parent__isnull=False)),
                name="division_parent_unless_province",
                violation_error_message=_("除省级外，每个区划都必须有上级区划。"),
            ),
        ]
        indexes = [models.Index(fields=["level", "code"], name="division_level_code_idx")]

    def __str__(self):
        return f"{self.name}（{self.code}）"

    def get_absolute_url(self):
        return reverse("villages:division_detail", kwargs={"code": self.code})

    @property
    def prefix(self) -> str:
        """Return the leading digits that every descendant's code shares."""
        return self.code[: LEVEL_PREFIX_LENGTH[self.level]]

    @property
    def county_code(self) -> str | None:
        """Return the 6-digit GB/T 2260 county code, for a county or a division below it."""
        if LEVEL_PREFIX_LENGTH[self.level] < 6:
            return None
        return self.code[:6]


# Register the Length lookup once so `code__length` can be used in constraints.
models.CharField.register_lookup(Length)


class CountyStatus(models.Model):
    """Poverty status of a county (贫困县状态): type, region class, plan and exit (摘帽)."""

    county = models.OneToOneField(
        Division,
        verbose_name=_("县"),
        on_delete=models.PROTECT,
        primary_key=True,
        related_name="county_status",
        limit_choices_to={"level": DivisionLevel.COUNTY},
    )
    poverty_type = models.CharField(
        _("贫困县类型"),
        max_length=16,
        choices=PovertyCountyType.choices,
        default=PovertyCountyType.NONE,
    )
    deep_poverty = models.BooleanField(_("深度贫困县"), default=False)
    region_class = models.CharField(
        _("区域类别"),
        max_length=16,
        choices=RegionClass.choices,
        default=RegionClass.CENTRAL_EAST,
        help_text=_("决定退出时贫困发生率的阈值：中东部 2%，西部 3%。"),
    )
    rural_population = models.PositiveIntegerField(
        _("农村户籍人口"), null=True, blank=True, help_text=_("计算贫困发生率的分母；空为未知。")
    )
    planned_exit_year = models.PositiveSmallIntegerField(
        _("计划摘帽年度"), null=True, blank=True, validators=[year_validator]
    )
    exit_status = models.CharField(
        _("摘帽状态"),
        max_length=16,
        choices=CountyExitStatus.choices,
        default=CountyExitStatus.NOT_EXITED,
    )
    exit_year = models.PositiveSmallIntegerField(_("摘帽年度"), null=True, blank=True, validators=[year_validator])

    scope_path = "county_id"

    class Meta:
        verbose_name = _("贫困县状态")
        verbose_name_plural = _("贫困县状态")
        constraints = [
            models.CheckConstraint(
                condition=(Q(exit_status=CountyExitStatus.EXITED) & Q(exit_year__isnull=False))
                | (~Q(exit_status=CountyExitStatus.EXITED) & Q(exit_year__isnull=True)),
                name="county_exit_year_iff_exited",
                violation_error_message=_("已摘帽的县必须有摘帽年度，未摘帽的县不能有摘帽年度。"),
            ),
            models.CheckConstraint(
                condition=Q(poverty_type=PovertyCountyType.NONE, deep_poverty=False)
                | ~Q(poverty_type=PovertyCountyType.NONE),
                name="county_deep_poverty_is_poverty_county",
                violation_error_message=_("深度贫困县必须是贫困县。"),
            ),
        ]

    def __str__(self):
        return str(self.county)

    @property
    def is_poverty_county(self) -> bool:
        return self.poverty_type != PovertyCountyType.NONE


class VillageStatus(models.Model):
    """Poverty status of a village (贫困村状态): identification, population and exit (出列)."""

    village = models.OneToOneField(
        Division,
        verbose_name=_("村"),
        on_delete=models.PROTECT,
        primary_key=True,
        related_name="village_status",
        limit_choices_to={"level": DivisionLevel.VILLAGE},
    )
    is_poverty_village = models.BooleanField(_("贫困村"), default=False)
    identified_year = models.PositiveSmallIntegerField(
        _("识别年度"), null=True, blank=True, validators=[year_validator]
    )
    deep_poverty = models.BooleanField(_("深度贫困村"), default=False)
    rural_population = models.PositiveIntegerField(_("农村户籍人口"), default=0)
    rural_households = models.PositiveIntegerField(_("农村户籍户数"), default=0)
    exit_status = models.CharField(
        _("出列状态"),
        max_length=16,
        choices=VillageExitStatus.choices,
        default=VillageExitStatus.NOT_EXITED,
    )
    exit_year = models.PositiveSmallIntegerField(_("出列年度"), null=True, blank=True, validators=[year_validator])

    scope_path = "village_id"

    class Meta:
        verbose_name = _("贫困村状态")
        verbose_name_plural = _("贫困村状态")
        constraints = [
            models.CheckConstraint(
                condition=(Q(exit_status=VillageExitStatus.EXITED) & Q(exit_year__isnull=False))
                | (~Q(exit_status=VillageExitStatus.EXITED) & Q(exit_year__isnull=True)),
                name="village_exit_year_iff_exited",
                violation_error_message=_("已出列的村必须有出列年度，未出列的村不能有出列年度。"),
            ),
            models.CheckConstraint(
                condition=Q(is_poverty_village=True) | Q(deep_poverty=False, exit_status=VillageExitStatus.NOT_EXITED),
                name="village_deep_or_exit_is_poverty_village",
                violation_error_message=_("只有贫困村才能是深度贫困村或出列。"),
            ),
        ]

    def __str__(self):
        return str(self.village)


class VillagerGroup(models.Model):
    """A villager group (村民小组) inside a village."""

    village = models.ForeignKey(
        Division,
        verbose_name=_("村"),
        on_delete=models.PROTECT,
        related_name="villager_groups",
        limit_choices_to={"level": DivisionLevel.VILLAGE},
    )
    number = models.PositiveSmallIntegerField(_("组号"), validators=[MinValueValidator(1)])
    name = models.CharField(_("名称"), max_length=50)

    scope_path = "village_id"

    class Meta:
        verbose_name = _("村民小组")
        verbose_name_plural = _("村民小组")
        ordering = ["village", "number"]
        constraints = [
            models.UniqueConstraint(
                fields=["village", "number"],
                name="villager_group_unique_number",
                violation_error_message=_("该村已有相同组号的村民小组。"),
            )
        ]

    def __str__(self):
        return f"{self.village.name}{self.name}"


class WorkTeam(models.Model):
    """A village work team (驻村工作队) dispatched by a unit (派出单位) to a village."""

    village = models.ForeignKey(
        Division,
        verbose_name=_("驻村"),
        on_delete=models.PROTECT,
        related_name="work_teams",
        limit_choices_to={"level": DivisionLevel.VILLAGE},
    )
    dispatching_unit = models.CharField(_("派出单位"), max_length=100)
    term_start = models.DateField(_("任期开始"))
    term_end = models.DateField(_("任期结束"))
    status = models.CharField(
        _("状态"), max_length=16, choices=WorkTeamStatus.choices, default=WorkTeamStatus.STATIONED
    )
    withdrawn_on = models.DateField(_("撤出日期"), null=True, blank=True)
    withdrawal_reason = models.CharField(_("撤出原因"), max_length=200, blank=True)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    scope_path = "village_id"

    class Meta:
        verbose_name = _("驻村工作队")
        verbose_name_plural = _("驻村工作队")
        ordering = ["village", "-term_start"]
        constraints = [
            models.UniqueConstraint(
                fields=["village"],
                condition=Q(status=WorkTeamStatus.STATIONED),
                name="work_team_one_stationed_per_village",
                violation_error_message=_("该村已有在驻的工作队。"),
            ),
            models.CheckConstraint(
                condition=Q(term_end__gt=models.F("term_start")),
                name="work_team_term_end_after_start",
                violation_error_message=_("任期结束日期必须晚于开始日期。"),
            ),
            models.CheckConstraint(
                condition=(Q(status=WorkTeamStatus.WITHDRAWN) & Q(withdrawn_on__isnull=False))
                | (~Q(status=WorkTeamStatus.WITHDRAWN) & Q(withdrawn_on__isnull=True)),
                name="work_team_withdrawn_on_iff_withdrawn",
                violation_error_message=_("已撤出的工作队必须有撤出日期。"),
            ),
        ]

    def __str__(self):
        return f"{self.dispatching_unit}驻{self.village.name}工作队"

    def get_absolute_url(self):
        return reverse("villages:division_detail", kwargs={"code": self.village_id})

    @property
    def leader(self):
        """Return the active leader (队长), or None."""
        for member in self.members.all():
            if member.role == TeamRole.LEADER and member.active:
                return member
        return None


class WorkTeamMember(models.Model):
    """A member of a work team (工作队员); the leader (队长) is usually the 第一书记."""

    team = models.ForeignKey(WorkTeam, verbose_name=_("工作队"), on_delete=models.PROTECT, related_name="members")
    name = models.CharField(_("姓名"), max_length=50)
    role = models.CharField(_("队内职务"), max_length=16, choices=TeamRole.choices, default=TeamRole.MEMBER)
    title = models.CharField(_("职务"), max_length=50, blank=True, help_text=_("如 第一书记"))
    unit = models.CharField(_("所在单位"), max_length=100, blank=True)
    phone = models.CharField(_("联系电话"), max_length=20, blank=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("系统账户"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="team_memberships",
    )
    active = models.BooleanField(_("在队"), default=True)
    left_on = models.DateField(_("离队日期"), null=True, blank=True)

    scope_path = "team__village_id"

    class Meta:
        verbose_name = _("工作队员")
        verbose_name_plural = _("工作队员")
        ordering = ["team", "role", "id"]  # the leader ("leader" < "member") first
        constraints = [
            models.UniqueConstraint(
                fields=["team"],
                condition=Q(role=TeamRole.LEADER, active=True),
                name="work_team_one_active_leader",
                violation_error_message=_("一个工作队只能有一名队长。"),
            )
        ]

    def __str__(self):
        return f"{self.name}（{self.get_role_display()}）"


class Helper(models.Model):
    """A paired helper (帮扶责任人): a cadre who helps registered households."""

    division = models.ForeignKey(
        Division,
        verbose_name=_("所属区划"),
        on_delete=models.PROTECT,
        related_name="helpers",
        help_text=_("帮扶责任人结对帮扶的村或乡镇、县。"),
    )
    county_code = models.CharField(_("县级代码"), max_length=6, editable=False)
    name = models.CharField(_("姓名"), max_length=50)
    id_number = models.CharField(_("公民身份号码"), max_length=18, blank=True)
    unit = models.CharField(_("工作单位"), max_length=100)
    title = models.CharField(_("职务"), max_length=50, blank=True)
    phone = models.CharField(_("联系电话"), max_length=20)
    active = models.BooleanField(_("在岗"), default=True)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    scope_path = "division_id"

    class Meta:
        verbose_name = _("帮扶责任人")
        verbose_name_plural = _("帮扶责任人")
        ordering = ["division", "name"]
        indexes = [models.Index(fields=["id_number"], name="helper_id_number_idx")]

    def __str__(self):
        return f"{self.name}（{self.unit}）"
