"""The data rules of DOMAIN.md §2, each through household_create as alice registers a
household: what she may enter, and for what she gets a Chinese message on the right
field (or member row) with nothing written.
"""

import datetime

import pytest
from django.utils import timezone

from households import services
from households.models import Household, Member, Sex
from households.services import RegistryError
from tests.conftest import TOWN_A, VILLAGE_B
from tests.factories import valid_id_number
from tests.households.conftest import counts, household_data, member_data, son_data, spouse_data


def register(user, data=None, members=None) -> Household:
    return services.household_create(
        by=user, data=household_data(**(data or {})), members=members if members is not None else [member_data()]
    )


def refused(user, data=None, members=None) -> RegistryError:
    """The error of a refused registration, after checking that nothing was written."""
    before = counts(), Household.history.count(), Member.history.count()
    with pytest.raises(RegistryError) as caught:
        register(user, data, members)
    assert (counts(), Household.history.count(), Member.history.count()) == before
    return caught.value


def born_years_ago(years: int, *, days_later: int = 0) -> datetime.date:
    """The birth date of someone who turns ``years`` today (or ``days_later`` days after)."""
    today = timezone.localdate()
    try:
        birthday = today.replace(year=today.year - years)
    except ValueError:  # 29 February
        birthday = today.replace(year=today.year - years, day=28)
    return birthday + datetime.timedelta(days=days_later)


def adult_without_labour(birth: datetime.date, **fields) -> dict:
    return member_data(
        **{
            "name": "王建军",
            "id_number": valid_id_number(birth=birth, sex=Sex.MALE),
            "relationship": "sibling",
            "labour_skill": "none",
            **fields,
        }
    )


# --- 户主 and 配偶 -----------------------------------------------------------------------


def test_it_registers_a_household_with_exactly_one_head(alice):
    household = register(alice, members=[member_data(), spouse_data(), son_data()])

    assert household.members.get(relationship="head").name == "王建国"
    assert household.members.count() == 3


def test_it_refuses_a_household_without_a_head(alice):
    error = refused(alice, members=[spouse_data()])

    assert error.household == {"members": ["每户必须有且只有一名户主，当前没有户主。"]}
    assert error.members == {}
    assert error.messages() == ["家庭成员：每户必须有且只有一名户主，当前没有户主。"]


def test_it_puts_a_second_head_on_that_members_relationship(alice):
    error = refused(alice, members=[member_data(), member_data(name="王建民")])

    assert error.members == {1: {"relationship": ["每户只能有一名户主。"]}}
    assert error.household == {}
    assert error.messages() == ["第2个成员 与户主关系：每户只能有一名户主。"]


def test_it_refuses_a_second_spouse(alice):
    error = refused(alice, members=[member_data(), spouse_data(), spouse_data(name="李春梅")])

    assert error.members == {2: {"relationship": ["每户最多只能有一名配偶。"]}}


# --- 文化程度 XOR 在校生状况 -----------------------------------------------------------------

XOR = "文化程度与在校生状况必须且只能填写一项：在校生填在校生状况，其他人填文化程度。"


def test_it_takes_schooling_for_a_pupil_and_education_for_an_adult(alice):
    household = register(alice, members=[member_data(), son_data()])

    son = household.members.get(name="王小明")
    assert (son.education, son.schooling) == ("", "grade_7")
    assert household.members.get(name="王建国").education == "junior"


def test_it_refuses_both_education_and_schooling(alice):
    error = refused(alice, members=[member_data(), son_data(education="primary")])

    assert error.members == {1: {"schooling": [XOR]}}


def test_it_refuses_neither_education_nor_schooling(alice):
    error = refused(alice, members=[member_data(), son_data(schooling="")])

    assert error.members == {1: {"education": [XOR]}}


# --- 务工地点 iff 务工月数 > 0; 0–12 months -------------------------------------------------------


def test_it_stores_work_away_with_place_and_months(alice):
    household = register(
        alice,
        members=[member_data(work_status="out_of_province", work_place="江苏省苏州市", work_months=12)],
    )

    head = household.members.get()
    assert (head.work_place, head.work_months) == ("江苏省苏州市", 12)


def test_it_asks_for_the_work_place_when_months_are_given(alice):
    error = refused(alice, members=[member_data(work_status="in_county", work_months=6, work_place="")])

    assert error.members == {0: {"work_place": ["务工月数大于0时必须填写务工地点。"]}}


def test_it_asks_for_months_when_a_work_place_is_given(alice):
    error = refused(alice, members=[member_data(work_status="in_county", work_months=0, work_place="恒口镇")])

    assert error.members == {0: {"work_months": ["填写了务工地点时，务工月数应大于0。"]}}


@pytest.mark.parametrize("months", [13, -1])
def test_it_refuses_months_outside_a_year(alice, months):
    error = refused(alice, members=[member_data(work_status="in_county", work_months=months, work_place="恒口镇")])

    assert error.members[0]["work_months"][0] == "务工月数应在0到12之间。"


# --- a healthy 16–59-year-old not in school is not 无劳动力 -------------------------------------

NO_LABOUR = "16至59周岁、身体健康且不在校的成员不能登记为无劳动力。"


@pytest.mark.parametrize(
    "age",
    [(16, 0), (30, 0), (60, 1)],
    ids=["16 today", "30", "59, 60 tomorrow"],
)
def test_it_refuses_a_healthy_working_age_adult_without_labour(alice, age):
    years, days_later = age  # (turns ``years`` in ``days_later`` days), reckoned on the day the test runs
    error = refused(alice, members=[member_data(), adult_without_labour(born_years_ago(years, days_later=days_later))])

    assert error.members == {1: {"labour_skill": [NO_LABOUR]}}


@pytest.mark.parametrize(
    ("age", "fields"),
    [
        ((16, 1), {}),
        ((60, 0), {}),
        ((40, 0), {"has_chronic_disease": True}),
        ((40, 0), {"is_disabled": True, "disability_category": "肢体", "disability_grade": 2}),
        ((20, 0), {"education": "", "schooling": "bachelor"}),
    ],
    ids=["15, 16 tomorrow", "60 today", "chronic illness", "disabled", "at university"],
)
def test_it_allows_no_labour_for_children_elders_the_ill_and_students(alice, age, fields):
    years, days_later = age
    member = adult_without_labour(born_years_ago(years, days_later=days_later), **fields)
    household = register(alice, members=[member_data(), member])

    assert household.members.get(name="王建军").labour_skill == "none"


# --- phones -------------------------------------------------------------------------------


def test_it_stores_a_mobile_typed_with_full_width_digits_and_spaces(alice):
    household = register(alice, {"phone": "１３８ １２３４ ５６７８", "helper_phone": ""})

    assert (household.phone, household.helper_phone) == ("13812345678", "")


@pytest.mark.parametrize("phone", ["1381234567", "138123456789", "0915-3212345", "23812345678"])
def test_it_names_the_household_phone_when_it_is_not_a_mobile(alice, phone):
    error = refused(alice, {"phone": phone})

    assert error.household == {"phone": ["联系电话应为11位手机号码（1开头）。"]}


def test_it_names_the_helpers_phone_when_it_is_not_a_mobile(alice):
    error = refused(alice, {"helper_phone": "0915321234"})

    assert error.household == {"helper_phone": ["帮扶责任人电话应为11位手机号码（1开头）。"]}
    assert error.messages() == ["帮扶责任人电话：帮扶责任人电话应为11位手机号码（1开头）。"]


# --- relocation -------------------------------------------------------------------------------


def test_it_stores_the_relocation_mode_of_a_relocated_household(alice):
    household = register(alice, {"is_relocated": True, "relocation_mode": "centralised"})

    assert (household.is_relocated, household.relocation_mode) == (True, "centralised")


def test_it_asks_a_relocated_household_for_its_mode(alice):
    error = refused(alice, {"is_relocated": True, "relocation_mode": ""})

    assert error.household == {"relocation_mode": ["易地扶贫搬迁户必须选择搬迁方式。"]}


def test_it_drops_a_mode_left_selected_on_a_household_that_did_not_relocate(alice):
    household = register(alice, {"is_relocated": False, "relocation_mode": "scattered"})

    household.refresh_from_db()
    assert household.relocation_mode == ""


# --- exit year --------------------------------------------------------------------------------
# 脱贫状态 and 脱贫年度 are the exit workflow's (DOMAIN.md §4); test_exit_outcome.py has the
# refusals on every path. What is left for the registry: the identification year.


def test_it_registers_a_household_sent_as_not_exited(alice):
    household = register(alice, {"exit_status": "not_exited", "exit_year": None})

    household.refresh_from_db()
    assert (household.exit_status, household.exit_year) == ("not_exited", None)


@pytest.mark.parametrize("identification_year", [2019, 2020])
def test_it_refuses_an_identification_year_in_or_after_the_exit_year(alice, identification_year):
    household = register(alice, {"identification_year": 2016})
    # An exit recorded by the workflow (test setup, not a registry path).
    Household.objects.filter(pk=household.pk).update(exit_status="exited", exit_year=2019)
    household.refresh_from_db()

    with pytest.raises(RegistryError) as caught:
        services.household_update(
            by=alice,
            household=household,
            data={"identification_year": identification_year},
            members=None,
            version=household.version,
        )

    assert caught.value.household == {"identification_year": ["识别年度必须早于该户的脱贫年度（2019年）。"]}
    household.refresh_from_db()
    assert household.identification_year == 2016


def test_it_refuses_an_identification_year_before_the_registry(alice):
    this_year = timezone.localdate().year

    error = refused(alice, {"identification_year": 2012})

    assert error.household == {"identification_year": [f"识别年度应在2013年至{this_year}年之间。"]}


# --- causes -----------------------------------------------------------------------------------


def test_it_stores_other_causes_once_each(alice):
    household = register(alice, {"main_cause": "illness", "other_causes": ["lack_funds", "lack_skills", "lack_funds"]})

    household.refresh_from_db()
    assert household.other_causes == ["lack_funds", "lack_skills"]


def test_it_refuses_the_main_cause_again_among_the_other_causes(alice):
    error = refused(alice, {"main_cause": "illness", "other_causes": ["lack_funds", "illness"]})

    assert error.household == {"other_causes": ["其他致贫原因不能与主要致贫原因重复。"]}


# --- special situations -------------------------------------------------------------------------


def test_it_stores_a_lost_contact_household_with_its_explanation(alice):
    household = register(alice, {"lost_contact": True, "special_notes": "2019年外出务工后失联，已报派出所协查。"})

    assert household.lost_contact is True
    assert household.special_notes == "2019年外出务工后失联，已报派出所协查。"


@pytest.mark.parametrize("flag", ["lost_contact", "released_prisoner"])
@pytest.mark.parametrize("notes", ["", "   "])
def test_it_asks_a_special_situation_for_an_explanation(alice, flag, notes):
    error = refused(alice, {flag: True, "special_notes": notes})

    assert error.household == {"special_notes": ["标记为失联人员或刑满释放人员时，请填写特殊情况说明。"]}


# --- where, and which number ---------------------------------------------------------------------


def test_it_refuses_a_village_outside_alices_scope(alice):
    error = refused(alice, {"village": VILLAGE_B})

    assert error.household == {"village": ["所选村不在您的管辖范围内。"]}


def test_it_refuses_a_town_as_the_village(tom):
    error = refused(tom, {"village": TOWN_A})

    assert error.household == {"village": ["所属村必须是村或社区一级的区划。"]}


def test_it_lets_the_town_official_register_in_any_village_of_his_town(tom):
    household = register(tom, {"village": "610902101202"})

    assert household.village_id == "610902101202"


def test_it_refuses_a_household_number_already_registered(alice, wang):
    error = refused(alice, {"number": " 610902101201000101 "})

    assert error.household == {"number": ["户编号 610902101201000101 已存在，不能重复登记。"]}


def test_it_reports_every_problem_of_a_submission_at_once(alice):
    error = refused(
        alice,
        {"phone": "12345", "is_relocated": True, "relocation_mode": ""},
        [spouse_data(schooling="grade_9")],
    )

    assert set(error.household) == {"phone", "relocation_mode", "members"}
    assert error.members == {0: {"schooling": [XOR]}}
