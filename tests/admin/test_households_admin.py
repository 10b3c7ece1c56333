"""The admin door for households: registration, edits and workflow steps through the services."""

from datetime import date, timedelta

from households.models import Household
from registry.models import AuditEntry
from tests.factories import advance, make_applied, make_id_number

LIAN = "431129203201"


def test_add_household_in_admin_registers_an_application(client_for):
    client = client_for("team_lian")
    response = client.post(
        "/admin/households/household/add/",
        {
            "head_name": "盘管理",
            "head_id_number": make_id_number(),
            "village": LIAN,
            "identification_standard": "national",
            "attribute": "general",
            "main_cause": "illness",
            "other_causes": "[]",
            "cultivated_land_mu": "1",
            "forest_land_mu": "0",
            "drinking_water_safe": "on",
            "electricity": "on",
            "_save": "1",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    household = Household.objects.latest("id")
    assert household.status == "applied" and household.members.get().name == "盘管理"
    assert AuditEntry.objects.filter(action="household.apply", object_id=str(household.pk)).exists()


def test_admin_edit_with_a_stale_version_is_refused(client_for, users, divisions):
    household = make_applied(village=divisions[LIAN])
    from households.services import household_update

    household_update(actor=users["county_jianghua"], household=household, changes={"phone": "13100000000"})
    client = client_for("team_lian")
    form = client.get(f"/admin/households/household/{household.pk}/change/").content.decode()
    assert 'name="expected_version"' in form
    response = client.post(
        f"/admin/households/household/{household.pk}/change/",
        {
            "expected_version": "1",
            "identification_standard": "national",
            "attribute": "dibao",
            "main_cause": "illness",
            "other_causes": "[]",
            "cultivated_land_mu": "0",
            "forest_land_mu": "0",
            "phone": "13100000000",
            "members-TOTAL_FORMS": "0",
            "members-INITIAL_FORMS": "0",
            "status_changes-TOTAL_FORMS": "0",
            "status_changes-INITIAL_FORMS": "0",
        },
        follow=True,
    )
    assert "已被他人修改" in response.content.decode()
    assert Household.objects.get(pk=household.pk).attribute == "general"


def test_workflow_step_as_an_admin_action(client_for, divisions):
    household = make_applied(village=divisions[LIAN], on_date=date.today() - timedelta(days=5))
    client = client_for("team_lian")
    url = "/admin/households/household/"
    page = client.post(url, {"action": "transition_appraise", "_selected_action": [household.pk]})
    assert "生效日期" in page.content.decode()
    client.post(
        url,
        {"action": "transition_appraise", "_selected_action": [household.pk], "apply": "1", "on_date": date.today()},
    )
    assert Household.objects.get(pk=household.pk).status == "appraised"


def test_admin_actions_follow_the_role_and_refuse_out_of_turn(client_for, divisions):
    household = advance(
        make_applied(village=divisions[LIAN], on_date=date.today() - timedelta(days=31)), until="close_village_notice"
    )
    team = client_for("team_lian").get("/admin/households/household/").content.decode()
    assert "transition_appraise" in team and "transition_county_approve" not in team
    response = client_for("county_jianghua").post(
        "/admin/households/household/",
        {
            "action": "transition_county_approve",
            "_selected_action": [household.pk],
            "apply": "1",
            "on_date": date.today(),
        },
        follow=True,
    )
    assert "不能执行" in response.content.decode()
    assert Household.objects.get(pk=household.pk).step == "township_review"


def test_status_fields_are_read_only_and_nothing_deletes(client_for, divisions):
    household = make_applied(village=divisions[LIAN])
    html = client_for("county_jianghua").get(f"/admin/households/household/{household.pk}/change/").content.decode()
    assert 'name="status"' not in html and 'name="step"' not in html
    assert client_for("admin").get(f"/admin/households/household/{household.pk}/delete/").status_code == 403
