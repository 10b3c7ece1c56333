"""Authentication endpoints of the API."""

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import serializers, status
from rest_framework.authtoken.serializers import AuthTokenSerializer
from rest_framework.authtoken.views import ObtainAuthToken
from rest_framework.response import Response
from rest_framework.throttling import AnonRateThrottle

from registry.api.errors import ErrorSerializer
from registry.services import token_obtain


class TokenResponseSerializer(serializers.Serializer):
    token = serializers.CharField(help_text=_("放在 Authorization: Token <token> 请求头中。"))
    username = serializers.CharField()
    role = serializers.CharField()


class TokenThrottle(AnonRateThrottle):
    scope = "token"


class TokenObtainView(ObtainAuthToken):
    """Exchange a username and password for an API token (用户名密码换取令牌)."""

    throttle_classes = [TokenThrottle]

    @extend_schema(
        tags=["auth"],
        request=AuthTokenSerializer,
        responses={200: TokenResponseSerializer, 400: ErrorSerializer, 429: ErrorSerializer},
        examples=[OpenApiExample("Login", value={"username": "api_hunan", "password": "…"}, request_only=True)],
        auth=[],
    )
    def post(self, request, *args, **kwargs):
        serializer = self.serializer_class(data=request.data, context={"request": request})
        serializer.is_valid(raise_exception=True)
        user = serializer.validated_data["user"]
        token = token_obtain(user=user)
        return Response({"token": token.key, "username": user.username, "role": user.role}, status=status.HTTP_200_OK)
