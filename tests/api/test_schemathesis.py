"""Schemathesis over the whole OpenAPI schema against a live server (issue 5).

Every operation of ``/api/schema/`` is exercised by a user who may write (``admin``, who
sees every record) and by a read-only API client (``api_hunan``), with the checks: no
server error (5xx), a documented status code, a documented content type, the documented
response headers, and a body valid against the documented schema. Each ``{id}`` of a
path is a real record this test creates through the services, so requests get past the
404 to the views' validation and the services' rules.

Bounded for CI (about three and a half minutes on the 2-core machine): each run has a
time budget (``--max-time``) in which the examples and coverage phases run once and
fuzzing repeats until the budget is spent; schemathesis gives coverage at most half of
it, and the admin's coverage takes about 60 s. At most ``--max-examples`` cases per
operation and round; a request times out after 10 s and the subprocess after its budget
plus a margin. A failure prints schemathesis's report: each failing request with the
``curl`` command that reproduces it.
"""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

import pytest
from django.contrib.staticfiles.handlers import StaticFilesHandler
from django.core.servers.basehttp import WSGIServer
from django.test.testcases import LiveServerThread, QuietWSGIRequestHandler

pytestmark = pytest.mark.slow

CHECKS = [
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_headers_conformance",
    "response_schema_conformance",
]
#: Who runs, with what: (username, token may write, phases, examples per operation and round,
#: time budget in s).
RUNS = [
    ("admin", True, "examples,coverage,fuzzing", 20, 150),
    ("api_hunan", False, "examples,fuzzing", 10, 40),
]


def api_token(username: str, *, can_write: bool) -> str:
    """Return a new API token for the demo user ``username``.

    The one place this test makes a token: keep it in step with how tokens are issued.
    """
    from registry.models import ApiToken, User
    from registry.tokens import api_token_create

    user = User.objects.get(username=username)
    _token, key = api_token_create(
        actor=None, user=user, name="schemathesis", kind=ApiToken.Kind.MACHINE, can_write=can_write
    )
    return key


def build_records() -> dict[str, str | int]:
    """Create, through the real services, a record behind every ``{id}`` of the API.

    Return the path parameter to use for each collection (a division code, else an id).
    """
    from assessments.area_exits import county_exit_apply, village_exit_propose
    from assessments.exit_cases import exit_case_propose, exit_objection_raise
    from assessments.monitoring import monitoring_flag_raise
    from assessments.parameters import parameter_set
    from assessments.plans import reduction_plan_create
    from demo.loader import JIANGHUA, LIAN
    from households.models import Household
    from households.services import objection_raise
    from quality.models import Finding
    from quality.services import quality_run
    from registry.models import User
    from tests.assessments.test_county_exit import setup_guidong
    from tests.assessments.test_village_exit import CHECKLIST
    from tests.factories import advance, exit_through, make_applied, make_assessed
    from tests.pages.test_area_exits import poverty_village
    from villages.models import Division, WorkTeam

    users = {u.username: u for u in User.objects.all()}
    divisions = {d.code: d for d in Division.objects.all()}
    today = date.today()

    def propose():
        household, _assessment = make_assessed(village=divisions[LIAN])
        actor = users["team_lian"]
        return exit_case_propose(actor=actor, household=household, year=2018, on_date=today - timedelta(days=21))

    applied = make_applied(village=divisions[LIAN], on_date=today - timedelta(days=31))
    in_notice = advance(applied, until="open_village_notice")
    objection = objection_raise(actor=users["team_lian"], household=in_notice, objector="匿名", content="有商品房")
    exit_case = propose()
    in_exit_notice = exit_through(propose(), users, until="open_notice")
    exit_objection = exit_objection_raise(
        actor=users["team_lian"], case=in_exit_notice, objector="匿名", content="有车"
    )
    # A household exited in 2018, still in Hunan's transition period today, under monitoring.
    parameter_set(actor=None, key="transition_years", value=today.year - 2018, scope_code="430000000000")
    exited = exit_through(propose(), users).household
    flag = monitoring_flag_raise(
        actor=users["team_lian"],
        household=Household.objects.get(pk=exited.pk),
        kind="sudden",
        reason="户主突发重病，住院费用远超家庭收入",
        event="重大疾病",
        on_date=today - timedelta(days=12),
    )
    village = poverty_village(divisions)
    village_case = village_exit_propose(
        actor=users["township_daxi"], village=village, year=2019, checklist=CHECKLIST, on_date=today - timedelta(10)
    )
    guidong = setup_guidong(users, divisions)
    county_official = guidong.people["county_guidong"]
    county_case = county_exit_apply(
        actor=county_official, county=guidong.county, year=2017, on_date=today - timedelta(10)
    )
    plan = reduction_plan_create(
        actor=county_official, county=guidong.county, year=2017, persons_to_exit=4, villages_to_exit=1
    )
    quality_run(actor=None, division=divisions[LIAN])  # the households above have no helper: findings
    return {
        "divisions": LIAN,
        "counties": JIANGHUA,
        "villages": LIAN,
        "work-teams": WorkTeam.objects.get(village_id=LIAN).pk,
        "households": in_notice.pk,
        "members": in_notice.members.order_by("pk").first().pk,
        "objections": objection.pk,
        "assessments": exit_case.assessment_id,
        "exit-cases": exit_case.pk,
        "exit-objections": exit_objection.pk,
        "village-exit-cases": village_case.pk,
        "county-exit-cases": county_case.pk,
        "plans": plan.pk,
        "monitoring-flags": flag.pk,
        "quality/findings": Finding.objects.filter(division_code=LIAN).earliest("pk").pk,
    }


def write_config(path: Path, records: dict[str, str | int]) -> Path:
    """Write a ``schemathesis.toml`` that sends the record of ``records`` as each path's parameter."""
    lines = ["[cache]", "enabled = false", ""]
    for collection, value in records.items():
        name = "code" if collection in ("divisions", "counties", "villages") else "id"
        lines += [
            "[[operations]]",
            f'include-path-regex = "^/api/v1/{collection}/\\\\{{{name}\\\\}}/"',
            f'parameters = {{ "path.{name}" = "{value}" }}',
            "",
        ]
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def schemathesis(*, url: str, config: Path, token: str, phases: str, examples: int, budget: int):
    """Run the schemathesis CLI; return its exit status and its report."""
    command = [
        sys.executable,
        "-m",
        "schemathesis.cli",
        "--config-file",
        str(config),
        "run",
        url,
        "--header",
        f"Authorization: Token {token}",
        "--checks",
        ",".join(CHECKS),
        "--phases",
        phases,
        "--max-examples",
        str(examples),
        "--max-time",
        str(budget),
        "--request-timeout",
        "10",
        # One worker: with two, hypothesis's lambda-source cache can fail in a thread race
        # ("AST constructor recursion depth mismatch"), an error of the tool, not of the API.
        "--workers",
        "1",
        "--generation-database",
        "none",
        "--no-color",
    ]
    env = {**os.environ, "COLUMNS": "120"}
    result = subprocess.run(
        command, cwd=config.parent, env=env, capture_output=True, text=True, timeout=budget + 120, check=False
    )
    return result.returncode, result.stdout + result.stderr


class OneConnectionServerThread(LiveServerThread):
    """A live server that answers one request at a time over one kept database connection.

    Django's threaded live server opens a database connection for every request, which
    makes this test about three times slower.
    """

    def _create_server(self, connections_override=None):
        return WSGIServer((self.host, self.port), QuietWSGIRequestHandler, allow_reuse_address=False)


@pytest.fixture
def server_url(transactional_db):
    """Serve the test database over HTTP and return the base URL."""
    thread = OneConnectionServerThread("127.0.0.1", StaticFilesHandler)
    thread.daemon = True
    thread.start()
    thread.is_ready.wait()
    if thread.error:
        raise thread.error
    yield f"http://127.0.0.1:{thread.port}"
    thread.terminate()


@pytest.fixture
def records(demo):
    """The demo data, the default parameters and a record behind every ``{id}`` (committed)."""
    return build_records()


def test_schemathesis_finds_no_server_error_and_nothing_undocumented(server_url, records, tmp_path):
    config = write_config(tmp_path / "schemathesis.toml", records)
    problems = []
    for username, can_write, phases, examples, budget in RUNS:
        status, report = schemathesis(
            url=f"{server_url}/api/schema/?format=json",
            config=config,
            token=api_token(username, can_write=can_write),
            phases=phases,
            examples=examples,
            budget=budget,
        )
        print(f"---- schemathesis as {username} ----\n{report}")  # shown with -rP
        assert "Tested: 0" not in report and "Tested:" in report, report
        if status:
            problems.append(f"---- schemathesis as {username} ----\n{report}")
    assert not problems, "\n".join(problems)
