"""One structured error format for the whole API.

Every error body is ``{"error": {"code": ..., "message": ..., "fields": {...}}}`` with a
Chinese message; ``fields`` maps a field name to its messages (empty when not a field
error). Bad input is always a 4xx.
"""

from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from django.utils.translation import gettext_lazy as _
from rest_framework import exceptions, serializers
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from registry.errors import ApplicationError
from registry.services import validation_error_to_application_error

NOT_FOUND = _("未找到，或不在您的管辖范围内。")
INVALID_INPUT = _("输入有误，请检查各字段。")


class ErrorDetailSerializer(serializers.Serializer):
    code = serializers.CharField(help_text="Stable machine-readable error code.")
    message = serializers.CharField(help_text="Human-readable message (Chinese by default).")
    fields = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()),
        help_text="Messages per field; empty unless the error is about specific fields.",
    )


class ErrorSerializer(serializers.Serializer):
    error = ErrorDetailSerializer()


def error_body(code: str, message, fields: dict | None = None) -> dict:
    return {"error": {"code": code, "message": str(message), "fields": fields or {}}}


def _flatten(detail) -> dict:
    if isinstance(detail, dict):
        out = {}
        for key, value in detail.items():
            if isinstance(value, dict):
                for sub, msgs in _flatten(value).items():
                    out[f"{key}.{sub}"] = msgs
            else:
                out[key] = [str(v) for v in (value if isinstance(value, list) else [value])]
        return out
    if isinstance(detail, list):
        return {"__all__": [str(v) for v in detail]}
    return {"__all__": [str(detail)]}


def exception_handler(exc, context):
    """Turn every exception a view raises into the one error format."""
    if isinstance(exc, DjangoValidationError):
        exc = validation_error_to_application_error(exc)
    if isinstance(exc, ApplicationError):
        response = Response(
            error_body(exc.code, exc.message, {k: [str(m) for m in v] for k, v in exc.fields.items()}),
            status=exc.status,
        )
        if getattr(exc, "retry_after", None):
            response["Retry-After"] = str(exc.retry_after)
        return response
    if isinstance(exc, Http404):
        exc = exceptions.NotFound(NOT_FOUND)
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        fields = _flatten(exc.detail)
        message = next(iter(fields.values()))[0] if list(fields) == ["__all__"] else INVALID_INPUT
        response.data = error_body("invalid", message, fields)
    else:
        detail = exc.detail if isinstance(exc, exceptions.APIException) else str(exc)
        code = getattr(detail, "code", None) or getattr(exc, "default_code", "error")
        response.data = error_body(code, detail if not isinstance(detail, (list, dict)) else INVALID_INPUT)
    return response
