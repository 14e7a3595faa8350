"""Resident ID numbers (居民身份证号码, GB 11643) and phone numbers: parse, check, mask.

The check digit and birth date come from python-stdnum's ``cn.ric``. Its birth-place
check is deliberately not used: it requires the address code to have been valid in
the *birth* year, but a number keeps the code of the place where it was first issued,
and Ankang's counties were renumbered (6124xx → 6109xx) in 2000, so real numbers of
people born before 2000 with a new code, or after it with an old one, exist. We only
require a real province code.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from stdnum.cn import ric
from stdnum.exceptions import InvalidComponent

from households.normalize import TextKind, normalize_text

# Province-level codes of GB/T 2260 (the first two digits of an ID number).
PROVINCE_CODES = frozenset(
    ["11", "12", "13", "14", "15", "21", "22", "23", "31", "32", "33", "34", "35", "36", "37", "41", "42",
     "43", "44", "45", "46", "50", "51", "52", "53", "54", "61", "62", "63", "64", "65", "71", "81", "82"]
)  # fmt: skip
MOBILE_RE = re.compile(r"^1[3-9][0-9]{9}$")


@dataclass(frozen=True)
class ParsedId:
    number: str
    birth_date: date
    sex: str  # "male" / "female", the values of households.models.Sex


def normalize_id_number(raw: object) -> str:
    """Full-width digits and letters to ASCII, spaces removed, a trailing x upper-cased."""
    return normalize_text(str(raw or ""), TextKind.CODE).upper()


def parse_id_number(raw: object, *, today: date | None = None) -> ParsedId:
    """Check an 18-character resident ID number; raise ValidationError with a Chinese message."""
    number = normalize_id_number(raw)
    if not number:
        raise ValidationError(_("请填写证件号码。"), code="required")
    if len(number) != 18:
        raise ValidationError(_("证件号码应为18位，当前为%(n)d位。") % {"n": len(number)}, code="length")
    if not number.isascii() or not number[:17].isdigit() or not (number[17].isdigit() or number[17] == "X"):
        raise ValidationError(_("证件号码前17位必须是数字，最后一位是数字或X。"), code="format")
    if number[:2] not in PROVINCE_CODES:
        raise ValidationError(_("证件号码前两位 %(code)s 不是有效的省级行政区划代码。") % {"code": number[:2]})
    try:
        birth = ric.get_birth_date(number)
    except InvalidComponent:
        raise ValidationError(
            _("证件号码中的出生日期 %(d)s 不是有效日期。") % {"d": number[6:14]}, code="birth_date"
        ) from None
    today = today or date.today()
    if birth > today or birth.year < 1900:
        raise ValidationError(_("证件号码中的出生日期 %(d)s 不合理。") % {"d": number[6:14]}, code="birth_date")
    if ric.calc_check_digit(number) != number[17]:
        raise ValidationError(_("证件号码校验位错误，请核对是否录入有误。"), code="checksum")
    sex = "male" if int(number[16]) % 2 else "female"
    return ParsedId(number=number, birth_date=birth, sex=sex)


_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK_DIGITS = "10X98765432"


def id_number_passes(number: str, *, today: date) -> bool:
    """Whether ``parse_id_number`` accepts a stored number, without building its result
    or messages: a few microseconds, for checking every member of a region at once
    (dashboards.todo). True only when ``parse_id_number`` is sure to pass; a number
    this says False for may still pass it once normalised (a lower-case x), so callers
    confirm the rare False with ``parse_id_number``."""
    if len(number) != 18 or not number.isascii() or not number[:17].isdigit() or number[:2] not in PROVINCE_CODES:
        return False
    try:
        birth = date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        return False
    if birth > today or birth.year < 1900:
        return False
    return (
        _CHECK_DIGITS[sum(int(digit) * weight for digit, weight in zip(number[:17], _WEIGHTS, strict=True)) % 11]
        == number[17]
    )


def mask_id_number(number: str) -> str:
    """``610902********1234``: region code and last four only (DOMAIN.md §9)."""
    if not number:
        return ""
    if len(number) <= 10:
        return "*" * len(number)
    return number[:6] + "*" * (len(number) - 10) + number[-4:]


def mask_phone(number: str) -> str:
    """``138****5678``."""
    if not number:
        return ""
    if len(number) < 7:
        return "*" * len(number)
    return number[:3] + "*" * (len(number) - 7) + number[-4:]


def validate_mobile(raw: str, *, label: str) -> str:
    """An 11-digit mainland mobile number, or empty. ``label`` names the field in the message."""
    number = normalize_text(str(raw or ""), TextKind.PHONE)  # "139 1234-5678" is 13912345678
    if number and not MOBILE_RE.match(number):
        raise ValidationError(_("%(label)s应为11位手机号码（1开头）。") % {"label": label}, code="mobile")
    return number


def age_on(birth: date, day: date) -> int:
    return day.year - birth.year - ((day.month, day.day) < (birth.month, birth.day))
