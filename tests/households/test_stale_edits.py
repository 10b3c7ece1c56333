"""A stale edit is refused at every door, never a silent overwrite (乐观锁 / optimistic version check).

Each test opens the record the way its door does (reads the version the form or the
client holds), lets another official change it underneath, submits the stale edit and
checks it was refused with the conflict message and left the record and the audit log
exactly as they were. The last test runs two edits holding the same version truly at
once: the second waits for the first one's row lock, then is refused.
"""

import re
from contextlib import contextmanager

import pytest
from django import forms

from assessments.services import assessment_record
from households import errors
from households.admin import HouseholdAdminForm, MemberAdminForm
from households.models import Household
from households.services import household_update, member_update
from registry.errors import ApplicationError
from registry.models import AuditEntry
from tests.api.helpers import assert_error
from tests.factories import make_applied, make_assessed
from tests.race import race

LIAN = "431129203201"


@pytest.fixture
def household(users, divisions):
    return make_applied(village=divisions[LIAN], actor=users["team_lian"])


@pytest.fixture
def son(household):
    return household.members.exclude(relationship="head").first()


@contextmanager
def nothing_changes(instance):
    """Assert the block leaves ``instance``'s row and the audit log exactly as they were."""
    model = type(instance)
    before, audits = model.objects.values().get(pk=instance.pk), AuditEntry.objects.count()
    yield
    assert model.objects.values().get(pk=instance.pk) == before
    assert AuditEntry.objects.count() == audits


def opened_version(html: str, name: str = "version") -> int:
    """Return the version a rendered form carries in its hidden field ``name``."""
    found = re.search(rf'name="{name}" value="(\d+)"', html) or re.search(rf'value="(\d+)"[^>]*name="{name}"', html)
    assert found, f"no hidden {name} in the form"
    return int(found.group(1))


def conflict_message(opened: int) -> str:
    return str(errors.VERSION_CONFLICT % {"current": opened + 1, "expected": opened})


def change_underneath(users, instance) -> None:
    """Another official saves the record after the form was opened."""
    if isinstance(instance, Household):
        household_update(actor=users["county_jianghua"], household=instance, changes={"phone": "13712345678"})
    else:
        member_update(actor=users["county_jianghua"], member=instance, changes={"education": "senior"})


# Pages ----------------------------------------------------------------------------------


def test_household_edit_page(client_for, users, household):
    client = client_for("team_lian")
    url = f"/households/{household.pk}/edit/"
    opened = opened_version(client.get(url).content.decode())
    change_underneath(users, household)
    stale = {
        "identification_standard": household.identification_standard,
        "attribute": "dibao",
        "main_cause": household.main_cause,
        "cultivated_land_mu": "0",
        "forest_land_mu": "0",
        "drinking_water_safe": "on",
        "electricity": "on",
        "phone": household.phone,
        "version": opened,
    }
    with nothing_changes(household):
        response = client.post(url, stale)
    assert response.status_code == 200 and conflict_message(opened) in response.content.decode()


def test_member_edit_page(client_for, users, household, son):
    client = client_for("team_lian")
    url = f"/households/{household.pk}/members/{son.pk}/edit/"
    opened = opened_version(client.get(url).content.decode())
    change_underneath(users, son)
    stale = {
        "name": "盘改名",
        "id_number": "",
        "sex": son.sex,
        "birth_date": son.birth_date.isoformat(),
        "ethnicity": son.ethnicity,
        "education": "primary",
        "student_status": son.student_status,
        "labour_ability": son.labour_ability,
        "migrant_work": son.migrant_work,
        "migrant_months": son.migrant_months,
        "version": opened,
    }
    with nothing_changes(son):
        response = client.post(url, stale)
    assert response.status_code == 200 and conflict_message(opened) in response.content.decode()


def test_assessment_page(client_for, users, divisions):
    household, assessment = make_assessed(village=divisions[LIAN])
    client = client_for("team_lian")
    url = f"/assessments/households/{household.pk}/2018/"
    opened = opened_version(client.get(url).content.decode())
    assessment_record(actor=users["county_jianghua"], household=household, year=2018, data={"notes": "县级抽查"})
    stale = {
        "assessed_on": "2018-11-01",
        "wage_income": "1",
        "food_secure": "on",
        "clothing_secure": "on",
        "water_quality_safe": "on",
        "water_litres_per_person_day": "60",
        "water_fetch_minutes": "10",
        "version": opened,
    }
    with nothing_changes(assessment):
        response = client.post(url, stale)
    assert response.status_code == 200 and conflict_message(opened) in response.content.decode()


def test_a_form_without_its_version_is_refused_too(client_for, household, divisions):
    """A post that does not say which version it edits cannot skip the check."""
    client = client_for("team_lian")
    with nothing_changes(household):
        response = client.post(f"/households/{household.pk}/edit/", {"attribute": "dibao", "main_cause": "illness"})
    assert response.status_code == 200
    assessed, assessment = make_assessed(village=divisions[LIAN])
    with nothing_changes(assessment):
        response = client.post(f"/assessments/households/{assessed.pk}/2018/", {"assessed_on": "2018-11-01"})
    assert response.status_code == 200


# API ------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["households", "members"])
def test_api_patch(api_for, users, household, son, kind):
    client = api_for("team_lian")
    instance = household if kind == "households" else son
    url = f"/api/v1/{kind}/{instance.pk}/"
    opened = client.get(url).json()["version"]
    change_underneath(users, instance)
    with nothing_changes(instance):
        field = "phone" if kind == "households" else "name"
        response = client.patch(url, {"version": opened, field: "x"}, format="json")
    error = assert_error(response, 409, "conflict")
    assert error["message"] == conflict_message(opened)


def test_api_patch_needs_the_version(api_for, household):
    client = api_for("team_lian")
    with nothing_changes(household):
        response = client.patch(f"/api/v1/households/{household.pk}/", {"phone": "1"}, format="json")
    assert "version" in assert_error(response, 400, "invalid")["fields"]


def test_api_assessment_patch(api_for, users, divisions):
    household, assessment = make_assessed(village=divisions[LIAN])
    client = api_for("team_lian")
    url = f"/api/v1/assessments/{assessment.pk}/"
    opened = client.get(url).json()["version"]
    assessment_record(actor=users["county_jianghua"], household=household, year=2018, data={"notes": "县级抽查"})
    with nothing_changes(assessment):
        response = client.patch(url, {"version": opened, "wage_income": "1"}, format="json")
    assert assert_error(response, 409, "conflict")["message"] == conflict_message(opened)


# Admin ----------------------------------------------------------------------------------


def admin_post(form_class, instance, **changes) -> dict:
    """Return what the admin change form of ``instance`` posts as rendered now, with ``changes``."""
    form = form_class(instance=instance)
    data = {}
    for name, field in form.fields.items():
        value = form[name].value()
        if isinstance(field.widget, forms.CheckboxInput):
            if value:
                data[name] = "on"
        elif value is not None:
            data[name] = value
    return {**data, **changes}


INLINES = {
    "members-TOTAL_FORMS": "0",
    "members-INITIAL_FORMS": "0",
    "status_changes-TOTAL_FORMS": "0",
    "status_changes-INITIAL_FORMS": "0",
}


@pytest.mark.parametrize("kind", ["household", "member"])
def test_admin_change_form(client_for, users, household, son, kind):
    client = client_for("team_lian")
    instance, form_class = (household, HouseholdAdminForm) if kind == "household" else (son, MemberAdminForm)
    url = f"/admin/households/{kind}/{instance.pk}/change/"
    opened = opened_version(client.get(url).content.decode(), "expected_version")
    data = admin_post(form_class, instance, expected_version=opened, **INLINES)
    data["phone" if kind == "household" else "name"] = "13600000000" if kind == "household" else "盘改名"
    change_underneath(users, instance)
    with nothing_changes(instance):
        response = client.post(url, data, follow=True)
    assert conflict_message(opened) in response.content.decode()


def test_admin_change_form_without_its_version_is_refused(client_for, son):
    data = admin_post(MemberAdminForm, son, name="盘改名")
    del data["expected_version"]
    with nothing_changes(son):
        response = client_for("team_lian").post(f"/admin/households/member/{son.pk}/change/", data)
    assert response.status_code == 200  # the form again, with its error


def test_admin_change_form_with_its_version_saves(client_for, son):
    data = admin_post(MemberAdminForm, son, name="盘改名", expected_version=son.version)
    response = client_for("team_lian").post(f"/admin/households/member/{son.pk}/change/", data)
    assert response.status_code == 302
    son.refresh_from_db()
    assert (son.name, son.version) == ("盘改名", 2)
    assert AuditEntry.objects.filter(action="member.update", object_id=str(son.pk)).count() == 1


# Truly at once --------------------------------------------------------------------------


@pytest.mark.slow
def test_two_edits_of_the_same_version_at_once_one_is_refused(demo, users, divisions):
    household = make_applied(village=divisions[LIAN], actor=users["team_lian"])
    opened = household.version

    def edit(username, phone):
        return lambda: household_update(
            actor=users[username], household=household, changes={"phone": phone}, expected_version=opened
        )

    outcome = race(
        edit("team_lian", "13711111111"),
        edit("county_jianghua", "13722222222"),
        hold="households.services.full_clean_or_raise",
    )
    assert outcome.second_waited
    assert outcome.first.error is None
    assert isinstance(outcome.second.error, ApplicationError) and outcome.second.error.code == "conflict"
    assert str(outcome.second.error) == conflict_message(opened)
    household.refresh_from_db()
    assert (household.phone, household.version) == ("13711111111", opened + 1)
    assert AuditEntry.objects.filter(action="household.update", object_id=str(household.pk)).count() == 1
