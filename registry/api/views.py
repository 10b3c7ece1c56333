"""Authentication endpoints of the API."""

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiExample, extend_schema, extend_schema_serializer
from drf_spectacular.views import SpectacularSwaggerSplitView
from rest_framework import serializers, status
from rest_framework.authtoken.serializers import AuthTokenSerializer
from rest_framework.generics import GenericAPIView
from rest_framework.response import Response
from rest_framework.throttling import AnonRateThrottle

from registry.api.errors import ErrorSerializer
from registry.audit import client_address_var
from registry.logins import login_lock_check
from registry.tokens import personal_token_create


class TokenResponseSerializer(serializers.Serializer):
    token = serializers.CharField(help_text=_("放在 Authorization: Token <token> 请求头中；只显示这一次。"))
    username = serializers.CharField()
    role = serializers.CharField()
    expires_at = serializers.DateTimeField()


@extend_schema_serializer(component_name="AuthToken")  # the schema's name for it, kept for clients
class PasswordLoginSerializer(AuthTokenSerializer):
    """DRF's username-and-password check, saying when the name or address is locked."""

    def validate(self, attrs):
        try:
            return super().validate(attrs)
        except serializers.ValidationError:
            # Locked: a 429 with Retry-After instead of "wrong credentials".
            login_lock_check(username=attrs.get("username") or "", address=client_address_var.get())
            raise


class TokenThrottle(AnonRateThrottle):
    scope = "token"


class TokenObtainView(GenericAPIView):
    """Exchange a username and password for a personal API token (用户名密码换取令牌).

    Each call issues a new token that expires after ``REGISTRY_PERSONAL_TOKEN_DAYS``;
    machine clients get theirs from an administrator instead. Too many wrong passwords
    for a name, or from an address, lock it for a while: a 429 ``login_locked`` with
    ``Retry-After``, even for the right password.
    """

    authentication_classes = []
    permission_classes = []
    throttle_classes = [TokenThrottle]
    serializer_class = PasswordLoginSerializer

    @extend_schema(
        tags=["auth"],
        request=PasswordLoginSerializer,
        responses={200: TokenResponseSerializer, 400: ErrorSerializer, 429: ErrorSerializer},
        examples=[OpenApiExample("Login", value={"username": "api_hunan", "password": "…"}, request_only=True)],
        auth=[],
    )
    def post(self, request, *args, **kwargs):
        serializer = self.serializer_class(data=request.data, context={"request": request})
        serializer.is_valid(raise_exception=True)
        user = serializer.validated_data["user"]
        token, key = personal_token_create(user=user)
        body = {"token": key, "username": user.username, "role": user.role, "expires_at": token.expires_at}
        return Response(TokenResponseSerializer(body).data, status=status.HTTP_200_OK)


class ApiDocsView(SpectacularSwaggerSplitView):
    """Swagger UI (接口文档) under the site's CSP: its script from a URL, its styles from files."""

    template_name = "registry/api_docs.html"
