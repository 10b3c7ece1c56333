"""The change feed endpoint (``GET /api/v1/changes/?after=CURSOR``) and its representations.

Each entry names the object's type, id, what happened, and the object as the caller's
list endpoint for that type shows it *now* (members nested in households; rule results
in exit cases). An object deleted, or moved out of the caller's jurisdiction, comes as
a tombstone: ``object`` is null and ``tombstone`` says why. A household tombstone takes
its members, assessments and exit cases with it.

The feed is one endpoint across the types of the apps above the base, so the base keeps the
machinery (cursors, pages, tombstones, the schema) and each app registers how its types are
shown — its list viewset — with :func:`feed_representation` from its ``AppConfig.ready()``.
Moving the endpoint up into one of those apps would have made it import its peers; importing
the viewsets here made the base import the apps. Registering inverts that: every import
points down, and an object still looks the same in the feed as in its list endpoint.
"""

from __future__ import annotations

from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from registry.api.errors import ErrorSerializer, error_body
from registry.errors import ApplicationError
from registry.feed import CURSOR_EXPIRED, INVALID_CURSOR, KINDS, Cursor, FeedPage, feed_read, snapshot
from registry.scoping import user_scope

#: The list endpoint whose representation each type of object has in the feed (registered).
VIEWSETS: dict[str, type] = {}
#: Their components in the schema.
COMPONENTS: dict[str, str] = {}
#: The schema's choice of those components, filled as they are registered (read when the schema is built).
_OBJECT_SCHEMAS: list[dict] = []
OPERATIONS = {"c": "created", "u": "updated", "d": "deleted"}

DEFAULT_PAGE_SIZE = 200
MAX_PAGE_SIZE = 1000
BAD_PAGE_SIZE = _("每页条数须为 1 到 %(max)s 之间的整数。")
BAD_TYPE = _("对象类型只能是：%(kinds)s。")


def feed_representation(kind: str, viewset: type, *, component: str) -> None:
    """Show ``kind`` objects in the feed as ``viewset``'s list does; ``component`` names it in the schema.

    Called by the app that owns the type, from its ``AppConfig.ready()``.
    """
    if kind not in KINDS:
        raise ImproperlyConfigured(f"{kind!r} is not a type of the change feed ({', '.join(KINDS)})")
    if kind not in VIEWSETS:
        _OBJECT_SCHEMAS.append({"$ref": f"#/components/schemas/{component}"})
    VIEWSETS[kind] = viewset
    COMPONENTS[kind] = component


def current_representations(request, kind: str, ids) -> dict[int, dict]:
    """Return the caller's current view of the ``kind`` objects ``ids`` (those in scope), by id.

    Uses the list endpoint's own queryset and serializer, so an object looks the same in
    the feed, the list and the export, masking included.
    """
    view = VIEWSETS[kind](request=request, format_kwarg=None, kwargs={}, action="list")
    objects = list(view.get_queryset().filter(pk__in=list(ids)))
    data = view.get_serializer(objects, many=True).data
    return {row["id"]: row for row in data}


def render_page(request, page: FeedPage) -> list[dict]:
    by_kind: dict[str, set[int]] = {}
    for row in page.rows:
        by_kind.setdefault(row.kind, set()).add(row.object_id)
    current = {kind: current_representations(request, kind, ids) for kind, ids in by_kind.items()}
    # Objects out of view: still in the registry (moved out of the jurisdiction) or deleted.
    existing = {
        kind: set(_model(kind).objects.filter(pk__in=ids - current[kind].keys()).values_list("pk", flat=True))
        for kind, ids in by_kind.items()
        if ids - current[kind].keys()
    }
    entries = []
    for row in page.rows:
        obj = current[row.kind].get(row.object_id)
        tombstone = None
        if obj is None:
            tombstone = "out_of_scope" if row.object_id in existing.get(row.kind, ()) else "deleted"
        entries.append(
            {
                "cursor": str(row.cursor),
                "type": row.kind,
                "id": row.object_id,
                "op": OPERATIONS[row.op],
                "changed_at": row.changed_at,
                "committed_at": row.committed_at,
                "object": obj,
                "tombstone": tombstone,
            }
        )
    return entries


def _model(kind: str):
    return VIEWSETS[kind].serializer_class.Meta.model


@extend_schema_field(
    {
        "oneOf": _OBJECT_SCHEMAS,
        "nullable": True,
        "description": "The object as its list endpoint shows it now; null for a tombstone.",
    }
)
class FeedObjectField(serializers.JSONField):
    pass


class ChangeSerializer(serializers.Serializer):
    cursor = serializers.CharField(help_text="Resume after this change with ?after=<cursor>.")
    type = serializers.ChoiceField(choices=KINDS)
    id = serializers.IntegerField()
    op = serializers.ChoiceField(choices=list(OPERATIONS.values()))
    changed_at = serializers.DateTimeField()
    committed_at = serializers.DateTimeField()
    object = FeedObjectField(allow_null=True)
    tombstone = serializers.ChoiceField(
        choices=["deleted", "out_of_scope"],
        allow_null=True,
        help_text="Why the object is gone for the caller: deleted, or moved out of its jurisdiction.",
    )


class FeedPageSerializer(serializers.Serializer):
    results = ChangeSerializer(many=True)
    next_cursor = serializers.CharField(help_text="Pass as ?after= on the next call (also when results is empty).")
    has_more = serializers.BooleanField(help_text="True when more changes are waiting: call again at once.")


def _page_size(raw: str | None) -> int:
    if raw in (None, ""):
        return DEFAULT_PAGE_SIZE
    if not raw.isdigit() or not 0 < int(raw) <= MAX_PAGE_SIZE:
        message = BAD_PAGE_SIZE % {"max": MAX_PAGE_SIZE}
        raise ApplicationError(message, code="invalid", fields={"page_size": [message]})
    return int(raw)


def _kinds(values: list[str]) -> tuple[str, ...]:
    if not values:
        return KINDS
    wanted = [v for value in values for v in value.split(",") if v]
    unknown = [v for v in wanted if v not in KINDS]
    if unknown or not wanted:
        message = BAD_TYPE % {"kinds": "、".join(KINDS)}
        raise ApplicationError(message, code="invalid", fields={"type": [message]})
    return tuple(dict.fromkeys(wanted))


EXAMPLE = {
    "results": [
        {
            "cursor": "1042.88311",
            "type": "household",
            "id": 5,
            "op": "updated",
            "changed_at": "2019-11-02T10:15:00+08:00",
            "committed_at": "2019-11-02T10:15:00+08:00",
            "object": {"id": 5, "registry_number": "4311292032010005", "status": "exited", "members": ["…"]},
            "tombstone": None,
        },
        {
            "cursor": "1043.88320",
            "type": "household",
            "id": 9,
            "op": "updated",
            "changed_at": "2019-11-02T10:16:00+08:00",
            "committed_at": "2019-11-02T10:16:00+08:00",
            "object": None,
            "tombstone": "out_of_scope",
        },
    ],
    "next_cursor": "1043.88320",
    "has_more": False,
}


class ChangeFeedView(APIView):
    """Every change to households, members, assessments and exit cases, in commit order (变更流)."""

    @extend_schema(
        tags=["sync"],
        summary="Change feed",
        description=(
            "Every create, update, status change and removal of households, members, assessments and "
            "exit cases in the caller's jurisdiction, in commit order. Start from the cursor of a full "
            "export (`/api/v1/export/households.ndjson`, header `X-Changes-Cursor`) or from the beginning, "
            "then call again with `after=next_cursor` — immediately while `has_more`, otherwise on your own "
            "schedule. A client that resumes from its last `next_cursor` never misses or repeats a change. "
            "Each entry carries the object as it is now (so several entries of one object show the same "
            "state); apply them in order, replacing your copy, and drop objects whose entry is a tombstone "
            "(a household's tombstone removes its members, assessments and exit cases too). Old "
            "changes are pruned after a retention period: a cursor from before it is answered with 410 "
            "`cursor_expired`, and the client starts again from a new export."
        ),
        parameters=[
            OpenApiParameter(
                "after",
                str,
                description="Cursor to resume after (`<position>.<change>` or `<position>`); empty: from the start.",
                examples=[OpenApiExample("resume", value="1042.88311")],
            ),
            OpenApiParameter(
                "type",
                str,
                many=True,
                enum=list(KINDS),
                description="Only these object types (repeat or separate with commas).",
            ),
            OpenApiParameter(
                "page_size", int, description=f"Changes per call (1–{MAX_PAGE_SIZE}, default {DEFAULT_PAGE_SIZE})."
            ),
        ],
        responses={
            200: FeedPageSerializer,
            400: ErrorSerializer,
            401: ErrorSerializer,
            403: ErrorSerializer,
            410: ErrorSerializer,
            429: ErrorSerializer,
        },
        examples=[
            OpenApiExample("Page", value=EXAMPLE, response_only=True, status_codes=["200"]),
            OpenApiExample(
                "Cursor before the pruned horizon",
                value=error_body("cursor_expired", CURSOR_EXPIRED % {"position": 1000}),
                response_only=True,
                status_codes=["410"],
            ),
            OpenApiExample(
                "Bad cursor",
                value=error_body("invalid", INVALID_CURSOR, {"after": [str(INVALID_CURSOR)]}),
                response_only=True,
                status_codes=["400"],
            ),
        ],
    )
    def get(self, request):
        after = Cursor.parse(request.query_params.get("after"))
        size = _page_size(request.query_params.get("page_size"))
        kinds = _kinds(request.query_params.getlist("type"))
        with snapshot():
            page = feed_read(scope=user_scope(request.user), after=after, limit=size, kinds=kinds)
            entries = render_page(request, page)
        body = {"results": entries, "next_cursor": str(page.next_cursor), "has_more": page.has_more}
        return Response(FeedPageSerializer(body).data)
