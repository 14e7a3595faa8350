"""How typed text becomes registry text: one normaliser for every entry path.

The registration form, the API and the Excel import all reach the registry through
``households.services``, which runs every text field of a household and its members
through ``clean_text``. A 户编号 typed in full-width digits or a name with an
ideographic space is therefore stored the same way whichever path it came by, so it is
found by search and matched by the next import (DOMAIN.md §7: data entered accurately
and consistently — 不准、不一致 are the failures to find).

Free text keeps its Chinese punctuation (（，：；): only full-width digits and Latin
letters become ASCII there. Code-like fields (户编号, 证件号码, 区划代码, phones) are
fully NFKC-normalised and lose every space; phones also lose their separators.

Control characters (NUL and the rest of C0/C1) are never stored: PostgreSQL cannot hold
a NUL in text at all, and the others are invisible on the page and in the wall card.
They are a field error, not a crash (DOMAIN.md §2: "never a crash").
"""

from __future__ import annotations

import enum
import re
import unicodedata

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop


class TextKind(enum.Enum):
    TEXT = "text"  # one line of free text: spaces collapsed
    MULTILINE = "multiline"  # free text whose line breaks are content (a tab is a space)
    NAME = "name"  # a person's name: no space belongs in it ("张 三" is 张三)
    CODE = "code"  # 户编号, 证件号码, 区划代码: NFKC, no spaces
    PHONE = "phone"  # a code that also loses - and . separators


# The registry's fields whose kind is not plain one-line text, for the service and the
# Excel import alike ("household" is the 户编号 column of the members sheet).
FIELD_KINDS: dict[str, TextKind] = {
    "number": TextKind.CODE,
    "household": TextKind.CODE,
    "village": TextKind.CODE,
    "id_number": TextKind.CODE,
    "phone": TextKind.PHONE,
    "helper_phone": TextKind.PHONE,
    "name": TextKind.NAME,
    "special_notes": TextKind.MULTILINE,
}

CONTROL_CHARACTERS = gettext_noop("包含不可见的控制字符（可能是从其他系统复制时带入的），请删除后重新录入。")

# Full-width digits and Latin letters (０-９, Ａ-Ｚ, ａ-ｚ) to ASCII. Full-width
# punctuation is left alone in free text: it is how Chinese is written.
_FULL_WIDTH_ALNUM = {
    code: code - 0xFEE0
    for start, stop in ((0xFF10, 0xFF19), (0xFF21, 0xFF3A), (0xFF41, 0xFF5A))
    for code in range(start, stop + 1)
}
# Invisible characters a copy from a web page or Word brings along; not content.
_ZERO_WIDTH = re.compile("[\u200b\u200c\u200d\u2060\ufeff]")
# C0 and C1 control characters other than tab and line breaks, which are whitespace.
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
# Every horizontal space (incl. the ideographic \u3000 and no-break spaces) of one line.
_SPACES = re.compile(r"[^\S\n]+")
_ANY_SPACE = re.compile(r"\s+")
# Phone separators after NFKC (full-width －．become - and .): hyphens, dashes, dots.
_PHONE_SEPARATORS = re.compile("[-.\u2010-\u2015\u2212]")


def has_control_characters(value: str) -> bool:
    """NUL, \\x01… and the C1 block. Tabs and line breaks are whitespace, not control
    characters: kept in a multi-line field, collapsed into a space elsewhere."""
    return _CONTROL.search(value) is not None


def normalize_text(value: str, kind: TextKind = TextKind.TEXT) -> str:
    """``value`` as the registry stores it. Never raises; control characters are left in
    place for ``clean_text`` (or the caller) to refuse."""
    text = _ZERO_WIDTH.sub("", value)
    if kind in (TextKind.CODE, TextKind.PHONE):
        text = _ANY_SPACE.sub("", unicodedata.normalize("NFKC", text))
        return _PHONE_SEPARATORS.sub("", text) if kind is TextKind.PHONE else text
    text = text.translate(_FULL_WIDTH_ALNUM)
    if kind is TextKind.NAME:
        return _ANY_SPACE.sub("", text)
    if kind is TextKind.MULTILINE:
        lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
        return "\n".join(_SPACES.sub(" ", line).strip() for line in lines).strip()
    return _ANY_SPACE.sub(" ", text).strip()


def clean_text(value: str, kind: TextKind = TextKind.TEXT) -> str:
    """``normalize_text``, refusing control characters with a ValidationError whose
    message the caller puts on the field (the field's name is where it is shown)."""
    if has_control_characters(value):
        raise ValidationError(_(CONTROL_CHARACTERS), code="control_characters")
    return normalize_text(value, kind)


def kind_of(field_name: str, *, multiline: bool = False) -> TextKind:
    return FIELD_KINDS.get(field_name, TextKind.MULTILINE if multiline else TextKind.TEXT)
