"""Personal identifiers (SPEC §9): masked at every door, disclosed only with permission (and a
reason on pages and page exports), every disclosure logged; no ID number in a URL or a log line."""

from __future__ import annotations

import csv
import io
import json
import logging
import re
from datetime import date, timedelta
from urllib.parse import unquote

import pytest
from django.db import DatabaseError, transaction
from pypdf import PdfReader

from demo.loader import JIANGHUA, LIAN, SHETIAN
from households import errors
from households.choices import DisclosureDoor
from households.filtersets import ID_SEARCH_NOT_IN_URL
from households.models import Household, Member, PersonalDataAccess
from households.privacy import PII_NOT_ALLOWED, REASON_REQUIRED, covering_code, mask_id, mask_phone
from households.services import household_apply, household_update
from registry.errors import ApplicationError
from registry.log_masking import MaskPersonalNumbers, mask_personal_numbers
from registry.models import AuditEntry, Job
from registry.roles import ROLE_CAPABILITIES, Capability, Role
from registry.tokens import api_token_create
from tests.api.helpers import assert_error, assert_nothing_unmasked, token_client
from tests.factories import exit_through, make_applied, make_assessed, member_data

PHONE = "13873335678"
REASON = "核对户籍信息"


@pytest.fixture
def applied(users, divisions):
    household = make_applied(village=divisions[LIAN], actor=users["team_lian"], on_date=date.today() - timedelta(31))
    return household_update(
        actor=users["team_lian"], household=household, changes={"phone": PHONE}, expected_version=household.version
    )


@pytest.fixture
def shetian(divisions):
    return make_applied(village=divisions[SHETIAN])


@pytest.fixture
def pii_client(users, divisions):
    """An API client whose token (江华县) carries the personal-data scope, and the token."""
    token, key = api_token_create(
        actor=None, user=users["api_hunan"], name="省级系统同步", division=divisions[JIANGHUA], can_see_pii=True
    )
    return token_client(key), token


def ids_of(household) -> list[str]:
    return list(household.members.values_list("id_number", flat=True))


def accesses(**filters):
    return PersonalDataAccess.objects.filter(**filters)


def csv_text(response) -> str:
    return b"".join(response.streaming_content).decode("utf-8-sig")


# Roles ----------------------------------------------------------------------------------


def test_view_pii_goes_to_the_roles_that_meet_the_people_and_to_the_administrator():
    holders = {role for role, capabilities in ROLE_CAPABILITIES.items() if Capability.VIEW_PII in capabilities}
    assert holders == {Role.WORK_TEAM, Role.TOWNSHIP, Role.COUNTY, Role.ADMIN}


# Page: household detail and the reveal ---------------------------------------------------


def test_detail_page_is_masked_and_offers_a_post_reveal_with_a_reason(client_for, applied):
    html = client_for("team_lian").get(applied.get_absolute_url()).content.decode()
    for number in ids_of(applied):
        assert number not in html and mask_id(number) in html
    assert PHONE not in html and mask_phone(PHONE) in html
    form = re.search(r'<form method="post" action="([^"]+)">.{0,200}csrfmiddlewaretoken', html, re.S)
    assert form and form.group(1) == f"/households/{applied.pk}/reveal/"
    assert 'name="reason"' in html and "显示完整号码" in html


def test_reveal_shows_the_full_numbers_once_and_logs_who_when_where_whom_why(client_for, users, applied):
    client = client_for("team_lian")
    response = client.post(f"/households/{applied.pk}/reveal/", {"member": "household", "reason": REASON})
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    html = response.content.decode()
    assert all(number in html for number in ids_of(applied)) and PHONE in html
    access = accesses(household=applied).get()
    assert (access.user, access.username, access.door, access.reason) == (
        users["team_lian"],
        "team_lian",
        DisclosureDoor.PAGE,
        REASON,
    )
    assert access.client_address == "127.0.0.1" and access.member is None and access.scope_code == LIAN
    audit = AuditEntry.objects.get(action="pii.view", object_id=str(access.pk))
    assert audit.actor == users["team_lian"] and audit.after["reason"] == REASON
    # The next visit is masked again.
    again = client.get(applied.get_absolute_url()).content.decode()
    assert not any(number in again for number in ids_of(applied)) and PHONE not in again


def test_reveal_of_one_member_shows_only_that_member(client_for, applied):
    head, *others = applied.members.order_by("id")
    response = client_for("county_jianghua").post(
        f"/households/{applied.pk}/reveal/", {"member": head.pk, "reason": REASON}
    )
    html = response.content.decode()
    assert head.id_number in html
    assert not any(m.id_number in html for m in others) and PHONE not in html
    assert accesses(member=head, household=applied).count() == 1


def test_reveal_without_a_reason_is_refused_in_chinese_and_not_logged(client_for, applied):
    client = client_for("team_lian")
    response = client.post(f"/households/{applied.pk}/reveal/", {"member": "household", "reason": "  "})
    assert response.status_code == 302 and response["Location"] == f"/households/{applied.pk}/#reveal"
    html = client.get(response["Location"]).content.decode()
    assert str(REASON_REQUIRED) in html
    assert not any(number in html for number in ids_of(applied))
    assert not accesses().exists()


@pytest.mark.parametrize("username", ["auditor_hunan", "province_hunan", "prefecture_yongzhou"])
def test_reveal_is_refused_to_a_role_without_view_pii(client_for, applied, username):
    response = client_for(username).post(f"/households/{applied.pk}/reveal/", {"reason": REASON})
    assert response.status_code == 403
    html = response.content.decode()
    assert str(PII_NOT_ALLOWED) in html and not any(number in html for number in ids_of(applied))
    detail = client_for(username).get(applied.get_absolute_url()).content.decode()
    assert f'action="/households/{applied.pk}/reveal/"' not in detail
    assert not accesses().exists()


def test_reveal_outside_the_jurisdiction_is_not_found(client_for, applied):
    response = client_for("county_shaoyang").post(f"/households/{applied.pk}/reveal/", {"reason": REASON})
    assert response.status_code == 404 and not accesses().exists()


def test_reveal_is_a_post_only(client_for, applied):
    assert client_for("team_lian").get(f"/households/{applied.pk}/reveal/", {"reason": REASON}).status_code == 405


def test_edit_form_does_not_fill_in_the_phone_and_keeps_it_when_left_empty(client_for, applied):
    client = client_for("team_lian")
    html = client.get(f"/households/{applied.pk}/edit/").content.decode()
    assert PHONE not in html and mask_phone(PHONE) in html
    data = {"attribute": "general", "main_cause": "illness", "identification_standard": "national"}
    data.update(version=Household.objects.get(pk=applied.pk).version, phone="")
    client.post(f"/households/{applied.pk}/edit/", data)
    assert Household.objects.get(pk=applied.pk).phone == PHONE


# Page: search by ID number ----------------------------------------------------------------


def test_search_by_id_number_posts_and_never_puts_the_number_in_the_url(client_for, applied):
    client = client_for("team_lian")
    html = client.get("/households/").content.decode()
    assert re.search(r'<form method="post" action="/households/" class="hh-filters"', html)
    number = ids_of(applied)[1]
    response = client.post("/households/", {"q": number, "status": "applied"})
    assert response.status_code == 302
    location = unquote(response["Location"])
    assert number not in location and number[:6] not in location
    assert location == "/households/?status=applied&id_search=1"
    listed = client.get(response["Location"]).content.decode()
    assert applied.registry_number in listed and number not in listed and mask_id(number) in listed
    # The export link carries the marker, not the number.
    assert "export.csv?status=applied&amp;id_search=1" in listed


def test_an_id_number_in_the_query_string_is_not_searched(client_for, applied):
    html = client_for("team_lian").get("/households/", {"q": ids_of(applied)[0]}).content.decode()
    assert str(ID_SEARCH_NOT_IN_URL)[:20] in html


# Page exports -----------------------------------------------------------------------------


def test_page_export_is_masked_on_get(client_for, applied):
    text = csv_text(client_for("team_lian").get("/households/export.csv"))
    assert not any(number in text for number in ids_of(applied)) and PHONE not in text
    assert not accesses().exists()


def test_unmasked_page_export_needs_view_pii_and_a_reason_and_is_logged(client_for, users, applied):
    url = f"/households/export.csv?village={LIAN}"
    assert client_for("province_hunan").post(url, {"reason": REASON}).status_code == 403
    refused = client_for("team_lian").post(url, {"reason": ""})
    assert refused.status_code == 302 and refused["Location"].startswith("/households/?village=")
    assert not accesses().exists()
    response = client_for("team_lian").post(url, {"reason": "低保核对"})
    assert response.status_code == 200 and "no-store" in response["Cache-Control"]
    text = csv_text(response)
    assert all(number in text for number in ids_of(applied)) and PHONE in text
    access = accesses().get()
    expected = Household.objects.filter(village_id=LIAN).count()
    assert (access.door, access.user, access.count, access.reason) == (
        "export",
        users["team_lian"],
        expected,
        "低保核对",
    )
    assert access.filters == {"village": LIAN} and access.scope_code == LIAN


def test_unmasked_export_of_an_id_search_logs_the_number_masked(client_for, applied):
    client = client_for("county_jianghua")
    number = ids_of(applied)[0]
    location = client.post("/households/", {"q": number})["Location"]
    response = client.post(location.replace("/households/?", "/households/export.xlsx?"), {"reason": REASON})
    job = Job.objects.latest("id")
    assert response.status_code == 302 and response["Location"] == f"/jobs/{job.pk}/"
    access = accesses().get()
    assert access.count == 1 and access.filters == {"id_number": mask_id(number)}
    assert number not in json.dumps(access.filters)
    # The export job keeps the household found, not the number searched for.
    assert job.params["households"] == [applied.pk] and number not in json.dumps(job.params)


# PDF ----------------------------------------------------------------------------------------


def test_the_exit_certificate_carries_no_id_number_or_phone(client_for, users, divisions):
    from assessments.exit_cases import exit_case_propose

    household, _assessment = make_assessed(village=divisions[LIAN])
    household_update(actor=None, household=household, changes={"phone": PHONE}, expected_version=household.version)
    case = exit_case_propose(
        actor=users["team_lian"], household=household, year=2018, on_date=date.today() - timedelta(days=21)
    )
    case = exit_through(case, users)
    response = client_for("county_jianghua").get(f"/assessments/cases/{case.pk}/certificate/")
    text = PdfReader(io.BytesIO(response.content)).pages[0].extract_text()
    assert not any(number in text for number in ids_of(household)) and PHONE not in text
    assert not any(mask_id(number) in text for number in ids_of(household))


# Admin ------------------------------------------------------------------------------------


def test_admin_shows_identifiers_masked_to_editors_and_viewers(client_for, applied):
    head = applied.members.get(relationship="head")
    url = f"/admin/households/member/{head.pk}/change/"
    for username in ("county_jianghua", "auditor_hunan"):
        html = client_for(username).get(url).content.decode()
        assert head.id_number not in html and mask_id(head.id_number) in html, username
    html = client_for("county_jianghua").get(f"/admin/households/household/{applied.pk}/change/").content.decode()
    assert PHONE not in html and mask_phone(PHONE) in html


def test_admin_keeps_the_stored_number_when_the_masked_field_is_left_empty(client_for, applied):
    client = client_for("county_jianghua")
    head = applied.members.get(relationship="head")
    url = f"/admin/households/member/{head.pk}/change/"
    form = client.get(url).context["adminform"].form
    data = {name: value for name, value in form.initial.items() if value is not None}
    # The form carries the version it was opened at (a stale admin form is refused).
    data.update(name="新名字", id_number="", disability_certificate="", expected_version=head.version)
    data = {k: ("on" if v is True else v) for k, v in data.items() if v is not False}
    response = client.post(url, data)
    assert response.status_code == 302, response.content.decode()[:2000]
    head.refresh_from_db()
    assert (head.name, head.id_number) == ("新名字", ids_of(applied)[0])


# API ----------------------------------------------------------------------------------------


def test_api_is_masked_without_the_pii_scope_and_logs_nothing(api_for, applied):
    client = api_for("county_jianghua")
    for response in (
        client.get("/api/v1/households/"),
        client.get(f"/api/v1/households/{applied.pk}/"),
        client.get("/api/v1/members/"),
        client.get("/api/v1/export/households.ndjson"),
    ):
        assert response.status_code == 200
        if response.streaming:
            response = type("R", (), {"content": b"".join(response.streaming_content)})()
        assert_nothing_unmasked(response)
    assert not accesses().exists()


def test_api_detail_with_the_pii_scope_is_logged_with_the_token_and_its_purpose(pii_client, users, applied):
    client, token = pii_client
    data = client.get(f"/api/v1/households/{applied.pk}/").json()
    assert {m["id_number"] for m in data["members"]} == set(ids_of(applied)) and data["phone"] == PHONE
    access = accesses().get()
    assert (access.door, access.user, access.token_prefix, access.reason) == (
        DisclosureDoor.API,
        users["api_hunan"],
        token.prefix,
        "省级系统同步",
    )
    assert access.household == applied and access.count == 1 and access.scope_code == LIAN
    assert sorted(access.objects_shown["member"]) == sorted(applied.members.values_list("pk", flat=True))
    assert access.objects_shown["household"] == [applied.pk]
    assert AuditEntry.objects.filter(action="pii.view", object_id=str(access.pk)).exists()


def test_api_list_with_the_pii_scope_is_one_row_naming_the_households(pii_client, applied):
    client, _token = pii_client
    rows = client.get("/api/v1/households/", {"village": LIAN, "page_size": 500}).json()["results"]
    access = accesses().get()
    assert access.objects_shown["household"] == sorted(r["id"] for r in rows)
    assert access.count == len(rows) and access.filters == {"path": "/api/v1/households/"}
    members = client.get("/api/v1/members/", {"household": applied.pk}).json()["results"]
    assert {m["id_number"] for m in members} == set(ids_of(applied))
    assert accesses().count() == 2 and accesses().first().objects_shown["member"] == sorted(m["id"] for m in members)


def test_api_export_with_the_pii_scope_is_logged_once_with_scope_and_count(pii_client, applied):
    client, token = pii_client
    response = client.get("/api/v1/export/households.csv", {"village": LIAN})
    text = b"".join(response.streaming_content).decode()
    assert all(number in text for number in ids_of(applied))
    access = accesses().get()
    assert (access.door, access.token_prefix, access.reason) == (DisclosureDoor.EXPORT, token.prefix, token.name)
    assert access.count == Household.objects.filter(village_id=LIAN).count() and access.scope_code == LIAN
    assert access.filters["village"] == LIAN and access.filters["format"] == "csv"
    assert access.objects_shown == {}


def test_api_get_filters_refuse_a_full_id_number(api_for, applied):
    client = api_for("county_jianghua")
    number = ids_of(applied)[0]
    for path in ("households", "members", "assessments", "exit-cases"):
        error = assert_error(client.get(f"/api/v1/{path}/", {"q": number}), 400, "invalid")
        assert "POST /api/v1/households/search/" in error["fields"]["q"][0], path
    assert_error(client.get("/api/v1/households/", {"q": number.lower()}), 400, "invalid")


def test_api_search_by_id_number_is_a_post_scoped_and_masked(api_for, users, divisions, applied, shetian):
    number = ids_of(applied)[1]
    _token, key = api_token_create(actor=None, user=users["api_hunan"], name="只读")  # a read-only token
    for client in (api_for("team_lian"), token_client(key)):
        response = client.post("/api/v1/households/search/", {"id_number": number}, format="json")
        assert_nothing_unmasked(response)
        assert [h["id"] for h in response.json()["results"]] == [applied.pk]
        members = client.post("/api/v1/members/search/", {"id_number": number.lower()}, format="json").json()
        assert [m["household"] for m in members["results"]] == [applied.pk]
    other = ids_of(shetian)[0]
    outside = api_for("county_jianghua").post("/api/v1/households/search/", {"id_number": other}, format="json")
    assert outside.json()["results"] == []
    bad = api_for("team_lian").post("/api/v1/households/search/", {"id_number": "盘"}, format="json")
    error = assert_error(bad, 400, "invalid")
    assert "id_number" in error["fields"]
    assert not accesses().exists()


def test_api_search_with_the_pii_scope_is_logged(pii_client, applied):
    client, _token = pii_client
    number = ids_of(applied)[0]
    found = client.post("/api/v1/members/search/", {"id_number": number}, format="json").json()["results"]
    assert [m["id_number"] for m in found] == [number]
    access = accesses().get()
    assert access.filters == {"path": "/api/v1/members/search/"} and access.member_id == found[0]["id"]


@pytest.mark.django_db(transaction=True)
def test_change_feed_with_the_pii_scope_is_logged(demo):
    from registry.models import User
    from villages.models import Division

    user = User.objects.get(username="api_hunan")
    _token, key = api_token_create(
        actor=None, user=user, name="feed", division=Division.objects.get(pk=JIANGHUA), can_see_pii=True
    )
    client = token_client(key)
    cursor = client.get("/api/v1/changes/", {"after": ""}).json()["next_cursor"]
    while True:
        body = client.get("/api/v1/changes/", {"after": cursor}).json()
        cursor = body["next_cursor"]
        if not body["has_more"]:
            break
    before = PersonalDataAccess.objects.count()
    household = make_applied(village=Division.objects.get(pk=LIAN), persons=2)
    entries = client.get("/api/v1/changes/", {"after": cursor}).json()["results"]
    assert {m["id_number"] for e in entries if e["type"] == "member" for m in [e["object"]]} == set(ids_of(household))
    access = PersonalDataAccess.objects.order_by("-id").first()
    assert PersonalDataAccess.objects.count() == before + 1
    assert access.filters == {"path": "/api/v1/changes/"}
    assert set(household.members.values_list("pk", flat=True)) <= set(access.objects_shown["member"])


# The access log -------------------------------------------------------------------------------


def test_the_access_log_is_append_only(client_for, applied):
    client_for("team_lian").post(f"/households/{applied.pk}/reveal/", {"member": "household", "reason": REASON})
    access = accesses().get()
    for change in (lambda: accesses().update(reason="x"), lambda: accesses().delete()):
        with pytest.raises(DatabaseError), transaction.atomic():
            change()
    assert accesses().get().reason == REASON and access.pk


def test_auditors_read_the_access_log_within_their_jurisdiction(client_for, applied):
    client_for("team_lian").post(f"/households/{applied.pk}/reveal/", {"member": "household", "reason": REASON})
    PersonalDataAccess.objects.create(
        username="someone", door="page", reason="山东的记录", shown_fields="x", scope_code="370000000000"
    )
    html = client_for("auditor_hunan").get("/households/access-log/").content.decode()
    assert REASON in html and applied.registry_number in html and "team_lian" in html and "127.0.0.1" in html
    assert "山东的记录" not in html
    assert client_for("county_jianghua").get("/households/access-log/").status_code == 403
    admin = client_for("auditor_hunan").get("/admin/households/personaldataaccess/").content.decode()
    assert "team_lian" in admin and "山东的记录" not in admin


def test_covering_code_is_the_smallest_division_holding_both():
    assert covering_code(LIAN, LIAN) == LIAN
    assert covering_code("431129203201", "431129203202") == "431129203000"
    assert covering_code("431129203201", "431129101201") == JIANGHUA
    assert covering_code("431129203201", "430523104201") == "430000000000"
    assert covering_code("431129203201", "371721001001") == ""


# No ID number in a log line or an error message --------------------------------------------------


def test_the_log_filter_masks_id_and_mobile_numbers_in_message_arguments_and_tracebacks():
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(MaskPersonalNumbers())
    logger = logging.getLogger("tests.privacy")
    logger.addHandler(handler)
    try:
        logger.warning("searched %s, phone %s, household 4311292032010005", "11010519491231002X", PHONE)
        try:
            raise ValueError("bad 43112920080601002x")
        except ValueError:
            logger.exception("failed")
    finally:
        logger.removeHandler(handler)
    text = stream.getvalue()
    assert "11010519491231002X" not in text and "1101**********002X" in text
    assert PHONE not in text and "138****5678" in text
    assert "4311292032010005" in text  # a registry number is not a personal number
    assert "43112920080601002x" not in text and "4311**********002x" in text


def test_the_root_handler_carries_the_masking_filter():
    configured = [h for h in logging.getLogger().handlers if any(isinstance(f, MaskPersonalNumbers) for f in h.filters)]
    assert configured


def test_mask_personal_numbers_leaves_other_numbers_alone():
    assert mask_personal_numbers("code 431129203201, year 2019") == "code 431129203201, year 2019"
    assert mask_personal_numbers("id=431129200806010028.") == "id=4311**********0028."


def test_the_duplicate_id_refusal_shows_the_number_masked(divisions):
    head = member_data(name="户主")
    twin = {**member_data(name="重复", relationship="son"), "id_number": head["id_number"]}
    with pytest.raises(ApplicationError) as info:
        household_apply(
            actor=None, village=divisions[LIAN], household={"attribute": "general", "main_cause": "illness"},
            members=[head, twin],
        )  # fmt: skip
    message = str(info.value)
    assert head["id_number"] not in message and mask_id(head["id_number"]) in message
    assert message == str(errors.ID_DUPLICATE_IN_FORM % {"id": mask_id(head["id_number"])})


def test_member_csv_columns_masked_in_the_page_export(client_for, applied):
    rows = list(csv.reader(io.StringIO(csv_text(client_for("team_lian").get("/households/export.csv")))))
    column = rows[0].index("身份证号")
    ours = [r for r in rows[1:] if r[0] == applied.registry_number]
    assert ours and all("*" in r[column] for r in ours)
    assert Member.objects.filter(household=applied).count() == len(ours)
