"""Standard statistical reports (统计报表) as XLSX workbooks, by village, township and county.

Each report is one workbook: a summary sheet (汇总) whose figures are read from the same
selectors as the dashboard (:mod:`dashboards.selectors`), so the two cannot disagree, and
a detail sheet of the rows behind them. Reports are built in a background job (kind
``report``, see :mod:`dashboards.jobs`) as their creator: the division is fetched again
through the creator's scope, and every row read through scoped selectors. ID numbers and
phones are masked unless the creator asked for them in full with a reason (``VIEW_PII``;
the disclosure is logged before the job is queued). Every cell is neutralised against
spreadsheet formula injection (:func:`registry.tabular.safe_cell`).
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from openpyxl import Workbook

from assessments.choices import ExitCaseStatus, FiveBatches, MeasureCategory
from assessments.models import ExitCase, HelpMeasure
from dashboards import selectors
from households.choices import MemberStatus
from households.models import Household
from households.privacy import mask_id, mask_phone
from registry.scoping import scope_queryset
from registry.tabular import safe_cell
from villages.choices import DivisionLevel
from villages.models import Division
from villages.selectors import area_statistics

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
#: Levels whose reports list households (one row each): a county at most (an XLSX sheet
#: holds about a million rows; a province's roster is the API's full export).
HOUSEHOLD_LEVELS = (DivisionLevel.COUNTY, DivisionLevel.TOWNSHIP, DivisionLevel.VILLAGE)
ALL_LEVELS = (*HOUSEHOLD_LEVELS, DivisionLevel.PREFECTURE, DivisionLevel.PROVINCE)


@dataclass(frozen=True)
class Report:
    code: str
    title: str
    levels: tuple[str, ...]
    #: Whether it carries ID numbers or phones (then it may be asked for unmasked).
    personal: bool
    build: Callable


REPORTS: dict[str, Report] = {}


def report(code: str, *, title, levels=ALL_LEVELS, personal: bool = False):
    def register(func):
        REPORTS[code] = Report(code, title, levels, personal, func)
        return func

    return register


def reports_for(division: Division) -> list[Report]:
    """Return the reports that can be made for ``division``'s level."""
    return [r for r in REPORTS.values() if division.level in r.levels]


def file_name(report_code: str, division: Division, year: int) -> str:
    return f"{REPORTS[report_code].title}-{division.name}-{year}.xlsx"


def build_report(
    *, user, report_code: str, division: Division, year: int, unmask: bool = False, progress=None
) -> bytes:
    """Return the XLSX workbook of report ``report_code`` for ``division`` and ``year``."""
    book = Workbook(write_only=True)
    REPORTS[report_code].build(book, user=user, division=division, year=year, unmask=unmask, progress=progress)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


# Writing --------------------------------------------------------------------------------------------


def _sheet(book: Workbook, title: str, header: Iterable, rows: Iterable[Iterable], progress=None, total=None):
    sheet = book.create_sheet(title=str(title))
    sheet.append([safe_cell(str(h)) for h in header])
    for done, row in enumerate(rows, start=1):
        sheet.append([_cell(value) for value in row])
        if progress is not None:
            progress(done, total)
    return sheet


def _cell(value):
    if value is None:
        return ""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, int | float):
        return value
    if isinstance(value, Decimal):
        return float(value)
    return safe_cell(str(value))


def _heading(division: Division, year: int | None = None) -> list:
    return [f"{division.name}（{division.code}）", "" if year is None else f"{year}年度"]


def _statistics_rows(statistics) -> list[list]:
    return [
        [_("建档立卡"), statistics.registered.households, statistics.registered.persons],
        [_("未脱贫"), statistics.poor.households, statistics.poor.persons],
        [_("已脱贫"), statistics.exited.households, statistics.exited.persons],
        [_("返贫"), statistics.returned.households, statistics.returned.persons],
        [_("清退"), statistics.removed.households, statistics.removed.persons],
        [_("自然减少"), statistics.natural_decrease.households, statistics.natural_decrease.persons],
    ]


def _households(user, division: Division):
    return scope_queryset(Household.objects.filter(selectors.area_q(division)), user)


def _head_id(household, unmask: bool) -> str:
    head = next((m for m in household.members.all() if m.relationship == "head" and m.status == "active"), None)
    if head is None:
        return "", ""
    return head.name, head.id_number if unmask else mask_id(head.id_number)


# The reports ----------------------------------------------------------------------------------------


@report("incidence", title=_("贫困发生率统计表"))
def incidence_report(book, *, user, division, year, unmask, progress):
    """Summary: the area's statistics and incidence; detail: each village (or county) below it."""
    statistics = area_statistics(division)
    incidence = statistics.incidence
    _sheet(
        book,
        _("汇总"),
        [*_heading(division), ""],
        [
            [_("指标"), _("户数"), _("人数")],
            *_statistics_rows(statistics),
            [_("农村户籍人口"), "", incidence.rural_population],
            [_("贫困发生率（%）"), "", incidence.rate],
            [_("退出标准（%）"), "", incidence.threshold],
        ],
    )
    areas = selectors.incidence_by_area(user=user, division=division)
    header = [
        _("区划代码"), _("区划名称"), _("建档立卡户"), _("建档立卡人口"), _("未脱贫户"), _("未脱贫人口"),
        _("已脱贫户"), _("已脱贫人口"), _("返贫户"), _("清退户"), _("农村户籍人口"), _("贫困发生率（%）"),
        _("退出标准（%）"), _("低于退出标准"),
    ]  # fmt: skip
    rows = (
        [
            row.division.code,
            row.division.name,
            row.statistics.registered.households,
            row.statistics.registered.persons,
            row.statistics.poor.households,
            row.statistics.poor.persons,
            row.statistics.exited.households,
            row.statistics.exited.persons,
            row.statistics.returned.households,
            row.statistics.removed.households,
            row.incidence.rural_population,
            row.incidence.rate,
            row.incidence.threshold,
            row.incidence.below_threshold,
        ]
        for row in areas
    )
    _sheet(book, _("明细"), header, rows, progress, len(areas))


PLAN_LEVELS = (DivisionLevel.COUNTY, DivisionLevel.PREFECTURE, DivisionLevel.PROVINCE)


@report("plan", title=_("减贫计划完成情况表"), levels=PLAN_LEVELS)
def plan_report(book, *, user, division, year, unmask, progress):
    """Summary: the year's plans summed against what was done; detail: each county's plan."""
    plan = selectors.plan_summary(user=user, division=division, year=year)
    _sheet(
        book,
        _("汇总"),
        [*_heading(division, year), ""],
        [
            [_("指标"), _("计划"), _("完成")],
            [_("脱贫人口"), plan.persons_to_exit, plan.persons_exited],
            [_("贫困村出列"), plan.villages_to_exit, plan.villages_exited],
            [_("贫困县摘帽"), plan.counties_to_exit, plan.counties_exited],
            [_("脱贫户数"), "", plan.households_exited],
            [_("制定计划的县"), plan.counties_with_plan, ""],
        ],
    )
    header = [
        _("县级代码"), _("县名称"), _("计划脱贫人口"), _("已脱贫人口"), _("完成率（%）"), _("已脱贫户"),
        _("计划出列村"), _("已出列村"), _("计划摘帽"), _("已摘帽"), _("备注"),
    ]  # fmt: skip
    rows = (
        [
            row.plan.county_id,
            row.plan.county.name,
            row.plan.persons_to_exit,
            row.persons_exited,
            row.persons_percent,
            row.households_exited,
            row.plan.villages_to_exit,
            row.villages_exited,
            row.plan.county_exits,
            row.county_exit_done,
            row.plan.note,
        ]
        for row in plan.rows
    )
    _sheet(book, _("各县计划"), header, rows, progress, len(plan.rows))


@report("measures", title=_("帮扶措施统计表"), levels=HOUSEHOLD_LEVELS)
def measures_report(book, *, user, division, year, unmask, progress):
    """Summary: the year's measures by category and by 五个一批; detail: every measure."""
    header = [_("类别"), _("措施数"), _("受益户数"), _("金额（元）")]
    by_category = selectors.measures_by(
        user=user, division=division, year=year, field_name="category", choices=MeasureCategory
    )
    by_batch = selectors.measures_by(
        user=user, division=division, year=year, field_name="five_batches", choices=FiveBatches
    )
    _sheet(
        book,
        _("汇总"),
        [*_heading(division, year), "", ""],
        [
            header,
            *([r.label, r.measures, r.households, r.amount] for r in by_category),
            [_("五个一批"), "", "", ""],
            *([r.label, r.measures, r.households, r.amount] for r in by_batch),
        ],
    )
    measures = (
        scope_queryset(
            HelpMeasure.objects.filter(selectors.area_q(division, "household__village_id"), measure_date__year=year),
            user,
        )
        .select_related("household", "household__village")
        .order_by("household__registry_number", "measure_date", "id")
    )
    total = measures.count()
    rows = (
        [
            m.household.registry_number,
            m.household.village.name,
            m.get_category_display(),
            m.get_five_batches_display(),
            m.measure_date.isoformat(),
            m.amount,
            m.fund_source,
            m.responsible_unit,
            m.description,
        ]
        for m in measures.iterator(chunk_size=2000)
    )
    detail = [
        _("户编号"), _("村"), _("措施类别"), _("五个一批"), _("日期"), _("金额（元）"), _("资金来源"), _("责任单位"),
        _("内容"),
    ]  # fmt: skip
    _sheet(book, _("措施明细"), detail, rows, progress, total)


@report("exits", title=_("年度脱贫户名单"), levels=HOUSEHOLD_LEVELS, personal=True)
def exits_report(book, *, user, division, year, unmask, progress):
    """Summary: the households and persons whose exit for the year was certified; detail: each."""
    years = selectors.years_progress(user=user, division=division, last_year=year)
    row = years[-1] if years else None
    _sheet(
        book,
        _("汇总"),
        [*_heading(division, year), ""],
        [
            [_("指标"), _("户数"), _("人数")],
            [_("审定脱贫"), row.exited_households if row else 0, row.exited_persons if row else 0],
        ],
    )
    cases = (
        scope_queryset(
            ExitCase.objects.filter(
                selectors.area_q(division, "household__village_id"),
                year=year,
                status=ExitCaseStatus.CERTIFIED,
                revoked=False,
            ),
            user,
        )
        .select_related("household", "household__village", "assessment")
        .prefetch_related("household__members")
        .order_by("household__registry_number", "id")
    )
    total = cases.count()
    header = [
        _("户编号"), _("村"), _("户主"), _("户主身份证号"), _("家庭人口"), _("人均纯收入（元）"),
        _("审定日期"), _("证明编号"),
    ]  # fmt: skip

    def rows():
        for case in cases.iterator(chunk_size=500):
            name, id_number = _head_id(case.household, unmask)
            yield [
                case.household.registry_number,
                case.household.village.name,
                name,
                id_number,
                case.assessment.household_size,
                case.assessment.per_capita_net_income,
                case.certified_on.isoformat() if case.certified_on else "",
                case.certificate_code,
            ]

    _sheet(book, _("脱贫户名单"), header, rows(), progress, total)


@report("roster", title=_("贫困户花名册"), levels=HOUSEHOLD_LEVELS, personal=True)
def roster_report(book, *, user, division, year, unmask, progress):
    """Summary: the area's statistics; detail: every household that was ever registered."""
    statistics = area_statistics(division)
    summary = [[_("指标"), _("户数"), _("人数")], *_statistics_rows(statistics)]
    _sheet(book, _("汇总"), [*_heading(division), ""], summary)
    households = (
        _households(user, division)
        .filter(Q(step="announced") | Q(status__in=("registered", "returned", "exited")))
        .select_related("village", "group", "helper")
        .prefetch_related("members")
        .order_by("registry_number")
    )
    total = households.count()
    header = [
        _("户编号"), _("村"), _("村民小组"), _("户主"), _("户主身份证号"), _("在册人口"), _("贫困户属性"),
        _("主要致贫原因"), _("识别年度"), _("户状态"), _("帮扶责任人"), _("联系电话"),
    ]  # fmt: skip

    def rows():
        for household in households.iterator(chunk_size=500):
            name, id_number = _head_id(household, unmask)
            active = sum(1 for m in household.members.all() if m.status == MemberStatus.ACTIVE)
            yield [
                household.registry_number,
                household.village.name,
                household.group.name if household.group else "",
                name,
                id_number,
                active,
                household.get_attribute_display(),
                household.get_main_cause_display(),
                household.identified_year,
                household.get_status_display(),
                household.helper.name if household.helper else "",
                household.phone if unmask else mask_phone(household.phone) if household.phone else "",
            ]

    _sheet(book, _("花名册"), header, rows(), progress, total)


def may_report(division: Division, report_code: str) -> bool:
    """Return whether report ``report_code`` exists and can be made at ``division``'s level."""
    chosen = REPORTS.get(report_code)
    return chosen is not None and division.level in chosen.levels
