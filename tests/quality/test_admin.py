"""The admin door to findings: read-only, scoped, masked, and "accept" through the service."""

import pytest

from households.models import Member
from quality.choices import FindingStatus
from quality.models import Finding
from quality.services import quality_run
from registry.models import AuditEntry

pytestmark = pytest.mark.django_db
CHANGELIST = "/admin/quality/finding/"


@pytest.fixture
def found(planted):
    quality_run(actor=None, division=planted.village)
    return planted


def test_findings_are_listed_in_scope_and_read_only(found, client_for):
    f = Finding.objects.get(rule="id_check_digit")
    client = client_for("township_daxi")
    assert client.get(CHANGELIST).status_code == 200
    page = client.get(f"{CHANGELIST}{f.pk}/change/").content.decode()
    assert "校验位错误" in page and 'name="status"' not in page
    assert Member.objects.get(pk=f.member_id).id_number not in page
    assert client.post(f"{CHANGELIST}{f.pk}/change/", {"status": "fixed"}).status_code == 403
    assert client_for("county_shaoyang").get(f"{CHANGELIST}{f.pk}/change/").status_code == 404


def test_accept_action_asks_for_a_reason_then_calls_the_service(found, client_for):
    f = Finding.objects.get(rule="no_helper")
    client = client_for("township_daxi")
    form = client.post(CHANGELIST, {"action": "accept", "_selected_action": [f.pk]})
    assert form.status_code == 200 and 'name="reason"' in form.content.decode()
    response = client.post(
        CHANGELIST, {"action": "accept", "_selected_action": [f.pk], "apply": "1", "reason": "帮扶人调动中"}
    )
    assert response.status_code == 302
    f.refresh_from_db()
    assert f.status == FindingStatus.ACCEPTED and f.accepted_reason == "帮扶人调动中"
    assert AuditEntry.objects.filter(action="quality.accept", object_id=str(f.pk)).exists()


def test_the_accept_action_is_not_offered_without_the_capability(found, client_for):
    page = client_for("team_lian").get(CHANGELIST).content.decode()
    assert 'value="accept"' not in page
