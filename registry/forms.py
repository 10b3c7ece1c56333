"""Login forms of the pages and the admin, which say so when a login is locked."""

from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import ValidationError

from registry.audit import client_address_var
from registry.logins import LoginLocked, login_lock_check


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


class LoginForm(LockedLoginMessageMixin, AuthenticationForm):
    """The login page's form."""


class AdminLoginForm(LockedLoginMessageMixin, AdminAuthenticationForm):
    """The admin login's form."""
