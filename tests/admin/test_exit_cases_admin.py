"""The admin door for household exit cases (脱贫退出): propose, every step, batch certification,
revocation and objections, through the same services as the pages and the API."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from django.contrib.contenttypes.models import ContentType
from django.contrib.messages import get_messages
from django.db import connection
from django.test.utils import CaptureQueriesContext

from assessments import errors
from assessments.exit_cases import STEPS, exit_case_propose, exit_objection_raise
from assessments.models import ExitCase, ExitCaseStep, ExitObjection
from assessments.services import assessment_record
from demo.loader import LIAN
from households import errors as household_errors
from households.models import Household
from registry.errors import FOUR_EYES_VIOLATION
from registry.models import AuditEntry
from tests.factories import EXIT_PATH, exit_through, make_assessed

CHANGELIST = "/admin/assessments/exitcase/"
OBJECTIONS = "/admin/assessments/exitobjection/"
YEAR = 2018


def days_ago(n: int) -> date:
    return date.today() - timedelta(days=n)


def messages_of(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def act(client, action: str, objects, url: str = CHANGELIST, **fields):
    """Post an admin action with its form filled in; return the response."""
    data = {"action": action, "_selected_action": [o.pk for o in objects], "apply": "1", **fields}
    return client.post(url, data)


def offered(client, url: str = CHANGELIST) -> set[str]:
    html = client.get(url).content.decode()
    return set(re.findall(r'<option value="([a-z_]+)"', html))


def step_fields(action: str, on_date: date) -> dict:
    reason = {"acknowledge": "户主盘秀英", "township_return": "收入待核实"}.get(action, "")
    return {"reason": reason, "on_date": on_date.isoformat()}


@pytest.fixture
def assessed(divisions):
    household, _assessment = make_assessed(village=divisions[LIAN], year=YEAR)
    return household


@pytest.fixture
def proposed(users, assessed):
    return exit_case_propose(actor=users["team_lian"], household=assessed, year=YEAR, on_date=days_ago(21))


def trail(case: ExitCase, household: Household, since: int) -> tuple[list, list, list]:
    """Return what a door left of a case: its step rows, its audit rows and the household's audit rows since."""
    steps = [
        (s.action, s.from_status, s.to_status, s.actor.username, s.reason, s.effective_date)
        for s in case.steps.order_by("id")
    ]
    audit = [
        (e.action, e.actor_username, e.client_address, e.scope_code, e.before, e.after)
        for e in AuditEntry.objects.filter(
            content_type=ContentType.objects.get_for_model(ExitCase), object_id=str(case.pk)
        ).order_by("id")
    ]
    household_audit = [
        (e.action, e.actor_username, e.before, e.after)
        for e in AuditEntry.objects.filter(
            content_type=ContentType.objects.get_for_model(Household), object_id=str(household.pk), id__gt=since
        ).order_by("id")
    ]
    return steps, audit, household_audit


def without_household_numbers(rows: list) -> list:
    """Household audit rows with the certificate code (different per case) taken out of the reason."""
    return [(action, actor, before, {**after, "reason": re.sub(r"（\w+）", "", after.get("reason", ""))})
            for action, actor, before, after in rows]  # fmt: skip


# Access -------------------------------------------------------------------------------------


@pytest.mark.parametrize("username", ["admin", "county_jianghua", "township_daxi", "team_lian", "province_hunan"])
def test_the_changelists_answer_every_official(client_for, proposed, username):
    response = client_for(username).get(CHANGELIST)
    assert response.status_code == 200
    assert [c.pk for c in response.context["cl"].queryset] == [proposed.pk]
    assert client_for(username).get(f"{CHANGELIST}{proposed.pk}/change/").status_code == 200
    assert client_for(username).get(OBJECTIONS).status_code == 200


def test_another_county_sees_nothing(client_for, proposed):
    client = client_for("county_shaoyang")
    assert list(client.get(CHANGELIST).context["cl"].queryset) == []
    assert client.get(f"{CHANGELIST}{proposed.pk}/change/").status_code == 404
    counts = (ExitCaseStep.objects.count(), AuditEntry.objects.count())
    act(client, "revoke", [proposed], reason="错退")
    assert (ExitCaseStep.objects.count(), AuditEntry.objects.count()) == counts


def test_the_case_page_is_read_only_and_shows_the_rules(client_for, proposed):
    html = client_for("county_jianghua").get(f"{CHANGELIST}{proposed.pk}/change/").content.decode()
    assert not re.search(r'name="(status|snapshot|rule_results|eligible|version|year|household)"', html)
    assert "✔ 收入稳定超过扶贫标准：" in html
    assert "人均纯收入" in html and "&quot;rule_set_version&quot;" in html  # the snapshot, as it was judged
    assert "村提名" in html and "栗安村工作队" in html  # the steps, with who took them


def test_nothing_is_deleted(client_for, proposed):
    assert client_for("admin").get(f"{CHANGELIST}{proposed.pk}/delete/").status_code == 403
    assert "delete_selected" not in offered(client_for("admin"))


# Proposal ----------------------------------------------------------------------------------


def test_the_work_team_proposes_through_the_service(client_for, users, assessed):
    client = client_for("team_lian")
    page = client.get(f"{CHANGELIST}add/").content.decode()
    assert 'name="household"' in page and 'name="year"' in page and 'name="on_date"' in page
    response = client.post(f"{CHANGELIST}add/", {"household": assessed.pk, "year": YEAR, "on_date": days_ago(3)})
    assert response.status_code == 302, messages_of(response)
    case = ExitCase.objects.get(household=assessed)
    assert (case.status, case.eligible, case.snapshot["assessment"]["year"]) == ("proposed", True, YEAR)
    assert all(r["passed"] for r in case.rule_results)
    step = case.steps.get()
    assert (step.action, step.actor, step.effective_date) == ("propose", users["team_lian"], days_ago(3))
    entry = AuditEntry.objects.get(action="exit_case.propose", object_id=str(case.pk))
    assert (entry.actor, entry.client_address) == (users["team_lian"], "127.0.0.1")


def test_a_household_that_fails_the_rules_is_refused_with_each_rule(client_for, divisions):
    household, _assessment = make_assessed(village=divisions[LIAN], year=YEAR, wage=1000, housing_grade="D")
    before = AuditEntry.objects.count()
    client = client_for("team_lian")
    response = client.post(f"{CHANGELIST}add/", {"household": household.pk, "year": YEAR}, follow=True)
    html = response.content.decode()  # the heading, then one failed rule a line
    assert "不符合退出标准，以下 2 项未达到：<br>✘ 收入稳定超过扶贫标准：人均纯收入 333.33 元" in html
    assert "<br>✘ 住房安全有保障：" in html
    assert not ExitCase.objects.filter(household=household).exists()
    assert AuditEntry.objects.count() == before


@pytest.mark.parametrize("username", ["township_daxi", "county_jianghua", "province_hunan"])
def test_only_the_work_team_proposes(client_for, assessed, username):
    client = client_for(username)
    assert client.get(f"{CHANGELIST}add/").status_code == 403
    assert client.post(f"{CHANGELIST}add/", {"household": assessed.pk, "year": YEAR}).status_code == 403
    assert not ExitCase.objects.exists()


# Every step, up to 已脱贫 ---------------------------------------------------------------------


def test_every_step_through_the_admin_leaves_what_the_pages_leave(client_for, users, divisions, assessed):
    """Walk one case through the admin and one through the pages: the same rows, the same audit."""
    other, _assessment = make_assessed(village=divisions[LIAN], year=YEAR)
    since = AuditEntry.objects.latest("id").pk
    start = days_ago(20)

    # The admin door.
    team = client_for("team_lian")
    response = team.post(f"{CHANGELIST}add/", {"household": assessed.pk, "year": YEAR, "on_date": start})
    assert response.status_code == 302, messages_of(response)
    case = ExitCase.objects.get(household=assessed)
    # The page door.
    page = team.post(f"/assessments/households/{other.pk}/{YEAR}/propose/", {"on_date": start})
    assert page.status_code == 302
    page_case = ExitCase.objects.get(household=other)

    day = start
    for action, username in EXIT_PATH:
        day = day + timedelta(days=8) if action == "close_notice" else day
        client = client_for(username)
        assert f"step_{action}" in offered(client), (username, action)
        response = act(client, f"step_{action}", [case], **step_fields(action, day))
        assert response.status_code == 302, messages_of(response)
        assert ExitCase.objects.get(pk=case.pk).status == STEPS[action].target, messages_of(response)
        response = client.post(f"/assessments/cases/{page_case.pk}/steps/{action}/", step_fields(action, day))
        assert response.status_code == 302

    case.refresh_from_db()
    assert (case.status, case.certified_on, case.acknowledged_by) == ("certified", day, "户主盘秀英")
    assert case.certificate_code
    assert Household.objects.get(pk=assessed.pk).status == "exited"
    steps, audit, household_audit = trail(case, assessed, since)
    assert [(s[0], s[3]) for s in steps] == [("propose", "team_lian"), *EXIT_PATH]
    page_steps, page_audit, page_household_audit = trail(ExitCase.objects.get(pk=page_case.pk), other, since)
    assert steps == page_steps
    assert audit == page_audit
    assert [a[0] for a in audit] == [f"exit_case.{action}" for action, _user in [("propose", ""), *EXIT_PATH]]
    assert without_household_numbers(household_audit) == without_household_numbers(page_household_audit)
    assert [a[0] for a in household_audit] == ["household.certify_exit"]


def test_review_steps_keep_four_eyes(client_for, users, proposed):
    """The administrator may take any step, but not review a round it took part in."""
    client = client_for("admin")
    day = days_ago(20)
    for action, _username in EXIT_PATH[:4]:
        assert act(client, f"step_{action}", [proposed], **step_fields(action, day)).status_code == 302
    day += timedelta(days=8)
    act(client, "step_close_notice", [proposed], **step_fields("close_notice", day))
    assert ExitCase.objects.get(pk=proposed.pk).status == "notice_ended"
    counts = (ExitCaseStep.objects.count(), AuditEntry.objects.count())
    response = act(client, "step_township_approve", [proposed], **step_fields("township_approve", day))
    assert any(str(FOUR_EYES_VIOLATION) in m for m in messages_of(response)), messages_of(response)
    assert ExitCase.objects.get(pk=proposed.pk).status == "notice_ended"
    assert (ExitCaseStep.objects.count(), AuditEntry.objects.count()) == counts


def test_each_step_asks_for_what_it_needs(client_for, users, proposed):
    case = exit_through(proposed, users, until="verify", start=days_ago(20))
    client = client_for("team_lian")
    page = client.post(CHANGELIST, {"action": "step_acknowledge", "_selected_action": [case.pk]}).content.decode()
    assert "签字认可的户主或家庭成员姓名" in page and 'name="on_date"' in page
    response = act(client, "step_acknowledge", [case], reason="", on_date=days_ago(20))
    assert response.status_code == 200 and str(errors.EXIT_ACK_NAME_REQUIRED) in response.content.decode()
    assert ExitCase.objects.get(pk=case.pk).status == "verified"
    page = client.post(CHANGELIST, {"action": "step_withdraw", "_selected_action": [case.pk], "apply": "1"})
    assert str(household_errors.REASON_REQUIRED % {"action": STEPS["withdraw"].label}) in page.content.decode()


def test_a_step_out_of_turn_is_refused_with_the_reason(client_for, users, proposed):
    response = act(client_for("team_lian"), "step_open_notice", [proposed], on_date=days_ago(1))
    expected = errors.EXIT_STEP_NOT_ALLOWED % {"status": "村提名", "action": STEPS["open_notice"].label}
    assert any(str(expected) in m for m in messages_of(response)), messages_of(response)
    assert ExitCase.objects.get(pk=proposed.pk).status == "proposed"


@pytest.mark.parametrize(
    ("username", "until", "refused"),
    [
        ("team_lian", "township_approve", "step_county_certify"),
        ("township_daxi", "township_approve", "step_county_return"),
        ("county_jianghua", None, "step_appraise"),
        ("province_hunan", "township_approve", "step_county_certify"),
        ("auditor_hunan", "township_approve", "step_county_certify"),
    ],
)
def test_a_role_is_not_offered_a_step_it_may_not_take_nor_can_post_it(client_for, users, proposed, username, until,
                                                                       refused):  # fmt: skip
    """The step would be in turn for the case's status; only the role keeps it from the user."""
    case = exit_through(proposed, users, until=until, start=days_ago(20)) if until else proposed
    status = case.status
    client = client_for(username)
    assert refused not in offered(client)
    counts = (ExitCaseStep.objects.count(), AuditEntry.objects.count())
    act(client, refused, [case], reason="理由", on_date=date.today().isoformat())
    assert ExitCase.objects.get(pk=case.pk).status == status
    assert (ExitCaseStep.objects.count(), AuditEntry.objects.count()) == counts


def test_each_role_is_offered_the_steps_it_takes(client_for, proposed):
    assert {"step_appraise", "step_acknowledge", "step_withdraw", "raise_objection"} <= offered(client_for("team_lian"))
    assert not {"step_township_approve", "step_county_certify", "revoke"} & offered(client_for("team_lian"))
    assert {"step_township_approve", "step_close_notice", "step_reject"} <= offered(client_for("township_daxi"))
    assert {"step_county_certify", "step_county_return", "revoke"} <= offered(client_for("county_jianghua"))
    assert offered(client_for("province_hunan")) == {"revoke"}
    assert offered(client_for("auditor_hunan")) == set()


# Batch certification -------------------------------------------------------------------------


def reviewed(users, divisions, count: int) -> list[ExitCase]:
    cases = []
    for _ in range(count):
        household, _assessment = make_assessed(village=divisions[LIAN], year=YEAR)
        case = exit_case_propose(actor=users["team_lian"], household=household, year=YEAR, on_date=days_ago(21))
        cases.append(exit_through(case, users, until="township_approve", start=days_ago(20)))
    return cases


def test_the_county_certifies_a_batch_each_case_on_its_own(client_for, users, divisions):
    first, changed, last = reviewed(users, divisions, 3)
    assessment_record(actor=None, household=changed.household, year=YEAR, data={"wage_income": 30000})
    client = client_for("county_jianghua")
    page = client.post(CHANGELIST, {"action": "step_county_certify", "_selected_action": [first.pk, last.pk]})
    assert 'name="on_date"' in page.content.decode()
    response = act(client, "step_county_certify", [first, changed, last], on_date=date.today().isoformat())
    assert response.status_code == 302
    shown = messages_of(response)
    statuses = dict(ExitCase.objects.filter(pk__in=[first.pk, changed.pk, last.pk]).values_list("pk", "status"))
    assert statuses == {first.pk: "certified", changed.pk: "township_reviewed", last.pk: "certified"}
    for case in (first, last):
        code = ExitCase.objects.get(pk=case.pk).certificate_code
        assert f"{case.household} {YEAR}：已审定，证明校验码 {code}。" in shown, shown
        assert Household.objects.get(pk=case.household_id).status == "exited"
        assert AuditEntry.objects.filter(action="exit_case.county_certify", object_id=str(case.pk)).count() == 1
    refusal = (
        f"{changed.household} {YEAR}：提出后以下信息已修改：家庭纯收入 20000.00→30000.00；人均纯收入 6666.67→10000.00。"
    )
    assert any(m.startswith(refusal) for m in shown), shown
    assert "审定通过 2 户，未通过 1 户。" in shown
    assert Household.objects.get(pk=changed.household_id).status == "registered"
    assert not AuditEntry.objects.filter(action="exit_case.county_certify", object_id=str(changed.pk)).exists()


def test_the_batch_reports_a_case_outside_the_jurisdiction(client_for, users, divisions):
    (case,) = reviewed(users, divisions, 1)
    response = act(client_for("county_shaoyang"), "step_county_certify", [case], on_date=date.today().isoformat())
    assert f"#{case.pk}：不在您的管辖范围内，未办理。" in messages_of(response)
    assert ExitCase.objects.get(pk=case.pk).status == "township_reviewed"


# Revocation ----------------------------------------------------------------------------------


def test_the_county_revokes_a_certified_exit(client_for, users, proposed):
    case = exit_through(proposed, users, start=days_ago(20))
    assert act(client_for("team_lian"), "revoke", [case], reason="错退").status_code == 302
    assert not ExitCase.objects.get(pk=case.pk).revoked
    client = client_for("county_jianghua")
    response = act(client, "revoke", [case], reason="")
    assert response.status_code == 200 and 'name="reason"' in response.content.decode()
    response = act(client, "revoke", [case], reason="抽查发现收入不实，错退")
    assert response.status_code == 302, messages_of(response)
    case.refresh_from_db()
    assert (case.revoked, case.revoked_reason, case.status) == (True, "抽查发现收入不实，错退", "certified")
    assert Household.objects.get(pk=case.household_id).status == "registered"
    entry = AuditEntry.objects.get(action="exit_case.revoke", object_id=str(case.pk))
    assert entry.actor == users["county_jianghua"]
    assert case.steps.latest("id").action == "revoke"
    response = act(client, "revoke", [case], reason="再次撤销")
    assert any("不能执行“撤销脱贫（错退）”" in m for m in messages_of(response)), messages_of(response)


# Objections ----------------------------------------------------------------------------------


def test_an_objection_is_raised_and_resolved_in_the_admin(client_for, users, proposed):
    case = exit_through(proposed, users, until="open_notice", start=days_ago(20))
    team = client_for("team_lian")
    fields = {"objector": "村民甲", "content": "该户有经营性收入未申报", "raised_on": days_ago(15).isoformat()}
    response = act(team, "raise_objection", [case], **fields)
    assert response.status_code == 302, messages_of(response)
    objection = ExitObjection.objects.get(case=case)
    assert (objection.recorded_by, objection.outcome) == (users["team_lian"], "pending")
    assert AuditEntry.objects.filter(action="exit_objection.raise", object_id=str(objection.pk)).exists()
    assert "村民甲" in team.get(f"{CHANGELIST}{case.pk}/change/").content.decode()  # the inline

    response = act(team, "step_close_notice", [case], on_date=days_ago(1).isoformat())
    assert any(str(household_errors.OBJECTION_PENDING % {"count": 1}) in m for m in messages_of(response))
    assert ExitCase.objects.get(pk=case.pk).status == "in_notice"

    assert "resolve" not in offered(team, OBJECTIONS)
    act(team, "resolve", [objection], OBJECTIONS, upheld="0", resolution="经核实")
    assert ExitObjection.objects.get(pk=objection.pk).outcome == "pending"

    township = client_for("township_daxi")
    assert "resolve" in offered(township, OBJECTIONS)
    response = act(township, "resolve", [objection], OBJECTIONS, upheld="0", resolution="经核实经营性收入已计入")
    assert response.status_code == 302, messages_of(response)
    objection.refresh_from_db()
    assert (objection.outcome, objection.resolved_by) == ("dismissed", users["township_daxi"])
    assert AuditEntry.objects.filter(action="exit_objection.resolve", object_id=str(objection.pk)).exists()
    assert act(team, "step_close_notice", [case], on_date=days_ago(1).isoformat()).status_code == 302
    assert ExitCase.objects.get(pk=case.pk).status == "notice_ended"


def test_an_upheld_objection_returns_the_case(client_for, users, proposed):
    case = exit_through(proposed, users, until="open_notice", start=days_ago(20))
    objection = exit_objection_raise(actor=users["team_lian"], case=case, objector="村民乙", content="收入不实")
    act(client_for("county_jianghua"), "resolve", [objection], OBJECTIONS, upheld="1", resolution="异议属实")
    case.refresh_from_db()
    assert (case.status, case.steps.latest("id").action) == ("returned", "objection_return")


# Query counts --------------------------------------------------------------------------------


def count_queries(client, url: str) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries)


def in_notice_with_objection(users, divisions, count: int) -> None:
    for _ in range(count):
        household, _assessment = make_assessed(village=divisions[LIAN], year=YEAR)
        case = exit_case_propose(actor=users["team_lian"], household=household, year=YEAR, on_date=days_ago(21))
        case = exit_through(case, users, until="open_notice", start=days_ago(20))
        exit_objection_raise(actor=users["team_lian"], case=case, objector="村民", content="收入不实")


def test_the_changelists_run_a_constant_number_of_queries(client_for, users, divisions):
    client = client_for("county_jianghua")
    in_notice_with_objection(users, divisions, 2)
    few = count_queries(client, CHANGELIST), count_queries(client, OBJECTIONS)
    in_notice_with_objection(users, divisions, 6)
    assert (count_queries(client, CHANGELIST), count_queries(client, OBJECTIONS)) == few
