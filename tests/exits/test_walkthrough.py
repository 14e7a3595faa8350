"""One household through all eight steps with the right roles (issue 5 acceptance)."""

import pytest

from exits import services
from exits.models import CaseStatus, CriterionResult, Step
from households.models import ExitStatus
from tests.exits.conftest import ready_household

pytestmark = pytest.mark.django_db


def test_a_household_walks_all_eight_steps_and_ends_exited_with_the_year(
    clock, campaign, alice, tom, tom2, carol, carol2, certifiers, regions
):
    household = ready_household()
    case = services.case_enrol(by=alice, campaign=campaign, household=household)
    assert {c.criterion: c.result for c in case.criteria.all()} == dict.fromkeys(
        ["income", "housing", "education", "medical", "water"], CriterionResult.MET
    )
    for check in case.criteria.all():
        services.criterion_certify(by=certifiers[check.criterion], check=check, note="数据比对一致")

    services.step_complete(
        by=alice,
        case=case,
        step=Step.VERIFY,
        data={"head_signed": True, "food_clothing_secure": True, "signed_on": "2020-10-12"},
    )
    services.step_complete(
        by=alice,
        case=case,
        step=Step.APPRAISE,
        data={
            "meeting_date": "2020-10-12",
            "attendance": 30,
            "votes_for": 28,
            "votes_against": 1,
            "minutes": "同意退出",
        },
    )
    services.step_complete(
        by=tom2, case=case, step=Step.CROSS_CHECK, data={"checking_unit": "610902102201", "findings": "未发现问题"}
    )
    services.step_complete(by=tom, case=case, step=Step.REVIEW, data={"opinion": "同意"})
    services.notice_open(by=tom, case=case)
    with pytest.raises(services.ExitError, match="公示期至少7天"):
        services.step_complete(by=carol2, case=case, step=Step.NOTICE, data={})
    clock.shift(7)
    # Separation of duties: carol2 closes the notice, carol (who did neither 3–5) approves.
    services.step_complete(by=carol2, case=case, step=Step.NOTICE, data={})
    services.step_complete(by=carol, case=case, step=Step.APPROVE, data={"opinion": "批准退出"})
    services.step_complete(by=carol, case=case, step=Step.ARCHIVE, data={"checklist": services.ARCHIVE_ITEMS})
    services.step_complete(by=carol, case=case, step=Step.MARK, data={"marked_on": "2020-10-19"})

    case.refresh_from_db()
    household.refresh_from_db()
    assert case.status == CaseStatus.EXITED
    assert case.is_done
    assert household.exit_status == ExitStatus.EXITED
    assert household.exit_year == 2020
    assert list(case.steps.filter(is_reset=False).values_list("step", flat=True)) == list(range(1, 9))
    assert household.history.first().history_user == carol
