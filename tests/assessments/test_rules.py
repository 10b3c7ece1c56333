"""Each eligibility rule on its own, with its boundaries (the standard must be exceeded)."""

from copy import deepcopy

import pytest

from assessments.eligibility import RULE_SET_VERSION, RULE_SETS, all_passed, evaluate

BASE = {
    "rule_set_version": RULE_SET_VERSION,
    "household": {"id": 1, "registry_number": "X", "village": "431129203201", "housing_grade": "B",
                  "housing_renovated": False, "drinking_water_safe": True},
    "assessment": {"id": 1, "version": 1, "year": 2018, "assessed_on": "2018-11-01", "household_size": 3,
                   "net_income": "12000.00", "per_capita_net_income": "4000.00", "food_secure": True,
                   "clothing_secure": True, "water_litres_per_person_day": 60, "water_fetch_minutes": 5,
                   "water_quality_safe": True, "education_exempt_members": []},
    "members": [
        {"id": 1, "name": "户主", "birth_date": "1970-01-01", "student_status": "not_student",
         "basic_medical_insurance": True},
        {"id": 2, "name": "小明", "birth_date": "2008-05-01", "student_status": "primary",
         "basic_medical_insurance": True},
    ],
    "standards": {"poverty_line": "3535", "water_min_litres": 35, "water_max_fetch_minutes": 30,
                  "compulsory_education_ages": [6, 15]},
}  # fmt: skip


def judge(**changes) -> dict:
    snapshot = deepcopy(BASE)
    for path, value in changes.items():
        section, key = path.split("__")
        if section == "members":
            snapshot["members"][1][key] = value
        else:
            snapshot[section][key] = value
    return {r.rule: r for r in evaluate(snapshot)}


def test_the_rule_set_names_every_rule_once():
    names = [name for name, _label, _func in RULE_SETS[RULE_SET_VERSION]]
    assert names == ["income", "food", "clothing", "water", "education", "medical", "housing"]
    assert all_passed(evaluate(BASE))


@pytest.mark.parametrize(
    ("income", "passed"), [("3535.00", False), ("3535.01", True), ("3534.99", False), ("0", False), ("-10", False)]
)
def test_income_must_exceed_the_line(income, passed):
    result = judge(assessment__per_capita_net_income=income)["income"]
    assert result.passed is passed
    assert result.values == {"per_capita_net_income": income, "poverty_line": "3535", "year": 2018}
    assert ("未超过" in result.explanation) is not passed


def test_food_and_clothing():
    assert not judge(assessment__food_secure=False)["food"].passed
    assert not judge(assessment__clothing_secure=False)["clothing"].passed


@pytest.mark.parametrize(
    ("changes", "passed"),
    [
        ({"assessment__water_litres_per_person_day": 35}, True),
        ({"assessment__water_litres_per_person_day": 34}, False),
        ({"assessment__water_fetch_minutes": 30}, True),
        ({"assessment__water_fetch_minutes": 31}, False),
        ({"assessment__water_quality_safe": False}, False),
        ({"household__drinking_water_safe": False}, False),
        ({"assessment__water_litres_per_person_day": None, "assessment__water_fetch_minutes": None}, True),
    ],
)
def test_drinking_water(changes, passed):
    assert judge(**changes)["water"].passed is passed


@pytest.mark.parametrize(
    ("birth", "status", "passed"),
    [
        ("2012-11-02", "not_student", True),  # 5 on the day: not yet of compulsory age
        ("2012-11-01", "not_student", False),  # 6 on the day
        ("2003-11-02", "not_student", False),  # still 15
        ("2002-11-01", "not_student", True),  # 16: past compulsory age
        ("2008-05-01", "junior", True),
        ("2008-05-01", "preschool", False),
    ],
)
def test_education_ages_six_to_fifteen(birth, status, passed):
    result = judge(members__birth_date=birth, members__student_status=status)["education"]
    assert result.passed is passed
    assert ("小明" in result.values["out_of_school"]) is not passed


def test_education_exemption_for_home_delivered_schooling():
    snapshot = deepcopy(BASE)
    snapshot["members"][1]["student_status"] = "not_student"
    snapshot["assessment"]["education_exempt_members"] = [2]
    assert {r.rule: r for r in evaluate(snapshot)}["education"].passed


def test_medical_insurance_for_every_member():
    result = judge(members__basic_medical_insurance=False)["medical"]
    assert not result.passed and result.values["uninsured"] == ["小明"] and "小明" in result.explanation


@pytest.mark.parametrize(
    ("grade", "renovated", "passed"),
    [("A", False, True), ("B", False, True), ("C", False, False), ("D", False, False), ("C", True, True),
     ("D", True, True), ("", False, False)],
)  # fmt: skip
def test_housing_grade_a_or_b_or_renovated(grade, renovated, passed):
    assert judge(household__housing_grade=grade, household__housing_renovated=renovated)["housing"].passed is passed


def test_explanations_are_chinese_whatever_the_active_language():
    from django.utils import translation

    with translation.override("en"):
        assert "扶贫标准" in judge(assessment__per_capita_net_income="1")["income"].explanation
