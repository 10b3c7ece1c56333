"""Permissions every API view applies before the services' own checks."""

from rest_framework.permissions import SAFE_METHODS, BasePermission

from registry.models import ApiToken
from registry.tokens import TOKEN_READ_ONLY


class TokenAllowsWrite(BasePermission):
    """Refuse a write made with a read-only token (403), whatever its user's role may do."""

    message = TOKEN_READ_ONLY
    code = "token_read_only"

    def has_permission(self, request, view):
        if request.method in SAFE_METHODS:
            return True
        token = request.auth
        return not isinstance(token, ApiToken) or token.can_write
