"""One rule book for every entry path (issue 14; DOMAIN.md §2): each invalid input below
is tried through the registry service, the edit page, the API, the Excel import and
Django admin. The first four answer with the same Chinese message on the same field;
admin refuses to write at all. Nothing is stored on any path.

The service, page, API and admin edit the 王 family (tests/households/conftest.py);
the import registers the 王 family of tests/imports/workbooks.py as a new household,
with the same invalid cell.
"""

from dataclasses import dataclass

import pytest

from households import services
from households.models import Household, Member
from households.services import RegistryError
from imports.models import ImportStatus
from tests.households.conftest import CHECK_DIGIT, edit_form_data
from tests.households.test_exit_outcome import STATUS_REFUSED, YEAR_REFUSED
from tests.html import element
from tests.imports.workbooks import H1, household, row_errors, start, wang_family, workbook

CONTROL = "包含不可见的控制字符（可能是从其他系统复制时带入的），请删除后重新录入。"

# Column headers of the import for the fields below, and the labels a cadre picks.
HEADERS = {
    "number": "户编号",
    "phone": "联系电话",
    "exit_status": "脱贫状态",
    "exit_year": "脱贫年度",
    "name": "姓名",
    "id_number": "证件号码",
    "relationship": "与户主关系",
}
LABELS = {"exited": "已脱贫", "head": "户主"}


@dataclass(frozen=True)
class Invalid:
    field: str
    value: object
    message: str
    member: int | None = None  # the row of the family (0 户主, 1 配偶, 2 之子), or the household

    def html_name(self) -> str:
        return self.field if self.member is None else f"members-{self.member}-{self.field}"


TABLE = [
    pytest.param(Invalid("id_number", "110105194912310021", CHECK_DIGIT, member=0), id="id-check-digit"),
    pytest.param(
        Invalid("id_number", "610902198002300019", "证件号码中的出生日期 19800230 不是有效日期。", member=0),
        id="impossible-birth-date",
    ),
    pytest.param(Invalid("name", "王\x00建国", CONTROL, member=0), id="nul-in-name"),
    pytest.param(Invalid("number", "6109021012010\x00001", CONTROL), id="nul-in-household-number"),
    pytest.param(Invalid("exit_status", "exited", STATUS_REFUSED), id="exit-status-changed"),
    pytest.param(Invalid("exit_year", 2019, YEAR_REFUSED), id="exit-year-changed"),
    pytest.param(Invalid("phone", "12345", "联系电话应为11位手机号码（1开头）。"), id="bad-phone"),
    pytest.param(Invalid("relationship", "head", "每户只能有一名户主。", member=1), id="two-heads"),
]


def snapshot() -> dict:
    return {
        "households": list(Household.objects.order_by("pk").values()),
        "members": list(Member.objects.order_by("pk").values()),
        "history": (Household.history.count(), Member.history.count()),
    }


def member_rows(household: Household, invalid: Invalid) -> list[dict]:
    rows = [{"id": m.pk} for m in household.members.order_by("id")]
    if invalid.member is not None:
        rows[invalid.member][invalid.field] = invalid.value
    return rows


@pytest.mark.parametrize("invalid", TABLE)
def test_the_service(alice, wang, invalid):
    current = [
        {name: getattr(m, name) for name in services.MEMBER_FIELDS} | {"id": m.pk} for m in wang.members.order_by("id")
    ]
    data = {}
    if invalid.member is None:
        data[invalid.field] = invalid.value
    else:
        current[invalid.member][invalid.field] = invalid.value
    before = snapshot()

    with pytest.raises(RegistryError) as caught:
        services.household_update(by=alice, household=wang, data=data, members=current, version=wang.version)

    found = caught.value.household if invalid.member is None else caught.value.members[invalid.member]
    assert found[invalid.field] == [invalid.message]
    assert snapshot() == before


@pytest.mark.parametrize("invalid", TABLE)
def test_the_edit_page(client, alice, wang, invalid):
    post = edit_form_data(wang)
    key = invalid.html_name()
    post[key] = invalid.value
    client.force_login(alice)
    before = snapshot()

    response = client.post(f"/households/{wang.pk}/edit/", post)

    assert response.status_code == 400
    assert element(response, "div", data_testid=f"error-{key}").text == invalid.message
    assert snapshot() == before


@pytest.mark.parametrize("invalid", TABLE)
def test_the_api(client, alice, wang, invalid):
    payload = {"version": wang.version, "members": member_rows(wang, invalid)}
    if invalid.member is None:
        payload[invalid.field] = invalid.value
    client.force_login(alice)
    before = snapshot()

    response = client.patch(f"/api/v1/households/{wang.pk}/", payload, content_type="application/json")

    assert response.status_code == 400
    body = response.json()
    found = body if invalid.member is None else body["members"][str(invalid.member)]
    assert found[invalid.field] == [invalid.message]
    assert snapshot() == before


@pytest.mark.parametrize("invalid", TABLE)
def test_the_import(alice, invalid):
    value = LABELS.get(invalid.value, invalid.value)
    if isinstance(value, str) and "\x00" in value:
        # An .xlsx cannot hold a NUL (XML 1.0 forbids it): DEL is the control character
        # a file can carry, and gets the same answer.
        value = value.replace("\x00", "\x7f")
    households, members = [household(H1)], wang_family()
    if invalid.member is None:
        households[0][HEADERS[invalid.field] + ("*" if invalid.field == "number" else "")] = value
        place = ("户信息", 2, HEADERS[invalid.field])
    else:
        header = next(h for h in members[invalid.member] if h.rstrip("*") == HEADERS[invalid.field])
        members[invalid.member][header] = value
        place = ("成员信息", invalid.member + 2, HEADERS[invalid.field])
    before = snapshot()

    job = start(alice, workbook(households, members))

    assert job.status == ImportStatus.REJECTED
    assert (*place, invalid.message) in row_errors(job)
    assert snapshot() == before


@pytest.mark.parametrize("invalid", TABLE)
def test_admin(client, root, wang, invalid):
    client.force_login(root)
    if invalid.member is None:
        url = f"/admin/households/household/{wang.pk}/change/"
        post = {"number": wang.number, "village": wang.village_id, "group_no": wang.group_no}
    else:
        target = wang.members.order_by("id")[invalid.member]
        url = f"/admin/households/member/{target.pk}/change/"
        post = {"household": wang.pk, "name": target.name, "id_number": target.id_number}
    post[invalid.field] = invalid.value
    before = snapshot()

    response = client.post(url, post)

    assert response.status_code == 403
    assert snapshot() == before
