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

    def labels(self, language: str | None = None) -> dict:
        """Return the labels of the choices in ``language`` (default: the active one), keyed by value."""
        if language is None:
            language = get_language() or ""
        labels = self._labels.get(language)
        if labels is None:
            labels = self._labels[language] = {key: str(label) for key, label in self._choices}
        return labels

    def to_representation(self, value):
        # The language is read once per rendering (a serializer tree lives for one
        # response): asking the thread-local for it per field cost a list page ~10 % of
        # its time.
        root = self.root
        language = getattr(root, "_label_language", None)
        if language is None:
            language = root._label_language = get_language() or ""
        return self.labels(language).get(value, value)
