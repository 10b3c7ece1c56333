"""Login throttling (登录失败锁定): too many failed passwords lock the name or the address.

After ``REGISTRY_LOGIN_MAX_FAILURES`` failures for one account name within
``REGISTRY_LOGIN_WINDOW_MINUTES`` of the first, the name is locked for
``REGISTRY_LOGIN_LOCKOUT_MINUTES``; after ``REGISTRY_LOGIN_ADDRESS_MAX_FAILURES`` failures
from one client address (any names: password spraying), the address is. While locked,
even the right password is refused. Names are counted whether or not such an account
exists, so a lock says nothing about which names are real.

Every door that takes a password calls Django's ``authenticate()``, which goes through
``registry.backends.LockoutModelBackend``; the doors only word the refusal.
"""

from __future__ import annotations

import math
import unicodedata
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import ngettext_lazy

from registry.audit import audit_record, snapshot
from registry.errors import ApplicationError
from registry.models import LoginFailure
from registry.roles import Capability
from registry.services import require_capability

ACCOUNT_LOCKED = ngettext_lazy(
    "登录失败次数过多，账户已临时锁定，请于 %(minutes)d 分钟后再试。",
    "登录失败次数过多，账户已临时锁定，请于 %(minutes)d 分钟后再试。",
    "minutes",
)
ADDRESS_LOCKED = ngettext_lazy(
    "此地址登录失败次数过多，已暂停登录，请于 %(minutes)d 分钟后再试。",
    "此地址登录失败次数过多，已暂停登录，请于 %(minutes)d 分钟后再试。",
    "minutes",
)
AUDITED_FIELDS = ["kind", "key", "count", "first_failed_at", "locked_until"]


class LoginLocked(ApplicationError):
    """A login refused because the name or the address is locked; ``retry_after`` in seconds."""

    def __init__(self, failure: LoginFailure, now=None):
        seconds = max(1, math.ceil((failure.locked_until - (now or timezone.now())).total_seconds()))
        minutes = math.ceil(seconds / 60)
        template = ACCOUNT_LOCKED if failure.kind == LoginFailure.Kind.ACCOUNT else ADDRESS_LOCKED
        super().__init__(template % {"minutes": minutes}, code="login_locked", status=429)
        self.retry_after = seconds


def account_key(username: str) -> str:
    """Return the key a typed name is counted under: normalised, case-folded, bounded.

    ``Admin`` and ``admin`` share a count, so changing the case buys no extra attempts.
    """
    return unicodedata.normalize("NFKC", username).casefold()[:150]


def _keys(*, username: str, address: str | None) -> Q:
    keys = Q(kind=LoginFailure.Kind.ACCOUNT, key=account_key(username))
    if address:
        keys |= Q(kind=LoginFailure.Kind.ADDRESS, key=address[:150])
    return keys


def login_lock_check(*, username: str, address: str | None) -> None:
    """Raise ``LoginLocked`` if the name or the client address is locked now."""
    now = timezone.now()
    failure = (
        LoginFailure.objects.filter(_keys(username=username, address=address), locked_until__gt=now)
        .order_by("-locked_until")
        .first()
    )
    if failure is not None:
        raise LoginLocked(failure, now)


@transaction.atomic
def login_failure_record(*, username: str, address: str | None) -> None:
    """Count one failed login against the name and the address, locking either at its limit."""
    now = timezone.now()
    _count(LoginFailure.Kind.ACCOUNT, account_key(username), limit=settings.REGISTRY_LOGIN_MAX_FAILURES, now=now)
    address_limit = settings.REGISTRY_LOGIN_ADDRESS_MAX_FAILURES
    if address and address_limit:
        _count(LoginFailure.Kind.ADDRESS, address[:150], limit=address_limit, now=now)


def _count(kind: str, key: str, *, limit: int, now) -> None:
    """Add a failure to the row of ``key`` (row-locked: processes count concurrently)."""
    failure, _ = LoginFailure.objects.select_for_update().get_or_create(
        kind=kind, key=key, defaults={"count": 0, "first_failed_at": now}
    )
    window = timedelta(minutes=settings.REGISTRY_LOGIN_WINDOW_MINUTES)
    lock_ran_out = failure.locked_until is not None and not failure.is_locked(now)
    if lock_ran_out or now - failure.first_failed_at > window:
        # A new window: what happened before it, lock included, no longer counts.
        failure.count, failure.first_failed_at, failure.locked_until = 0, now, None
    failure.count += 1
    failure.last_failed_at = now
    newly_locked = failure.count >= limit and not failure.is_locked(now)
    if newly_locked:
        failure.locked_until = now + timedelta(minutes=settings.REGISTRY_LOGIN_LOCKOUT_MINUTES)
    failure.save(update_fields=["count", "first_failed_at", "last_failed_at", "locked_until"])
    if newly_locked:
        audit_record(actor=None, action="login.lock", instance=failure, after=snapshot(failure, AUDITED_FIELDS))


def login_success_record(*, username: str) -> None:
    """Forget the failures counted against the name after its right password (not the address's)."""
    now = timezone.now()
    LoginFailure.objects.filter(
        Q(locked_until__isnull=True) | Q(locked_until__lte=now),
        kind=LoginFailure.Kind.ACCOUNT,
        key=account_key(username),
    ).delete()


@transaction.atomic
def login_failure_unlock(*, actor, failure: LoginFailure) -> None:
    """Lift the lock on a name or address (解除锁定) before it runs out, and forget its failures."""
    require_capability(actor, Capability.MANAGE_USERS)
    failure = LoginFailure.objects.select_for_update().filter(pk=failure.pk).first()
    if failure is None:
        return  # Already cleared, by a successful login or by another administrator.
    audit_record(actor=actor, action="login.unlock", instance=failure, before=snapshot(failure, AUDITED_FIELDS))
    failure.delete()
