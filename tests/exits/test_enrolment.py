"""Enrolment into a campaign (纳入退出): who may enrol, which households are refused and
why, and batch enrolment with one result per household (DOMAIN.md §3, §4)."""

import pytest

from exits import services
from exits.models import CaseStatus, Criterion, CriterionResult, ExitCase, SituationDecision, SituationKind, Step
from households.models import ExitStatus
from tests.conftest import VILLAGE_B
from tests.exits.conftest import ready_household, refusal
from tests.html import element, text

pytestmark = pytest.mark.django_db


def test_a_village_cadre_enrols_a_household_with_its_five_criteria_measured(clock, campaign, alice):
    household = ready_household()

    case = services.case_enrol(by=alice, campaign=campaign, household=household)

    assert (case.current_step, case.status, case.village_id, case.enrolled_by) == (
        Step.VERIFY,
        CaseStatus.IN_PROGRESS,
        household.village_id,
        alice,
    )
    checks = {c.criterion: c for c in case.criteria.all()}
    assert set(checks) == set(Criterion.values)
    assert all(c.result == CriterionResult.MET and c.measured_at and not c.is_certified for c in checks.values())
    assert checks[Criterion.INCOME].measured == {"year": 2020, "per_capita": "6000.00", "line": "4000.00"}
    assert all(c.history.earliest().history_user == alice for c in checks.values())
    assert all(c.history.latest().history_change_reason == "按建档立卡数据测算" for c in checks.values())


@pytest.mark.parametrize("who", ["tom", "carol", "sam", "root"])
def test_only_a_village_cadre_may_enrol(request, clock, campaign, who):
    user = request.getfixturevalue(who)
    error = refusal(services.case_enrol, by=user, campaign=campaign, household=ready_household())
    assert error.messages == ["只有村级录入员可以纳入退出户。"]
    assert not ExitCase.objects.exists()


def test_a_cadre_cannot_enrol_a_household_of_another_village(clock, campaign, bob):
    error = refusal(services.case_enrol, by=bob, campaign=campaign, household=ready_household())
    assert error.messages == ["该户不在您的管辖范围内。"]


def test_an_exited_household_is_refused(clock, campaign, alice):
    household = ready_household(exit_status=ExitStatus.EXITED, exit_year=2019)
    error = refusal(services.case_enrol, by=alice, campaign=campaign, household=household)
    assert error.messages == ["该户已脱贫（2019年），不能再纳入退出。"]


def test_a_household_identified_in_the_campaign_year_is_refused(clock, campaign, alice):
    household = ready_household()
    household.identification_year = 2020
    household.save()
    error = refusal(services.case_enrol, by=alice, campaign=campaign, household=household)
    assert error.messages == ["该户为2020年新识别的贫困户，当年识别不能当年退出。"]


def test_a_household_enrolled_once_is_not_enrolled_twice(clock, campaign, alice):
    household = ready_household()
    services.case_enrol(by=alice, campaign=campaign, household=household)
    error = refusal(services.case_enrol, by=alice, campaign=campaign, household=household)
    assert error.messages == ["该户已纳入“2020年度贫困户退出”。"]
    assert ExitCase.objects.count() == 1


def test_a_finished_campaign_takes_no_more_households(clock, campaign, alice):
    campaign.is_active = False
    campaign.save()
    error = refusal(services.case_enrol, by=alice, campaign=campaign, household=ready_household())
    assert error.messages == ["退出批次“2020年度贫困户退出”已结束，不能再纳入。"]


@pytest.mark.parametrize(
    ("flag", "kind", "label"),
    [
        ("lost_contact", SituationKind.LOST_CONTACT, "失联人员"),
        ("released_prisoner", SituationKind.RELEASED_PRISONER, "刑满释放人员"),
    ],
)
def test_a_special_situation_blocks_enrolment_until_the_county_decides_to_proceed(
    clock, campaign, alice, carol, flag, kind, label
):
    household = ready_household(**{flag: True})
    expected = f"该户标记为{label}，须先登记调查核实情况并由县级审批人员作出处理决定。"
    assert refusal(services.case_enrol, by=alice, campaign=campaign, household=household).messages == [expected]

    # The village's investigation alone is not enough …
    situation = services.situation_investigate(
        by=alice, campaign=campaign, household=household, kind=kind, investigation="已联系本人，在外务工"
    )
    waiting = f"该户为{label}，尚无县级处理决定。"
    assert refusal(services.case_enrol, by=alice, campaign=campaign, household=household).messages == [waiting]
    # … nor a decision other than "proceed", and the refusal names the decision.
    services.situation_decide(by=carol, situation=situation, decision=SituationDecision.DEFER, note="再核实")
    deferred = f"该户为{label}，县级已决定“暂缓退出”：再核实。"
    assert refusal(services.case_enrol, by=alice, campaign=campaign, household=household).messages == [deferred]

    services.situation_decide(by=carol, situation=situation, decision=SituationDecision.PROCEED, note="可以退出")
    case = services.case_enrol(by=alice, campaign=campaign, household=household)
    assert case.current_step == Step.VERIFY


def test_every_reason_is_given_at_once(clock, campaign, alice):
    household = ready_household(lost_contact=True, released_prisoner=True)
    household.identification_year = 2020
    household.save()
    assert refusal(services.case_enrol, by=alice, campaign=campaign, household=household).messages == [
        "该户为2020年新识别的贫困户，当年识别不能当年退出。",
        "该户标记为失联人员，须先登记调查核实情况并由县级审批人员作出处理决定。",
        "该户标记为刑满释放人员，须先登记调查核实情况并由县级审批人员作出处理决定。",
    ]


def test_batch_enrolment_reports_each_household_and_enrols_the_others(clock, campaign, alice):
    good_1, good_2 = ready_household(), ready_household()
    exited = ready_household(exit_status=ExitStatus.EXITED, exit_year=2019)
    lost = ready_household(lost_contact=True)
    elsewhere = ready_household(village=VILLAGE_B)

    outcomes = services.cases_enrol(by=alice, campaign=campaign, households=[good_1, exited, lost, good_2, elsewhere])

    assert [(o.label, o.ok, o.error) for o in outcomes] == [
        (good_1.number, True, ""),
        (exited.number, False, "该户已脱贫（2019年），不能再纳入退出。"),
        (lost.number, False, "该户标记为失联人员，须先登记调查核实情况并由县级审批人员作出处理决定。"),
        (good_2.number, True, ""),
        (elsewhere.number, False, "该户不在您的管辖范围内。"),
    ]
    assert set(ExitCase.objects.values_list("household_id", flat=True)) == {good_1.pk, good_2.pk}
    assert outcomes[0].case.household == good_1


def test_the_enrol_page_enrols_the_ticked_households_and_lists_each_result(client, clock, campaign, alice):
    good = ready_household()
    flagged = ready_household(released_prisoner=True)
    client.force_login(alice)

    page = client.get("/exits/enrol/")
    assert page.status_code == 200
    assert "须先登记调查核实情况" in text(page)

    response = client.post("/exits/enrol/", {"campaign": campaign.pk, "households": [good.pk, flagged.pk]})

    assert response.status_code == 200
    assert "成功 1 户，未通过 1 户" in text(response)
    results = element(response, "table", data_testid="batch-results").text
    assert "刑满释放人员" in results
    assert list(ExitCase.objects.values_list("household_id", flat=True)) == [good.pk]


@pytest.mark.parametrize("who", ["tom", "carol", "sam"])
def test_the_enrol_page_is_for_village_cadres_only(request, client, clock, campaign, who):
    client.force_login(request.getfixturevalue(who))
    assert client.get("/exits/enrol/").status_code == 403
    household = ready_household()
    assert client.post("/exits/enrol/", {"households": [household.pk]}).status_code == 403
    assert not ExitCase.objects.exists()


def test_the_enrol_page_ignores_households_outside_the_cadres_village(client, clock, campaign, bob):
    household = ready_household()  # alice's village
    client.force_login(bob)
    response = client.post("/exits/enrol/", {"campaign": campaign.pk, "households": [household.pk]})
    assert response.status_code == 200
    assert "成功 0 户，未通过 0 户" in text(response)
    assert not ExitCase.objects.exists()
