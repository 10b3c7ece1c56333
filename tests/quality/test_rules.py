"""Each rule finds exactly its planted defect, and nothing on the clean set."""

from datetime import date

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from quality.rules import RULES, Context
from tests.quality.conftest import DAXI

# Every test here is a database test, so pytest-django keeps them with the package's other
# database tests, inside the planted fixture's transaction, ahead of the committing tests.
pytestmark = pytest.mark.django_db


def test_every_rule_has_a_planted_defect(planted):
    assert set(planted.expected) == set(RULES)


@pytest.mark.parametrize("code", list(RULES))
def test_rule_finds_exactly_its_planted_defect(planted, db, code):
    rule = RULES[code]
    hits = list(rule.find(Context(prefix=planted.village.code, today=date.today())))
    assert {(h.household_id, h.member_id) for h in hits} == planted.expected[code]
    clean = {h.pk for h in planted.clean}
    assert not [h for h in hits if h.household_id in clean]
    for hit in hits:
        assert hit.division_code == planted.village.code and hit.county_code == "431129"
        sentence = rule.describe(hit.values)
        assert sentence != str(rule.title), (code, hit.values)  # every value the message names is there


@pytest.mark.parametrize("code", [c for c in RULES if c != "exited_fails_exit_rules"])
def test_rule_is_one_query(planted, db, code):
    with CaptureQueriesContext(connection) as queries:
        list(RULES[code].find(Context(prefix=DAXI[:9], today=date.today())))
    assert len(queries.captured_queries) == 1


def test_rules_find_nothing_outside_the_division(planted, db):
    context = Context(prefix="430523", today=date.today())
    assert all(not list(rule.find(context)) for rule in RULES.values())


def test_every_rule_has_chinese_title_explanation_and_severity():
    for rule in RULES.values():
        assert str(rule.title) and str(rule.explanation) and rule.severity in ("error", "warning")


def test_a_missing_value_reads_as_a_dash_not_none():
    assert "None" not in RULES["no_helper"].describe({"registry_number": "4311292032010001", "helper_name": None})
    assert "（—）" in RULES["no_helper"].describe({"registry_number": "4311292032010001", "helper_name": None})


def test_migrant_without_wage_reads_the_latest_assessment_only(planted, db):
    from assessments.services import assessment_record
    from households.models import Member

    def assess(household, year, wage):
        data = {"wage_income": wage, "property_income": 9000, "assessed_on": date(year, 11, 1)}
        assessment_record(actor=None, household=household, year=year, data=data)

    earned_since, stopped = planted.clean[1], planted.clean[6]  # 2019 wages; stopped has a migrant worker
    assess(earned_since, 2018, 0)
    head = Member.objects.filter(household=earned_since, relationship="head")
    head.update(migrant_work="in_county", migrant_months=6)
    assess(stopped, 2020, 0)
    hits = list(RULES["migrant_without_wage"].find(Context(prefix=planted.village.code, today=date.today())))
    assert {(h.household_id, h.values["year"]) for h in hits if h.household_id in (earned_since.pk, stopped.pk)} == {
        (stopped.pk, 2020)
    }


@pytest.mark.parametrize(
    ("code", "index"),
    [
        ("id_length", "member_id_shape_defect_idx"),
        ("id_check_digit", "member_id_check_defect_idx"),
        ("id_birth_mismatch", "member_id_birth_defect_idx"),
        ("id_sex_mismatch", "member_id_sex_defect_idx"),
    ],
)
def test_id_rules_can_read_their_partial_index(planted, db, code, index):
    """The rule's condition is the index's, so PostgreSQL can answer it from the index (no scan of every member)."""
    with CaptureQueriesContext(connection) as queries:
        list(RULES[code].find(Context(prefix="", today=date.today())))
    with connection.cursor() as cursor:
        # On a table this small any plan will do: leave PostgreSQL the partial index and the
        # primary key only (the drops are rolled back with the test), and no sequential scan.
        cursor.execute(
            "SELECT indexname FROM pg_indexes WHERE tablename = 'households_member' "
            "AND indexname NOT LIKE 'member_id_%%_defect_idx' AND indexname <> 'households_member_pkey'"
        )
        for (name,) in cursor.fetchall():
            cursor.execute(f'DROP INDEX "{name}"')
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("EXPLAIN " + queries.captured_queries[0]["sql"])
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert index in plan
