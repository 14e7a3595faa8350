"""No export holds a live formula (issue 16, point 4): text a user typed that starts
like a formula — ``=HYPERLINK(…)``, ``+1``, ``-1+2``, ``@SUM(A1)``, a tab then ``=`` —
reaches the county official who opens the file as the text it was, quote-prefixed so
that editing the cell in Excel does not make a formula of it either (core.exports).

One registry holds such text wherever a model lets it in: village and town names,
a household's 帮扶责任人 and unit, a member's name and 务工地点, an exit campaign's name,
a monitoring case's 研判意见 and 风险消除方式. carol (county official of 汉滨区) then
downloads every export and template the project has.
"""

import io

import pytest
from openpyxl import load_workbook

from households.models import ExitStatus, Member
from monitoring import services as monitoring_services
from monitoring.models import Channel, MonitoringCase, RiskType
from regions.models import Region
from tests.conftest import COUNTY, TOWN_A, VILLAGE_A, VILLAGE_A2
from tests.exits.conftest import campaign, certifiers, clock, ready_household  # noqa: F401 - shared fixtures

pytestmark = pytest.mark.django_db

VILLAGE_NAME = "@SUM(A1)"
OTHER_VILLAGE_NAME = "=1+2"  # openpyxl stores any str starting with "=" as a formula
TOWN_NAME = "-1+2"
CAMPAIGN = '=HYPERLINK("http://x","y")'
HELPER = "+1"
HELPER_UNIT = "=1+1"
HEAD = "\t=1+1"
WORK_PLACE = "-广东省深圳市"
DECISION = "+纳入监测"
CLOSE = "@已消除"
LOOKS_LIKE_A_FORMULA = ("=", "+", "-", "@", "\t", "\r")

# Every export and template, and the typed text each must carry.
EXPORTS = {
    "/households/export/households.xlsx": {VILLAGE_NAME, TOWN_NAME, HELPER, HELPER_UNIT, HEAD},
    "/households/export/members.xlsx": {VILLAGE_NAME, HEAD, WORK_PLACE},
    "/exits/export/cases.xlsx": {CAMPAIGN, VILLAGE_NAME, TOWN_NAME, HEAD},
    "/monitoring/export/cases.xlsx": {VILLAGE_NAME, TOWN_NAME, DECISION, CLOSE},
    f"/dashboard/deadlines/export.xlsx?region={COUNTY}": {TOWN_NAME},
    f"/dashboard/monitoring/export.xlsx?region={COUNTY}": {TOWN_NAME},
    "/imports/households/template.xlsx": {VILLAGE_NAME, OTHER_VILLAGE_NAME},
    "/api/v1/imports/households/template/": {VILLAGE_NAME, OTHER_VILLAGE_NAME},
    "/imports/sector_comparison/template.xlsx": set(),
}


@pytest.fixture
def typed(clock, campaign, alice):  # noqa: F811
    """The registry, with formula-looking text in every field an export shows."""
    from exits.services import case_enrol

    Region.objects.filter(code=VILLAGE_A).update(name=VILLAGE_NAME)
    Region.objects.filter(code=VILLAGE_A2).update(name=OTHER_VILLAGE_NAME)
    Region.objects.filter(code=TOWN_A).update(name=TOWN_NAME)
    campaign.name = CAMPAIGN
    campaign.save()
    enrolled = ready_household(head=HEAD, helper_name=HELPER, helper_unit=HELPER_UNIT)
    Member.objects.filter(household=enrolled, name=HEAD).update(work_place=WORK_PLACE, work_months=10)
    case_enrol(by=alice, campaign=campaign, household=enrolled)
    watched = ready_household(head="李四", son="李小四", exit_status=ExitStatus.EXITED, exit_year=2019)
    case = monitoring_services.case_report(
        by=alice, household=watched, channel=Channel.SELF_DECLARED, risk_types=[RiskType.ILLNESS], description="因病"
    )
    # Outcomes of the monitoring workflow, set here directly: only the text matters.
    MonitoringCase.objects.filter(pk=case.pk).update(decision_reason=DECISION, close_method=CLOSE)


def body(response) -> bytes:
    if getattr(response, "streaming", False):
        return b"".join(response.streaming_content)
    return response.content


@pytest.mark.parametrize("url", list(EXPORTS))
def test_no_export_holds_a_formula(client, carol, typed, url):
    client.force_login(carol)

    response = client.get(url)

    assert response.status_code == 200
    book = load_workbook(io.BytesIO(body(response)))
    cells = [cell for sheet in book for row in sheet.iter_rows() for cell in row]
    assert [(cell.parent.title, cell.coordinate) for cell in cells if cell.data_type == "f"] == []
    looking = [cell for cell in cells if isinstance(cell.value, str) and cell.value.startswith(LOOKS_LIKE_A_FORMULA)]
    assert [(cell.value, cell.data_type, cell.quotePrefix) for cell in looking] == [
        (cell.value, "s", True) for cell in looking
    ]
    assert EXPORTS[url] <= {cell.value for cell in looking}


def test_a_negative_number_stays_a_number(client, carol, typed):
    """Only text is guarded: a number below zero is written as the number it is."""
    from core.exports import xlsx_streaming_response

    response = xlsx_streaming_response(
        filename="t.xlsx", sheet_title="t", columns=[("数", lambda row: row)], rows=[-5, "-5"]
    )

    sheet = load_workbook(io.BytesIO(body(response))).active
    assert [(cell.value, cell.data_type) for cell in sheet["A"][1:]] == [(-5, "n"), ("-5", "s")]
    assert (sheet["A2"].quotePrefix, sheet["A3"].quotePrefix) == (False, True)
