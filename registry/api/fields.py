"""Serializer fields shared by the API."""

from __future__ import annotations

from django.utils.translation import get_language
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers


@extend_schema_field(OpenApiTypes.STR)
class ChoiceLabelField(serializers.Field):
    """The label of a choice field (``status`` → "已脱贫"), in the request's language.

    What ``source="get_status_display"`` gives, at a fraction of the cost: Django's
    ``get_FOO_display`` rebuilds (and hashes) the choices on every call, which dominated
    the time of a bulk export. Labels are computed once per field and language.
    ``source`` names the choice field, through relations if need be (``household.status``);
    a serializer that is not a model serializer passes the ``choices``.
    """

    def __init__(self, *, choices=None, **kwargs):
        kwargs["read_only"] = True
        super().__init__(**kwargs)
        self._labels: dict[str, dict] = {}
        self._choices = choices

    def bind(self, field_name, parent):
        super().bind(field_name, parent)
        if self._choices is not None:
            return
        model = getattr(getattr(parent, "Meta", None), "model", None)
        field = None
        for attr in self.source_attrs:
            if model is None:
                break
            field = model._meta.get_field(attr)
            model = field.related_model
        if field is None or not field.choices:
            raise TypeError(f"{type(parent).__name__}.{field_name}: {self.source!r} is not a choice field")
        self._choices = field.flatchoices

    def labels(self) -> dict:
        """Return the labels of the choices in the active language, keyed by value."""
        language = get_language() or ""
        labels = self._labels.get(language)
        if labels is None:
            labels = self._labels[language] = {key: str(label) for key, label in self._choices}
        return labels

    def to_representation(self, value):
        return self.labels().get(value, value)
