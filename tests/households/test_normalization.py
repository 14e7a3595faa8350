"""One normaliser for every entry path (issue 14; households/normalize.py): what alice
types on the registration page and what she puts in an Excel file are stored alike, so
the household is found by its number and its head's name, and a later import of the same
household matches it instead of clashing with a number that only looks the same.
"""

import datetime

import pytest

from households import services
from households.models import Household, Member
from households.normalize import TextKind, normalize_text
from imports.models import ImportStatus
from tests.households.conftest import edit_form_data, form_data, household_data, member_data
from tests.households.test_household_pages import listed
from tests.imports.workbooks import WANG_HEAD, household, import_file, member, start, workbook

FULL_WIDTH = {ord(c): ord(c) + 0xFEE0 for c in "0123456789"}
NUMBER = "610902101201000131"
IMPORTED = "610902101201000132"


@pytest.mark.parametrize(
    ("kind", "typed", "stored"),
    [
        (TextKind.CODE, "６１０９０２ １０１２０１\u3000０００１３１", "610902101201000131"),
        (TextKind.PHONE, "139 1234 5678", "13912345678"),
        (TextKind.PHONE, "139-1234-5678", "13912345678"),
        (TextKind.PHONE, "１３９－１２３４．５６７８", "13912345678"),
        (TextKind.NAME, "赵\u3000四", "赵四"),
        (TextKind.NAME, " 赵 四\t", "赵四"),
        (TextKind.NAME, "赵\u200b四", "赵四"),  # a zero-width space pasted from a web page
        (TextKind.TEXT, "\u3000广东省  深圳市 ", "广东省 深圳市"),
        (TextKind.TEXT, "ＡＢＣ电子厂３号（东区）", "ABC电子厂3号（东区）"),  # Chinese punctuation kept
        (TextKind.MULTILINE, " 2017年刑满释放，\r\n已在村公益岗位安置\u3000 ", "2017年刑满释放，\n已在村公益岗位安置"),
    ],
)
def test_the_normaliser(kind, typed, stored):
    assert normalize_text(typed, kind) == stored
    assert normalize_text(stored, kind) == stored  # applying it twice changes nothing


def register_on_the_page(client, user, number: str, head_name: str, **fields):
    client.force_login(user)
    post = form_data(household_data(number=number, **fields), [member_data(name=head_name)])
    response = client.post("/households/new/", post)
    assert response.status_code == 302, response.content.decode()


def test_a_full_width_number_and_an_ideographic_space_are_stored_alike_by_the_page_and_the_import(client, alice):
    register_on_the_page(client, alice, NUMBER.translate(FULL_WIDTH), "赵\u3000四")
    number = IMPORTED.translate(FULL_WIDTH)
    import_file(alice, workbook([household(number)], [member(number, "钱\u3000五", WANG_HEAD, "户主")]))

    assert sorted(Household.objects.values_list("number", flat=True)) == [NUMBER, IMPORTED]
    assert sorted(Member.objects.values_list("name", flat=True)) == ["赵四", "钱五"]
    assert listed(client, q="赵四") == [NUMBER]
    assert listed(client, q="赵　四") == [NUMBER]  # the search term goes through the normaliser too
    assert listed(client, q="钱五") == [IMPORTED]
    assert listed(client, q=NUMBER) == [NUMBER]
    assert listed(client, q=IMPORTED.translate(FULL_WIDTH)) == [IMPORTED]


def test_a_later_import_of_a_household_registered_with_full_width_digits_matches_it(client, alice):
    """It used to be refused as a duplicate of a number that looks identical."""
    register_on_the_page(client, alice, NUMBER.translate(FULL_WIDTH), "赵\u3000四")

    job = start(alice, workbook([household(NUMBER, **{"村民小组*": 7})]))

    assert (job.status, job.errors) == (ImportStatus.READY, [])
    assert job.counts["households"] == {"new": 0, "updated": 1, "unchanged": 0, "rejected": 0, "held": 0}


@pytest.mark.parametrize("typed", ["139 1234 5678", "139-1234-5678", "１３９ １２３４ ５６７８"])
def test_a_spaced_phone_is_accepted_on_the_page(client, alice, typed):
    register_on_the_page(client, alice, NUMBER, "赵四", phone=typed, helper_phone=typed)

    stored = Household.objects.get()
    assert (stored.phone, stored.helper_phone) == ("13912345678", "13912345678")


def test_a_spaced_phone_is_accepted_on_the_edit_page_and_through_the_api(client, alice, wang):
    client.force_login(alice)
    response = client.post(f"/households/{wang.pk}/edit/", edit_form_data(wang, changes={"phone": "139 1234 5678"}))
    assert response.status_code == 302
    wang.refresh_from_db()
    response = client.patch(
        f"/api/v1/households/{wang.pk}/",
        {"version": wang.version, "helper_phone": "137-0000-1111"},
        content_type="application/json",
    )
    assert response.status_code == 200, response.json()

    wang.refresh_from_db()
    assert (wang.phone, wang.helper_phone) == ("13912345678", "13700001111")


def test_a_multi_line_note_keeps_its_lines_and_tabs_are_spaces(alice, wang):
    services.household_update(
        by=alice,
        household=wang,
        data={"lost_contact": True, "special_notes": "2019年外出\t务工\r\n\r\n联系不上"},
        members=None,
        version=wang.version,
    )

    wang.refresh_from_db()
    assert wang.special_notes == "2019年外出 务工\n\n联系不上"


def test_control_characters_in_ledgers_and_transfers_are_a_field_error(alice, wang):
    control = "包含不可见的控制字符（可能是从其他系统复制时带入的），请删除后重新录入。"
    with pytest.raises(services.RegistryError) as caught:
        services.housing_appraisal_add(
            by=alice,
            household=wang,
            data={"grade": "A", "appraised_on": datetime.date(2020, 6, 1), "appraising_unit": "住建局\x00"},
        )
    assert caught.value.household == {"appraising_unit": [control]}
    son = wang.members.get(relationship="son")
    other = services.household_create(
        by=alice,
        data=household_data(number=NUMBER, phone=""),
        members=[member_data(name="赵四", id_number=WANG_HEAD)],
    )
    with pytest.raises(services.RegistryError) as caught:
        services.member_transfer(by=alice, member=son, to_household=other, relationship="grandson", reason="过继\x01")
    assert caught.value.household == {"reason": [control]}
    assert wang.housing_appraisals.count() == 0 and son.household_id == wang.pk
