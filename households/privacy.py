"""Personal identifiers (个人信息保护, SPEC §9): masking, disclosure and the access log.

ID numbers and phones are sensitive personal information under the personal-information
protection law; the registry shows them masked everywhere (4311**********123X,
138****5678). A full number is disclosed only

- on a page or in a page export, to a role with ``Capability.VIEW_PII`` that asks for it
  explicitly and gives a reason (:func:`pii_reveal`, :func:`pii_export_record`);
- in an API response, to a token granted the personal-data scope
  (``registry.roles.user_can_see_pii``); :class:`PersonalDataAccessMiddleware` logs each
  response that carried full numbers, the bulk export logs itself once.

Every disclosure is one :class:`~households.models.PersonalDataAccess` row (who, when,
from where, what, why) and one ``pii.view`` audit row, written in one transaction.
"""

from __future__ import annotations

import logging

from django.db import transaction
from django.db.models import Count, Max, Min
from django.utils.translation import gettext_lazy as _

from households.choices import DisclosureDoor
from households.models import Household, Member, PersonalDataAccess
from registry.audit import audit_record, client_address_var
from registry.errors import ApplicationError
from registry.privacy import IDENTIFIER_KEYS as IDENTIFIER_KEYS
from registry.privacy import mask_id as mask_id
from registry.privacy import mask_identifier as mask_identifier
from registry.privacy import mask_phone as mask_phone
from registry.privacy import mask_value as mask_value
from registry.privacy import may_reveal as may_reveal
from registry.services import clean_reason as registry_clean_reason
from registry.services import require_in_scope
from villages.choices import LEVEL_PREFIX_LENGTH

logger = logging.getLogger("households.privacy")

REASON_MAX_LENGTH = 200
REASON_REQUIRED = _("请填写查看完整号码的理由。")
REASON_TOO_LONG = _("理由不能超过 %(max)d 个字。")
PII_NOT_ALLOWED = _("您的角色无权查看完整的身份证号和电话号码。")

#: What a disclosure showed, as the access log names it.
SHOWN_HOUSEHOLD = _("全户身份证号、联系电话")
SHOWN_MEMBER = _("成员身份证号")
SHOWN_EXPORT = _("导出文件中的身份证号、联系电话")
SHOWN_API = _("接口返回的身份证号、联系电话")

#: Division prefix lengths, finest first: the covering code of a disclosure ends on a level.
_LEVEL_LENGTHS = sorted(set(LEVEL_PREFIX_LENGTH.values()), reverse=True)


def clean_reason(reason: str | None) -> str:
    """Return the reason given for a disclosure, or refuse an empty or overlong one."""
    return registry_clean_reason(reason, required=REASON_REQUIRED, too_long=REASON_TOO_LONG, limit=REASON_MAX_LENGTH)


def covering_code(low: str, high: str) -> str:
    """Return the 12-digit code of the smallest division subtree holding the codes ``low`` … ``high``.

    Codes are hierarchical, so the subtree holding the lowest and the highest code holds
    every code between them; ``""`` when they share not even a province.
    """
    for length in _LEVEL_LENGTHS:
        if low[:length] == high[:length]:
            return low[:length].ljust(12, "0")
    return ""


def _require_may_reveal(actor) -> None:
    if not may_reveal(actor):
        raise ApplicationError(PII_NOT_ALLOWED, code="permission_denied", status=403)


def _record(*, user, door: str, reason: str, shown: str, token=None, **fields) -> PersonalDataAccess:
    """Write one access-log row and its ``pii.view`` audit row (inside the caller's transaction)."""
    access = PersonalDataAccess.objects.create(
        user=user if user is not None and user.pk else None,
        username=user.get_username() if user is not None else "system",
        token_prefix=token.prefix if token is not None else "",
        client_address=client_address_var.get(),
        door=door,
        reason=reason[:REASON_MAX_LENGTH],
        shown_fields=str(shown),
        **fields,
    )
    audit_record(
        actor=user,
        action="pii.view",
        instance=access,
        scope_code=access.scope_code,
        after={
            "door": door,
            "household": access.household_id,
            "member": access.member_id,
            "count": access.count,
            "filters": access.filters,
            "token": access.token_prefix,
            "reason": access.reason,
        },
    )
    return access


@transaction.atomic
def pii_reveal(*, actor, household: Household, member: Member | None = None, reason: str) -> PersonalDataAccess:
    """Record that ``actor`` asked to see the full numbers of ``household`` (or of one ``member``).

    The role must have ``VIEW_PII``, the household must be in the actor's jurisdiction, and
    the reason must not be empty; the caller shows the numbers in this response only.
    """
    _require_may_reveal(actor)
    require_in_scope(actor, household.village_id)
    if member is not None and member.household_id != household.pk:
        raise ApplicationError(PII_NOT_ALLOWED, code="permission_denied", status=403)
    reason = clean_reason(reason)
    shown_ids = {"member": [member.pk]} if member is not None else {"household": [household.pk]}
    return _record(
        user=actor,
        door=DisclosureDoor.PAGE,
        reason=reason,
        shown=SHOWN_MEMBER if member is not None else SHOWN_HOUSEHOLD,
        household=household,
        member=member,
        objects_shown=shown_ids,
        count=1,
        scope_code=household.village_id,
    )


def export_extent(households) -> tuple[int, str]:
    """Return how many households a (scoped, filtered) queryset holds, and the code covering them."""
    extent = households.order_by().aggregate(count=Count("pk"), low=Min("village_id"), high=Max("village_id"))
    if not extent["count"]:
        return 0, ""
    return extent["count"], covering_code(extent["low"], extent["high"])


@transaction.atomic
def pii_export_record(
    *, actor, households, filters: dict, reason: str, door: str = DisclosureDoor.EXPORT, token=None
) -> PersonalDataAccess:
    """Record an unmasked export of the (scoped, filtered) ``households``: scope, filters and count.

    A page export needs ``VIEW_PII`` and a reason; an API export (``token`` given) needs
    the token's personal-data scope, checked by the caller, and gives the token's name.
    """
    if token is None:
        _require_may_reveal(actor)
        reason = clean_reason(reason)
    count, scope_code = export_extent(households)
    return _record(
        user=actor,
        door=door,
        reason=reason,
        shown=SHOWN_EXPORT,
        token=token,
        filters=filters,
        count=count,
        scope_code=scope_code,
    )


def loggable_filters(filters) -> dict:
    """Return export or search filters fit for a log: no page number, any ID number masked."""
    from households.filtersets import ID_PATTERN

    out = {}
    for key in sorted(filters):
        if key in ("page", "cursor", "csrfmiddlewaretoken", "reason"):
            continue
        values = filters.getlist(key) if hasattr(filters, "getlist") else [filters[key]]
        values = [mask_id(v) if ID_PATTERN.match(str(v).strip()) else str(v) for v in values if v not in ("", None)]
        if values:
            out[key] = values if len(values) > 1 else values[0]
    return out


# API responses -----------------------------------------------------------------------------


class Disclosures:
    """The objects whose full numbers one API response carried, gathered while it is rendered."""

    def __init__(self):
        self.ids: dict[str, set[int]] = {}
        self.low: str | None = None
        self.high: str | None = None
        self.households: set[int] = set()

    def add(self, instance) -> None:
        kind = instance._meta.model_name
        self.ids.setdefault(kind, set()).add(instance.pk)
        code = _division_code(instance)
        if code:
            self.low = code if self.low is None else min(self.low, code)
            self.high = code if self.high is None else max(self.high, code)
        household_id = instance.pk if isinstance(instance, Household) else getattr(instance, "household_id", None)
        if household_id is not None:
            self.households.add(household_id)

    def __bool__(self):
        return bool(self.ids)


def _division_code(instance) -> str:
    if isinstance(instance, Household):
        return instance.village_id
    if isinstance(instance, Member):
        cached = instance._state.fields_cache.get("household")
        return cached.village_id if cached is not None else instance.county_code.ljust(12, "0")
    return getattr(instance, "division_id", "") or ""


DISCLOSURES_ATTRIBUTE = "_registry_pii_disclosures"


def note_disclosure(request, instance) -> None:
    """Remember that the response to ``request`` shows ``instance``'s identifiers in full."""
    request = getattr(request, "_request", request)  # a DRF request wraps the Django one
    disclosures = getattr(request, DISCLOSURES_ATTRIBUTE, None)
    if disclosures is not None:
        disclosures.add(instance)


def stop_gathering(request) -> None:
    """Stop gathering disclosures for ``request`` (an export logs itself once, scope and count)."""
    request = getattr(request, "_request", request)
    setattr(request, DISCLOSURES_ATTRIBUTE, None)


@transaction.atomic
def pii_api_record(*, user, disclosures: Disclosures, path: str) -> PersonalDataAccess:
    """Record one API response that carried full numbers: the token, its name as the reason, the ids."""
    token = getattr(user, "_api_token", None)
    shown_ids = {kind: sorted(ids) for kind, ids in sorted(disclosures.ids.items())}
    single = len(disclosures.households) == 1
    household_id = next(iter(disclosures.households)) if single else None
    member_ids = shown_ids.get("member", [])
    return _record(
        user=user,
        door=DisclosureDoor.API,
        reason=token.name if token is not None else "",
        shown=SHOWN_API,
        token=token,
        household_id=household_id,
        member_id=member_ids[0] if single and len(member_ids) == 1 else None,
        objects_shown=shown_ids,
        filters={"path": path},
        count=len(disclosures.households) or sum(len(ids) for ids in shown_ids.values()),
        scope_code=covering_code(disclosures.low, disclosures.high) if disclosures.low else "",
    )


class PersonalDataAccessMiddleware:
    """Log every response that carried full personal identifiers (the API with a PII token).

    Serializers call :func:`note_disclosure` for each object they render unmasked; after
    the view, the gathered objects become one access-log row. Runs inside
    ``ClientAddressMiddleware`` so the row has the client's address.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        setattr(request, DISCLOSURES_ATTRIBUTE, Disclosures())
        response = self.get_response(request)
        disclosures = getattr(request, DISCLOSURES_ATTRIBUTE, None)
        if disclosures and response.status_code < 500:
            pii_api_record(user=request.user, disclosures=disclosures, path=request.path)
        return response
