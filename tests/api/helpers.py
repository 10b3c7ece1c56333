"""Assertions shared by the API tests."""


def assert_error(response, status: int, code: str | None = None) -> dict:
    """Assert ``response`` is ``status`` in the one error format and return its ``error``."""
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) == {"error"}
    error = body["error"]
    assert set(error) == {"code", "message", "fields"}
    assert isinstance(error["message"], str) and error["message"]
    assert isinstance(error["fields"], dict)
    if code is not None:
        assert error["code"] == code
    return error


def assert_nothing_unmasked(response) -> None:
    """Assert no full ID number or phone number of anyone in the registry is in ``response``."""
    from households.models import Household, Member
    from villages.models import Helper

    content = response.content.decode()
    secrets = {*Member.objects.values_list("id_number", flat=True), *Helper.objects.values_list("id_number", flat=True)}
    secrets |= set(Household.objects.exclude(phone="").values_list("phone", flat=True))
    secrets |= set(Helper.objects.values_list("phone", flat=True))
    leaked = [secret for secret in secrets if secret and secret in content]
    assert not leaked, f"unmasked identifiers in the response: {leaked}"


def body(response, status: int = 200):
    """Return the JSON of ``response`` after checking its status and that no identifier leaks."""
    assert response.status_code == status, response.content
    assert_nothing_unmasked(response)
    return response.json()
