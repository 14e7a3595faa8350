"""Resident ID numbers (GB 11643) as a cadre types them, and how they are shown masked.

Check digits here are computed by the test's own GB 11643 routine (and the standard's
own example 11010519491231002X), not by the library the application uses.
"""

import datetime

import pytest
from django.core.exceptions import ValidationError
from hypothesis import given
from hypothesis import strategies as st

from households import services
from households.idnumbers import id_number_passes, mask_id_number, mask_phone, normalize_id_number, parse_id_number
from households.models import Member
from tests.households.conftest import household_data, member_data

TODAY = datetime.date(2026, 11, 26)
# The worked example printed in GB 11643-1999: Beijing 东城区, born 1949-12-31, a woman.
STANDARD_EXAMPLE = "11010519491231002X"


def gb11643(body: str) -> str:
    """The 18th character for a 17-digit body: weights 2^(17-i) mod 11, 10 written X."""
    total = sum(int(digit) * pow(2, 17 - i, 11) for i, digit in enumerate(body))
    return "0123456789X"[(12 - total % 11) % 11]


def id_number(body: str) -> str:
    return body + gb11643(body)


def wrong_check_digit(number: str) -> str:
    return number[:17] + ("1" if number[17] != "1" else "2")


def message_of(raw, today=TODAY) -> str:
    with pytest.raises(ValidationError) as caught:
        parse_id_number(raw, today=today)
    return caught.value.messages[0]


# --- valid numbers -----------------------------------------------------------------


def test_it_derives_birth_date_and_sex_from_the_standards_own_example():
    parsed = parse_id_number(STANDARD_EXAMPLE, today=TODAY)

    assert parsed.number == STANDARD_EXAMPLE
    assert parsed.birth_date == datetime.date(1949, 12, 31)
    assert parsed.sex == "female"  # sequence 002: even


def test_it_accepts_a_pre_2000_ankang_code():
    # 612401 was 安康县 before Ankang's counties were renumbered 6109xx in 2000; people
    # registered then keep that number for life.
    number = id_number("61240119650708123")

    parsed = parse_id_number(number, today=TODAY)

    assert (parsed.number, parsed.birth_date, parsed.sex) == (number, datetime.date(1965, 7, 8), "male")


def test_it_accepts_a_new_hanbin_code():
    number = id_number("61090219900315246")

    parsed = parse_id_number(number, today=TODAY)

    assert (parsed.birth_date, parsed.sex) == (datetime.date(1990, 3, 15), "female")


def test_it_accepts_someone_born_today():
    number = id_number("610902" + TODAY.strftime("%Y%m%d") + "001")

    assert parse_id_number(number, today=TODAY).birth_date == TODAY


# --- typing mistakes ---------------------------------------------------------------


def test_it_names_the_check_digit_when_one_digit_is_mistyped():
    message = message_of(wrong_check_digit(id_number("61090219900315246")))

    assert "校验位" in message
    assert message == "证件号码校验位错误，请核对是否录入有误。"


def test_it_refuses_february_31st():
    message = message_of(id_number("61090219800231123"))

    assert message == "证件号码中的出生日期 19800231 不是有效日期。"


def test_it_refuses_a_birth_date_in_the_future():
    tomorrow = TODAY + datetime.timedelta(days=1)

    message = message_of(id_number("610902" + tomorrow.strftime("%Y%m%d") + "001"))

    assert message == f"证件号码中的出生日期 {tomorrow:%Y%m%d} 不合理。"


def test_it_refuses_a_birth_year_before_1900():
    assert message_of(id_number("61090218991231001")) == "证件号码中的出生日期 18991231 不合理。"


@pytest.mark.parametrize(
    ("raw", "length"),
    [(STANDARD_EXAMPLE[:17], 17), (STANDARD_EXAMPLE + "1", 19), ("6109021980", 10)],
)
def test_it_says_how_many_characters_were_typed(raw, length):
    assert message_of(raw) == f"证件号码应为18位，当前为{length}位。"


@pytest.mark.parametrize("raw", ["61090219800A171234", "6109021980051712X4", "61090219800517123Y"])
def test_it_refuses_letters_other_than_a_final_x(raw):
    assert message_of(raw) == "证件号码前17位必须是数字，最后一位是数字或X。"


def test_it_refuses_an_unknown_province():
    assert message_of(id_number("99090219800517123")) == "证件号码前两位 99 不是有效的省级行政区划代码。"


def test_it_asks_for_a_number_when_empty():
    assert message_of("  ") == "请填写证件号码。"


# --- clean-up of what was typed ------------------------------------------------------


def test_it_accepts_a_lowercase_x_and_keeps_it_uppercase():
    parsed = parse_id_number(STANDARD_EXAMPLE.lower(), today=TODAY)

    assert parsed.number == "11010519491231002X"


def test_it_turns_full_width_digits_and_spaces_into_the_plain_number():
    # What an IME in full-width mode produces, with the spaces people put between parts.
    raw = "１１０１０５ １９４９１２３１　００２ｘ"

    assert normalize_id_number(raw) == STANDARD_EXAMPLE
    assert parse_id_number(raw, today=TODAY).number == STANDARD_EXAMPLE


def test_it_stores_a_lowercase_x_typed_into_the_registry_in_uppercase(alice):
    services.household_create(
        by=alice,
        data=household_data(),
        members=[member_data(name="陈淑华", id_number=" " + STANDARD_EXAMPLE.lower() + " ")],
    )

    member = Member.objects.get(name="陈淑华")
    assert member.id_number == "11010519491231002X"
    assert (member.birth_date, member.sex) == (datetime.date(1949, 12, 31), "female")


# --- masking (DOMAIN.md §9) ----------------------------------------------------------------


def test_it_masks_an_id_number_to_region_code_and_last_four():
    assert mask_id_number("610902198005171234") == "610902********1234"
    assert mask_id_number(STANDARD_EXAMPLE) == "110105********002X"


def test_it_masks_a_mobile_number_to_first_three_and_last_four():
    assert mask_phone("13812345678") == "138****5678"


def test_it_masks_nothing_into_nothing():
    assert (mask_id_number(""), mask_phone("")) == ("", "")


# --- the quick check of stored numbers (dashboards.todo) ----------------------------------------

_TODAY = datetime.date(2026, 12, 7)


def _verdict(number: str) -> bool:
    try:
        parse_id_number(number, today=_TODAY)
    except ValidationError:
        return False
    return True


@given(
    st.one_of(
        # Valid numbers, then each disturbed: a digit, the check digit, the date, the length.
        st.builds(
            lambda region, day, serial: region + day.strftime("%Y%m%d") + f"{serial:03d}",
            st.sampled_from(["610902", "110101", "990000", "000000", "6109O2"]),
            st.dates(datetime.date(1890, 1, 1), datetime.date(2030, 12, 31)),
            st.integers(0, 999),
        ).flatmap(lambda body: st.sampled_from([body + c for c in "0123456789Xx"])),
        st.text(alphabet="0123456789Xx ", min_size=15, max_size=19),
    )
)
def test_the_quick_check_never_passes_a_number_the_full_check_refuses(number):
    if id_number_passes(number, today=_TODAY):
        assert _verdict(number), number
    elif number == number.upper() and number.strip() == number and _verdict(number):
        raise AssertionError(f"{number}: the full check passes a normalised number the quick one refuses")
