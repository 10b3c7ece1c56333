"""Filter fields shared by the filtersets of every app."""

from datetime import timezone

import django_filters
from django.core.exceptions import ValidationError
from django_filters.fields import IsoDateTimeField


class UTCIsoDateTimeField(IsoDateTimeField):
    """An ISO 8601 date-time, returned in UTC.

    Any offset ISO 8601 allows is accepted (PostgreSQL refuses one beyond ±15:59), and a
    time whose UTC falls outside the years 1–9999 is a form error, never an overflow.
    """

    def to_python(self, value):
        value = super().to_python(value)
        if value is None:
            return None
        try:
            return value.astimezone(timezone.utc)
        except OverflowError:
            raise ValidationError(self.error_messages["invalid"], code="invalid") from None


class UTCIsoDateTimeFilter(django_filters.IsoDateTimeFilter):
    """An ISO 8601 date-time filter (``updated_since``) compared in UTC."""

    field_class = UTCIsoDateTimeField
