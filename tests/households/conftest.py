"""Builders for the registry tests: what a cadre types, as the service's dicts and as the
page's POST, and the 王 family of village A that most stories start from.

``wang``: the 王 family of village A, registered by alice through the service (so it
has history rows): 王建国 户主 (1972), 张秀兰 配偶 (1975), 王小明 之子 (2012, in 七年级).
``liu``: 刘桂芳, alone in bob's village B, which alice must never see.

The builders are plain functions (import them); the households are fixtures.
"""

import datetime

import pytest

from households import services
from households.idnumbers import mask_id_number, mask_phone
from households.models import Household, Member, Sex
from tests.conftest import VILLAGE_A, VILLAGE_B
from tests.factories import valid_id_number

CHECK_DIGIT = "证件号码校验位错误，请核对是否录入有误。"
READ_ONLY = "市级督查账号为只读账号，不能修改数据。"


def member_data(**fields) -> dict:
    """One member as the registry service takes it: a healthy adult head with a valid ID."""
    return {
        "name": "王建国",
        "id_number": valid_id_number(birth=datetime.date(1972, 4, 11), sex=Sex.MALE),
        "relationship": "head",
        "ethnicity": "汉族",
        "political_status": "masses",
        "education": "junior",
        "schooling": "",
        "labour_skill": "ordinary",
        "work_status": "not_working",
        "work_place": "",
        "work_months": 0,
        "medical_insurance": "resident",
        "critical_illness_insurance": True,
        "family_doctor": True,
        **fields,
    }


def spouse_data(**fields) -> dict:
    return member_data(
        **{
            "name": "张秀兰",
            "id_number": valid_id_number(birth=datetime.date(1975, 3, 2), sex=Sex.FEMALE),
            "relationship": "spouse",
            "education": "primary",
            **fields,
        }
    )


def son_data(**fields) -> dict:
    return member_data(
        **{
            "name": "王小明",
            "id_number": valid_id_number(birth=datetime.date(2012, 9, 1), sex=Sex.MALE),
            "relationship": "son",
            "education": "",
            "schooling": "grade_7",
            "labour_skill": "none",
            **fields,
        }
    )


def household_data(**fields) -> dict:
    """A household of alice's village as the registry service takes it."""
    return {
        "number": "610902101201000101",
        "village": VILLAGE_A,
        "group_no": 2,
        "phone": "13812345678",
        "identification_standard": "national",
        "attribute": "general",
        "main_cause": "illness",
        "other_causes": ["lack_funds"],
        "identification_year": 2016,
        "exit_status": "not_exited",
        "exit_year": None,
        "is_relocated": False,
        "relocation_mode": "",
        "helper_name": "周帮扶",
        "helper_unit": "汉滨区扶贫局",
        "helper_phone": "13987654321",
        "lost_contact": False,
        "released_prisoner": False,
        "special_notes": "",
        **fields,
    }


def _form_value(value):
    if value is None:
        return ""
    return value


def form_data(household: dict, members: list[dict], *, initial_forms: int = 0, version: int | None = None) -> dict:
    """The POST of the create/edit page: household fields, then the ``members`` formset.

    A member dict may carry ``id`` (an existing row) and ``DELETE``; checkboxes that are
    off are left out, as a browser does. 脱贫状态 and 脱贫年度 are left out too: the page
    shows them as text, with no input (a test that sends them adds them to the POST).
    """
    post = {}
    for name, value in household.items():
        if name in services.OUTCOME_FIELDS:
            continue
        if isinstance(value, bool):
            if value:
                post[name] = "on"
        else:
            post[name] = _form_value(value)
    if version is not None:
        post["version"] = str(version)
    post.update(
        {
            "members-TOTAL_FORMS": str(len(members)),
            "members-INITIAL_FORMS": str(initial_forms),
            "members-MIN_NUM_FORMS": "0",
            "members-MAX_NUM_FORMS": "1000",
        }
    )
    for index, member in enumerate(members):
        for name, value in member.items():
            key = f"members-{index}-{name}"
            if isinstance(value, bool):
                if value:
                    post[key] = "on"
            else:
                post[key] = _form_value(value)
    return post


def edit_form_data(household: Household, *, changes: dict | None = None, members: list[dict] | None = None) -> dict:
    """The edit page's POST as the browser sends it when the user changes only ``changes``:
    the phones and ID numbers come back masked, as the page showed them."""
    household.refresh_from_db()
    data = {name: getattr(household, name) for name in services.HOUSEHOLD_FIELDS}
    data.update(
        village=household.village_id, phone=mask_phone(household.phone), helper_phone=mask_phone(household.helper_phone)
    )
    data.update(changes or {})
    rows = []
    for member in household.members.order_by("id"):
        row = {name: getattr(member, name) for name in services.MEMBER_FIELDS}
        row.update(id=member.pk, id_number=mask_id_number(member.id_number))
        rows.append(row)
    existing = len(rows)
    rows += members or []
    return form_data(data, rows, initial_forms=existing, version=household.version)


def counts() -> tuple[int, int]:
    return Household.objects.count(), Member.objects.count()


@pytest.fixture
def wang(alice) -> Household:
    """The 王 family of village A, registered by alice."""
    return services.household_create(
        by=alice, data=household_data(), members=[member_data(), spouse_data(), son_data()]
    )


@pytest.fixture
def liu(bob) -> Household:
    """刘桂芳's household in bob's village B (another town): alice must never see it."""
    return services.household_create(
        by=bob,
        data=household_data(number="610902102201000201", village=VILLAGE_B, phone="13600001111"),
        members=[
            member_data(name="刘桂芳", id_number=valid_id_number(birth=datetime.date(1968, 12, 5), sex=Sex.FEMALE))
        ],
    )
