"""Exclusion checks (不评清单) and the department cross-check import."""

import io
from datetime import date, timedelta

import pytest
from openpyxl import Workbook

from households import errors
from households.choices import MemberEventKind
from households.crosscheck import crosscheck_import
from households.exclusions import RULES, PersonRef, mask_id, run_exclusion_checks, run_exclusion_checks_many
from households.models import CrossCheckEntry, CrossCheckImport, Household
from households.services import household_apply, member_leave
from households.workflow import household_transition
from registry.errors import PERMISSION_DENIED, ApplicationError
from tests.factories import IDENTIFICATION_PATH, advance, household_data, make_applied, member_data

LIAN = "431129203201"


def csv_bytes(rows, encoding="utf-8", header="身份证号,类别,说明"):
    return ("\n".join([header, *[",".join(r) for r in rows]]) + "\n").encode(encoding)


def import_list(users, rows, **kwargs):
    data = csv_bytes(rows, **kwargs)
    return crosscheck_import(actor=users["county_jianghua"], data=data, filename="list.csv", source="县公安局")


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gbk", "gb18030"])
def test_crosscheck_csv_in_every_encoding(users, encoding):
    person = member_data()["id_number"]
    batch = import_list(
        users, [[person, "车辆", "湘M·12345"], [person.lower(), "public_employee", ""]], encoding=encoding
    )
    assert batch.row_count == 2
    assert set(batch.entries.values_list("category", flat=True)) == {"vehicle", "public_employee"}
    assert batch.scope_code == "431129000000"


def test_crosscheck_xlsx(users):
    book = Workbook()
    sheet = book.active
    sheet.append(["id_number", "category"])
    sheet.append([member_data()["id_number"], "死亡"])
    buffer = io.BytesIO()
    book.save(buffer)
    batch = crosscheck_import(
        actor=users["county_jianghua"], data=buffer.getvalue(), filename="死亡.xlsx", source="公安"
    )
    assert batch.entries.get().category == "death"


def test_bad_crosscheck_file_names_every_bad_row_and_writes_nothing(users):
    good = member_data()["id_number"]
    before = (CrossCheckImport.objects.count(), CrossCheckEntry.objects.count())
    with pytest.raises(ApplicationError) as info:
        import_list(users, [[good, "车辆", ""], ["123", "车辆", ""], [good, "飞机", ""]])
    assert info.value.fields["rows"][0].startswith("第 3 行 身份证号")
    assert info.value.fields["rows"][1].startswith("第 4 行 类别")
    assert (CrossCheckImport.objects.count(), CrossCheckEntry.objects.count()) == before
    with pytest.raises(ApplicationError) as info:
        import_list(users, [[good, "车辆"]], header="号码,种类")
    assert str(info.value) == str(errors.CROSSCHECK_BAD_HEADER)
    with pytest.raises(ApplicationError):
        crosscheck_import(actor=users["county_jianghua"], data=b"\xff\xfe\x00garbage", filename="x.xlsx", source="x")


def test_only_county_officials_import_lists(users):
    with pytest.raises(ApplicationError) as info:
        crosscheck_import(actor=users["team_lian"], data=csv_bytes([]), filename="x.csv", source="x")
    assert str(info.value) == str(PERMISSION_DENIED)


@pytest.mark.parametrize(
    ("category", "rule"),
    [
        ("public_employee", "public_employee"),
        ("village_cadre", "village_cadre"),
        ("vehicle", "vehicle"),
        ("commercial_housing", "commercial_housing"),
        ("business", "business"),
        ("death", "deceased"),
    ],
)
def test_each_listed_category_refuses_the_application_with_an_explanation(users, divisions, category, rule):
    head, wife = member_data(name="赵大"), member_data(name="钱二", relationship="spouse", sex="2")
    import_list(users, [[wife["id_number"], category, ""]])
    with pytest.raises(ApplicationError) as info:
        household_apply(
            actor=users["team_lian"], village=divisions[LIAN], household=household_data(), members=[head, wife]
        )
    assert info.value.code == "exclusion"
    [explanation] = info.value.fields["exclusions"]
    assert "钱二" in explanation and mask_id(wife["id_number"]) in explanation and "县公安局" in explanation
    assert wife["id_number"] not in explanation
    assert rule in RULES


def test_county_approval_rechecks_against_lists_imported_later(users, divisions):
    household = make_applied(village=divisions[LIAN], on_date=date.today() - timedelta(days=31))
    household = advance(household, until="close_township_notice")
    import_list(users, [[household.members.first().id_number, "business", "个体工商户"]])
    with pytest.raises(ApplicationError) as info:
        household_transition(
            actor=users["county_jianghua"],
            household=household,
            action="county_approve",
            on_date=date.today() - timedelta(days=dict(IDENTIFICATION_PATH)["county_approve"]),
        )
    assert info.value.code == "exclusion"
    assert Household.objects.get(pk=household.pk).status == "in_notice"


def test_rules_are_configurable(users, divisions, settings):
    member = member_data()
    import_list(users, [[member["id_number"], "vehicle", ""]])
    settings.REGISTRY_EXCLUSION_RULES = ["public_employee"]
    household = household_apply(
        actor=users["team_lian"], village=divisions[LIAN], household=household_data(), members=[member]
    )
    assert household.status == "applied"


def test_split_household_is_flagged(users, divisions):
    original = make_applied(village=divisions[LIAN], persons=3)
    son = original.members.exclude(relationship="head").first()
    member_leave(actor=users["team_lian"], member=son, kind=MemberEventKind.MOVE_OUT, event_date=date.today())
    again = member_data(name=son.name, birth=son.birth_date.strftime("%Y%m%d")) | {"id_number": son.id_number}
    with pytest.raises(ApplicationError) as info:
        household_apply(actor=users["team_lian"], village=divisions[LIAN], household=household_data(), members=[again])
    assert "疑为分户" in info.value.fields["exclusions"][0]


def test_the_set_based_checks_find_what_the_per_household_checks_find(users, divisions):
    original = make_applied(village=divisions[LIAN], persons=3)
    son = original.members.exclude(relationship="head").first()
    member_leave(actor=users["team_lian"], member=son, kind=MemberEventKind.MOVE_OUT, event_date=date.today())
    people = [PersonRef(name=f"成员{i}", id_number=member_data()["id_number"]) for i in range(8)]
    people.append(PersonRef(name=son.name, id_number=son.id_number))
    categories = ["public_employee", "village_cadre", "vehicle", "commercial_housing", "business", "death"]
    import_list(users, [[p.id_number, c, ""] for p, c in zip(people, categories, strict=False)])
    crosscheck_import(
        actor=users["county_jianghua"],
        data=csv_bytes([[people[0].id_number, "public_employee", ""], [people[6].id_number, "vehicle", ""]]),
        filename="later.csv",
        source="县人社局",
    )

    def found(hits):
        return sorted((h.rule, h.id_number, h.explanation) for h in hits)

    expected = found(run_exclusion_checks(people))
    assert {rule for rule, _id, _text in expected} == set(RULES)  # every rule hits someone
    assert found(run_exclusion_checks_many(people)) == expected
