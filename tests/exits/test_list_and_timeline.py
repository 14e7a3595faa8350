"""The case list page's filters (shared with the API and the ledger), the deadline
arithmetic, and the case timeline."""

import datetime

import pytest

from exits import selectors
from exits.models import Campaign, ExitCase, Step
from tests.exits.conftest import ready_household
from tests.html import element, elements

pytestmark = pytest.mark.django_db


def rows(response) -> list[str]:
    return [row.text for row in elements(response, "a", data_testid="case-row")]


def test_the_list_page_filters_by_step_failing_criterion_and_search(client, flow, carol):
    ahead = flow.enrol()
    flow.bring_to(ahead, Step.CROSS_CHECK)
    low = ready_household()
    low.incomes.update(wage_income=1000)
    low.members.filter(relationship="head").update(name="钱多多")
    failing = flow.enrol(low, certify=False)
    client.force_login(carol)

    assert len(rows(client.get("/exits/"))) == 2
    [only] = rows(client.get("/exits/", {"step": 3}))
    assert ahead.household.number in only
    [only] = rows(client.get("/exits/", {"failing": "income"}))
    assert failing.household.number in only and "1 项未达标" in only
    [only] = rows(client.get("/exits/", {"q": "钱多"}))
    assert "钱多多" in only
    assert rows(client.get("/exits/", {"q": "T99"})) == []
    # htmx asks for the results only
    partial = client.get("/exits/", {"step": 3}, headers={"HX-Request": "true"})
    assert "<html" not in partial.content.decode()
    assert element(partial, "span", data_testid="result-count").text == "共 1 户"


def test_the_list_page_marks_overdue_cases(client, flow, carol):
    case = flow.enrol()
    flow.clock.shift(10)  # 2020-10-22, two days past the village deadline
    client.force_login(carol)
    [row] = rows(client.get("/exits/", {"overdue": "true"}))
    assert case.household.number in row
    assert "时限 2020-10-20（逾期 2 天）" in row
    assert rows(client.get("/exits/", {"overdue": "false"})) == []


def test_overdue_is_per_campaign_and_per_level(flow, campaign):
    today = datetime.date(2020, 10, 21)
    condition = selectors.overdue_q([campaign], today=today)
    case = flow.enrol()
    assert ExitCase.objects.filter(condition).count() == 1
    ExitCase.objects.filter(pk=case.pk).update(current_step=Step.CROSS_CHECK)
    assert ExitCase.objects.filter(condition).count() == 0
    assert ExitCase.objects.filter(selectors.overdue_q([campaign], today=datetime.date(2020, 11, 1))).count() == 1
    assert ExitCase.objects.filter(selectors.overdue_q([])).count() == 0


def test_deadline_status_counts_days_both_ways():
    due = datetime.date(2020, 10, 20)
    assert selectors.deadline_status(due, today=datetime.date(2020, 10, 12)) == {
        "deadline": due,
        "days_left": 8,
        "days_overdue": -8,
        "overdue": False,
    }
    assert selectors.deadline_status(due, today=due)["overdue"] is False
    assert selectors.deadline_status(due, today=datetime.date(2020, 10, 21))["overdue"] is True


def test_the_timeline_shows_each_step_with_its_level_deadline_and_who_did_it(flow, campaign, alice, tom):
    campaign.step_levels = {**campaign.step_levels, "4": "county"}
    campaign.save()
    case = flow.enrol()
    flow.complete(case, Step.VERIFY)
    flow.clock.shift(9)  # 2020-10-21: the appraisal is done a day late
    flow.complete(case, Step.APPRAISE)
    case.refresh_from_db()

    timeline = selectors.case_timeline(case)

    assert [item["step"] for item in timeline] == list(range(1, 9))
    first, second, third, fourth = timeline[:4]
    assert (first["record"].completed_by, first["late_done"], first["level"]) == (alice, False, "village")
    assert (second["late_done"], second["deadline"]["deadline"]) == (True, datetime.date(2020, 10, 20))
    assert third["is_current"] and third["record"] is None and third["role"] == "town_official"
    assert (fourth["level"], fourth["role"], fourth["deadline"]["deadline"]) == (
        "county",
        "county_official",
        datetime.date(2020, 11, 10),
    )


def test_the_case_page_names_who_does_the_current_step(client, flow, sam):
    case = flow.enrol()
    client.force_login(sam)
    panel = element(client.get(f"/exits/{case.pk}/"), "div", data_testid="action-panel").text
    assert "本步骤由村级录入员办理。" in panel


@pytest.mark.parametrize(
    ("who", "url"), [("carol", "/exits/notice-list/?campaign=abc"), ("alice", "/exits/enrol/?campaign=abc")]
)
def test_a_malformed_campaign_parameter_is_not_a_server_error(request, client, campaign, who, url):
    client.raise_request_exception = False
    client.force_login(request.getfixturevalue(who))
    assert client.get(url).status_code in (200, 400, 404)


def test_campaign_deadlines_follow_the_step_levels(campaign):
    assert [campaign.deadline_for(step) for step in (1, 3, 6, 8)] == [
        datetime.date(2020, 10, 20),
        datetime.date(2020, 10, 31),
        datetime.date(2020, 11, 10),
        datetime.date(2020, 11, 20),
    ]
    assert campaign.role_for(8) == "county_official"
    bare = Campaign(step_levels={}, year=2021)
    assert bare.level_of(3) == "town"
    assert str(campaign) == "2020年度贫困户退出"
