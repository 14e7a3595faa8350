"""The 变更记录 panel of a household's page: who changed what, old → new, in the words
of the form (DOMAIN.md §9). alice registered the 王 family; tom, the town official,
corrected it.
"""

import re

import pytest

from households import services
from tests.households.conftest import edit_form_data, household_data, member_data
from tests.html import elements


def history_lines(client, household) -> list[str]:
    """The panel's entries, newest first, each as its visible text."""
    body = client.get(f"/households/{household.pk}/").content.decode()
    section = re.search(r"<section[^>]*history-panel.*?</section>", body, re.S)
    assert section, "no 变更记录 panel on the page"
    return [li.text for li in elements(section.group(0), "li", "list-group-item")]


def lines_starting(lines, start) -> list[str]:
    return [line for line in lines if line.startswith(start)]


def member_rows(household, **changes_by_name) -> list[dict]:
    return [
        {name: getattr(m, name) for name in services.MEMBER_FIELDS} | {"id": m.pk} | changes_by_name.get(m.name, {})
        for m in household.members.all()
    ]


@pytest.fixture
def corrected(tom, wang):
    """tom moves the 王 household to group 3, corrects its cause, records its relocation
    and 张秀兰's six months of work in 恒口镇."""
    services.household_update(
        by=tom,
        household=wang,
        data={"group_no": 3, "main_cause": "schooling", "is_relocated": True, "relocation_mode": "centralised"},
        members=member_rows(wang, 张秀兰={"work_status": "in_county", "work_place": "恒口镇", "work_months": 6}),
        version=wang.version,
    )
    return wang


def test_it_shows_who_registered_the_household_and_each_member(client, alice, wang):
    client.force_login(alice)

    lines = history_lines(client, wang)

    assert len(lines) == 4
    assert len(lines_starting(lines, "创建 · 李爱丽")) == 1
    for name in ("王建国", "张秀兰", "王小明"):
        assert len(lines_starting(lines, f"创建 家庭成员 {name} · 李爱丽")) == 1


def test_it_shows_the_editor_and_each_household_change_old_to_new(client, alice, corrected):
    client.force_login(alice)

    lines = history_lines(client, corrected)

    [edit] = lines_starting(lines, "修改 · 张涛")
    assert "村民小组 2 → 3" in edit
    assert "主要致贫原因 因病 → 因学" in edit
    assert "易地扶贫搬迁户 否 → 是" in edit
    assert "搬迁方式 — → 集中安置" in edit
    assert "联系电话" not in edit  # unchanged fields are not listed
    assert "版本" not in edit


def test_it_labels_a_member_change_with_the_members_name(client, alice, corrected):
    client.force_login(alice)

    lines = history_lines(client, corrected)

    [edit] = lines_starting(lines, "修改 家庭成员 张秀兰 · 张涛")
    assert "务工状况 未务工 → 乡（镇）外县内务工" in edit
    assert "务工地点 — → 恒口镇" in edit
    assert "务工月数 0 → 6" in edit
    # Members whose data did not change get no line, though the edit saved them too.
    assert lines_starting(lines, "修改 家庭成员 王建国") == []
    assert lines_starting(lines, "修改 家庭成员 王小明") == []


def test_it_lists_the_newest_change_first(client, alice, corrected):
    client.force_login(alice)

    lines = history_lines(client, corrected)

    actions = [line.split(" ", 1)[0] for line in lines]
    assert actions == ["修改", "修改", "创建", "创建", "创建", "创建"]


def test_an_edit_on_the_page_is_recorded_under_the_person_signed_in(client, alice, wang):
    client.force_login(alice)

    response = client.post(f"/households/{wang.pk}/edit/", edit_form_data(wang, changes={"group_no": 4}))

    assert response.status_code == 302
    [edit] = lines_starting(history_lines(client, wang), "修改 · 李爱丽")
    assert "村民小组 2 → 4" in edit


def test_it_shows_other_causes_by_their_chinese_names(client, alice, wang):
    services.household_update(
        by=alice, household=wang, data={"other_causes": ["lack_funds", "lack_skills"]}, members=None, version=1
    )
    client.force_login(alice)

    [edit] = lines_starting(history_lines(client, wang), "修改 · 李爱丽")

    assert "其他致贫原因 缺资金 → 缺资金、缺技术" in edit


def test_a_transfer_names_both_households_by_number(client, alice, wang):
    chen = services.household_create(
        by=alice,
        data=household_data(number="610902101201000102", phone=""),
        members=[member_data(name="陈玉梅", education="illiterate")],
    )
    xiaoming = wang.members.get(name="王小明")
    services.member_transfer(
        by=alice, member=xiaoming, to_household=chen, relationship="daughters_son", reason="随外祖母"
    )
    client.force_login(alice)

    [edit] = lines_starting(history_lines(client, chen), "修改 家庭成员 王小明 · 李爱丽")

    assert "成员转移：随外祖母" in edit
    assert f"所属户 {wang.number} → {chen.number}" in edit


def test_a_removed_member_stays_in_the_households_history(client, alice, wang):
    rows = member_rows(wang, 王小明={"DELETE": True})
    services.household_update(by=alice, household=wang, data={}, members=rows, version=wang.version)
    client.force_login(alice)

    lines = history_lines(client, wang)

    assert len(lines_starting(lines, "删除 家庭成员 王小明 · 李爱丽")) == 1
