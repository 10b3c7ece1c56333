"""The synthetic province (``manage.py generate_registry``): valid, consistent, deterministic."""

import hashlib
import random
from collections import Counter
from datetime import date

import pytest
from django.core.management import call_command
from django.db import connection, transaction

from assessments.models import Assessment, ExitCase, ExitCaseStep, HelpMeasure, ReductionPlan
from demo.generate import GenerationRefused, generate_registry
from households.models import Household, Member, StatusChange
from registry.idnumber import parse_id_number
from villages.models import CountyStatus, Division, Helper, VillageStatus, WorkTeam, WorkTeamMember

AS_OF = date(2026, 11, 30)


def _digest() -> str:
    """Return a digest of what a seed decides: numbers, ID numbers, statuses, incomes."""
    digest = hashlib.sha256()
    for row in Household.objects.order_by("id").values_list("id", "registry_number", "status", "version"):
        digest.update(repr(row).encode())
    for row in Member.objects.order_by("id").values_list("id", "id_number", "name", "student_status"):
        digest.update(repr(row).encode())
    for row in Assessment.objects.order_by("id").values_list("id", "year", "per_capita_net_income", "transfers"):
        digest.update(repr(row).encode())
    for row in ExitCase.objects.order_by("id").values_list("id", "certificate_code", "rule_results", "updated_at"):
        digest.update(repr(row).encode())
    return digest.hexdigest()


def _age(birth: date, on: date) -> int:
    return on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day))


def test_same_seed_same_registry(db):
    digests = []
    for _run in range(2):
        with transaction.atomic():
            generate_registry(households=120, seed=11, as_of=AS_OF, analyze=False)
            digests.append(_digest())
            transaction.set_rollback(True)
    with transaction.atomic():
        generate_registry(households=120, seed=12, as_of=AS_OF, analyze=False)
        other = _digest()
        transaction.set_rollback(True)
    assert digests[0] == digests[1]
    assert other != digests[0]


def _new_divisions():
    villages = Household.objects.values_list("village_id", flat=True).distinct()
    return list(villages) + list({v[:6] + "000000" for v in villages})


@pytest.fixture(scope="class")
def generated(django_db_setup, django_db_blocker):
    """One generated province (300 households, seed 7), made once for the class that asks for
    it, inside a transaction rolled back after the class; each test runs in a savepoint within
    it, as usual, so what a test writes is undone after it."""
    with django_db_blocker.unblock(), transaction.atomic():
        yield generate_registry(households=300, seed=7, as_of=AS_OF, analyze=False)
        transaction.set_rollback(True)


@pytest.mark.django_db
class TestGeneratedProvince:
    def test_counts_and_shape(self, generated):
        counts = generated["counts"]
        assert counts["household"] == Household.objects.count() == 300
        assert counts["member"] == Member.objects.count()
        assert 2.5 < counts["member"] / 300 < 5
        statuses = Counter(Household.objects.values_list("status", flat=True))
        assert set(statuses) <= {"exited", "registered", "returned", "removed"}
        assert statuses["exited"] > 250
        assert Household.objects.filter(step="announced").count() == 300
        assert not Household.objects.filter(helper__isnull=True).exists()
        causes = Counter(Household.objects.values_list("main_cause", flat=True))
        assert 0.3 < causes["illness"] / 300 < 0.5
        # Every exited household's exit case is certified, with the service's eight steps.
        exited = Household.objects.filter(status="exited")
        assert ExitCase.objects.filter(household__in=exited, status="certified").count() == exited.count()
        assert ExitCaseStep.objects.count() == 8 * ExitCase.objects.count()
        # Registry numbers: the village code and a 4-digit sequence.
        for number, village in Household.objects.values_list("registry_number", "village_id")[:50]:
            assert number[:12] == village and len(number) == 16
        # Sequences are past the loaded ids: the services can add rows.
        household = Household.objects.order_by("-id").first()
        with connection.cursor() as cursor:
            cursor.execute("SELECT nextval(pg_get_serial_sequence('households_household', 'id'))")
            assert cursor.fetchone()[0] > household.pk

    def test_id_numbers_valid_unique_and_agree(self, generated):
        rows = list(Member.objects.values_list("id_number", "birth_date", "sex"))
        helpers = list(Helper.objects.filter(county_code__in=Household.objects.values("county_code")).values_list(
            "id_number", flat=True))  # fmt: skip
        numbers = [r[0] for r in rows] + helpers
        assert len(numbers) == len(set(numbers))
        for number, birth, sex in rows:
            parsed = parse_id_number(number)
            assert (parsed.birth_date, parsed.sex) == (birth, sex)

    def test_relationships_plausible(self, generated):
        rng = random.Random(1)
        for household in rng.sample(list(Household.objects.prefetch_related("members")), 60):
            members = list(household.members.all())
            heads = [m for m in members if m.relationship == "head"]
            assert len(heads) == 1
            head = heads[0]
            assert 1 <= len(members) <= 9
            for m in members:
                gap = head.birth_date.year - m.birth_date.year
                if m.relationship == "spouse":
                    assert m.sex != head.sex
                    assert abs(gap) <= 10
                if m.relationship in ("son", "daughter"):
                    assert m.sex == ("1" if m.relationship == "son" else "2")
                    assert -41 <= gap <= -19
                if m.relationship == "parent":
                    assert gap >= 20
                age = _age(m.birth_date, AS_OF)
                if age < 16:
                    assert m.labour_ability == ""
                if 16 <= age <= 65:
                    assert m.labour_ability
                if m.student_status == "not_student" and age >= 6:
                    assert m.education

    def test_rows_pass_full_clean(self, generated):
        samples = [Household, Member, StatusChange, Assessment, ExitCase, ExitCaseStep, HelpMeasure, ReductionPlan]
        samples += [Helper, WorkTeam, WorkTeamMember]
        for model in samples:
            for row in model.objects.order_by("?")[:25]:
                row.full_clean()
        for model in (VillageStatus, CountyStatus):
            for row in model.objects.filter(pk__in=Division.objects.filter(code__in=_new_divisions()).values("code")):
                row.full_clean()

    def test_exit_cases_judged_as_the_service_judges(self, generated):
        from assessments.eligibility import all_passed, build_snapshot, evaluate

        for case in ExitCase.objects.select_related("assessment__household").order_by("id")[:30]:
            snapshot = build_snapshot(case.assessment)
            assert case.snapshot == snapshot
            assert all_passed(evaluate(snapshot))
            assert [r["rule"] for r in case.rule_results] == [r.rule for r in evaluate(snapshot)]
            assert case.assessment.household_size == len(snapshot["members"])

    def test_dashboard_figures_consistent(self, generated):
        from dashboards.selectors import dashboard
        from registry.models import User

        county = Division.objects.get(code=Household.objects.values_list("county_code", flat=True)[0] + "000000")
        # The dashboard reads through a user's scope; the administrator sees the whole province.
        figures = dashboard(user=User.objects.get(username="admin"), division=county, year=2020, today=AS_OF)
        s = figures.statistics
        assert s.registered.households == s.exited.households + s.poor.households
        assert s.poor.households >= s.returned.households
        in_county = Household.objects.filter(county_code=county.code[:6]).count()
        assert s.registered.households + s.removed.households == in_county
        assert s.incidence.rural_population > s.registered.persons
        assert 0 < s.incidence.rate < 3
        assert sum(row.households for row in figures.by_cause) == s.registered.households

    def test_quality_engine_finds_little(self, generated):
        from quality.models import Finding
        from quality.services import quality_run

        quality_run(actor=None, today=AS_OF)
        fired = Counter(Finding.objects.values_list("rule", flat=True))
        assert sum(fired.values()) <= 3, fired

    def test_api_lists_the_generated_households(self, generated, api_for):
        county = Household.objects.values_list("county_code", flat=True)[0]
        expected = Household.objects.filter(county_code=county).count()
        response = api_for("api_hunan").get(f"/api/v1/households/?within={county}000000")
        assert response.status_code == 200
        body = response.json()
        numbers = [row["registry_number"] for row in body["results"]]
        assert 0 < len(numbers) <= expected
        assert all(number.startswith(county) for number in numbers)

    def test_refuses_when_households_exist(self, generated, capsys):
        with pytest.raises(GenerationRefused):
            generate_registry(households=10, seed=1, as_of=AS_OF)
        with pytest.raises(SystemExit) as exit_info:
            call_command("generate_registry", "--households", "10", "--seed", "1")
        assert exit_info.value.code == 2
        assert "already holds households" in capsys.readouterr().err


def test_refuses_in_production_without_force(db, monkeypatch):
    monkeypatch.setenv("DJANGO_DEBUG", "0")
    with pytest.raises(GenerationRefused):
        generate_registry(households=10, seed=1, as_of=AS_OF)


@pytest.mark.django_db(transaction=True)
def test_committed_load_keeps_audit_chain_and_feed(demo):
    from registry.models import AuditEntry, Change, ChangeCommit

    call_command("generate_registry", "--households", "200", "--seed", "3", "--as-of", AS_OF.isoformat())
    entry = AuditEntry.objects.get(action="registry.generate")
    assert entry.after["counts"]["household"] == 200
    call_command("verify_audit")  # exits 1 when the chain is broken
    households = Change.objects.filter(kind="household", op="c")
    assert households.count() == 200
    assert Change.objects.filter(kind="member").count() == Member.objects.count()
    assert ChangeCommit.objects.filter(txid=households.first().txid, position__isnull=False).exists()


@pytest.mark.slow
def test_ten_thousand_households(db):
    from quality.models import Finding
    from quality.services import quality_run

    summary = generate_registry(households=10_000, seed=2014, as_of=AS_OF, analyze=False)
    assert summary["counts"]["household"] == 10_000
    numbers = Member.objects.values_list("id_number", flat=True)
    assert numbers.count() == numbers.distinct().count()
    quality_run(actor=None, today=AS_OF)
    fired = Counter(Finding.objects.values_list("rule", flat=True))
    assert sum(fired.values()) <= 50, fired


def test_load_with_triggers_on_when_the_role_cannot_be_set(db, monkeypatch):
    """Without the privilege to turn triggers off, the feed triggers record the load themselves."""
    from demo import generate
    from registry.models import Change

    monkeypatch.setattr(generate, "_set_triggers_off", lambda: False)
    summary = generate_registry(households=60, seed=5, as_of=AS_OF, analyze=False)
    assert summary["triggers_off"] is False
    created = Change.objects.filter(kind="household", op="c")
    assert created.count() == 60
    assert Change.objects.filter(kind="member", op="c").count() == Member.objects.count()
