"""Every exit page renders for the people who use it, at every step of a case."""

import pytest

from exits import services
from exits.models import Step
from tests.exits.conftest import ready_household

pytestmark = pytest.mark.django_db

PAGES = ["/exits/", "/exits/approvals/", "/exits/situations/", "/exits/notice-list/", "/exits/export/cases.xlsx"]


def test_pages_render_through_the_workflow(client, clock, campaign, alice, tom, tom2, carol, sue, certifiers):
    case = services.case_enrol(by=alice, campaign=campaign, household=ready_household())
    users = [alice, tom, carol, sue, *certifiers.values()]

    def visit_all():
        for user in users:
            client.force_login(user)
            for url in [*PAGES, f"/exits/{case.pk}/"]:
                assert client.get(url).status_code == 200, (user, url)

    visit_all()
    client.force_login(alice)
    assert client.get("/exits/enrol/").status_code == 200
    for check in case.criteria.all():
        services.criterion_certify(by=certifiers[check.criterion], check=check)
    response = client.post(
        f"/exits/{case.pk}/advance/",
        {"step-head_signed": "on", "step-food_clothing_secure": "on", "step-signed_on": "2020-10-12"},
    )
    assert response.status_code == 302
    response = client.post(f"/exits/{case.pk}/advance/", {"step-attendance": "3"})
    assert response.status_code == 400
    assert "赞成票".encode() in response.content
    services.step_complete(
        by=alice,
        case=case,
        step=Step.APPRAISE,
        data={"meeting_date": "2020-10-12", "attendance": 30, "votes_for": 28, "votes_against": 1, "minutes": "同意"},
    )
    visit_all()
    services.step_complete(by=tom2, case=case, step=3, data={"checking_unit": "610902102201", "findings": "无"})
    services.step_complete(by=tom, case=case, step=4, data={"opinion": "同意"})
    services.notice_open(by=tom, case=case)
    services.objection_add(by=alice, case=case, content="收入有误")
    visit_all()
