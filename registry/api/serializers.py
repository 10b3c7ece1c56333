"""Serializer bases shared by the API."""

from __future__ import annotations

from rest_framework.fields import SkipField
from rest_framework.relations import PKOnlyObject


class ListedFieldsMixin:
    """DRF's ``to_representation``, with the readable fields listed once per serializer.

    DRF walks every declared field to pick the readable ones for each object it renders;
    a list page of 50 households with their members renders some 270 objects, and that
    walk was a fifth of the page's time. The child serializer of a list lives for one
    response, so the list is made once per response.
    """

    def to_representation(self, instance):
        fields = self.__dict__.get("_listed_fields")
        if fields is None:
            fields = self.__dict__["_listed_fields"] = list(self._readable_fields)
        ret = {}
        for field in fields:
            try:
                attribute = field.get_attribute(instance)
            except SkipField:
                continue
            check_for_none = attribute.pk if isinstance(attribute, PKOnlyObject) else attribute
            ret[field.field_name] = None if check_for_none is None else field.to_representation(attribute)
        return ret
