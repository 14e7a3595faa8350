"""脱贫状态 and 脱贫年度 are the exit workflow's outcome (DOMAIN.md §4, issue 14): the
registry's form, API, Excel import and Django admin show them and refuse to change them,
in both directions — alice cannot mark the 王 family 已脱贫 without a case, nor set them
back to 未脱贫 after their case exited through all eight steps.

The exited household is put in place directly (ORM), as the workflow's step 8 leaves it:
that is test setup, not a registry path.
"""

import datetime

import pytest

from exits.models import DONE, CaseStatus, ExitCase
from households import services
from households.models import ExitStatus, Household
from households.services import RegistryError
from imports.models import ImportStatus
from tests.exits.conftest import campaign  # noqa: F401 - a fixture
from tests.households.conftest import edit_form_data, form_data, household_data, member_data
from tests.html import element, elements
from tests.imports.workbooks import household, row_errors, start, workbook

STATUS_REFUSED = (
    "脱贫状态由退出程序产生：完成第8步“系统标注”设为已脱贫，防返贫监测确认返贫设为返贫，不能在此修改；"
    "系统启用前已脱贫的户，请由县级审批人员在“历史脱贫登记”中录入。"
)
YEAR_REFUSED = (
    "脱贫年度由退出程序产生：完成第8步“系统标注”时记为该次退出的年度，不能在此修改；"
    "系统启用前已脱贫的户，请由县级审批人员在“历史脱贫登记”中录入。"
)
API = "/api/v1/households/"


@pytest.fixture
def exited_wang(wang, alice, campaign):  # noqa: F811 - the imported fixture
    """The 王 family after their 2020 case completed step 8 (系统标注)."""
    ExitCase.objects.create(
        campaign=campaign,
        household=wang,
        village_id=wang.village_id,
        enrolled_by=alice,
        current_step=DONE,
        status=CaseStatus.EXITED,
        exited_on=datetime.date(2020, 11, 15),
    )
    Household.objects.filter(pk=wang.pk).update(exit_status=ExitStatus.EXITED, exit_year=2020)
    wang.refresh_from_db()
    return wang


def outcome(household: Household) -> tuple[str, int | None, int]:
    household.refresh_from_db()
    return household.exit_status, household.exit_year, household.version


# --- each path, set forward on a household without a case and back after its exit ------------

FORWARD = {"exit_status": "exited", "exit_year": 2019}  # wang: no case, 未脱贫
BACK = {"exit_status": "not_exited", "exit_year": None}  # exited_wang: case exited in 2020
REFUSALS = {"exit_status": [STATUS_REFUSED], "exit_year": [YEAR_REFUSED]}


@pytest.fixture(params=["forward", "back"])
def attempt(request, wang):
    """(household, the change alice tries, what it was before)."""
    if request.param == "forward":
        return wang, FORWARD, ("not_exited", None, wang.version)
    exited = request.getfixturevalue("exited_wang")
    return exited, BACK, ("exited", 2020, exited.version)


def test_the_service_refuses_the_outcome(alice, attempt):
    target, change, before = attempt

    with pytest.raises(RegistryError) as caught:
        services.household_update(by=alice, household=target, data=change, members=None, version=target.version)

    assert caught.value.household == REFUSALS
    assert outcome(target) == before


def test_the_edit_page_refuses_the_outcome_next_to_it(client, alice, attempt):
    target, change, before = attempt
    post = edit_form_data(target) | {name: "" if value is None else value for name, value in change.items()}
    client.force_login(alice)

    response = client.post(f"/households/{target.pk}/edit/", post)

    assert response.status_code == 400
    assert element(response, "div", data_testid="error-exit_status").text == STATUS_REFUSED
    assert element(response, "div", data_testid="error-exit_year").text == YEAR_REFUSED
    assert outcome(target) == before


def test_the_api_refuses_the_outcome_naming_the_fields(client, alice, attempt):
    target, change, before = attempt
    client.force_login(alice)
    payload = {"version": target.version, **change}

    response = client.patch(f"{API}{target.pk}/", payload, content_type="application/json")

    assert response.status_code == 400
    body = response.json()
    assert (body["exit_status"], body["exit_year"]) == ([STATUS_REFUSED], [YEAR_REFUSED])
    assert f"脱贫状态：{STATUS_REFUSED}" in body["messages"]
    assert outcome(target) == before


def test_the_import_refuses_the_outcome_on_its_row(alice, attempt):
    target, change, before = attempt
    label = {"exited": "已脱贫", "not_exited": "未脱贫"}[change["exit_status"]]
    cells = {"脱贫状态": label, "脱贫年度": change["exit_year"]}

    job = start(alice, workbook([household(target.number, **cells)]))

    assert job.status == ImportStatus.REJECTED
    # An empty 脱贫年度 cell says nothing (a file without the column says nothing either).
    expected = [("户信息", 2, "脱贫状态", STATUS_REFUSED)]
    if change["exit_year"] is not None:
        expected.append(("户信息", 2, "脱贫年度", YEAR_REFUSED))
    assert row_errors(job) == expected
    assert outcome(target) == before


def test_admin_refuses_the_outcome(client, root, attempt):
    target, change, before = attempt
    client.force_login(root)
    post = {"number": target.number, "village": target.village_id, "group_no": target.group_no, **change}
    post = {name: "" if value is None else value for name, value in post.items()}

    response = client.post(f"/admin/households/household/{target.pk}/change/", post)

    assert response.status_code == 403
    assert outcome(target) == before


# --- what stays possible ---------------------------------------------------------------------------


def test_the_current_values_sent_back_are_accepted(alice, exited_wang):
    services.household_update(
        by=alice,
        household=exited_wang,
        data={"exit_status": "exited", "exit_year": 2020, "group_no": 5},
        members=None,
        version=exited_wang.version,
    )

    exited_wang.refresh_from_db()
    assert (exited_wang.exit_status, exited_wang.exit_year, exited_wang.group_no) == ("exited", 2020, 5)


def test_an_api_client_echoing_what_it_read_saves_its_edit(client, alice, exited_wang):
    client.force_login(alice)
    shown = client.get(f"{API}{exited_wang.pk}/").json()
    shown.pop("members")

    response = client.put(f"{API}{exited_wang.pk}/", shown | {"group_no": 6}, content_type="application/json")

    assert response.status_code == 200, response.json()
    assert (response.json()["exit_status"], response.json()["exit_year"], response.json()["group_no"]) == (
        "exited",
        2020,
        6,
    )


def test_an_edit_on_the_page_keeps_the_outcome(client, alice, exited_wang):
    client.force_login(alice)

    response = client.post(f"/households/{exited_wang.pk}/edit/", edit_form_data(exited_wang, changes={"group_no": 7}))

    assert response.status_code == 302
    exited_wang.refresh_from_db()
    assert (exited_wang.exit_status, exited_wang.exit_year, exited_wang.group_no) == ("exited", 2020, 7)


def test_the_edit_page_shows_the_outcome_as_text_and_where_past_exits_go(client, alice, exited_wang):
    client.force_login(alice)

    response = client.get(f"/households/{exited_wang.pk}/edit/")

    assert element(response, "div", data_testid="exit-status").text == "脱贫状态 已脱贫"
    assert element(response, "div", data_testid="exit-year").text == "脱贫年度 2020"
    assert "历史脱贫登记" in element(response, "div", data_testid="exit-status-help").text
    assert not elements(response, "select", name="exit_status")
    assert not elements(response, "input", name="exit_status")
    assert not elements(response, "input", name="exit_year")


def test_a_new_household_is_registered_as_not_exited_and_cannot_be_registered_exited(client, alice):
    client.force_login(alice)
    post = form_data(household_data(), [member_data()]) | {"exit_status": "exited", "exit_year": "2019"}

    response = client.post("/households/new/", post)

    assert response.status_code == 400
    assert element(response, "div", data_testid="error-exit_status").text == STATUS_REFUSED
    assert not Household.objects.exists()
    assert client.post("/households/new/", form_data(household_data(), [member_data()])).status_code == 302
    assert (Household.objects.get().exit_status, Household.objects.get().exit_year) == ("not_exited", None)


def test_the_api_refuses_to_register_an_exited_household(client, alice):
    client.force_login(alice)
    payload = household_data(exit_status="returned", exit_year=2019) | {"members": [member_data()]}

    response = client.post(API, payload, content_type="application/json")

    assert response.status_code == 400
    assert (response.json()["exit_status"], response.json()["exit_year"]) == ([STATUS_REFUSED], [YEAR_REFUSED])
    assert not Household.objects.exists()


def test_a_reimported_ledger_with_the_records_own_outcome_is_accepted(alice, exited_wang):
    job = start(alice, workbook([household(exited_wang.number, 脱贫状态="已脱贫", 脱贫年度=2020)]))

    assert (job.status, job.errors) == (ImportStatus.READY, [])


def test_a_blank_outcome_cell_keeps_the_outcome(alice, exited_wang):
    job = start(alice, workbook([household(exited_wang.number, 脱贫状态=None, 脱贫年度=None)]))

    assert (job.status, job.errors) == (ImportStatus.READY, [])
