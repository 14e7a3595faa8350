"""Special situations (失联, 刑满释放): the village records the investigation, a county
official decides; until the decision is "proceed" the household is neither enrolled
nor approved (DOMAIN.md §3: 摸清底子、妥善处理)."""

import pytest

from exits import services
from exits.models import SituationDecision, SituationKind, SpecialSituation
from tests.exits.conftest import ready_household, refusal
from tests.html import element, text

pytestmark = pytest.mark.django_db


@pytest.fixture
def lost(clock):
    return ready_household(lost_contact=True)


def investigate(user, campaign, household, text="已联系本人，在浙江务工"):
    return services.situation_investigate(
        by=user, campaign=campaign, household=household, kind=SituationKind.LOST_CONTACT, investigation=text
    )


def test_the_village_investigates_and_the_county_decides(campaign, lost, alice, carol):
    situation = investigate(alice, campaign, lost)
    assert (situation.investigated_by, situation.decision, situation.village_id) == (alice, "", lost.village_id)
    # The village may correct its investigation until the county decides.
    situation = investigate(alice, campaign, lost, "已联系本人及其父母，在浙江务工")
    assert SpecialSituation.objects.count() == 1

    decided = services.situation_decide(
        by=carol, situation=situation, decision=SituationDecision.PROCEED, note=" 可正常退出 "
    )
    assert (decided.decision, decided.decided_by, decided.decision_note, decided.allows_exit) == (
        SituationDecision.PROCEED,
        carol,
        "可正常退出",
        True,
    )
    assert refusal(investigate, alice, campaign, lost, "改一下").messages == [
        "县级已作出处理决定，不能再修改调查情况。"
    ]


def test_no_decision_without_an_investigation(campaign, lost, carol):
    situation = SpecialSituation.objects.create(
        campaign=campaign, household=lost, village_id=lost.village_id, kind=SituationKind.LOST_CONTACT
    )
    assert refusal(
        services.situation_decide, by=carol, situation=situation, decision=SituationDecision.PROCEED
    ).messages == ["请先由村级登记调查核实情况，再作处理决定。"]


@pytest.mark.parametrize("who", ["alice", "tom", "sam"])
def test_only_a_county_official_decides(request, campaign, lost, alice, who):
    situation = investigate(alice, campaign, lost)
    error = refusal(services.situation_decide, by=request.getfixturevalue(who), situation=situation, decision="proceed")
    assert error.messages == ["特殊情况的处理决定由县级审批人员作出。"]


def test_the_decision_and_investigation_are_checked(campaign, lost, alice, carol):
    assert refusal(
        services.situation_investigate, by=alice, campaign=campaign, household=lost, kind="x", investigation="y"
    ).fields == {"kind": ["请选择特殊情况类型。"]}
    assert refusal(investigate, alice, campaign, lost, " ").fields == {"investigation": ["请填写调查核实情况。"]}
    situation = investigate(alice, campaign, lost)
    assert refusal(services.situation_decide, by=carol, situation=situation, decision="maybe").fields == {
        "decision": ["请选择处理决定。"]
    }


def test_a_sector_user_cannot_record_an_investigation(campaign, lost, sam):
    assert refusal(investigate, sam, campaign, lost).messages == ["调查核实情况由村、镇或县级人员登记。"]


def test_people_outside_the_household_are_refused(campaign, lost, alice, bob, zed, sue):
    assert refusal(investigate, bob, campaign, lost).messages == ["该户不在您的管辖范围内。"]
    assert refusal(investigate, sue, campaign, lost).messages == ["该户不在您的管辖范围内。"]
    situation = investigate(alice, campaign, lost)
    for user in (zed, sue):
        assert refusal(
            services.situation_decide, by=user, situation=situation, decision=SituationDecision.PROCEED
        ).messages == ["该户不在您的管辖范围内。"]


def test_the_situations_page_lists_the_flagged_households_and_records_both_halves(client, campaign, lost, alice, carol):
    client.force_login(alice)
    page = client.get("/exits/situations/")
    assert lost.number in text(page)

    response = client.post(
        f"/exits/situations/{lost.pk}/investigate/",
        {"kind": SituationKind.LOST_CONTACT, "investigation": "已联系本人"},
        follow=True,
    )
    assert "调查核实情况已登记。" in text(response)
    situation = SpecialSituation.objects.get()

    client.force_login(carol)
    response = client.post(
        f"/exits/situations/{situation.pk}/decide/", {"decision": "proceed", "note": "可以退出"}, follow=True
    )
    assert "处理决定已保存。" in text(response)
    situation.refresh_from_db()
    assert (situation.decision, situation.decided_by) == (SituationDecision.PROCEED, carol)
    assert lost.number in element(response, "div", data_testid="situations").text
    assert services.case_enrol(by=alice, campaign=campaign, household=lost)


def test_the_situations_page_reports_a_refused_decision(client, campaign, lost, alice, tom):
    situation = investigate(alice, campaign, lost)
    client.force_login(tom)
    response = client.post(f"/exits/situations/{situation.pk}/decide/", {"decision": "proceed"}, follow=True)
    assert "特殊情况的处理决定由县级审批人员作出。" in text(response)
    situation.refresh_from_db()
    assert situation.decision == ""
