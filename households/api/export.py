"""Bulk export of households with their members (全量导出), streamed from one snapshot.

``GET /api/v1/export/households.ndjson`` (one household per line, members nested) and
``GET /api/v1/export/households.csv`` (one line per member, household columns first)
stream the caller's whole jurisdiction in constant memory: households are read in
primary-key chunks inside one repeatable-read transaction, so the file is one consistent
snapshot however long it takes, and the ``X-Changes-Cursor`` header is the change-feed
cursor of that snapshot — follow ``/api/v1/changes/?after=<it>`` to stay current. Each
household looks exactly as in ``/api/v1/households/`` (masking included; an export with
full numbers, by a token with the personal-data scope, is written to the personal-data
access log once, with its filters and household count). ``gzip`` is used when the
request accepts it.

NDJSON is rendered by PostgreSQL (:mod:`households.api.ndjson`, one ``SELECT`` read
through a server-side cursor): a province of a million households is too much to render
field by field in Python. CSV still goes through the serializer, a chunk at a time.

It lives with the households it serves (it is their serializers, filters and SQL rendering);
its URLs are in ``households.api.urls``, under ``/api/v1/``.
"""

from __future__ import annotations

import csv
import io
import json
import re
import zlib
from collections.abc import Iterator

import psycopg2.extensions
from django.core.exceptions import EmptyResultSet
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection
from django.http import StreamingHttpResponse
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.views import APIView

from households.api.ndjson import household_json_sql
from households.api.serializers import HouseholdSerializer, MemberSerializer
from households.api.views import HOUSEHOLD_FILTERS, HouseholdViewSet
from households.models import Household
from households.privacy import loggable_filters, pii_export_record, stop_gathering
from registry.api.errors import ErrorSerializer
from registry.feed import head_cursor, snapshot
from registry.roles import user_can_see_pii
from registry.scoping import scope_queryset
from registry.tabular import safe_cell

#: Households read (and rendered) per query for CSV: bounded memory whatever the jurisdiction's size.
CHUNK_SIZE = 500
#: NDJSON lines fetched from the server-side cursor at a time (some 4.5 kB each), sent as one piece.
FETCH_ROWS = 1000
#: Bytes gathered before a piece is sent (fewer, larger writes to the socket).
FLUSH_BYTES = 256 * 1024
_NUMBER = re.compile(r"^-?\d+(\.\d+)?$")


def household_columns() -> list[str]:
    return [name for name in HouseholdSerializer().fields if name != "members"]


def member_columns() -> list[str]:
    return [f"member_{name}" for name in MemberSerializer().fields]


class SnapshotExport:
    """An iterable of bytes read from one repeatable-read snapshot; closing it ends the snapshot.

    The snapshot opens in :meth:`open` (inside the view, so the cursor can go in a header)
    and closes when the response is closed, whether the client read everything or not.
    """

    def __init__(self, request, *, fmt: str, gzip: bool):
        self.request = request
        self.fmt = fmt
        self.gzip = gzip
        self._snapshot = None
        self.cursor = None
        self.query = None

    def open(self):
        if self.fmt == "ndjson":
            # Built now, in the request's language and time zone, though read while streaming.
            self.query = household_json_sql(*self.id_query(), unmasked=user_can_see_pii(self.request.user))
        self._snapshot = snapshot()
        self._snapshot.__enter__()
        self.cursor = head_cursor()
        return self

    def close(self, error: BaseException | None = None):
        """End the snapshot (with the error that ended the stream, if any); idempotent."""
        if self._snapshot is not None:
            current, self._snapshot = self._snapshot, None
            if error is None:
                current.__exit__(None, None, None)
            else:
                current.__exit__(type(error), error, error.__traceback__)

    def __iter__(self) -> Iterator[bytes]:
        pieces = self._ndjson() if self.fmt == "ndjson" else self._csv()
        try:
            yield from (self._gzipped(pieces) if self.gzip else self._batched(pieces))
        except BaseException as error:  # a failed query, or the client went away (GeneratorExit)
            pieces.close()  # the server-side cursor first, inside the snapshot
            self.close(error)
            raise
        self.close()

    # Reading ------------------------------------------------------------------------------

    def id_query(self) -> tuple[str, list]:
        """Return the SQL (and parameters) of the ids of the caller's filtered, scoped households."""
        view = HouseholdViewSet(request=self.request, format_kwarg=None, kwargs={}, action="list")
        ids = view.filter_queryset(scope_queryset(Household.objects.all(), self.request.user))
        try:
            return ids.order_by().values("pk").query.sql_with_params()
        except EmptyResultSet:  # a filter that can match nothing (an impossible division, say)
            return "SELECT NULL::bigint WHERE FALSE", []

    def households(self) -> Iterator[dict]:
        """Yield the households of the caller's (filtered) list, rendered by the serializer (CSV), in id order."""
        view = HouseholdViewSet(request=self.request, format_kwarg=None, kwargs={}, action="list")
        queryset = view.filter_queryset(view.get_queryset()).order_by("pk")
        # The ids of a chunk come from a plain index range scan; the annotated query (head's
        # name, member count) then runs for those ids only, never over the whole table.
        ids = view.filter_queryset(scope_queryset(Household.objects.all(), self.request.user)).order_by("pk")
        last = 0
        while True:
            chunk_ids = list(ids.filter(pk__gt=last).values_list("pk", flat=True)[:CHUNK_SIZE])
            if not chunk_ids:
                return
            chunk = list(queryset.filter(pk__in=chunk_ids))
            yield from view.get_serializer(chunk, many=True).data
            last = chunk_ids[-1]

    # Formats ------------------------------------------------------------------------------

    def _ndjson(self) -> Iterator[bytes]:
        """Yield the lines of the households, rendered by PostgreSQL, ``FETCH_ROWS`` at a time."""
        sql, params = self.query
        cursor = connection.chunked_cursor()  # a server-side cursor: one query, read in pieces
        try:
            # The lines as the server's bytes (UTF-8): nothing decoded only to be encoded again.
            psycopg2.extensions.register_type(psycopg2.extensions.BYTES, cursor.cursor)
            cursor.execute(sql, params)
            while rows := cursor.fetchmany(FETCH_ROWS):
                yield b"\n".join([*(row[0] for row in rows), b""])
        finally:
            cursor.close()

    def _csv(self) -> Iterator[bytes]:
        household_names = household_columns()
        member_names = [name.removeprefix("member_") for name in member_columns()]
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow([*household_names, *member_columns()])
        for household in self.households():
            head = [_cell(household.get(name)) for name in household_names]
            for member in household["members"]:
                writer.writerow([*head, *(_cell(member.get(name)) for name in member_names)])
            if buffer.tell() > FLUSH_BYTES:
                yield buffer.getvalue().encode()
                buffer.seek(0)
                buffer.truncate()
        yield buffer.getvalue().encode()

    # Encoding -----------------------------------------------------------------------------

    @staticmethod
    def _batched(pieces: Iterator[bytes]) -> Iterator[bytes]:
        batch, size = [], 0
        for piece in pieces:
            batch.append(piece)
            size += len(piece)
            if size >= FLUSH_BYTES:
                yield b"".join(batch)
                batch, size = [], 0
        if batch:
            yield b"".join(batch)

    @classmethod
    def _gzipped(cls, pieces: Iterator[bytes]) -> Iterator[bytes]:
        compressor = zlib.compressobj(6, zlib.DEFLATED, 31)  # 31: a gzip header
        for data in cls._batched(pieces):
            compressed = compressor.compress(data)
            if compressed:
                yield compressed
        yield compressor.flush()


def _cell(value) -> str:
    """Return ``value`` as CSV text: nested values as JSON, text safe from spreadsheet formulas."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, (list, dict)):
        return json.dumps(value, ensure_ascii=False, cls=DjangoJSONEncoder)
    text = str(value)
    return text if _NUMBER.match(text) else safe_cell(text)


def _accepts_gzip(request) -> bool:
    accepted = request.headers.get("Accept-Encoding", "")
    for part in accepted.split(","):
        name, _sep, params = part.strip().partition(";")
        if name.strip().lower() == "gzip":
            return params.replace(" ", "") not in ("q=0", "q=0.0", "q=0.00", "q=0.000")
    return False


CONTENT_TYPES = {"ndjson": "application/x-ndjson; charset=utf-8", "csv": "text/csv; charset=utf-8"}

EXPORT_HEADERS = [
    OpenApiParameter(
        "X-Changes-Cursor",
        str,
        OpenApiParameter.HEADER,
        response=True,
        description="Change-feed cursor of the snapshot: continue with /api/v1/changes/?after=<this>.",
    ),
]


class FirstRendererNegotiation(BaseContentNegotiation):
    """Answer errors in JSON whatever ``Accept`` asks for (the export itself is not rendered by DRF)."""

    def select_parser(self, request, parsers):
        return parsers[0]

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type


class HouseholdExportView(APIView):
    """Every household of the caller's jurisdiction with its members, streamed (全量导出)."""

    fmt = "ndjson"
    content_negotiation_class = FirstRendererNegotiation

    @extend_schema(
        tags=["sync"],
        summary="Bulk export of households with members",
        description=(
            "Streams every household the caller may see (optionally narrowed with the household list's "
            "filters), in id order, from one consistent snapshot; NDJSON has one household per line with "
            "its members nested, CSV one line per member with the household's columns first. The "
            "`X-Changes-Cursor` header is the change-feed cursor of that snapshot. Send "
            "`Accept-Encoding: gzip` for a compressed stream."
        ),
        parameters=[*(p for p in HOUSEHOLD_FILTERS if p.name not in ("page_size", "cursor")), *EXPORT_HEADERS],
        responses={
            (200, "application/x-ndjson"): OpenApiResponse(
                OpenApiTypes.STR,
                description="One JSON household (as in /api/v1/households/) per line.",
                examples=[
                    OpenApiExample(
                        "NDJSON",
                        value='{"id":5,"registry_number":"4311292032010005","status":"registered","members":[…]}\n',
                    )
                ],
            ),
            (200, "text/csv"): OpenApiResponse(OpenApiTypes.STR, description="One line per member."),
            (400, "application/json"): ErrorSerializer,
            (401, "application/json"): ErrorSerializer,
            (403, "application/json"): ErrorSerializer,
            (429, "application/json"): ErrorSerializer,
        },
    )
    def get(self, request):
        # Filters are checked before the stream starts, so bad input is a clean 400.
        view = HouseholdViewSet(request=request, format_kwarg=None, kwargs={}, action="list")
        view.filter_queryset(view.get_queryset())
        if user_can_see_pii(request.user):
            _log_unmasked_export(request, view, self.fmt)
        gzip = _accepts_gzip(request)
        export = SnapshotExport(request, fmt=self.fmt, gzip=gzip).open()
        response = StreamingHttpResponse(export, content_type=CONTENT_TYPES[self.fmt])
        stamp = timezone.localtime().strftime("%Y%m%d-%H%M%S")
        response["Content-Disposition"] = f'attachment; filename="households-{stamp}.{self.fmt}"'
        response["X-Changes-Cursor"] = str(export.cursor)
        response["Cache-Control"] = "no-store"
        response["Vary"] = "Accept-Encoding, Authorization, Cookie"
        if gzip:
            response["Content-Encoding"] = "gzip"
        return response


def _log_unmasked_export(request, view, fmt: str) -> None:
    """Write one access-log row for an export with full numbers: its filters and household count.

    The rows are then not gathered one by one (a whole province would be millions of ids).
    """
    token = request.user._api_token
    stop_gathering(request)
    pii_export_record(
        actor=request.user,
        households=view.filter_queryset(scope_queryset(Household.objects.all(), request.user)),
        filters={**loggable_filters(request.query_params), "format": fmt, "path": request.path},
        reason=token.name,
        token=token,
    )


class HouseholdCsvExportView(HouseholdExportView):
    fmt = "csv"
