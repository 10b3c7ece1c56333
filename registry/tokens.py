"""API tokens (接口令牌): issue, revoke and check them.

A token is ``<prefix>.<secret>``. The prefix (random, public) finds the row; only the
SHA-256 digest of the whole token is stored, so a copy of the database does not give
anyone a working token. The token is shown once, when it is issued. Tokens carry 256
random bits, so a plain digest (not a slow password hash) is the right tool.

A token's jurisdiction is the intersection of its user's and its own ``division``; it
reads only unless granted write, and sees personal data masked unless granted the PII
scope. Every issue and revocation is audited.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from registry.audit import audit_record, snapshot
from registry.errors import ApplicationError
from registry.models import ApiToken, User
from registry.roles import Capability, Role
from registry.scoping import NO_SCOPE, Scope, code_prefix, user_scope
from registry.services import require_capability, user_create

logger = logging.getLogger("registry.api.tokens")

TOKEN_INVALID = _("令牌无效、已过期或已被吊销。")
TOKEN_READ_ONLY = _("此令牌只读，不能修改数据。")
TOKEN_DIVISION_OUTSIDE = _("令牌的区划“%(division)s”不在用户“%(user)s”的管辖范围内。")
TOKEN_ALREADY_REVOKED = _("该令牌已被吊销。")
TOKEN_PII_ADMIN_ONLY = _("只有系统管理员可以授予查看个人信息的权限。")
CLIENT_NAME_TAKEN = _("用户名“%(name)s”已被非接口客户端的用户使用。")

#: What the audit log keeps of a new token (never its digest).
AUDITED_FIELDS = ["name", "kind", "user", "division", "prefix", "can_write", "can_see_pii", "expires_at"]

#: How often the last use of a token is written (a write per request would be waste).
LAST_USE_RESOLUTION = timedelta(minutes=1)


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def _new_key() -> tuple[str, str]:
    prefix = secrets.token_hex(6)
    return prefix, f"{prefix}.{secrets.token_urlsafe(32)}"


@transaction.atomic
def api_token_create(
    *,
    actor,
    user: User,
    name: str,
    kind: str = ApiToken.Kind.MACHINE,
    division=None,
    can_write: bool = False,
    can_see_pii: bool = False,
    expires_at=None,
) -> tuple[ApiToken, str]:
    """Issue a token for ``user`` and return it with its plaintext, which is never stored.

    ``actor=None`` is the system (the ``create_api_token`` command); a person issuing a
    token for someone else needs the user-management capability, and only a system
    administrator may grant the personal-data scope.
    """
    if actor is not None and actor.pk != user.pk:
        require_capability(actor, Capability.MANAGE_USERS)
    if can_see_pii and actor is not None and not (actor.is_superuser or actor.role == Role.ADMIN):
        raise ApplicationError(TOKEN_PII_ADMIN_ONLY, code="permission_denied", status=403)
    if division is not None and not user_scope(user).covers(division.code):
        message = TOKEN_DIVISION_OUTSIDE % {"division": division.name, "user": user.username}
        raise ApplicationError(message, code="invalid", fields={"division": [message]})
    prefix, key = _new_key()
    token = ApiToken.objects.create(
        name=name,
        kind=kind,
        user=user,
        division=division,
        prefix=prefix,
        key_hash=_digest(key),
        can_write=can_write,
        can_see_pii=can_see_pii,
        created_by=actor,
        expires_at=expires_at,
    )
    audit_record(
        actor=actor,
        action="api_token.create",
        instance=token,
        scope_code=division.code if division else "",
        after=snapshot(token, fields=AUDITED_FIELDS),
    )
    return token, key


def personal_token_create(*, user: User) -> tuple[ApiToken, str]:
    """Issue a personal token to ``user`` after a password login (expires, no PII scope)."""
    days = settings.REGISTRY_PERSONAL_TOKEN_DAYS
    return api_token_create(
        actor=user,
        user=user,
        name=str(_("个人令牌")),
        kind=ApiToken.Kind.PERSONAL,
        can_write=True,
        expires_at=timezone.now() + timedelta(days=days),
    )


@transaction.atomic
def api_client_create(*, actor, name: str, division, role: str = Role.API_CLIENT) -> User:
    """Return the machine client account ``name`` (接口客户端), creating it bound to ``division``."""
    existing = User.objects.filter(username=name).first()
    if existing is not None:
        if existing.role != role:
            raise ApplicationError(CLIENT_NAME_TAKEN % {"name": name}, code="conflict", status=409)
        return existing
    return user_create(
        actor=actor, username=name, password=None, role=role, jurisdictions=[division], first_name=name, is_staff=False
    )


@transaction.atomic
def api_token_revoke(*, actor, token: ApiToken) -> ApiToken:
    """Revoke ``token`` for good (audited)."""
    if actor is not None and actor.pk != token.user_id:
        require_capability(actor, Capability.MANAGE_USERS)
    token = ApiToken.objects.select_for_update().get(pk=token.pk)
    if token.revoked_at is not None:
        raise ApplicationError(TOKEN_ALREADY_REVOKED, code="conflict", status=409)
    token.revoked_at = timezone.now()
    token.revoked_by = actor
    token.save(update_fields=["revoked_at", "revoked_by"])
    audit_record(actor=actor, action="api_token.revoke", instance=token, after={"revoked_at": token.revoked_at})
    return token


def token_scope(token: ApiToken) -> Scope:
    """Return what ``token`` may see: its user's scope, narrowed to its division if it has one."""
    scope = user_scope(token.user)
    if token.division_id is None:
        return scope
    prefix = code_prefix(token.division.code, token.division.level)
    if scope.covers(token.division.code):
        return Scope(unrestricted=False, prefixes=(prefix,))
    narrower = tuple(p for p in scope.prefixes if p.startswith(prefix))
    return Scope(unrestricted=False, prefixes=narrower) if narrower else NO_SCOPE


def api_token_authenticate(key: str, *, client_address: str | None = None) -> ApiToken | None:
    """Return the active token whose plaintext is ``key`` (its user loaded), or ``None``.

    The user comes back with the token's scope attached, so every selector limits what
    this request sees to the token's jurisdiction. The last use is recorded (at most once
    a minute per token).
    """
    prefix, _dot, _secret = key.partition(".")
    if not prefix or not _secret or len(key) > 200:
        return None
    token = ApiToken.objects.select_related("user", "division").filter(prefix=prefix).first()
    if token is None or not hmac.compare_digest(token.key_hash, _digest(key)):
        return None
    if not token.active or not token.user.is_active:
        return None
    now = timezone.now()
    if token.last_used_at is None or now - token.last_used_at >= LAST_USE_RESOLUTION:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now, last_used_from=client_address)
        token.last_used_at, token.last_used_from = now, client_address
    user = token.user
    user._registry_scope = token_scope(token)
    user._api_token = token
    if token.can_see_pii:
        logger.info("token %s (%s) with the personal-data scope used", token.prefix, token.name)
    return token
