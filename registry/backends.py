"""The authentication backend: Django's model backend behind the login lock."""

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.core.exceptions import PermissionDenied

from registry.audit import client_address_var
from registry.logins import LoginLocked, login_failure_record, login_lock_check, login_success_record


class LockoutModelBackend(ModelBackend):
    """Check passwords as ``ModelBackend`` does, unless the name or client address is locked.

    The page login, the admin login and the API token endpoint all call ``authenticate()``,
    so none of them can skip the lock. Each failure is counted and each success clears the
    name's count (``registry.logins``).
    """

    def authenticate(self, request, username=None, password=None, **kwargs):
        if username is None:
            username = kwargs.get(get_user_model().USERNAME_FIELD)
        if username is None or password is None:
            return None
        address = client_address_var.get()
        try:
            login_lock_check(username=username, address=address)
        except LoginLocked as locked:
            # PermissionDenied stops ``authenticate()`` from trying any other backend.
            raise PermissionDenied(locked.message) from locked
        user = super().authenticate(request, username=username, password=password, **kwargs)
        if user is None:
            login_failure_record(username=username, address=address)
        else:
            login_success_record(username=username)
        return user
