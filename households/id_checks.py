"""The defects of a member's ID number as filters, shared by the quality rules and their indexes.

Each is a condition on one member row (no join, immutable functions only), so
:class:`households.models.Member` keeps a partial index of the rows that meet it
(``member_*_defect_idx``), and the quality rule that filters on the same condition
reads that small index instead of computing it for every member of the province. The
rule and the index must use the very same expression for PostgreSQL to match them.
"""

from __future__ import annotations

from functools import reduce
from operator import add

from django.db.models import Case, CharField, IntegerField, Q, Value, When
from django.db.models.functions import Cast, Concat, ExtractDay, ExtractMonth, ExtractYear, LPad, Mod, Substr
from django.db.models.lookups import Exact, In

from households.choices import Sex
from registry.idnumber import CHECK_CHARS, WEIGHTS

#: 17 digits and a digit or X: the only shape the other ID checks can read.
ID_SHAPE = r"^[0-9]{17}[0-9X]$"
ODD_DIGITS = ["1", "3", "5", "7", "9"]


def expected_check_char():
    """Return the check character the first 17 digits call for, computed in SQL (ISO 7064 MOD 11-2).

    Guarded by ``CASE``: PostgreSQL would refuse to cast a letter, and only a CASE
    fixes the order in which it evaluates conditions.
    """
    total = reduce(add, [Cast(Substr("id_number", i + 1, 1), IntegerField()) * w for i, w in enumerate(WEIGHTS)])
    return Case(
        When(id_number__regex=ID_SHAPE, then=Substr(Value(CHECK_CHARS), Cast(Mod(total, 11), IntegerField()) + 1, 1)),
        default=None,
    )


def _two_digits(expression):
    return LPad(Cast(expression, CharField()), 2, Value("0"))


def stored_birth():
    """Return the registered birth date as the 8 digits an ID number holds (YYYYMMDD)."""
    return Concat(
        LPad(Cast(ExtractYear("birth_date"), CharField()), 4, Value("0")),
        _two_digits(ExtractMonth("birth_date")),
        _two_digits(ExtractDay("birth_date")),
        output_field=CharField(),
    )


def bad_shape() -> Q:
    return ~Q(id_number__regex=ID_SHAPE)


def bad_check_char() -> Q:
    return Q(id_number__regex=ID_SHAPE) & ~Q(Exact(expected_check_char(), Substr("id_number", 18, 1)))


def birth_mismatch() -> Q:
    return Q(id_number__regex=ID_SHAPE) & ~Q(Exact(Substr("id_number", 7, 8), stored_birth()))


def sex_mismatch() -> Q:
    odd = Q(In(Substr("id_number", 17, 1), ODD_DIGITS))
    return Q(id_number__regex=ID_SHAPE) & ((odd & ~Q(sex=Sex.MALE)) | (~odd & ~Q(sex=Sex.FEMALE)))
