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
