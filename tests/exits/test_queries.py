"""No N+1: the case list page and the API list run the same number of queries for 2
cases as for 10."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from exits.models import Step
from tests.html import element, elements

pytestmark = pytest.mark.django_db


def queries_for(client, url) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
        if hasattr(response, "streaming_content"):
            b"".join(response.streaming_content)
    assert response.status_code == 200
    return len(captured)


def test_the_lists_show_every_case_they_count(client, flow, carol):
    for _ in range(10):
        flow.enrol(certify=False)
    client.force_login(carol)
    assert element(client.get("/exits/"), "span", data_testid="result-count").text == "共 10 户"
    assert len(elements(client.get("/exits/"), "a", data_testid="case-row")) == 10
    assert len(client.get("/api/v1/exit-cases/").json()["results"]) == 10


@pytest.mark.parametrize(
    "url",
    [
        "/exits/",
        "/exits/?overdue=true",
        "/exits/?failing=income",
        "/api/v1/exit-cases/",
        "/api/v1/exit-cases/?overdue=false&step=1",
        "/exits/export/cases.xlsx",
    ],
)
def test_the_case_lists_do_not_grow_with_the_number_of_cases(client, flow, carol, url):
    cases = [flow.enrol(certify=False) for _ in range(2)]
    flow.bring_to(cases[0], Step.CROSS_CHECK)
    client.force_login(carol)
    client.get(url)  # warm up: session, content types
    with_two = queries_for(client, url)

    for _ in range(8):
        flow.enrol(certify=False)
    with_ten = queries_for(client, url)

    assert with_ten == with_two


def test_the_approval_queue_does_not_grow_with_the_number_of_cases(client, flow, carol):
    two = [flow.enrol() for _ in range(2)]
    flow.bring_to(two, Step.APPROVE)
    client.force_login(carol)
    client.get("/exits/approvals/")
    with_two = queries_for(client, "/exits/approvals/")

    more = [flow.enrol() for _ in range(4)]
    flow.bring_to(more, Step.APPROVE)
    client.force_login(carol)  # the clock moved past the session's age
    client.get("/exits/approvals/")
    with_six = queries_for(client, "/exits/approvals/")

    assert with_six == with_two
