"""Rule parameters (参数): read the most specific value, change one (audited).

A value is looked up for a key (and qualifier), a year and a division: the province's
row for that year, else the province's every-year row, else the national row for that
year, else the national every-year row. The national defaults are seeded by a migration;
poverty lines are loaded per year (the demo loads the known national ones).
"""

from __future__ import annotations

from decimal import Decimal

from django.db import transaction
from django.utils.translation import gettext_lazy as _

from assessments.choices import ParameterKey
from assessments.models import Parameter
from registry.audit import audit_record, snapshot
from registry.errors import ApplicationError
from registry.roles import Role

PARAMETER_MISSING = _("未设置参数“%(key)s”（%(year)s 年）；请先由有权限的人员录入。")
PARAMETER_SCOPE = _("参数只能设为全国（系统管理员）或本省（省扶贫办）。")

#: National defaults seeded by the migration ``0002_seed_default_parameters``.
DEFAULTS: list[tuple[str, str, object, str]] = [
    (ParameterKey.MONITORING_FACTOR, "", "1.5", "默认监测标准为扶贫标准的 1.5 倍"),
    (ParameterKey.NOTICE_DAYS, "village", 7, "识别：村级公示"),
    (ParameterKey.NOTICE_DAYS, "township", 7, "识别：乡镇公示"),
    (ParameterKey.NOTICE_DAYS, "exit_village", 7, "脱贫退出：村内公示"),
    (ParameterKey.NOTICE_DAYS, "village_exit", 7, "贫困村出列：乡镇内公示"),
    (ParameterKey.NOTICE_DAYS, "county_exit", 7, "贫困县摘帽：公示"),
    (ParameterKey.NOTICE_DAYS, "monitoring", 5, "防返贫监测：公示不少于 5 天"),
    (ParameterKey.INCOME_YEAR_START, "", "10-01", "收入年度自上年 10 月 1 日起"),
    (
        ParameterKey.TRANSFER_ITEMS_COUNTED,
        "",
        ["dibao", "tekun", "pension", "ecological", "family_planning", "relief", "remittance", "other"],
        "计入人均纯收入的转移性收入项目",
    ),
    (ParameterKey.INCIDENCE_THRESHOLD, "central_east", "2", "中东部贫困发生率退出标准"),
    (ParameterKey.INCIDENCE_THRESHOLD, "west", "3", "西部贫困发生率退出标准"),
    (ParameterKey.WRONG_EXIT_MAX, "", "2", "《贫困县退出专项评估检查实施办法》2017"),
    (ParameterKey.MISSED_MAX, "", "2", "《贫困县退出专项评估检查实施办法》2017"),
    (ParameterKey.APPROVAL_MIN, "", "90", "《贫困县退出专项评估检查实施办法》2017"),
    (ParameterKey.TRANSITION_YEARS, "", 5, "脱贫过渡期"),
    (ParameterKey.WATER_MIN_LITRES, "", 35, "饮水安全：人均每天不少于 35 升"),
    (ParameterKey.WATER_MAX_FETCH_MINUTES, "", 30, "饮水安全：取水往返不超过 30 分钟"),
    (ParameterKey.COMPULSORY_EDUCATION_AGES, "", [6, 15], "义务教育阶段：6 至 15 岁"),
    (
        ParameterKey.VILLAGE_EXIT_CHECKLIST,
        "",
        ["hardened_road", "collective_income", "public_services"],
        "贫困村出列：通硬化路、有集体经济收入、基本公共服务",
    ),
]

#: Known national poverty lines at current prices (2,300 yuan at 2010 prices).
NATIONAL_POVERTY_LINES = {2014: 2800, 2015: 2855, 2016: 2952, 2017: 3335, 2018: 3535, 2019: 3747, 2020: 4000}


def seed_defaults() -> int:
    """Create any missing national default (the migration's seed); return how many were added."""
    added = 0
    for key, qualifier, value, note in DEFAULTS:
        _row, created = Parameter.objects.get_or_create(
            key=key, qualifier=qualifier, year=0, scope_code="", defaults={"value": value, "note": note}
        )
        added += created
    return added


def _province(division_code: str) -> str:
    """Return the 12-digit code of the province ``division_code`` lies in ("" for national)."""
    return division_code[:2].ljust(12, "0") if division_code else ""


def _in_force(key: str, year: int, candidates):
    """Return the value of the most specific ``(year, scope_code, value)`` candidate, or refuse clearly."""
    best = sorted(candidates, key=lambda row: (row[1] != "", row[0] != 0), reverse=True)
    if not best:
        label = ParameterKey(key).label
        raise ApplicationError(PARAMETER_MISSING % {"key": label, "year": year or "各"}, code="parameter_missing")
    return best[0][2]


def parameter(key: str, *, year: int = 0, division_code: str = "", qualifier: str = ""):
    """Return the value in force for ``key`` (see the module docstring), or refuse clearly."""
    candidates = Parameter.objects.filter(
        key=key, qualifier=qualifier, year__in={year, 0}, scope_code__in={_province(division_code), ""}
    ).values_list("year", "scope_code", "value")
    return _in_force(key, year, candidates)


def parameters_in_force(key: str, pairs, *, year: int = 0) -> dict[tuple[str, str], object]:
    """Return the value :func:`parameter` gives for each ``(qualifier, division_code)`` pair, in one query.

    For lists: a page of divisions in several provinces and region classes reads its
    thresholds at once instead of once per province and class.
    """
    pairs = set(pairs)
    if not pairs:
        return {}
    rows = list(
        Parameter.objects.filter(
            key=key,
            qualifier__in={qualifier for qualifier, _code in pairs},
            year__in={year, 0},
            scope_code__in={_province(code) for _qualifier, code in pairs} | {""},
        ).values_list("qualifier", "year", "scope_code", "value")
    )
    result = {}
    for qualifier, code in pairs:
        province = _province(code)
        candidates = [(y, scope, value) for q, y, scope, value in rows if q == qualifier and scope in (province, "")]
        result[(qualifier, code)] = _in_force(key, year, candidates)
    return result


class ParameterTable:
    """The values :func:`parameter` gives for some keys, years and provinces, read in one query.

    For sweeps over many households: ``table.get(key, year=..., division_code=...)``
    answers as :func:`parameter` would (the same value, the same refusal when none is
    set) without a query per call.
    """

    def __init__(self, keys, *, years=None, division_codes=None, qualifier: str = ""):
        """Read the rows of ``keys`` for ``years`` and the provinces of ``division_codes`` (``None``: all)."""
        self.qualifier = qualifier
        self._rows: dict[tuple[str, str], list[tuple[int, str, object]]] = {}
        self._values: dict[tuple[str, int, str], object] = {}
        rows = Parameter.objects.filter(key__in=set(keys), qualifier=qualifier)
        if years is not None:
            rows = rows.filter(year__in=set(years) | {0})
        if division_codes is not None:
            rows = rows.filter(scope_code__in={_province(code) for code in division_codes} | {""})
        for key, year, scope, value in rows.values_list("key", "year", "scope_code", "value"):
            self._rows.setdefault((key, scope), []).append((year, scope, value))

    def get(self, key: str, *, year: int = 0, division_code: str = ""):
        """Return the value in force for ``key`` (see :func:`parameter`), or refuse clearly."""
        province = _province(division_code)
        memo = (key, year, province)
        if memo not in self._values:
            rows = self._rows.get((key, province), []) + (self._rows.get((key, ""), []) if province else [])
            try:
                self._values[memo] = _in_force(key, year, [row for row in rows if row[0] in (year, 0)])
            except ApplicationError as error:
                self._values[memo] = error
        value = self._values[memo]
        if isinstance(value, ApplicationError):
            raise value.with_traceback(None)
        return value


def decimal_parameter(key: str, **kwargs) -> Decimal:
    return Decimal(str(parameter(key, **kwargs)))


def poverty_line(year: int, division_code: str = "") -> Decimal:
    """Return the poverty line (扶贫标准) for a year, the province's own where it set one."""
    return decimal_parameter(ParameterKey.POVERTY_LINE, year=year, division_code=division_code)


def monitoring_threshold(year: int, division_code: str = "") -> Decimal:
    """Return the monitoring threshold: its own value where set, else factor × line."""
    try:
        return decimal_parameter(ParameterKey.MONITORING_THRESHOLD, year=year, division_code=division_code)
    except ApplicationError:
        factor = decimal_parameter(ParameterKey.MONITORING_FACTOR, year=year, division_code=division_code)
        return (factor * poverty_line(year, division_code)).quantize(Decimal("0.01"))


def notice_days(procedure: str, division_code: str = "") -> int:
    return int(parameter(ParameterKey.NOTICE_DAYS, qualifier=procedure, division_code=division_code))


def incidence_threshold(region_class: str, division_code: str = "") -> Decimal:
    return decimal_parameter(ParameterKey.INCIDENCE_THRESHOLD, qualifier=region_class, division_code=division_code)


def incidence_thresholds(pairs) -> dict[tuple[str, str], Decimal]:
    """Return :func:`incidence_threshold` of each ``(region_class, division_code)`` pair, in one query."""
    values = parameters_in_force(ParameterKey.INCIDENCE_THRESHOLD, pairs)
    return {pair: Decimal(str(value)) for pair, value in values.items()}


@transaction.atomic
def parameter_set(*, actor, key: str, value, year: int = 0, scope_code: str = "", qualifier: str = "", note: str = ""):
    """Set a parameter: national rows by administrators, a province's rows by its office."""
    if actor is not None and not actor.is_superuser:
        province_office = actor.role == Role.PROVINCE and scope_code and scope_code.endswith("0" * 10)
        if not province_office:
            raise ApplicationError(PARAMETER_SCOPE, code="permission_denied", status=403)
        from registry.scoping import ensure_code_in_scope

        ensure_code_in_scope(actor, scope_code)
    elif actor is None and scope_code and not scope_code.endswith("0" * 10):
        raise ApplicationError(PARAMETER_SCOPE, code="invalid")
    if key not in ParameterKey.values:
        raise ApplicationError(PARAMETER_MISSING % {"key": key, "year": year}, code="invalid")
    row = (
        Parameter.objects.select_for_update()
        .filter(key=key, qualifier=qualifier, year=year, scope_code=scope_code)
        .first()
    )
    if row is None:
        row = Parameter.objects.create(
            key=key, qualifier=qualifier, year=year, scope_code=scope_code, value=value, note=note
        )
        audit_record(actor=actor, action="parameter.create", instance=row, scope_code=scope_code, after=snapshot(row))
        return row
    if row.value == value and row.note == note:
        return row
    before = {"value": row.value, "note": row.note}
    row.value, row.note = value, note
    row.save(update_fields=["value", "note", "updated_at"])
    audit_record(
        actor=actor, action="parameter.update", instance=row, scope_code=scope_code, before=before,
        after={"value": value, "note": note},
    )  # fmt: skip
    return row
