"""End to end: a provincial client copies the registry over HTTP and keeps the copy current.

A plain HTTP client (``urllib``) against a live server takes a full export, loads the
other resources, then follows the change feed while another process registers, edits,
exits and removes households through the services. When the writer is done and the
feed is drained, the client's copy must equal what the registry serves.
"""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from urllib.parse import urlencode

import pytest
from django.db import connection

from demo.loader import JIANGHUA, LIAN
from registry.embedded_db import url_for

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parents[2]
#: Resources the client keeps, with the list endpoint that loads each one.
LISTS = {"member": "/api/v1/members/", "assessment": "/api/v1/assessments/", "exit_case": "/api/v1/exit-cases/"}


class Client:
    """A provincial system's client: nothing but HTTP and JSON."""

    def __init__(self, base: str, token: str):
        self.base, self.token = base, token
        self.copy: dict[str, dict[int, dict]] = {"household": {}, "member": {}, "assessment": {}, "exit_case": {}}
        self.cursor = ""
        self.requests = 0

    def _get(self, path: str, params: dict | None = None):
        url = self.base + path + (f"?{urlencode(params)}" if params else "")
        headers = {"Authorization": f"Token {self.token}", "Accept-Encoding": "gzip"}
        request = urllib.request.Request(url, headers=headers)  # noqa: S310 - our own live server
        self.requests += 1
        with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310 - our own live server
            data = response.read()
            if response.headers.get("Content-Encoding") == "gzip":
                data = gzip.decompress(data)
            return data, response.headers

    def export(self) -> dict[int, dict]:
        data, headers = self._get("/api/v1/export/households.ndjson")
        rows = [json.loads(line) for line in data.decode().splitlines()]
        return {row["id"]: row for row in rows}, headers["X-Changes-Cursor"]

    def listing(self, path: str) -> dict[int, dict]:
        rows, params = {}, {"page_size": 500}
        while True:
            data, _headers = self._get(path, params)
            body = json.loads(data)
            rows.update({row["id"]: row for row in body["results"]})
            if not body["next"]:
                return rows
            params = dict(p.split("=", 1) for p in body["next"].split("?", 1)[1].split("&"))
            params = {k: urllib.parse.unquote(v) for k, v in params.items()}

    def initial_load(self):
        self.copy["household"], self.cursor = self.export()
        for kind, path in LISTS.items():
            self.copy[kind] = self.listing(path)

    def follow(self) -> int:
        """Apply the feed from the last cursor to its end; return the number of entries applied."""
        applied = 0
        while True:
            data, _headers = self._get("/api/v1/changes/", {"after": self.cursor, "page_size": 25})
            body = json.loads(data)
            for entry in body["results"]:
                self.apply(entry)
                applied += 1
            self.cursor = body["next_cursor"]
            if not body["has_more"]:
                return applied

    def apply(self, entry: dict):
        kind, pk = entry["type"], entry["id"]
        if entry["object"] is not None:
            self.copy[kind][pk] = entry["object"]
            return
        self.copy[kind].pop(pk, None)
        if kind == "household":  # its members, assessments and exit cases go with it
            for other in ("member", "assessment", "exit_case"):
                self.copy[other] = {k: v for k, v in self.copy[other].items() if v.get("household") != pk}


def test_export_then_feed_keeps_a_remote_copy_identical_to_the_registry(demo, live_server):
    from households.models import Household
    from registry.models import ApiToken, User
    from registry.tokens import api_token_create
    from tests.factories import make_household
    from villages.models import Division

    lian = Division.objects.get(pk=LIAN)
    existing = [make_household(village=lian, status="registered", persons=2) for _ in range(5)]
    user = User.objects.get(username="api_hunan")
    _token, key = api_token_create(actor=None, user=user, name="省平台", division=Division.objects.get(pk=JIANGHUA))
    assert ApiToken.objects.count() == 1

    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "registry.settings_test",
        "DATABASE_URL": url_for(connection.settings_dict),
        "REQUIRE_POSTGRES": "1",
    }
    writer = subprocess.Popen(
        [sys.executable, "-m", "tests.api.sync_writer", *(str(h.pk) for h in existing)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    client = Client(live_server.url, key)
    try:
        client.initial_load()
        applied_while_writing = 0
        while writer.poll() is None:
            applied_while_writing += client.follow()
            time.sleep(0.05)
        _out, err = writer.communicate()
        assert writer.returncode == 0, err
        client.follow()
    finally:
        if writer.poll() is None:
            writer.kill()

    # The registry, as the same client reads it from scratch now.
    fresh = Client(live_server.url, key)
    fresh.initial_load()
    for kind in client.copy:
        assert client.copy[kind] == fresh.copy[kind], f"{kind}s differ"

    # The writer did what it says, and the client saw some of it while it happened.
    statuses = set(Household.objects.filter(village=lian).values_list("status", flat=True))
    assert {"registered", "exited", "removed", "applied", "natural_decrease"} <= statuses
    assert {h["status"] for h in client.copy["household"].values()} >= {"exited", "removed", "natural_decrease"}
    assert any(case["status"] == "certified" for case in client.copy["exit_case"].values())
    assert applied_while_writing > 0
