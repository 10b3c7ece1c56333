"""Households rendered to JSON by PostgreSQL, exactly as :class:`HouseholdSerializer` renders them.

The bulk export (``households.api.export``) streams a whole province — a million households,
three and a half million members. Rendering each field in Python is what made it slow;
here one ``SELECT`` yields one JSON line per household (members nested, in the order the
list prefetches them) and Python only passes the bytes on.

The SQL must say what the serializer says, field for field: :data:`HOUSEHOLD_FIELDS`,
:data:`HELPER_FIELDS` and :data:`MEMBER_FIELDS` give every field of the serializers, in
their order, with its kind; :func:`household_json_sql` refuses to build the query when a
serializer gained, lost or reordered a field. The text is built by concatenation rather
than ``json_build_object`` (twice as fast, and compact): each line is byte for byte what
``json.dumps(data, ensure_ascii=False, separators=(",", ":"))`` makes of the serializer's
data — PostgreSQL escapes strings exactly as Python does. The rules followed:

- choices: the value, and ``<field>_display`` its label in the active language (a value
  without a label stays as it is, as :class:`~registry.api.fields.ChoiceLabelField` does);
  the value-to-JSON maps are parameters, computed here from the serializer's fields;
- decimals: a string of their text (``numeric(8,2)`` keeps its two places, as DRF quantizes);
- dates: ISO text; timestamps: ``datetime.isoformat()`` in the current time zone (six
  digits of microseconds unless they are zero, ``Z`` for UTC);
- ID, certificate and phone numbers: masked as :func:`households.privacy.mask_id` masks
  them (what :class:`~households.api.serializers.MaskedField` does), unless ``unmasked``.
"""

from __future__ import annotations

import json
import re

from django.utils import timezone
from rest_framework import serializers

from households.api.serializers import HouseholdSerializer, MemberSerializer
from households.choices import Cause, MemberStatus, Relationship
from households.models import Household, Member
from registry.api.fields import ChoiceLabelField
from villages.models import Division, Helper, VillagerGroup

_TIME_ZONE_NAME = re.compile(r"^[A-Za-z0-9_+\-/]+$")

#: Household fields in the serializer's order: (name, kind, SQL over ``h`` (household),
#: ``v`` (village), ``t`` (township), ``g`` (villager group), ``hp`` (helper) and ``mm``
#: (the members' aggregate: ``members``, ``active``, ``head_name``)).
HOUSEHOLD_FIELDS: list[tuple[str, str, str]] = [
    ("id", "number", "h.id"),
    ("registry_number", "text", "h.registry_number"),
    ("county_code", "text", "h.county_code"),
    ("village", "text", "h.village_id"),
    ("village_name", "text", "v.name"),
    ("township", "text", "v.parent_id"),
    ("township_name", "text", "t.name"),
    ("group", "number", "h.group_id"),
    ("group_name", "text", "g.name"),
    ("identification_standard", "choice", "h.identification_standard"),
    ("identification_standard_display", "label", "h.identification_standard"),
    ("attribute", "choice", "h.attribute"),
    ("attribute_display", "label", "h.attribute"),
    ("main_cause", "choice", "h.main_cause"),
    ("main_cause_display", "label", "h.main_cause"),
    ("other_causes", "choices", "h.other_causes"),
    ("other_causes_display", "cause_labels", "h.other_causes"),
    ("identified_year", "number", "h.identified_year"),
    ("housing_area", "decimal", "h.housing_area"),
    ("housing_structure", "choice", "h.housing_structure"),
    ("housing_structure_display", "label", "h.housing_structure"),
    ("housing_grade", "choice", "h.housing_grade"),
    ("housing_grade_display", "label", "h.housing_grade"),
    ("housing_renovated", "boolean", "h.housing_renovated"),
    ("drinking_water_safe", "boolean", "h.drinking_water_safe"),
    ("electricity", "boolean", "h.electricity"),
    ("road_distance_km", "decimal", "h.road_distance_km"),
    ("cultivated_land_mu", "decimal", "h.cultivated_land_mu"),
    ("forest_land_mu", "decimal", "h.forest_land_mu"),
    ("relocated", "boolean", "h.relocated"),
    ("phone", "masked", "h.phone"),
    ("helper", "helper", "hp.id"),
    ("status", "choice", "h.status"),
    ("status_display", "label", "h.status"),
    ("step", "choice", "h.step"),
    ("step_display", "label", "h.step"),
    ("status_reason", "text", "h.status_reason"),
    ("status_date", "date", "h.status_date"),
    ("notice_ends_on", "date", "h.notice_ends_on"),
    ("head_name", "text", "mm.head_name"),
    ("member_count", "number", "mm.active"),
    ("version", "number", "h.version"),
    ("created_at", "timestamp", "h.created_at"),
    ("updated_at", "timestamp", "h.updated_at"),
    ("members", "members", "mm.members"),
]

HELPER_FIELDS: list[tuple[str, str, str]] = [
    ("id", "number", "hp.id"),
    ("name", "text", "hp.name"),
    ("unit", "text", "hp.unit"),
    ("title", "text", "hp.title"),
    ("phone", "masked", "hp.phone"),
]

#: Member fields in the serializer's order, over ``m`` (the member).
MEMBER_FIELDS: list[tuple[str, str, str]] = [
    ("id", "number", "m.id"),
    ("name", "text", "m.name"),
    ("id_number", "masked", "m.id_number"),
    ("sex", "choice", "m.sex"),
    ("sex_display", "label", "m.sex"),
    ("birth_date", "date", "m.birth_date"),
    ("ethnicity", "choice", "m.ethnicity"),
    ("ethnicity_display", "label", "m.ethnicity"),
    ("relationship", "choice", "m.relationship"),
    ("relationship_display", "label", "m.relationship"),
    ("education", "choice", "m.education"),
    ("education_display", "label", "m.education"),
    ("student_status", "choice", "m.student_status"),
    ("student_status_display", "label", "m.student_status"),
    ("chronic_disease", "boolean", "m.chronic_disease"),
    ("serious_illness", "boolean", "m.serious_illness"),
    ("disabled", "boolean", "m.disabled"),
    ("disability_certificate", "masked", "m.disability_certificate"),
    ("labour_ability", "choice", "m.labour_ability"),
    ("labour_ability_display", "label", "m.labour_ability"),
    ("migrant_work", "choice", "m.migrant_work"),
    ("migrant_work_display", "label", "m.migrant_work"),
    ("migrant_months", "number", "m.migrant_months"),
    ("basic_medical_insurance", "boolean", "m.basic_medical_insurance"),
    ("serious_illness_insurance", "boolean", "m.serious_illness_insurance"),
    ("pension_insurance", "boolean", "m.pension_insurance"),
    ("dibao_recipient", "boolean", "m.dibao_recipient"),
    ("tekun_recipient", "boolean", "m.tekun_recipient"),
    ("status", "choice", "m.status"),
    ("status_display", "label", "m.status"),
    ("status_date", "date", "m.status_date"),
    ("version", "number", "m.version"),
    ("updated_at", "timestamp", "m.updated_at"),
]


class SerializerMismatch(TypeError):
    """The SQL rendering no longer follows its serializer (one was changed, not both)."""


class _Sql:
    """SQL text built left to right, with its positional parameters in the same order."""

    def __init__(self):
        self.parts: list[str] = []
        self.params: list = []

    def add(self, text: str, *params) -> _Sql:
        self.parts.append(text)
        self.params.extend(params)
        return self

    def extend(self, other: _Sql) -> _Sql:
        return self.add(other.text(), *other.params)

    def text(self) -> str:
        return "".join(self.parts)


def _json_text(expression: str) -> str:
    """Return SQL for ``expression`` (text) as a JSON string, ``null`` for NULL."""
    return f"COALESCE(to_json({expression})::text, 'null')"


def _masked(column: str) -> str:
    """Return SQL for an identifier masked as ``mask_id`` masks it (4311**********123X)."""
    return (
        f"CASE WHEN length({column}) < 8 THEN repeat('*', length({column})) "
        f"ELSE left({column}, 4) || repeat('*', length({column}) - 8) || right({column}, 4) END"
    )


def _timestamp(column: str, zone: str) -> str:
    """Return SQL for a timestamp as DRF renders it: ``isoformat()`` in ``zone``, ``Z`` for UTC."""
    local = f"({column} AT TIME ZONE '{zone}')"
    offset = f"({local} - ({column} AT TIME ZONE 'UTC'))"
    return (
        f"COALESCE('\"' || replace(to_char({local}, 'YYYY-MM-DD\"T\"HH24:MI:SS.US'), '.000000', '') || "
        f"CASE WHEN {offset} = interval '0' THEN 'Z' "
        f"WHEN {offset} > interval '0' THEN '+' || to_char({offset}, 'HH24:MI') "
        f"ELSE '-' || to_char(-{offset}, 'HH24:MI') END || '\"', 'null')"
    )


def _choice_map(field) -> str:
    """Return the JSON text of each value of a choice field, as a JSON object (a parameter)."""
    if not isinstance(field, serializers.ChoiceField):
        raise SerializerMismatch(f"{field.field_name} is not a choice field")
    return json.dumps(
        {key: json.dumps(value, ensure_ascii=False) for key, value in field.choice_strings_to_values.items()},
        ensure_ascii=False,
    )


def _label_map(field) -> str:
    """Return the JSON text of each value's label in the active language, as a JSON object."""
    if not isinstance(field, ChoiceLabelField):
        raise SerializerMismatch(f"{field.field_name} is not a choice label")
    labels = {key: json.dumps(label, ensure_ascii=False) for key, label in field.labels().items()}
    return json.dumps(labels, ensure_ascii=False)


def _list_of(column: str) -> str:
    """Return SQL for a JSON list whose string items are looked up in a map (the next parameter).

    An item the map does not hold, or one that is not a string, is written as it is.
    """
    return (
        f"CASE WHEN {column} = '[]'::jsonb THEN '[]' ELSE (SELECT '[' || string_agg("  # noqa: S608 - constants
        "COALESCE(CASE WHEN jsonb_typeof(item.value) = 'string' THEN map.m ->> (item.value #>> '{}') END, "
        "item.value::text), ',' ORDER BY item.n) || ']' "
        f"FROM jsonb_array_elements({column}) WITH ORDINALITY AS item(value, n), "
        "(SELECT %s::jsonb AS m) AS map) END"
    )


def _check(serializer, fields: list[tuple[str, str, str]]) -> None:
    expected = list(serializer.fields)
    listed = [name for name, _kind, _sql in fields]
    if listed != expected:
        raise SerializerMismatch(
            f"{type(serializer).__name__} renders {expected}, the SQL rendering {listed}: update households.api.ndjson"
        )


class _Builder:
    """Builds the JSON text of one object (household, helper, member) as concatenated SQL."""

    def __init__(self, *, unmasked: bool, zone: str):
        self.unmasked = unmasked
        self.zone = zone

    def value(self, sql: _Sql, serializer, name: str, kind: str, column: str) -> None:
        field = serializer.fields[name]
        if kind == "number":
            sql.add(f"COALESCE({column}::text, 'null')")
        elif kind == "boolean":
            sql.add(f"COALESCE({column}::text, 'null')")  # true / false
        elif kind == "text":
            sql.add(_json_text(column))
        elif kind == "decimal":
            sql.add(f"COALESCE('\"' || {column}::text || '\"', 'null')")
        elif kind == "date":
            sql.add(f"COALESCE(to_json({column})::text, 'null')")
        elif kind == "timestamp":
            sql.add(_timestamp(column, self.zone))
        elif kind == "masked":
            sql.add(_json_text(column if self.unmasked else _masked(column)))
        elif kind == "choice":
            sql.add(f"COALESCE(%s::jsonb ->> {column}, {_json_text(column)})", _choice_map(field))
        elif kind == "label":
            sql.add(f"COALESCE(%s::jsonb ->> {column}, {_json_text(column)})", _label_map(field))
        elif kind == "choices":
            sql.add(_list_of(column), _choice_map(field.child))
        elif kind == "cause_labels":
            # As HouseholdSerializer.get_other_causes_display: a cause's label, else the value.
            labels = {value: json.dumps(str(label), ensure_ascii=False) for value, label in Cause.choices}
            sql.add(_list_of(column), json.dumps(labels, ensure_ascii=False))
        elif kind == "helper":
            sql.add(f"CASE WHEN {column} IS NULL THEN 'null' ELSE ")
            self.object(sql, field, HELPER_FIELDS)
            sql.add(" END")
        elif kind == "members":
            sql.add(f"COALESCE({column}, '[]')")
        else:
            raise ValueError(f"{name}: unknown kind {kind!r}")

    def object(self, sql: _Sql, serializer, fields: list[tuple[str, str, str]]) -> None:
        _check(serializer, fields)
        for index, (name, kind, column) in enumerate(fields):
            sql.add(f"'{'{' if index == 0 else ','}\"{name}\":' || ")
            self.value(sql, serializer, name, kind, column)
            sql.add(" || ")
        sql.add("'}'")


def household_json_sql(ids_sql: str, ids_params, *, unmasked: bool) -> tuple[str, list]:
    """Return a ``SELECT`` of one JSON text (``line``) per household whose id ``ids_sql`` selects, by id.

    ``ids_sql`` selects household ids (the caller's filtered, scoped list); identifiers are
    masked unless ``unmasked``; labels are in the active language, times in the current
    time zone.
    """
    zone = timezone.get_current_timezone_name()
    if not _TIME_ZONE_NAME.match(zone):
        raise ValueError(f"unexpected time zone name {zone!r}")
    builder = _Builder(unmasked=unmasked, zone=zone)
    sql = _Sql().add("SELECT ")
    builder.object(sql, HouseholdSerializer(), HOUSEHOLD_FIELDS)
    sql.add(
        f" AS line FROM {Household._meta.db_table} h "
        f"JOIN {Division._meta.db_table} v ON v.code = h.village_id "
        f"LEFT JOIN {Division._meta.db_table} t ON t.code = v.parent_id "
        f"LEFT JOIN {VillagerGroup._meta.db_table} g ON g.id = h.group_id "
        f"LEFT JOIN {Helper._meta.db_table} hp ON hp.id = h.helper_id "
        # Members as the list prefetches them (status, then id); the count of members in
        # the register and the head's name, as household_queryset() annotates them.
        "CROSS JOIN LATERAL (SELECT '[' || string_agg("
    )
    builder.object(sql, MemberSerializer(), MEMBER_FIELDS)
    sql.add(" , ',' ORDER BY m.status, m.id) || ']' AS members, ")
    sql.add("count(*) FILTER (WHERE m.status = %s) AS active, ", MemberStatus.ACTIVE.value)
    sql.add(
        "(array_agg(m.name ORDER BY m.id) FILTER (WHERE m.relationship = %s AND m.status = %s))[1] AS head_name ",
        Relationship.HEAD.value,
        MemberStatus.ACTIVE.value,
    )
    sql.add(f"FROM {Member._meta.db_table} m WHERE m.household_id = h.id) AS mm ")
    sql.add(f"WHERE h.id IN ({ids_sql}) ORDER BY h.id", *ids_params)
    return sql.text(), sql.params
