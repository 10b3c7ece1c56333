"""Services shared by every domain: capability checks, four-eyes, audited saves, users."""

from __future__ import annotations

from collections.abc import Iterable

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.utils.translation import gettext_lazy as _

from registry.audit import audit_record, diff, snapshot
from registry.errors import FOUR_EYES_VIOLATION, PERMISSION_DENIED, ApplicationError
from registry.levels import DivisionLevel
from registry.models import User
from registry.roles import ROLE_DIVISION_LEVEL, Capability, Role, user_has_capability
from registry.scoping import ensure_code_in_scope

USER_DIVISION_LEVEL_MISMATCH = _("角色“%(role)s”只能绑定%(level)s级区划，“%(division)s”不是。")
USER_NEEDS_JURISDICTION = _("除系统管理员外，每个用户至少要绑定一个管辖区划。")


def require_capability(actor, capability: str) -> None:
    """Raise a permission error unless ``actor`` may do ``capability``.

    ``actor=None`` is the system itself (management commands, scheduled jobs).
    """
    if actor is None:
        return
    if not user_has_capability(actor, capability):
        raise ApplicationError(PERMISSION_DENIED, code="permission_denied", status=403)


#: The longest reason a workflow step, a decision or a verification keeps.
REASON_MAX_LENGTH = 500


def clean_reason(reason: str | None, *, required, too_long, limit: int, field: str = "reason") -> str:
    """Return a reason given for an act, stripped; refuse it empty (if ``required``, its message) or too long.

    ``too_long`` is a message taking ``%(limit)s`` (or ``%(max)d``).
    """
    reason = (reason or "").strip()
    if required and not reason:
        raise ApplicationError(required, code="invalid", fields={field: [str(required)]})
    if len(reason) > limit:
        message = too_long % {"limit": limit, "max": limit}
        raise ApplicationError(message, code="invalid", fields={field: [message]})
    return reason


def require_in_scope(actor, code: str) -> None:
    """Raise not-found unless the division ``code`` is inside ``actor``'s jurisdiction."""
    if actor is None:
        return
    ensure_code_in_scope(actor, code)


def ensure_four_eyes(*, actor, earlier_actors: Iterable) -> None:
    """Refuse when ``actor`` already acted on an earlier step of the same case (四眼原则).

    ``earlier_actors`` are the users (or user ids) who proposed, entered or reviewed the
    earlier steps; ``None`` entries (system steps) are ignored.
    """
    if actor is None:
        return
    earlier_ids = {getattr(a, "pk", a) for a in earlier_actors if a is not None}
    if actor.pk in earlier_ids:
        raise ApplicationError(FOUR_EYES_VIOLATION, code="four_eyes", status=409)


def validation_error_to_application_error(error: ValidationError) -> ApplicationError:
    """Return an ``ApplicationError`` carrying a model ``ValidationError``'s messages."""
    if hasattr(error, "error_dict"):
        fields = {name: [str(m) for e in errs for m in e.messages] for name, errs in error.error_dict.items()}
        first = next(iter(fields.values()))[0]
        return ApplicationError(first, code="invalid", fields=fields)
    return ApplicationError(error.messages[0], code="invalid", fields={"__all__": error.messages})


def full_clean_or_raise(instance: models.Model, **kwargs) -> None:
    """Run ``full_clean`` and turn its errors into an ``ApplicationError``."""
    try:
        instance.full_clean(**kwargs)
    except ValidationError as error:
        raise validation_error_to_application_error(error) from error


def audited_create(*, actor, instance: models.Model, action: str, scope_code: str):
    """Validate, insert and audit a new row; call inside the service's transaction."""
    full_clean_or_raise(instance)
    instance.save(force_insert=True)
    audit_record(actor=actor, action=action, instance=instance, scope_code=scope_code, after=snapshot(instance))
    return instance


def audited_update(*, actor, instance: models.Model, changes: dict, action: str, scope_code: str):
    """Apply ``changes`` to ``instance``, validate, save those fields only, and audit the diff.

    Returns the instance; an update that changes nothing writes nothing.
    """
    fields = list(changes)
    before = snapshot(instance, fields)
    for name, value in changes.items():
        setattr(instance, name, value)
    after = snapshot(instance, fields)
    old, new = diff(before, after)
    if not new:
        return instance
    full_clean_or_raise(instance)
    update_fields = [instance._meta.get_field(name).attname for name in new]
    if any(f.name == "updated_at" for f in instance._meta.concrete_fields):
        update_fields.append("updated_at")
    instance.save(update_fields=update_fields)
    audit_record(actor=actor, action=action, instance=instance, scope_code=scope_code, before=old, after=new)
    return instance


def _check_jurisdictions(role: str, divisions) -> None:
    level = ROLE_DIVISION_LEVEL.get(role)
    if role != Role.ADMIN and not divisions:
        raise ApplicationError(
            USER_NEEDS_JURISDICTION, code="invalid", fields={"jurisdictions": [str(USER_NEEDS_JURISDICTION)]}
        )
    if level is None:
        return
    for division in divisions:
        if division.level != level:
            message = USER_DIVISION_LEVEL_MISMATCH % {
                "role": Role(role).label,
                "level": DivisionLevel(level).label,
                "division": division.name,
            }
            raise ApplicationError(message, code="invalid", fields={"jurisdictions": [message]})


@transaction.atomic
def user_create(
    *,
    actor,
    username: str,
    password: str | None,
    role: str,
    jurisdictions: Iterable = (),
    first_name: str = "",
    last_name: str = "",
    phone: str = "",
    unit: str = "",
    is_staff: bool = True,
) -> User:
    """Create a user with a role bound to divisions inside the actor's jurisdiction."""
    require_capability(actor, Capability.MANAGE_USERS)
    jurisdictions = list(jurisdictions)
    _check_jurisdictions(role, jurisdictions)
    for division in jurisdictions:
        require_in_scope(actor, division.code)
    user = User(
        username=username,
        role=role,
        first_name=first_name,
        last_name=last_name,
        phone=phone,
        unit=unit,
        is_staff=is_staff and role != Role.API_CLIENT,
        is_superuser=role == Role.ADMIN,
    )
    if password is None:
        user.set_unusable_password()
    else:
        try:
            validate_password(password, user)
        except ValidationError as error:
            raise ApplicationError(error.messages[0], code="invalid", fields={"password": error.messages}) from error
        user.set_password(password)
    full_clean_or_raise(user, exclude=["password"])
    user.save(force_insert=True)
    user.jurisdictions.set(jurisdictions)
    after = snapshot(user, ["username", "role", "first_name", "last_name", "is_staff", "is_superuser", "jurisdictions"])
    audit_record(actor=actor, action="user.create", instance=user, after=after)
    return user


@transaction.atomic
def user_update(*, actor, user: User, jurisdictions: Iterable | None = None, **changes) -> User:
    """Change a user's role, names, contact or jurisdictions, audited."""
    require_capability(actor, Capability.MANAGE_USERS)
    allowed = {"role", "first_name", "last_name", "phone", "unit", "is_active", "email"}
    unknown = set(changes) - allowed
    if unknown:
        raise ApplicationError(_("不能修改这些字段：%s") % ", ".join(sorted(unknown)), code="invalid")
    role = changes.get("role", user.role)
    new_divisions = list(jurisdictions) if jurisdictions is not None else list(user.jurisdictions.all())
    _check_jurisdictions(role, new_divisions)
    for division in new_divisions:
        require_in_scope(actor, division.code)
    if "role" in changes:
        changes["is_superuser"] = role == Role.ADMIN
    audited_update(actor=actor, instance=user, changes=changes, action="user.update", scope_code="")
    if jurisdictions is not None:
        before = sorted(user.jurisdictions.values_list("code", flat=True))
        after = sorted(d.code for d in new_divisions)
        if before != after:
            user.jurisdictions.set(new_divisions)
            audit_record(
                actor=actor,
                action="user.set_jurisdictions",
                instance=user,
                before={"jurisdictions": before},
                after={"jurisdictions": after},
            )
    user._registry_scope = None
    return user


@transaction.atomic
def user_set_password(*, actor, user: User, password: str) -> User:
    """Set a user's password after the password validators accept it; audited, value not logged."""
    if actor is not None and actor.pk != user.pk:
        require_capability(actor, Capability.MANAGE_USERS)
    try:
        validate_password(password, user)
    except ValidationError as error:
        raise ApplicationError(error.messages[0], code="invalid", fields={"password": error.messages}) from error
    user.set_password(password)
    user.save(update_fields=["password"])
    audit_record(actor=actor, action="user.set_password", instance=user)
    return user
