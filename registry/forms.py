"""Login forms of the pages and the admin, which say so when a login is locked and refuse API clients."""

from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from registry.audit import client_address_var
from registry.logins import LoginLocked, login_lock_check
from registry.roles import Role

API_CLIENT_LOGIN_REFUSED = _("接口客户端账户只能凭 API 令牌访问接口，不能登录网页或管理后台。")


class LockedLoginMessageMixin:
    """Word a refused login as "locked, try again in N minutes" when it is locked.

    The backend refuses a locked login like a wrong password; only the form knows it
    must explain. Unknown names are locked the same way, so this reveals nothing.
    """

    def get_invalid_login_error(self):
        try:
            login_lock_check(username=self.cleaned_data.get("username") or "", address=client_address_var.get())
        except LoginLocked as locked:
            return ValidationError(locked.message, code=locked.code)
        return super().get_invalid_login_error()


class NoApiClientMixin:
    """Refuse an API client's account (接口客户端): it reads the registry with a token, never through pages.

    Checked only once the password is right, so the message tells a stranger nothing.
    """

    def confirm_login_allowed(self, user):
        if user.role == Role.API_CLIENT:
            raise ValidationError(API_CLIENT_LOGIN_REFUSED, code="api_client")
        super().confirm_login_allowed(user)


class LoginForm(NoApiClientMixin, LockedLoginMessageMixin, AuthenticationForm):
    """The login page's form."""


class AdminLoginForm(NoApiClientMixin, LockedLoginMessageMixin, AdminAuthenticationForm):
    """The admin login's form."""
