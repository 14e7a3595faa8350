"""The ledgers import back (issue 18): a cadre exports the 户台账 or the 成员台账, corrects
cells in Excel and uploads the file as it is; the import finds no change but the
corrected cells, and applying it changes those and nothing else."""

import io

import pytest
from openpyxl import load_workbook

from households.models import Household, Member
from imports.models import ImportStatus
from imports.services import import_confirm
from tests.imports.workbooks import (
    H1,
    H2,
    counts,
    import_file,
    liu_family,
    registry_snapshot,
    save,
    start,
    wang_family,
    workbook,
)
from tests.imports.workbooks import household as household_row

pytestmark = pytest.mark.django_db


@pytest.fixture
def registry(alice):
    """Two households of village A with five members, as an import leaves them."""
    job = import_file(alice, workbook([household_row(H1), household_row(H2)], [*wang_family(), *liu_family()]))
    assert job.status == ImportStatus.APPLIED
    return job


def exported(client, url: str, **params):
    response = client.get(url, params)
    assert response.status_code == 200
    return load_workbook(io.BytesIO(b"".join(response.streaming_content)))


def edit(book, header: str, key_header: str, key: str, value) -> None:
    """Set ``header`` of the row whose ``key_header`` is ``key``."""
    sheet = book.active
    headers = [cell.value for cell in sheet[1]]
    column, key_column = headers.index(header) + 1, headers.index(key_header) + 1
    for row in range(2, sheet.max_row + 1):
        if sheet.cell(row=row, column=key_column).value == key:
            sheet.cell(row=row, column=column).value = value
            return
    raise AssertionError(f"no row with {key_header} {key}")


@pytest.mark.parametrize("full", [False, True], ids=["masked-phones", "full-numbers"])
def test_the_household_ledger_corrected_and_uploaded_changes_only_the_corrected_cells(client, alice, registry, full):
    client.force_login(alice)
    before = registry_snapshot()
    book = exported(client, "/households/export/households.xlsx", **({"full": "1"} if full else {}))
    assert book.active.title == "户信息"

    unchanged = start(alice, save(book))
    assert unchanged.counts == counts({"unchanged": 2})

    edit(book, "帮扶责任人", "户编号", H2, "赵新帮")
    edit(book, "村民小组", "户编号", H1, 5)
    job = start(alice, save(book))
    assert (job.status, job.counts, job.errors) == (ImportStatus.READY, counts({"updated": 2}), [])
    import_confirm(by=alice, job=job)

    after = registry_snapshot()
    wang, liu = Household.objects.get(number=H1), Household.objects.get(number=H2)
    assert (wang.group_no, liu.helper_name) == (5, "赵新帮")
    # Nothing else moved: the same phones (masked in the file or not), members untouched.
    assert after["members"] == before["members"]
    old_rows = {row["number"]: row for row in before["households"]}
    changed = {
        (row["number"], field)
        for row in after["households"]
        for field, value in row.items()
        if old_rows[row["number"]][field] != value and field not in ("version", "updated_at")
    }
    assert changed == {(H1, "group_no"), (H2, "helper_name")}


def test_the_member_ledger_with_full_numbers_corrected_and_uploaded(client, carol, alice, registry):
    client.force_login(carol)  # the county official may export full ID numbers
    before = {m.id_number: m for m in Member.objects.all()}
    book = exported(client, "/households/export/members.xlsx", full="1")
    assert book.active.title == "成员信息"

    assert start(alice, save(book)).counts == counts(None, {"unchanged": 5})

    son = next(m for m in before.values() if m.name == "王小明")
    edit(book, "务工单位", "证件号码", son.id_number, "安康某电子厂")
    job = start(alice, save(book))
    assert (job.status, job.counts, job.errors) == (
        ImportStatus.READY,
        counts(None, {"updated": 1, "unchanged": 4}),
        [],
    )
    import_confirm(by=alice, job=job)

    for member in Member.objects.all():
        old = before[member.id_number]
        if member.pk == son.pk:
            assert member.employer == "安康某电子厂"
        else:
            assert (member.employer, member.work_place, member.household_id) == (
                old.employer,
                old.work_place,
                old.household_id,
            )


def test_a_member_ledger_with_masked_numbers_says_what_to_export_instead(client, alice, registry):
    client.force_login(alice)
    book = exported(client, "/households/export/members.xlsx")
    job = start(alice, save(book))
    assert job.status == ImportStatus.REJECTED
    assert {e["column"] for e in job.errors} == {"证件号码"}
    assert all("含完整证件号码" in e["message"] for e in job.errors)
