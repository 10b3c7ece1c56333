"""The finding lifecycle: open → fixed on re-run after correction; accepted stays; reopen; the command."""

from io import StringIO

import pytest
from django.core.management import call_command

from households.models import Member
from households.services import household_update
from quality import errors
from quality.choices import FindingStatus
from quality.models import Finding, QualityRun
from quality.rules import RULES
from quality.services import finding_accept, quality_run
from registry.errors import ApplicationError
from registry.models import AuditEntry

pytestmark = pytest.mark.django_db


def household_of(planted, code):
    (household_id, _member), *_ = planted.expected[code]
    return household_id


def finding(planted, code) -> Finding:
    return Finding.objects.get(rule=code, household_id=household_of(planted, code))


def test_a_run_opens_one_finding_per_planted_defect_and_is_audited(planted):
    run = quality_run(actor=None, division=planted.village)
    assert {code: c["found"] for code, c in run.counts.items()} == {
        code: len(expected) for code, expected in planted.expected.items()
    }
    assert Finding.objects.filter(division_code=planted.village.code, status=FindingStatus.OPEN).count() == sum(
        len(e) for e in planted.expected.values()
    )
    f = finding(planted, "id_check_digit")
    assert f.county_code == "431129" and f.member_id is not None and f.values["expected"]
    assert AuditEntry.objects.filter(
        action="quality.run", object_id=str(run.pk), scope_code=planted.village.code
    ).exists()
    assert run.finished_at is not None and run.rule_set_version


def test_corrected_data_becomes_fixed_on_the_next_run(planted):
    quality_run(actor=None, division=planted.village)
    household = finding(planted, "implausible_land").household
    household_update(actor=None, household=household, changes={"cultivated_land_mu": 5})
    run = quality_run(actor=None, division=planted.village)
    f = finding(planted, "implausible_land")
    assert f.status == FindingStatus.FIXED and f.fixed_at is not None
    assert run.counts["implausible_land"] == {"found": 0, "opened": 0, "reopened": 0, "fixed": 1}
    # Nothing else moved.
    assert run.counts["implausible_road_distance"] == {"found": 1, "opened": 0, "reopened": 0, "fixed": 0}


def test_a_second_run_changes_nothing_and_refreshes_last_checked(planted):
    quality_run(actor=None, division=planted.village)
    before = finding(planted, "missing_head")
    run = quality_run(actor=None, division=planted.village)
    after = finding(planted, "missing_head")
    assert (after.pk, after.status, after.first_found_at) == (before.pk, before.status, before.first_found_at)
    assert after.last_checked_at > before.last_checked_at
    assert all(c["opened"] == c["fixed"] == c["reopened"] == 0 for c in run.counts.values())


def test_accepted_stays_accepted_while_the_defect_remains_then_fixed_then_reopens(planted, users):
    quality_run(actor=None, division=planted.village)
    f = finding(planted, "cause_illness_all_healthy")
    finding_accept(actor=users["township_daxi"], finding=f, reason="户主去年病故，医疗欠债仍在，经乡镇核实。")
    assert AuditEntry.objects.filter(action="quality.accept", object_id=str(f.pk)).exists()
    quality_run(actor=None, division=planted.village)
    f.refresh_from_db()
    assert f.status == FindingStatus.ACCEPTED and f.accepted_by == users["township_daxi"]
    household = f.household
    household_update(actor=None, household=household, changes={"main_cause": "lack_skills"})
    quality_run(actor=None, division=planted.village)
    f.refresh_from_db()
    assert f.status == FindingStatus.FIXED and f.fixed_at is not None
    household.refresh_from_db()
    household_update(actor=None, household=household, changes={"main_cause": "illness"})
    run = quality_run(actor=None, division=planted.village)
    f.refresh_from_db()
    assert f.status == FindingStatus.OPEN and f.fixed_at is None and f.accepted_by is None and not f.accepted_reason
    assert run.counts["cause_illness_all_healthy"]["reopened"] == 1


def test_a_member_finding_follows_its_member(planted):
    quality_run(actor=None, division=planted.village, rules=["missing_ethnicity"])
    f = Finding.objects.get(rule="missing_ethnicity")
    Member.objects.filter(pk=f.member_id).update(ethnicity="13")
    quality_run(actor=None, division=planted.village, rules=["missing_ethnicity"])
    f.refresh_from_db()
    assert f.status == FindingStatus.FIXED


def test_accept_needs_a_reason_a_capability_the_jurisdiction_and_an_open_finding(planted, users):
    quality_run(actor=None, division=planted.village, rules=["no_helper"])
    f = finding(planted, "no_helper")
    with pytest.raises(ApplicationError) as refused:
        finding_accept(actor=users["county_jianghua"], finding=f, reason="  ")
    assert refused.value.message == errors.REASON_REQUIRED and "reason" in refused.value.fields
    for username in ("team_lian", "auditor_hunan", "province_hunan"):
        with pytest.raises(ApplicationError) as refused:
            finding_accept(actor=users[username], finding=f, reason="核实")
        assert refused.value.code in ("permission_denied", "not_found")
    with pytest.raises(ApplicationError) as refused:
        finding_accept(actor=users["county_shaoyang"], finding=f, reason="核实")
    assert refused.value.status == 404
    finding_accept(actor=users["county_jianghua"], finding=f, reason="帮扶责任人调动，新人选待定")
    with pytest.raises(ApplicationError) as refused:
        finding_accept(actor=users["county_jianghua"], finding=f, reason="再次")
    assert refused.value.status == 409


def test_a_person_runs_only_within_their_jurisdiction_and_at_county_level_or_below(planted, users, divisions):
    with pytest.raises(ApplicationError) as refused:
        quality_run(actor=users["county_shaoyang"], division=planted.village)
    assert refused.value.status == 404
    with pytest.raises(ApplicationError):
        quality_run(actor=users["auditor_hunan"], division=planted.village)
    with pytest.raises(ApplicationError):
        quality_run(actor=users["county_jianghua"], division=None)
    run = quality_run(actor=users["township_daxi"], division=divisions["431129203000"])
    assert run.started_by == users["township_daxi"]
    assert run.counts["missing_head"]["found"] == 1


def test_the_command_prints_counts_per_rule(planted):
    out = StringIO()
    call_command("run_quality_checks", "--division", planted.village.code, stdout=out)
    text = out.getvalue()
    for code in RULES:
        assert code in text
    assert "duplicate_id_active" in text and f"over {planted.village.code}" in text
    assert QualityRun.objects.filter(scope_code=planted.village.code, started_by=None).exists()


def test_the_command_runs_the_whole_registry(planted):
    out = StringIO()
    call_command("run_quality_checks", stdout=out)
    assert "the whole registry" in out.getvalue()
    assert Finding.objects.filter(division_code=planted.village.code).count() == sum(
        len(e) for e in planted.expected.values()
    )
