"""Schema helpers shared by every app's API: error responses, parameters and examples.

The error responses show the one error format (:mod:`registry.api.errors`) with examples.
"""

from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse

from registry.api.errors import NOT_FOUND, ErrorSerializer, error_body
from registry.errors import PERMISSION_DENIED


def error_response(description, *examples) -> OpenApiResponse:
    return OpenApiResponse(
        ErrorSerializer,
        description=description,
        examples=[
            OpenApiExample(name, value=error_body(code, message, fields)) for name, code, message, fields in examples
        ],
    )


UNAUTHORIZED = error_response("Not authenticated.", ("No token", "not_authenticated", "身份认证信息未提供。", None))
FORBIDDEN = error_response(
    "The caller's role may not do this (read-only roles may not write).",
    ("Read-only role", "permission_denied", PERMISSION_DENIED, None),
)
NOT_FOUND_RESPONSE = error_response(
    "No such object in the caller's jurisdiction.", ("Not found", "not_found", NOT_FOUND, None)
)
READ_ERRORS = {401: UNAUTHORIZED, 403: FORBIDDEN, 404: NOT_FOUND_RESPONSE}


def param(name, type_, description, example, **kwargs) -> OpenApiParameter:
    return OpenApiParameter(
        name, type_, description=description, examples=[OpenApiExample(name, value=example)], **kwargs
    )


def ok_example(value, name="Example") -> list[OpenApiExample]:
    return [OpenApiExample(name, value=value, response_only=True)]


def request_example(name, value) -> OpenApiExample:
    return OpenApiExample(name, value=value, request_only=True)
