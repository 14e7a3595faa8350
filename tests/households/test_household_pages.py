"""The registry pages as the people of tests/conftest.py use them.

alice (village A) keeps the 王 and 李 households; bob (village B) keeps a "twin" of
李秀英's household that matches every search and filter alice tries, so a scoping
mistake anywhere shows up as an extra row. sue supervises the city read-only; carol
narrows her county by region.
"""

import datetime
import re
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from households import services
from households.models import (
    Household,
    HousingAppraisal,
    IncomeRecord,
    Member,
    PersonalDataAccess,
    Relationship,
    Schooling,
    Sex,
    WaterAssessment,
)
from tests.conftest import OTHER_COUNTY_VILLAGE, TOWN_A, VILLAGE_A, VILLAGE_B, household_in
from tests.factories import HouseholdFactory, MemberFactory, valid_id_number
from tests.households.conftest import (
    CHECK_DIGIT,
    READ_ONLY,
    counts,
    edit_form_data,
    form_data,
    household_data,
    member_data,
    son_data,
    spouse_data,
)
from tests.html import element, elements, text

LIST = "/households/"


def special_household(village, number, head_name):
    """低保, 因残, exited in 2019, lost contact, with an uninsured son: every filter's match."""
    household = HouseholdFactory(
        village_id=village,
        number=number,
        attribute="dibao",
        main_cause="disability",
        exit_status="exited",
        exit_year=2019,
        lost_contact=True,
        special_notes="外出务工失联",
    )
    MemberFactory(household=household, name=head_name, relationship=Relationship.HEAD)
    MemberFactory(
        household=household,
        name=f"{head_name[0]}明",
        relationship=Relationship.SON,
        birth_date=datetime.date(2001, 2, 3),
        medical_insurance="uninsured",
    )
    return household


@pytest.fixture
def li(wang):
    return special_household(VILLAGE_A, "610902101201000105", "李秀英")


@pytest.fixture
def twin(bob):
    """bob's household: same head name as alice's 李秀英, same everything."""
    return special_household(VILLAGE_B, "610902102201000105", "李秀英")


def listed(client, **params) -> list[str]:
    """户编号 of the households on the list page, in order."""
    response = client.get(LIST, params, follow=True)  # a full ID number is redirected to a token
    assert response.status_code == 200
    return [span.text for span in elements(response, "span", "font-monospace")]


# --- list, search, filters ------------------------------------------------------------------------


def test_alice_lists_only_her_villages_households(client, alice, wang, li, twin):
    client.force_login(alice)

    response = client.get(LIST)

    assert [s.text for s in elements(response, "span", "font-monospace")] == [wang.number, li.number]
    assert element(response, "span", data_testid="result-count").text == "共 2 户"
    heads = [a.text.split(" ")[0] for a in elements(response, "a", "list-group-item")]
    assert heads == ["王建国", "李秀英"]


def test_the_list_shows_each_households_size(client, alice, wang, li):
    client.force_login(alice)

    rows = [a.text for a in elements(client.get(LIST), "a", "list-group-item")]

    assert rows[0].startswith("王建国 3 人 未脱贫")
    assert rows[1].startswith("李秀英 2 人 已脱贫 失联")


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("李秀英", ["li"]),
        ("秀", ["li"]),  # part of a head's name
        ("王建国", ["wang"]),
        ("张秀兰", []),  # a spouse's name is not a head's
        ("610902101201000105", ["li"]),
        ("6109021012010001", ["wang", "li"]),  # a number's beginning
        ("610902102201000105", []),  # bob's household number
        ("6109021022", []),
    ],
)
def test_alice_searches_by_head_name_and_household_number(client, alice, wang, li, twin, query, expected):
    client.force_login(alice)
    households = {"wang": wang, "li": li}

    assert listed(client, q=query) == [households[key].number for key in expected]


def test_alice_finds_a_household_by_any_members_full_id_number(client, alice, wang, li, twin):
    son = li.members.get(relationship="son")
    client.force_login(alice)

    assert listed(client, q=son.id_number) == [li.number]
    spaced = f"{son.id_number[:6]} {son.id_number[6:14]} {son.id_number[14:]}"
    assert listed(client, q=spaced) == [li.number]


def test_alice_cannot_find_bobs_household_by_its_members_id_number(client, alice, wang, li, twin):
    client.force_login(alice)

    for member in twin.members.all():
        assert listed(client, q=member.id_number) == []


@pytest.mark.parametrize(
    "params",
    [
        {"exit_status": "exited"},
        {"attribute": "dibao"},
        {"main_cause": "disability"},
        {"special": "lost_contact"},
        {"special": "any"},
        {"uninsured": "on"},
        {"q": "李秀英", "exit_status": "exited", "attribute": "dibao", "uninsured": "on"},
    ],
    ids=lambda p: "+".join(p),
)
def test_each_filter_finds_alices_household_and_never_bobs(client, alice, wang, li, twin, params):
    client.force_login(alice)

    assert listed(client, **params) == [li.number]


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"exit_status": "not_exited"}, ["wang"]),
        ({"attribute": "general"}, ["wang"]),
        ({"special": "released_prisoner"}, []),
        ({"main_cause": "illness", "special": "lost_contact"}, []),
    ],
)
def test_filters_leave_out_what_does_not_match(client, alice, wang, li, twin, params, expected):
    households = {"wang": wang, "li": li}
    client.force_login(alice)

    assert listed(client, **params) == [households[key].number for key in expected]


@pytest.mark.parametrize(
    ("region", "expected"),
    [
        ("", ["wang", "li", "twin"]),
        (TOWN_A, ["wang", "li"]),
        (VILLAGE_A, ["wang", "li"]),
        (VILLAGE_B, ["twin"]),
        (OTHER_COUNTY_VILLAGE, []),  # outside carol's county
    ],
)
def test_carol_narrows_her_county_by_region(client, carol, wang, li, twin, region, expected):
    household_in(OTHER_COUNTY_VILLAGE)
    households = {"wang": wang, "li": li, "twin": twin}
    client.force_login(carol)

    assert listed(client, region=region) == [households[key].number for key in expected]


def test_alice_cannot_widen_her_list_to_bobs_village(client, alice, wang, li, twin):
    client.force_login(alice)

    assert listed(client, region=VILLAGE_B) == []


def test_the_htmx_search_returns_only_the_results(client, alice, wang, li, twin):
    client.force_login(alice)

    response = client.get(LIST, {"q": "李"}, headers={"HX-Request": "true"})

    assert "<form" not in response.content.decode()
    assert [s.text for s in elements(response, "span", "font-monospace")] == [li.number]


# --- bob's household is not there for alice --------------------------------------------------------


@pytest.mark.parametrize("path", ["", "edit/", "card/"])
def test_alice_gets_404_for_bobs_household_pages(client, alice, liu, path):
    client.force_login(alice)

    assert client.get(f"/households/{liu.pk}/{path}").status_code == 404


def test_alice_cannot_save_an_edit_of_bobs_household(client, alice, liu):
    client.force_login(alice)
    post = edit_form_data(liu, changes={"group_no": 9, "helper_name": "李爱丽"})

    response = client.post(f"/households/{liu.pk}/edit/", post)

    assert response.status_code == 404
    liu.refresh_from_db()
    assert (liu.group_no, liu.helper_name, liu.version) == (2, "周帮扶", 1)


@pytest.mark.parametrize(
    ("path", "post", "model"),
    [
        ("income/", {"year": 2020, "population": 1, "wage_income": "5000"}, IncomeRecord),
        ("housing/", {"grade": "A", "appraised_on": "2020-05-01", "appraising_unit": "住建局"}, HousingAppraisal),
        (
            "water/",
            {"assessed_on": "2020-05-01", "quality_ok": "on", "litres_per_person_day": "40", "round_trip_minutes": "5",
             "reliability_percent": "99"},
            WaterAssessment,
        ),
        ("reveal-phone/", {}, PersonalDataAccess),
    ],
    ids=["income", "housing", "water", "reveal-phone"],
)  # fmt: skip
def test_alice_gets_404_posting_to_bobs_household_ledgers(client, alice, liu, path, post, model):
    client.force_login(alice)

    response = client.post(f"/households/{liu.pk}/{path}", post)

    assert response.status_code == 404
    assert not model.objects.exists()


# --- sue reads, never writes -----------------------------------------------------------------------


def test_sue_sees_the_whole_citys_list_without_a_register_button(client, sue, wang, li, twin):
    client.force_login(sue)

    response = client.get(LIST)

    assert [s.text for s in elements(response, "span", "font-monospace")] == [wang.number, li.number, twin.number]
    assert elements(response, "a", data_testid="new-household") == []


def test_sue_reads_a_household_without_an_edit_button(client, sue, wang):
    client.force_login(sue)

    response = client.get(f"/households/{wang.pk}/")

    assert response.status_code == 200
    assert element(response, "h1", data_testid="household-title").text == "王建国户"
    assert elements(response, "a", data_testid="edit-household") == []
    assert "成员转移" not in text(response)


@pytest.mark.parametrize(
    ("method", "path"),
    [("get", "new/"), ("post", "new/"), ("get", "{pk}/edit/"), ("post", "{pk}/edit/"), ("post", "{pk}/income/"),
     ("post", "{pk}/housing/"), ("post", "{pk}/water/")],
)  # fmt: skip
def test_sue_is_refused_every_write_page(client, sue, wang, method, path):
    client.force_login(sue)
    before = counts(), Household.objects.get(pk=wang.pk).version

    post = edit_form_data(wang, changes={"group_no": 9}) if method == "post" else None
    response = getattr(client, method)(f"/households/{path.format(pk=wang.pk)}", post)

    assert response.status_code == 403
    assert READ_ONLY in text(response)
    assert (counts(), Household.objects.get(pk=wang.pk).version) == before
    assert not IncomeRecord.objects.exists()


# --- register a household ------------------------------------------------------------------------


def test_the_create_page_starts_with_a_head_row_in_alices_village(client, alice):
    client.force_login(alice)

    response = client.get("/households/new/")

    assert response.status_code == 200
    assert element(response, "input", name="members-TOTAL_FORMS").attrs["value"] == "1"
    selected = [option.text for option in elements(response, "option", selected="")]
    assert "户主" in selected  # the first row is for the head
    assert "西关村（610902101201）" in selected  # alice has one village: it is chosen for her
    assert [o.text for o in elements(response, "option") if o.text.startswith("柳坡村")] == []


def test_alice_registers_a_household_of_three_on_the_create_page(client, alice):
    head = member_data()
    spouse = spouse_data(has_chronic_disease=True, family_doctor=False)
    son = son_data()
    client.force_login(alice)

    response = client.post(
        "/households/new/",
        form_data(household_data(other_causes=["lack_funds", "lack_skills"]), [head, spouse, son]),
    )

    household = Household.objects.get(number="610902101201000101")
    assert response.status_code == 302
    assert response["Location"] == f"/households/{household.pk}/"
    assert (household.village_id, household.group_no, household.phone) == (VILLAGE_A, 2, "13812345678")
    assert (household.attribute, household.main_cause, household.other_causes) == (
        "general",
        "illness",
        ["lack_funds", "lack_skills"],
    )
    assert (household.helper_name, household.helper_phone, household.version) == ("周帮扶", "13987654321", 1)
    stored = {m.name: m for m in household.members.all()}
    assert set(stored) == {"王建国", "张秀兰", "王小明"}
    assert (stored["王建国"].relationship, stored["王建国"].id_number) == ("head", head["id_number"])
    assert (stored["张秀兰"].sex, stored["张秀兰"].birth_date) == ("female", datetime.date(1975, 3, 2))
    assert (stored["张秀兰"].has_chronic_disease, stored["张秀兰"].family_doctor) == (True, False)
    assert (stored["王小明"].schooling, stored["王小明"].education) == ("grade_7", "")
    assert household.history.get().history_user == alice
    page = client.get(response["Location"])
    assert "已登记户 610902101201000101。" in text(page)


def test_a_wrong_check_digit_is_shown_next_to_the_id_number_and_nothing_is_stored(client, alice):
    good = member_data()["id_number"]
    bad = good[:17] + ("1" if good[17] != "1" else "2")
    client.force_login(alice)

    response = client.post("/households/new/", form_data(household_data(), [member_data(id_number=bad), spouse_data()]))

    assert response.status_code == 400
    assert element(response, "div", data_testid="error-members-0-id_number").text == CHECK_DIGIT
    assert elements(response, "div", data_testid="error-members-1-id_number") == []
    assert element(response, "input", name="members-0-id_number").attrs["value"] == bad
    assert "is-invalid" in element(response, "input", name="members-0-id_number").classes
    assert counts() == (0, 0)


def test_a_household_error_is_shown_next_to_its_field(client, alice):
    client.force_login(alice)

    response = client.post("/households/new/", form_data(household_data(helper_phone="0915-321234"), [member_data()]))

    assert response.status_code == 400
    assert (
        element(response, "div", data_testid="error-helper_phone").text == "帮扶责任人电话应为11位手机号码（1开头）。"
    )
    assert counts() == (0, 0)


# --- edit -------------------------------------------------------------------------------------------


def test_alice_adds_a_member_and_removes_another_on_the_edit_page(client, alice, wang):
    xiaohong = member_data(
        name="王小红",
        id_number=valid_id_number(birth=datetime.date(2015, 1, 20), sex=Sex.FEMALE),
        relationship="daughter",
        education="",
        schooling="primary",
        labour_skill="none",
    )
    post = edit_form_data(wang, members=[xiaohong])
    xiaoming = wang.members.get(name="王小明")
    index = next(i for i in range(3) if post[f"members-{i}-id"] == xiaoming.pk)
    post[f"members-{index}-DELETE"] = "on"
    client.force_login(alice)

    response = client.post(f"/households/{wang.pk}/edit/", post)

    assert response.status_code == 302
    assert sorted(wang.members.values_list("name", flat=True)) == ["张秀兰", "王小红", "王建国"]
    assert not Member.objects.filter(pk=xiaoming.pk).exists()
    added = wang.members.get(name="王小红")
    assert (added.relationship, added.sex, added.schooling) == ("daughter", "female", "primary")
    wang.refresh_from_db()
    assert (wang.version, wang.phone) == (2, "13812345678")  # the masked phone sent back kept the real one


def test_the_edit_page_puts_a_members_error_on_its_row(client, alice, wang):
    post = edit_form_data(wang)
    post["members-1-relationship"] = "head"  # 张秀兰 made a second head
    client.force_login(alice)

    response = client.post(f"/households/{wang.pk}/edit/", post)

    assert response.status_code == 400
    assert element(response, "div", data_testid="error-members-1-relationship").text == "每户只能有一名户主。"
    assert wang.members.get(name="张秀兰").relationship == "spouse"


# --- 明白卡 --------------------------------------------------------------------------------------------


def test_the_card_prints_the_household_from_its_record(client, alice, wang):
    services.income_record_save(
        by=alice, household=wang, year=2019, data={"population": 3, "wage_income": Decimal("6000")}
    )
    services.income_record_save(
        by=alice,
        household=wang,
        year=2020,
        data={
            "population": 3,
            "wage_income": Decimal("9000"),
            "business_income": Decimal("3000"),
            "property_income": Decimal("200"),
            "transfer_income": Decimal("1800"),
            "business_expense": Decimal("1000"),
        },
    )
    client.force_login(alice)

    response = client.get(f"/households/{wang.pk}/card/")

    page = text(response)
    assert "户主 王建国 家庭人口 3 人" in page
    member_rows = [tr.text for tr in elements(response, "tr") if tr.text.startswith(("王", "张"))]
    assert [row.split(" ")[:2] for row in member_rows] == [["王建国", "户主"], ["张秀兰", "配偶"], ["王小明", "之子"]]
    # (9000 + 3000 + 200 + 1800 − 1000) / 3, of the latest year.
    assert re.search(r"人均纯收入 4,?333\.33 元", page)
    assert "年度 2020" in page
    assert "2,000.00" not in page and "2000.00" not in page
    html = response.content.decode()
    for member in wang.members.all():
        assert member.id_number not in html
        assert member.id_number[-4:] + "<" not in html
    assert "13812345678" not in html


# --- queries ----------------------------------------------------------------------------------------


def queries(client, url) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200
    return len(captured)


def test_the_list_costs_the_same_queries_for_5_or_40_households(client, alice):
    for _ in range(5):
        household_in(VILLAGE_A, members=2)
    client.force_login(alice)
    client.get(LIST)  # session and the like, once
    few = queries(client, LIST)

    for _ in range(35):
        household_in(VILLAGE_A, members=3)
    many = queries(client, LIST)

    assert many == few
    assert len(elements(client.get(LIST), "a", "list-group-item")) == 20


def test_the_detail_page_costs_the_same_queries_for_2_or_8_members(client, alice):
    household = household_in(VILLAGE_A, members=2)
    client.force_login(alice)
    url = f"/households/{household.pk}/"
    client.get(url)
    few = queries(client, url)

    for _ in range(6):
        MemberFactory(household=household, relationship=Relationship.SON, education="", schooling=Schooling.PRIMARY)
    many = queries(client, url)

    assert many == few
    assert len(re.findall(r'id="member-id-\d+"', client.get(url).content.decode())) == 8
