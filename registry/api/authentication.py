"""Token authentication against hashed API tokens (``Authorization: Token <token>``)."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import exceptions
from rest_framework.authentication import TokenAuthentication

from registry.audit import client_address_var
from registry.tokens import TOKEN_INVALID, api_token_authenticate


class ApiTokenAuthentication(TokenAuthentication):
    """Authenticate by an :class:`~registry.models.ApiToken`; ``request.auth`` is the token."""

    keyword = "Token"

    def authenticate_credentials(self, key):
        token = api_token_authenticate(key, client_address=client_address_var.get())
        if token is None:
            raise exceptions.AuthenticationFailed(TOKEN_INVALID)
        return token.user, token


class ApiTokenScheme(OpenApiAuthenticationExtension):
    target_class = ApiTokenAuthentication
    name = "tokenAuth"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": (
                "`Token <token>`. Machine tokens are issued by an administrator "
                "(`manage.py create_api_token`); a person may obtain one at /api/v1/auth/token/."
            ),
        }
