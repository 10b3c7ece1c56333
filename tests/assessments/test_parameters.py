"""Parameters: national defaults, province overrides, per-year values, who may change them."""

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from assessments.choices import ParameterKey
from assessments.parameters import (
    PARAMETER_SCOPE,
    incidence_threshold,
    incidence_thresholds,
    monitoring_threshold,
    notice_days,
    parameter_set,
    parameters_in_force,
    poverty_line,
)
from registry.errors import ApplicationError
from registry.models import AuditEntry

HUNAN = "430000000000"
LIAN = "431129203201"


def test_demo_loads_the_known_national_lines(db):
    assert poverty_line(2014) == Decimal("2800")
    assert poverty_line(2016, LIAN) == Decimal("2952")
    assert poverty_line(2020, "371702000000") == Decimal("4000")


def test_missing_line_is_a_clear_error(db):
    with pytest.raises(ApplicationError) as info:
        poverty_line(2009)
    assert "扶贫标准" in str(info.value) and "2009" in str(info.value)


def test_a_province_row_overrides_the_national_one(users):
    parameter_set(
        actor=users["province_hunan"], key=ParameterKey.POVERTY_LINE, year=2018, scope_code=HUNAN, value="3600"
    )
    assert poverty_line(2018, LIAN) == Decimal("3600")
    assert poverty_line(2018, "371702000000") == Decimal("3535")
    entry = AuditEntry.objects.latest("id")
    assert (entry.action, entry.actor, entry.scope_code) == ("parameter.create", users["province_hunan"], HUNAN)


def test_monitoring_threshold_defaults_to_factor_times_line(users):
    assert monitoring_threshold(2018) == Decimal("5302.50")
    parameter_set(actor=users["admin"], key=ParameterKey.MONITORING_THRESHOLD, year=2018, value="5000")
    assert monitoring_threshold(2018) == Decimal("5000")


def test_defaults_for_notices_and_thresholds(db):
    assert notice_days("village") == 7 and notice_days("monitoring") == 5
    assert incidence_threshold("central_east") == Decimal("2") and incidence_threshold("west") == Decimal("3")


@pytest.mark.parametrize(
    ("username", "scope"),
    [("county_jianghua", HUNAN), ("province_hunan", ""), ("province_hunan", "370000000000"), ("team_lian", "")],
)
def test_only_admins_nationally_and_provinces_for_themselves(users, username, scope):
    with pytest.raises(ApplicationError) as info:
        parameter_set(actor=users[username], key=ParameterKey.POVERTY_LINE, year=2018, scope_code=scope, value="1")
    assert info.value.status in (403, 404)
    assert poverty_line(2018, LIAN) == Decimal("3535")
    assert str(info.value) in (str(PARAMETER_SCOPE), "该对象不在您的管辖范围内。")


def test_setting_the_same_value_writes_nothing(users):
    count = AuditEntry.objects.count()
    parameter_set(
        actor=users["admin"], key=ParameterKey.POVERTY_LINE, year=2018, value="3535", note="国家扶贫标准（现价）"
    )
    assert AuditEntry.objects.count() == count


def test_values_of_many_pairs_are_read_in_one_query_and_agree_with_one_by_one(users):
    parameter_set(
        actor=users["province_hunan"], key=ParameterKey.INCIDENCE_THRESHOLD, qualifier="west",
        scope_code=HUNAN, value="2.5",
    )  # fmt: skip
    pairs = [(region, code) for region in ("central_east", "west") for code in (LIAN, "371702000000", "")]
    with CaptureQueriesContext(connection) as queries:
        thresholds = incidence_thresholds(pairs)
    assert len(queries) == 1
    assert thresholds == {(region, code): incidence_threshold(region, code) for region, code in pairs}
    assert thresholds[("west", LIAN)] == Decimal("2.5") and thresholds[("west", "")] == Decimal("3")


def test_values_of_many_pairs_prefer_the_year_and_refuse_what_is_missing(users):
    parameter_set(
        actor=users["province_hunan"], key=ParameterKey.POVERTY_LINE, year=2018, scope_code=HUNAN, value="3600"
    )
    lines = parameters_in_force(ParameterKey.POVERTY_LINE, [("", LIAN), ("", "371702000000")], year=2018)
    assert lines == {("", LIAN): "3600", ("", "371702000000"): "3535"}
    assert parameters_in_force(ParameterKey.POVERTY_LINE, []) == {}
    with pytest.raises(ApplicationError) as info:
        parameters_in_force(ParameterKey.POVERTY_LINE, [("", LIAN)], year=2009)
    assert info.value.code == "parameter_missing"
