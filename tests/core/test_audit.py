"""Every change keeps who, when and old → new (DOMAIN.md §9), shown in the 变更记录 panel."""

import datetime
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.models import Role, User
from core.audit import Change, history_entries
from core.bulk import allocate_ids, bulk_insert_with_history
from households.models import Household, Member, PovertyCause, Relationship, Sex
from regions.models import Region
from regions.services import region_tree_load
from tests.conftest import TOWN_A, VILLAGE_A, VILLAGE_B
from tests.factories import valid_id_number
from tests.html import element, elements


def rename(region, name, by=None):
    region.name = name
    if by is not None:
        region._history_user = by
    region.save()


def test_it_records_who_created_a_region_through_the_admin(client, root):
    client.force_login(root)
    response = client.post(
        "/admin/regions/region/add/",
        {"code": "610902101203", "name": "新建村", "level": "village", "parent": TOWN_A, "_save": "保存"},
    )
    assert response.status_code == 302, response.content.decode()
    region = Region.objects.get(code="610902101203")
    record = region.history.get()
    assert record.history_type == "+"
    assert record.history_user == root
    [entry] = history_entries(region)
    assert (entry.action, entry.who) == ("创建", "管理员")


def test_it_records_who_renamed_a_region_through_the_admin(client, root):
    client.force_login(root)
    response = client.post(
        f"/admin/regions/region/{VILLAGE_A}/change/",
        {"code": VILLAGE_A, "name": "西关新村", "level": "village", "parent": TOWN_A, "_save": "保存"},
    )
    assert response.status_code == 302, response.content.decode()
    region = Region.objects.get(code=VILLAGE_A)
    newest = region.history.order_by("-history_date", "-history_id").first()
    assert (newest.history_type, newest.history_user, newest.name) == ("~", root, "西关新村")
    entry = history_entries(region)[0]
    assert entry.action == "修改"
    assert entry.who == "管理员"
    assert entry.changes == [Change(field="名称", old="西关村", new="西关新村")]


def test_it_records_the_user_set_on_the_instance(carol, regions):
    region = Region.objects.get(code=VILLAGE_A)
    rename(region, "西关新村", by=carol)
    assert region.history.order_by("-history_id").first().history_user == carol
    assert history_entries(region)[0].who == "陈卡"


def test_it_records_a_change_without_a_person_as_the_system(regions):
    region = Region.objects.get(code=VILLAGE_A)
    rename(region, "西关新村")
    entry = history_entries(region)[0]
    assert entry.who == "系统"
    assert entry.changes == [Change(field="名称", old="西关村", new="西关新村")]


def test_it_lists_history_newest_first(carol, root, regions):
    region = Region.objects.get(code=VILLAGE_A)
    rename(region, "西关二村", by=carol)
    rename(region, "西关三村", by=root)
    entries = history_entries(region)
    assert [(e.action, e.who) for e in entries] == [("修改", "管理员"), ("修改", "陈卡"), ("创建", "系统")]
    assert [c.new for c in entries[0].changes] == ["西关三村"]
    assert [c.old for c in entries[1].changes] == ["西关村"]


def test_it_skips_a_save_that_changed_nothing(regions):
    region = Region.objects.get(code=VILLAGE_A)
    region.save()
    assert region.history.count() == 2
    assert [e.action for e in history_entries(region)] == ["创建"]


def test_it_keeps_the_reason_the_loader_gives_for_a_rename(regions):
    region_tree_load(rows=[(VILLAGE_A, "西关社区", "village", TOWN_A)])
    entry = history_entries(Region.objects.get(code=VILLAGE_A))[0]
    assert entry.reason == "区划名称更新"
    assert entry.changes == [Change(field="名称", old="西关村", new="西关社区")]


def test_it_shows_choices_and_booleans_in_chinese(alice, registry):
    household = Household.objects.filter(village_id=VILLAGE_A).first()
    household.main_cause = PovertyCause.DISASTER
    household.lost_contact = True
    household._history_user = alice
    household.save()
    changes = {c.field: (c.old, c.new) for c in history_entries(household)[0].changes}
    assert changes["主要致贫原因"] == ("因病", "因灾")
    assert changes["失联人员"] == ("否", "是")


def test_it_reads_a_long_history_in_a_fixed_number_of_queries(regions):
    region = Region.objects.get(code=VILLAGE_A)
    for i in range(3):
        rename(region, f"西关{i}村")
    with CaptureQueriesContext(connection) as short:
        assert len(history_entries(region)) == 4
    for i in range(3, 30):
        rename(region, f"西关{i}村")
    with CaptureQueriesContext(connection) as long:
        assert len(history_entries(region)) == 31
    # The versions in one query (plus one to name related rows), however long the history.
    assert len(short) == len(long) <= 2


def test_it_limits_the_panel_to_the_newest_versions(regions):
    region = Region.objects.get(code=VILLAGE_A)
    for i in range(5):
        rename(region, f"西关{i}村")
    entries = history_entries(region, limit=3)
    assert len(entries) == 3
    # The oldest shown is still compared against the version before it.
    assert entries[-1].changes == [Change(field="名称", old="西关1村", new="西关2村")]


def test_it_audits_a_role_change_but_never_the_password(alice, root, tom):
    alice.role = Role.TOWN_OFFICIAL
    alice.region_id = TOWN_A
    alice._history_user = root
    alice.full_clean()
    alice.save()
    alice.set_password("Qinba-mountains-2020")
    alice.save()

    changes = {c.field: (c.old, c.new) for c in history_entries(alice)[0].changes}
    # The region is named, not shown as its 12-digit code.
    assert changes == {"角色": ("村级录入员", "镇办干部"), "所属区划": ("西关村", "银滩镇")}
    assert history_entries(alice)[0].who == "管理员"
    # The password hash is not even stored in the history table.
    history_fields = {f.name for f in User.history.model._meta.get_fields()}
    assert "role" in history_fields
    assert "password" not in history_fields and "last_login" not in history_fields
    assert all("密码" not in c.field for e in history_entries(alice) for c in e.changes)


def test_it_shows_the_history_panel_on_the_region_page(client, root, regions):
    rename(Region.objects.get(code=VILLAGE_A), "西关新村", by=root)
    client.force_login(root)
    page = client.get(f"/regions/{VILLAGE_A}/")
    panel = element(page, "section", id="history")
    assert panel.text.startswith("变更记录")
    [rename_line, created_line] = elements(page, "li", "list-group-item")
    assert re.match(r"修改\W+管理员 \d{4}-\d\d-\d\d \d\d:\d\d 名称 西关村 → 西关新村$", rename_line.text), (
        rename_line.text
    )
    assert re.match(r"创建\W+系统 ", created_line.text), created_line.text
    # Old and new values are marked as such, not only told apart by colour.
    assert [e.text for e in elements(page, "del")] == ["西关村"]
    assert [e.text for e in elements(page, "ins")] == ["西关新村"]


def with_blank_text(model, row):
    """``row`` plus "" for each blank text field it leaves out.

    The bulk helper needs them spelled out today (see
    test_it_fills_fields_left_out_as_the_orm_would); the other tests are about
    other things and should not break each time the registry gains an optional field.
    """
    for field in model._meta.concrete_fields:
        if field.empty_strings_allowed and field.blank and not field.null and not field.has_default():
            row.setdefault(field.attname, "")
    return row


def household_rows(ids, village=VILLAGE_A):
    return [
        with_blank_text(
            Household,
            {
                "id": pk,
                "number": f"{village}{n:05d}",
                "village_id": village,
                "group_no": 3,
                "identification_standard": "national",
                "attribute": "dibao",
                "main_cause": PovertyCause.ILLNESS,  # a TextChoices member, as services pass them
                "other_causes": ["disability", "lack_skills"],
                "identification_year": 2016,
                "exit_status": "exited",
                "exit_year": 2018,
                # Commas, quotes, a newline and a backslash survive COPY's CSV and executemany.
                "helper_name": '张三, "老张"\n第二行 \\ 完',
                "helper_unit": "县扶贫局",
                "helper_phone": "13912345678",
                "lost_contact": n % 2 == 0,
            },
        )
        for n, pk in enumerate(ids, start=1)
    ]


def test_it_bulk_inserts_rows_with_one_created_history_row_each(carol, regions):
    ids = allocate_ids(Household, 3)
    bulk_insert_with_history(Household, household_rows(ids), user_id=carol.pk, change_reason="批量导入")

    assert sorted(Household.objects.values_list("id", flat=True)) == ids
    history = Household.history.model.objects.order_by("id")
    assert [(h.id, h.history_type, h.history_user_id, h.history_change_reason) for h in history] == [
        (pk, "+", carol.pk, "批量导入") for pk in ids
    ]
    entries = history_entries(Household.objects.get(pk=ids[0]))
    assert [(e.action, e.who, e.reason) for e in entries] == [("创建", "陈卡", "批量导入")]


def test_it_bulk_inserts_values_that_read_back_unchanged(regions):
    ids = allocate_ids(Household, 2)
    bulk_insert_with_history(Household, household_rows(ids))
    household = Household.objects.get(pk=ids[0])
    assert household.number == f"{VILLAGE_A}00001"
    assert household.other_causes == ["disability", "lack_skills"]
    assert household.helper_name == '张三, "老张"\n第二行 \\ 完'
    assert household.phone == ""
    assert household.main_cause == "illness"
    assert household.lost_contact is False
    assert Household.objects.get(pk=ids[1]).lost_contact is True
    # Defaults and automatic timestamps are filled in for what the caller left out.
    assert household.is_relocated is False
    assert household.released_prisoner is False
    assert household.created_at is not None and household.created_at == household.updated_at
    assert Household.history.get(id=ids[0]).other_causes == ["disability", "lack_skills"]
    # Scoping sees bulk rows like any other.
    assert Household.objects.visible_to(None).count() == 0


def test_it_bulk_inserts_members_with_dates_and_nulls(regions):
    [household_id] = allocate_ids(Household, 1)
    bulk_insert_with_history(Household, household_rows([household_id], village=VILLAGE_B))
    birth = datetime.date(1958, 2, 28)
    member_ids = allocate_ids(Member, 1)
    bulk_insert_with_history(
        Member,
        [
            with_blank_text(
                Member,
                {
                    "id": member_ids[0],
                    "household_id": household_id,
                    "name": "王秀英",
                    "id_number": valid_id_number(birth=birth, sex=Sex.FEMALE),
                    "sex": Sex.FEMALE,
                    "birth_date": birth,
                    "relationship": Relationship.HEAD,
                    "education": "primary",
                    "labour_skill": "weak",
                    "medical_insurance": "resident",
                    "is_disabled": True,
                    "disability_category": "肢体残疾",
                    "disability_grade": None,
                },
            )
        ],
    )
    member = Member.objects.get()
    assert member.birth_date == birth
    assert member.disability_grade is None
    assert member.ethnicity == "汉族"
    assert member.work_months == 0
    assert Member.history.get().history_type == "+"


def test_it_fills_fields_left_out_as_the_orm_would(regions):
    # Model(...) leaves a blank text field without a default as "", so the bulk path
    # should too, rather than stop with a KeyError on the first one it meets.
    ids = allocate_ids(Household, 1)
    [row] = household_rows(ids)
    for optional in ("relocation_mode", "helper_unit", "helper_phone", "phone", "helper_name"):
        row.pop(optional, None)
    bulk_insert_with_history(Household, [row])
    household = Household.objects.get()
    assert (household.relocation_mode, household.helper_unit, household.helper_phone) == ("", "", "")


def test_it_keeps_allocated_ids_clear_of_existing_rows(registry):
    existing = set(Household.objects.values_list("id", flat=True))
    ids = allocate_ids(Household, 5)
    assert len(set(ids)) == 5
    assert not existing & set(ids)
    bulk_insert_with_history(Household, household_rows(ids))
    # The ORM's own inserts carry on after the bulk ones without a clash.
    Household.objects.create(
        number="T-after-bulk",
        village_id=VILLAGE_A,
        group_no=1,
        identification_standard="national",
        attribute="general",
        main_cause="illness",
        identification_year=2014,
    )
    assert Household.objects.count() == len(existing) + 6


def test_it_bulk_inserts_nothing_for_no_rows(regions):
    bulk_insert_with_history(Household, [])
    assert allocate_ids(Household, 0) == []
    assert Household.history.count() == 0


@pytest.mark.parametrize("vendor", ["sqlite", "postgresql"])
def test_it_runs_the_bulk_path_of_each_database(vendor, regions):
    """The suite runs on SQLite and on PostgreSQL (CI); each run exercises its own path."""
    if connection.vendor != vendor:
        pytest.skip(f"this run uses {connection.vendor}")
    ids = allocate_ids(Household, 2)
    with CaptureQueriesContext(connection) as queries:
        bulk_insert_with_history(Household, household_rows(ids))
    assert Household.objects.filter(id__in=ids).count() == 2
    assert Household.history.filter(id__in=ids, history_type="+").count() == 2
    if vendor == "postgresql":
        # COPY goes around Django's cursor wrapper, so no INSERT is logged at all.
        assert not any("INSERT" in q["sql"] for q in queries.captured_queries)
