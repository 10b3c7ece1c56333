"""Masking of personal identifiers (SPEC §9), for every layer: 4311**********123X, 138****5678.

The base holds the masks because its own pages (the audit log, the admin) show identifiers
too; disclosure and its access log are the households' (:mod:`households.privacy`, which
re-exports these names).
"""

from registry.roles import Capability, user_has_capability


def mask_id(id_number: str) -> str:
    """Return an ID number (or a certificate number holding one) masked: 4311**********123X."""
    if len(id_number) < 8:
        return "*" * len(id_number)
    return id_number[:4] + "*" * (len(id_number) - 8) + id_number[-4:]


def mask_phone(phone: str) -> str:
    """Return a phone number with its middle digits hidden (138****5678)."""
    if len(phone) < 7:
        return phone
    return phone[:3] + "*" * (len(phone) - 7) + phone[-4:]


#: Keys under which records, audit snapshots and findings hold a personal identifier.
IDENTIFIER_KEYS = ("id_number", "phone", "disability_certificate")


def mask_identifier(key: str, value: str) -> str:
    """Return an identifier masked the way its kind is (phones 138****5678, ID and certificate numbers 4311…123X)."""
    return mask_phone(value) if "phone" in key else mask_id(value)


def mask_value(key: str, value):
    """Return ``value`` masked when ``key`` names an identifier (``helper_phone`` too); others unchanged."""
    if isinstance(value, str) and value and any(name in key for name in IDENTIFIER_KEYS):
        return mask_identifier(key, value)
    return value


def may_reveal(user) -> bool:
    """Return whether ``user``'s role may ask to see full numbers on pages and in exports."""
    return user_has_capability(user, Capability.VIEW_PII)
