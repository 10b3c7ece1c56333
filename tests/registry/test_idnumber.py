"""Resident ID numbers (GB 11643): property-based and example tests."""

from datetime import date, timedelta

import pytest
from django.core.exceptions import ValidationError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from registry.idnumber import (
    ID_BAD_BIRTH_DATE,
    ID_BAD_CHARACTERS,
    ID_BAD_CHECK_DIGIT,
    ID_WRONG_LENGTH,
    WEIGHTS,
    check_char,
    parse_id_number,
    parse_id_numbers,
    upgrade_15,
)

areas = st.from_regex(r"[1-6]\d{5}", fullmatch=True)
births = st.dates(min_value=date(1900, 1, 1), max_value=date.today() - timedelta(days=1))
sequences = st.integers(min_value=0, max_value=999)

#: The properties are about ID numbers, not speed: a busy machine (the suite beside a
#: benchmark) must not fail them on Hypothesis's generation-time health check.
settings.register_profile("registry", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("registry")


def build(area: str, birth: date, sequence: int) -> str:
    first17 = f"{area}{birth:%Y%m%d}{sequence:03d}"
    return first17 + check_char(first17)


def message_of(value: str) -> str:
    with pytest.raises(ValidationError) as info:
        parse_id_number(value)
    return info.value.messages[0]


def test_the_standards_example_is_valid():
    parsed = parse_id_number("11010519491231002X")
    assert (parsed.birth_date, parsed.sex) == (date(1949, 12, 31), "2")


@given(areas, births, sequences)
def test_every_well_formed_number_parses_with_its_birth_date_and_sex(area, birth, sequence):
    parsed = parse_id_number(build(area, birth, sequence))
    assert parsed.birth_date == birth
    assert parsed.sex == ("1" if sequence % 2 else "2")


@given(areas, births, sequences, st.integers(min_value=0, max_value=16), st.integers(min_value=1, max_value=9))
def test_any_single_digit_change_is_caught(area, birth, sequence, position, delta):
    number = build(area, birth, sequence)
    digit = (int(number[position]) + delta) % 10
    changed = number[:position] + str(digit) + number[position + 1 :]
    with pytest.raises(ValidationError):
        parse_id_number(changed)


@given(areas, births, sequences)
def test_lower_case_x_and_spaces_are_normalised(area, birth, sequence):
    number = build(area, birth, sequence)
    assert parse_id_number(f" {number.lower()} ").number == number


@given(areas, st.dates(min_value=date(1900, 1, 1), max_value=date(1999, 12, 31)), sequences)
def test_fifteen_digit_numbers_upgrade(area, birth, sequence):
    old = f"{area}{birth:%y%m%d}{sequence:03d}"
    upgraded = upgrade_15(old)
    assert upgraded == build(area, birth, sequence)
    assert parse_id_number(old).number == upgraded


@given(st.text(alphabet="0123456789X", min_size=0, max_size=30).filter(lambda s: len(s) not in (15, 18)))
def test_wrong_lengths_are_refused(value):
    assert message_of(value) == str(ID_WRONG_LENGTH)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("11010519491231002Y", ID_BAD_CHARACTERS),
        ("1101051949123100X2", ID_BAD_CHARACTERS),
        ("110105194913310025", ID_BAD_BIRTH_DATE),
        ("110105194902300027", ID_BAD_BIRTH_DATE),
        ("110105299912310023", ID_BAD_BIRTH_DATE),
        ("110105194912310021", ID_BAD_CHECK_DIGIT),
    ],
)
def test_each_defect_has_its_chinese_message(value, message):
    assert message_of(value) == str(message)


@given(st.from_regex(r"\d{17}", fullmatch=True))
def test_the_check_character_is_the_weighted_sum_of_the_standard(first17):
    assert check_char(first17) == "10X98765432"[sum(int(d) * w for d, w in zip(first17, WEIGHTS, strict=True)) % 11]


@given(areas, births, sequences, st.sampled_from(["", "x", "lower", "15", "date", "check", "short", "letter", "wide"]))
def test_parsing_many_gives_what_parsing_each_gives(area, birth, sequence, damage):
    number = build(area, birth, sequence)
    value = {
        "": number,
        "x": number[:17] + "x",
        "lower": f"  {number.lower()} ",
        "15": number[:6] + number[8:17],
        "date": number[:10] + "13" + number[12:],
        "check": number[:17] + ("0" if number[17] != "0" else "1"),
        "short": number[:16],
        "letter": "A" + number[1:],
        "wide": number.translate(str.maketrans("0123456789", "０１２３４５６７８９")),
    }[damage]
    [many] = parse_id_numbers([value])
    try:
        one = parse_id_number(value)
    except ValidationError as error:
        assert many == error.messages[0]
    else:
        assert many == (one.number, one.birth_date, one.sex)
