"""我的待办 (issue 7) at the service level: ``todo_for`` against counts worked out by
hand from data placed here, for every role; each person sees only their own region;
deadlines, days left and how many are late; the notices the town is to publish and
those the county may close once their minimum days have run; the registry problems a
village must fix; and a fixed number of queries whatever the size of the region.

The people are those of ``tests/conftest.py``: alice (village A), bob (village B, the
other town), amy (village A2, alice's town), tom (town A = villages A and A2), carol
(汉滨区 = A, A2 and B), zed (汉阴县), sam (教育, 汉滨区), sue (city supervisor), root;
and, where a test needs her, tina (town B = village B).
"""

import datetime
import itertools

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.models import Role, Sector
from dashboards.todo import todo_for
from exits import services as exit_services
from exits.models import (
    DONE,
    Campaign,
    CaseStatus,
    Criterion,
    CriterionCheck,
    CriterionResult,
    ExitCase,
    Objection,
    ObjectionStatus,
    SituationDecision,
    SituationKind,
    SpecialSituation,
    Step,
)
from households.models import LabourSkill, Member, Relationship, Schooling
from monitoring.models import Category, Channel, Measure, MeasureType, MonitoringCase, Stage
from tests.conftest import (
    COUNTY,
    OTHER_COUNTY,
    OTHER_COUNTY_VILLAGE,
    TOWN_B,
    VILLAGE_A,
    VILLAGE_A2,
    VILLAGE_B,
    make_user,
)
from tests.exits.conftest import amy, ready_household  # noqa: F401 - fixture
from tests.factories import HouseholdFactory, MemberFactory, valid_id_number

pytestmark = pytest.mark.django_db

D = datetime.date
AT = datetime.datetime(2020, 10, 9, 10, 0, tzinfo=datetime.timezone(datetime.timedelta(hours=8)))
TODAY = D(2020, 10, 12)  # the ``clock`` fixture's day; the village deadline is 10-20

VILLAGE_GROUPS = [
    "step-1",
    "step-2",
    "situations-investigate",
    "monitoring-screening",
    "measures",
    "registry-no-head",
    "registry-labour",
    "registry-phone",
    "registry-id",
]
TOWN_GROUPS = ["step-3", "step-4", "notice-publish", "objections", "monitoring-screening", "measures"]
COUNTY_GROUPS = [
    "notice-close",
    "objections",
    "step-6",
    "step-7",
    "step-8",
    "situations-decide",
    "monitoring-assessment",
]


# --- reading the groups ---------------------------------------------------------------------


def groups_of(user, campaign, today=TODAY) -> dict:
    groups = todo_for(user=user, campaign=campaign, today=today)
    keys = [g.key for g in groups]
    assert len(keys) == len(set(keys)), f"a group appears twice: {keys}"
    return {g.key: g for g in groups}


def counts(user, campaign, today=TODAY) -> dict[str, int]:
    return {key: g.count for key, g in groups_of(user, campaign, today).items()}


def timing(group) -> tuple:
    """What the card says about time: (deadline, days left, how many late)."""
    return group.deadline, group.days_left, group.late


# --- placing data by hand -------------------------------------------------------------------

# Heads get birth dates of their own, so that the factory's ID numbers (unique per birth
# date for 500 people) never collide however many households a test makes.
_births = itertools.count()


def next_birth() -> datetime.date:
    return D(1965, 1, 1) + datetime.timedelta(days=next(_births) % 6000)


def household_with_head(village, **fields):
    household = HouseholdFactory(village_id=village, **fields)
    MemberFactory(household=household, relationship=Relationship.HEAD, birth_date=next_birth(), name="张大山")
    return household


# A notice that started seven days (the campaign's ``notice_min_days``) before TODAY:
# it has run its minimum days and may close today.
NOTICE_STARTED = D(2020, 10, 5)


def case_at(campaign, village, step, *, by, household=None, notice=NOTICE_STARTED) -> ExitCase:
    """A case standing at ``step``, written straight to the database; at step 5 its
    notice started on ``notice`` (None: not published yet)."""
    return ExitCase.objects.create(
        campaign=campaign,
        household=household or ready_household(village=village),
        village_id=village,
        current_step=step,
        status=CaseStatus.EXITED if step == DONE else CaseStatus.IN_PROGRESS,
        notice_started_on=notice if step == Step.NOTICE else None,
        enrolled_by=by,
    )


def objection(case, status=ObjectionStatus.OPEN, *, raised_on=None, by):
    resolved = {} if status == ObjectionStatus.OPEN else {"resolution": "经核实", "resolved_at": AT}
    return Objection.objects.create(
        case=case,
        raised_on=raised_on or D(2020, 10, 8),
        content="该户收入核算有误",
        recorded_by=by,
        status=status,
        **resolved,
    )


def situation(campaign, village, *, investigation="", decision="", kind=SituationKind.LOST_CONTACT):
    # The household carries the flag of the situation investigated (DOMAIN.md §3).
    household = ready_household(village=village, **{str(kind): True})
    decided = {"decided_at": AT} if decision else {}
    return SpecialSituation.objects.create(
        campaign=campaign,
        household=household,
        village_id=village,
        kind=kind,
        investigation=investigation,
        decision=decision,
        **decided,
    )


def monitoring_case(village, stage, due) -> MonitoringCase:
    closed = {"closed_on": D(2020, 10, 1), "close_method": "务工收入稳定"} if stage == Stage.CLOSED else {}
    return MonitoringCase.objects.create(
        household=household_with_head(village),
        village_id=village,
        category=Category.UNSTABLE,
        channel=Channel.SYSTEM,
        risk_types=["illness"],
        stage=stage,
        discovered_on=D(2020, 9, 20),
        response_due=due,
        **closed,
    )


def measure(case, due, *, done_on=None, person="镇扶贫办王强") -> Measure:
    return Measure.objects.create(
        case=case,
        type=MeasureType.EMPLOYMENT,
        content="推荐到社区工厂务工",
        responsible_person=person,
        due_on=due,
        done_on=done_on,
    )


def wrong_check_digit(number: str) -> str:
    return number[:-1] + ("1" if number[-1] != "1" else "2")


def member(household, *, born, skill=LabourSkill.NONE, **fields) -> Member:
    return MemberFactory(
        household=household, relationship=Relationship.OTHER, birth_date=born, labour_skill=skill, **fields
    )


# --- the data -------------------------------------------------------------------------------

# Where the cases stand (step → how many), per village.
LAYOUT = {
    VILLAGE_A: {1: 3, 2: 2, 3: 1, 5: 1, DONE: 1},
    VILLAGE_A2: {1: 1, 3: 2, 4: 1, 7: 1},
    VILLAGE_B: {1: 1, 2: 1, 4: 2, 6: 1, 8: 2},
    OTHER_COUNTY_VILLAGE: {1: 1, 3: 1, 5: 1, 6: 2},
}


@pytest.fixture
def exit_cases(campaign, alice):
    """``LAYOUT``'s cases: village → step → cases."""
    return {
        village: {step: [case_at(campaign, village, step, by=alice) for _ in range(n)] for step, n in steps.items()}
        for village, steps in LAYOUT.items()
    }


@pytest.fixture
def notices(campaign, exit_cases, alice):
    """Step-5 cases besides ``LAYOUT``'s two (village A's and 汉阴县's, whose notices
    started on 10-05 and may close on TODAY): one not published yet in each of villages
    A, A2, B (the other town) and 汉阴县; and one in village A published on 10-06, which
    has a day of its minimum seven still to run."""
    return {
        "a_ended": exit_cases[VILLAGE_A][Step.NOTICE][0],
        "other_ended": exit_cases[OTHER_COUNTY_VILLAGE][Step.NOTICE][0],
        "a_unpublished": case_at(campaign, VILLAGE_A, Step.NOTICE, by=alice, notice=None),
        "a2_unpublished": case_at(campaign, VILLAGE_A2, Step.NOTICE, by=alice, notice=None),
        "b_unpublished": case_at(campaign, VILLAGE_B, Step.NOTICE, by=alice, notice=None),
        "other_unpublished": case_at(campaign, OTHER_COUNTY_VILLAGE, Step.NOTICE, by=alice, notice=None),
        "a_running": case_at(campaign, VILLAGE_A, Step.NOTICE, by=alice, notice=D(2020, 10, 6)),
    }


@pytest.fixture
def objections(campaign, exit_cases, alice):
    """A notice in village A running since 10-08: two open objections, one dismissed, one
    upheld; one in 汉阴县 running since 10-08: one open. (An objection holds its notice
    open, so these cases are not among the notices to close.)"""
    case_a = case_at(campaign, VILLAGE_A, Step.NOTICE, by=alice, notice=D(2020, 10, 8))
    other = case_at(campaign, OTHER_COUNTY_VILLAGE, Step.NOTICE, by=alice, notice=D(2020, 10, 8))
    return {
        "open": [
            objection(case_a, raised_on=D(2020, 10, 10), by=alice),
            objection(case_a, raised_on=D(2020, 10, 8), by=alice),
        ],
        "resolved": [
            objection(case_a, ObjectionStatus.DISMISSED, by=alice),
            objection(case_a, ObjectionStatus.UPHELD, by=alice),
        ],
        "other_county": [objection(other, by=alice)],
    }


@pytest.fixture
def situations(campaign):
    """失联 / 刑满释放 households: village A has one to investigate, one investigated and
    one decided; village B one to investigate and one investigated; 汉阴县 one investigated."""
    return {
        "a_new": situation(campaign, VILLAGE_A),
        "a_investigated": situation(campaign, VILLAGE_A, investigation="已联系本人，在浙江务工"),
        "a_decided": situation(
            campaign, VILLAGE_A, investigation="已刑满释放，居家", decision=SituationDecision.PROCEED,
            kind=SituationKind.RELEASED_PRISONER,
        ),
        "b_new": situation(campaign, VILLAGE_B),
        "b_investigated": situation(campaign, VILLAGE_B, investigation="已联系家属"),
        "other_investigated": situation(campaign, OTHER_COUNTY_VILLAGE, investigation="已联系家属"),
    }  # fmt: skip


@pytest.fixture
def monitoring(regions):
    """Monitoring cases and their measures, by village:

    - A: screening due 10-20 and 10-15; assessment due 10-18; assistance with measures
      due 10-30 (alice's own) and 10-10, and one done; closed with an open measure;
      dismissed.
    - A2: screening due 10-05 (already late on 10-12); assistance with a measure due 11-01.
    - B: screening due 10-25; assessment due 10-09; assistance with a measure due 10-20.
    - 汉阴县: screening due 10-01; assessment due 10-30; assistance with a measure due 10-20.
    """
    placed = {
        "a_screening": [monitoring_case(VILLAGE_A, Stage.SCREENING, D(2020, 10, 20)),
                        monitoring_case(VILLAGE_A, Stage.SCREENING, D(2020, 10, 15))],
        "a_assessment": monitoring_case(VILLAGE_A, Stage.ASSESSMENT, D(2020, 10, 18)),
        "a_assistance": monitoring_case(VILLAGE_A, Stage.ASSISTANCE, D(2020, 9, 30)),
        "a_closed": monitoring_case(VILLAGE_A, Stage.CLOSED, D(2020, 9, 10)),
        "a_dismissed": monitoring_case(VILLAGE_A, Stage.DISMISSED, D(2020, 9, 10)),
        "a2_screening": monitoring_case(VILLAGE_A2, Stage.SCREENING, D(2020, 10, 5)),
        "a2_assistance": monitoring_case(VILLAGE_A2, Stage.ASSISTANCE, D(2020, 9, 30)),
        "b_screening": monitoring_case(VILLAGE_B, Stage.SCREENING, D(2020, 10, 25)),
        "b_assessment": monitoring_case(VILLAGE_B, Stage.ASSESSMENT, D(2020, 10, 9)),
        "b_assistance": monitoring_case(VILLAGE_B, Stage.ASSISTANCE, D(2020, 9, 30)),
        "other_screening": monitoring_case(OTHER_COUNTY_VILLAGE, Stage.SCREENING, D(2020, 10, 1)),
        "other_assessment": monitoring_case(OTHER_COUNTY_VILLAGE, Stage.ASSESSMENT, D(2020, 10, 30)),
        "other_assistance": monitoring_case(OTHER_COUNTY_VILLAGE, Stage.ASSISTANCE, D(2020, 9, 30)),
    }  # fmt: skip
    placed["measures"] = {
        "a_mine": measure(placed["a_assistance"], D(2020, 10, 30), person="李爱丽"),
        "a_late": measure(placed["a_assistance"], D(2020, 10, 10)),
        "a_done": measure(placed["a_assistance"], D(2020, 10, 1), done_on=D(2020, 10, 5)),
        "a_of_closed_case": measure(placed["a_closed"], D(2020, 10, 1)),
        "a2": measure(placed["a2_assistance"], D(2020, 11, 1)),
        "b": measure(placed["b_assistance"], D(2020, 10, 20)),
        "other": measure(placed["other_assistance"], D(2020, 10, 20)),
    }
    return placed


@pytest.fixture
def registry_problems(regions):
    """Records breaking DOMAIN.md §2 rules, written straight to the database as legacy
    data would be. Village A: one household whose 户主 was removed; two members who
    should not be 无劳动力 (aged exactly 16 and 59) among seven who rightly may be;
    three households with a bad phone; two members with a bad ID number. Village B:
    one of each."""
    headless = household_with_head(VILLAGE_A)
    MemberFactory(household=headless, relationship=Relationship.SON, birth_date=next_birth())
    Member.objects.filter(household=headless, relationship=Relationship.HEAD).delete()

    family = household_with_head(VILLAGE_A)
    idle = [
        member(family, born=D(2004, 10, 12), name="满十六岁"),  # 16 today
        member(family, born=D(1960, 10, 13), name="五十九岁"),  # 60 tomorrow
    ]
    fine = [
        member(family, born=D(2004, 10, 13), name="十五岁"),  # 16 tomorrow
        member(family, born=D(1960, 10, 12), name="六十岁"),  # 60 today
        member(
            family, born=D(1990, 1, 1), name="残疾", is_disabled=True, disability_category="肢体", disability_grade=2
        ),
        member(family, born=D(1990, 1, 2), name="慢性病", has_chronic_disease=True),
        member(family, born=D(1990, 1, 3), name="大病", has_serious_illness=True),
        member(family, born=D(2003, 3, 3), name="高中生", education="", schooling=Schooling.HIGH_3),
        member(family, born=D(1990, 1, 4), name="弱劳力", skill=LabourSkill.WEAK),
    ]
    bad_phones = [
        household_with_head(VILLAGE_A, phone="0915123456"),  # a landline
        household_with_head(VILLAGE_A, helper_phone="1380013800"),  # ten digits
        household_with_head(VILLAGE_A, phone="12345678901"),  # no mobile starts 12
    ]
    good_phones = [
        household_with_head(VILLAGE_A, phone="13800138000", helper_phone="13912345678"),
        household_with_head(VILLAGE_A),
    ]
    ids = household_with_head(VILLAGE_A)
    bad_ids = [
        member(ids, born=D(1985, 3, 4), skill=LabourSkill.ORDINARY, name="校验位错",
               id_number=wrong_check_digit(valid_id_number(birth=D(1985, 3, 4)))),
        member(ids, born=D(1985, 3, 5), skill=LabourSkill.ORDINARY, name="生日错",
               id_number="610902198502301234"),  # 30 February
    ]  # fmt: skip

    b_headless = household_with_head(VILLAGE_B)
    MemberFactory(household=b_headless, relationship=Relationship.DAUGHTER, birth_date=next_birth())
    Member.objects.filter(household=b_headless, relationship=Relationship.HEAD).delete()
    b_family = household_with_head(VILLAGE_B, phone="0915000000")
    member(b_family, born=D(1990, 6, 6))
    member(b_family, born=D(1986, 6, 6), skill=LabourSkill.ORDINARY,
           id_number=wrong_check_digit(valid_id_number(birth=D(1986, 6, 6))))  # fmt: skip
    return {
        "headless": headless,
        "idle": idle,
        "fine": fine,
        "bad_phones": bad_phones,
        "good_phones": good_phones,
        "bad_ids": bad_ids,
    }


@pytest.fixture
def criteria(exit_cases, regions):
    """Criterion checks written by hand on the first step-1 case of each village:

    - A, first case: 义务教育 met and not certified, 住房 met and not certified, 收入 certified;
    - A, second case: 义务教育 certified;
    - B: 义务教育 not met (not certified);
    - 汉阴县: 义务教育 met and not certified.
    """
    certified = {"result": CriterionResult.MET, "certified_at": AT}
    met = {"result": CriterionResult.MET}
    a1, a2 = exit_cases[VILLAGE_A][1][:2]
    b = exit_cases[VILLAGE_B][1][0]
    other = exit_cases[OTHER_COUNTY_VILLAGE][1][0]
    for case, criterion, fields in (
        (a1, Criterion.EDUCATION, met),
        (a1, Criterion.HOUSING, met),
        (a1, Criterion.INCOME, certified),
        (a2, Criterion.EDUCATION, certified),
        (b, Criterion.EDUCATION, {"result": CriterionResult.NOT_MET}),
        (other, Criterion.EDUCATION, met),
    ):
        CriterionCheck.objects.create(case=case, criterion=criterion, **fields)
    return {"a1": a1, "b": b}


# --- which groups, for whom -------------------------------------------------------------------


def test_each_role_gets_its_own_groups_in_order(campaign, alice, tom, carol, sam, sue, root):
    assert list(groups_of(alice, campaign)) == VILLAGE_GROUPS
    assert list(groups_of(tom, campaign)) == TOWN_GROUPS
    assert list(groups_of(carol, campaign)) == COUNTY_GROUPS
    assert list(groups_of(sam, campaign)) == ["certify"]
    assert todo_for(user=sue, campaign=campaign, today=TODAY) == []
    assert todo_for(user=root, campaign=campaign, today=TODAY) == []


def test_a_sector_that_certifies_no_criterion_has_nothing_to_do(campaign, exit_cases, criteria):
    police = make_user("pat", Role.SECTOR, COUNTY, sector=Sector.PUBLIC_SECURITY)
    assert todo_for(user=police, campaign=campaign, today=TODAY) == []


def test_without_a_campaign_only_monitoring_and_the_registry_remain(alice, tom, carol, sam):
    assert list(groups_of(alice, None)) == [
        "monitoring-screening",
        "measures",
        "registry-no-head",
        "registry-labour",
        "registry-phone",
        "registry-id",
    ]
    assert list(groups_of(tom, None)) == ["monitoring-screening", "measures"]
    assert list(groups_of(carol, None)) == ["monitoring-assessment"]
    assert todo_for(user=sam, campaign=None, today=TODAY) == []


def test_a_campaign_that_moves_a_step_to_another_level_moves_the_group(campaign, exit_cases, alice, tom):
    campaign.step_levels = {**campaign.step_levels, "3": "village"}
    campaign.save()
    mine = groups_of(alice, campaign)
    assert list(mine)[:3] == ["step-1", "step-2", "step-3"]
    assert (mine["step-3"].count, mine["step-3"].deadline) == (1, D(2020, 10, 20))  # village A's one, village deadline
    assert list(groups_of(tom, campaign)) == [
        "step-4",
        "notice-publish",
        "objections",
        "monitoring-screening",
        "measures",
    ]


# --- exit steps -------------------------------------------------------------------------------


def test_a_village_cadre_counts_only_her_own_village_s_cases_at_the_village_steps(
    campaign,
    exit_cases,
    alice,
    bob,
    amy,  # noqa: F811 - fixture
):
    assert {k: v for k, v in counts(alice, campaign).items() if k.startswith("step-")} == {"step-1": 3, "step-2": 2}
    assert {k: v for k, v in counts(bob, campaign).items() if k.startswith("step-")} == {"step-1": 1, "step-2": 1}
    assert {k: v for k, v in counts(amy, campaign).items() if k.startswith("step-")} == {"step-1": 1, "step-2": 0}

    step_1 = groups_of(alice, campaign)["step-1"]
    cases = sorted(exit_cases[VILLAGE_A][1], key=lambda c: c.household.number)
    assert [(r.label, r.detail, r.url) for r in step_1.rows] == [
        (f"{c.household.number} 王建国", c.village.name, reverse("exits:detail", args=[c.pk])) for c in cases
    ]
    assert step_1.url == reverse("exits:list") + f"?campaign={campaign.pk}&step=1"


def test_a_case_of_another_campaign_is_not_counted(campaign, exit_cases, alice):
    old = Campaign.objects.create(
        year=2019, name="2019年度贫困户退出", income_line=3218, is_active=False,
        village_deadline=D(2019, 10, 20), town_deadline=D(2019, 10, 31),
        county_deadline=D(2019, 11, 10), marking_deadline=D(2019, 11, 20),
    )  # fmt: skip
    case_at(old, VILLAGE_A, 1, by=alice)
    case_at(old, VILLAGE_A, 2, by=alice)
    assert counts(alice, campaign)["step-1"] == 3
    assert counts(alice, old, today=D(2019, 10, 12))["step-1"] == 1


def test_a_town_official_counts_the_town_steps_of_her_town_s_villages_only(campaign, exit_cases, tom):
    groups = groups_of(tom, campaign)
    # Town A: step 3 — one in village A, two in A2; step 4 — one in A2 (B's two are the other town's).
    assert (groups["step-3"].count, groups["step-4"].count) == (3, 1)
    town_cases = {c.pk for village in (VILLAGE_A, VILLAGE_A2) for c in exit_cases[village][3]}
    assert {r.url for r in groups["step-3"].rows} == {reverse("exits:detail", args=[pk]) for pk in town_cases}


def test_a_county_official_counts_the_county_steps_of_her_county_only(campaign, exit_cases, carol, zed):
    # Step 5 is the notices that have run their minimum days: here all of them (10-05).
    assert {k: v for k, v in counts(carol, campaign).items() if k.startswith(("step-", "notice-"))} == {
        "notice-close": 1, "step-6": 1, "step-7": 1, "step-8": 2,
    }  # fmt: skip
    assert {k: v for k, v in counts(zed, campaign).items() if k.startswith(("step-", "notice-"))} == {
        "notice-close": 1, "step-6": 2, "step-7": 0, "step-8": 0,
    }  # fmt: skip
    approvals = groups_of(carol, campaign)["step-6"]
    assert approvals.url == reverse("exits:approvals")
    assert [r.url for r in approvals.rows] == [reverse("exits:detail", args=[exit_cases[VILLAGE_B][6][0].pk])]


def test_a_group_shows_the_first_five_rows_and_counts_them_all(campaign, alice):
    cases = [case_at(campaign, VILLAGE_A, 1, by=alice) for _ in range(7)]
    step_1 = groups_of(alice, campaign)["step-1"]
    first_five = sorted(cases, key=lambda c: c.household.number)[:5]
    assert step_1.count == 7
    assert [r.url for r in step_1.rows] == [reverse("exits:detail", args=[c.pk]) for c in first_five]


@pytest.mark.parametrize(
    "today, expected",
    [
        (TODAY, (D(2020, 10, 20), 8, 0)),
        (D(2020, 10, 20), (D(2020, 10, 20), 0, 0)),  # due today is not late yet
        (D(2020, 10, 25), (D(2020, 10, 20), -5, 3)),  # all three of step 1 are late
    ],
)
def test_a_village_step_runs_against_the_village_deadline(campaign, exit_cases, alice, today, expected):
    step_1 = groups_of(alice, campaign, today)["step-1"]
    assert timing(step_1) == expected
    assert step_1.overdue == (expected[1] < 0)


def test_each_level_s_steps_have_that_level_s_deadline(campaign, exit_cases, tom, carol, zed):
    late_october = D(2020, 10, 25)
    town = groups_of(tom, campaign, late_october)
    assert timing(town["step-3"]) == (D(2020, 10, 31), 6, 0)
    # Publishing the notice is the town's work, to be done by the deadline of step 5's level.
    assert timing(town["notice-publish"]) == (D(2020, 11, 10), 16, 0)

    mid_november = D(2020, 11, 15)
    county = groups_of(carol, campaign, mid_november)
    assert timing(county["notice-close"]) == (D(2020, 11, 10), -5, 1)
    assert timing(county["step-6"]) == (D(2020, 11, 10), -5, 1)
    assert timing(county["step-8"]) == (D(2020, 11, 20), 5, 0)  # the marking has its own deadline
    # Nothing at step 7 in 汉阴县: past the deadline, yet nothing is late.
    assert timing(groups_of(zed, campaign, mid_november)["step-7"]) == (D(2020, 11, 10), -5, 0)


# --- notices (公示): the town publishes, the county closes -----------------------------------


def detail(case) -> str:
    return reverse("exits:detail", args=[case.pk])


def test_a_town_official_publishes_the_notices_of_her_town_s_villages_only(campaign, notices, tom, alice, carol):
    publish = groups_of(tom, campaign)["notice-publish"]
    # A's and A2's unpublished ones: not A's ended or running notices, not B's (the
    # other town) nor 汉阴县's.
    assert publish.count == 2
    assert publish.title == "待发布公示"
    assert [(r.label, r.detail, r.url) for r in publish.rows] == [
        (f"{c.household.number} 王建国", c.village.name, detail(c))
        for c in (notices["a_unpublished"], notices["a2_unpublished"])  # by village, A first
    ]
    assert publish.url == reverse("exits:list") + f"?campaign={campaign.pk}&notice=unpublished"
    assert timing(publish) == (D(2020, 11, 10), 29, 0)  # step 5 is the county's: its deadline

    tina = make_user("tina", Role.TOWN_OFFICIAL, TOWN_B)
    assert [r.url for r in groups_of(tina, campaign)["notice-publish"].rows] == [detail(notices["b_unpublished"])]
    # Publishing is the town's: neither the village nor the county has the group.
    assert "notice-publish" not in groups_of(alice, campaign)
    assert "notice-publish" not in groups_of(carol, campaign)


def test_unpublished_notices_past_the_deadline_are_all_late(campaign, notices, tom):
    publish = groups_of(tom, campaign, D(2020, 11, 15))["notice-publish"]
    assert (publish.count, *timing(publish)) == (2, D(2020, 11, 10), -5, 2)
    assert publish.overdue


def test_a_county_official_closes_only_the_notices_that_have_run_their_minimum_days(campaign, notices, carol, zed):
    close = groups_of(carol, campaign)["notice-close"]
    # Village A's notice of 10-05 has run its seven days on 10-12: it may close today. Not
    # A's of 10-06 (a day to go), nor the unpublished ones of A, A2 and B.
    assert close.count == 1
    assert close.title == "公示期满待办结"
    assert [(r.label, r.url) for r in close.rows] == [
        (f"{notices['a_ended'].household.number} 王建国", detail(notices["a_ended"]))
    ]
    assert close.url == reverse("exits:list") + f"?campaign={campaign.pk}&notice=closable"
    assert timing(close) == (D(2020, 11, 10), 29, 0)
    # 汉阴县's of 10-05, not its unpublished one.
    assert [r.url for r in groups_of(zed, campaign)["notice-close"].rows] == [detail(notices["other_ended"])]


def test_a_notice_may_close_the_day_its_minimum_days_have_run(campaign, notices, carol):
    assert counts(carol, campaign, today=D(2020, 10, 11))["notice-close"] == 0  # 10-05's has a day to go
    assert counts(carol, campaign, today=D(2020, 10, 12))["notice-close"] == 1
    close = groups_of(carol, campaign, today=D(2020, 10, 13))["notice-close"]
    assert {r.url for r in close.rows} == {detail(notices["a_ended"]), detail(notices["a_running"])}  # 10-06's too
    # The unpublished ones never reach the county's list, however long they wait.
    assert counts(carol, campaign, today=D(2020, 11, 30))["notice-close"] == 2


def test_the_minimum_days_are_the_campaign_s(campaign, notices, carol):
    campaign.notice_min_days = 10
    campaign.save()
    assert counts(carol, campaign)["notice-close"] == 0  # 10-05 + 10 days = 10-15
    assert counts(carol, campaign, today=D(2020, 10, 15))["notice-close"] == 1
    assert counts(carol, campaign, today=D(2020, 10, 16))["notice-close"] == 2


def test_a_published_notice_leaves_the_town_s_list_and_reaches_the_county_s_once_it_has_run(
    campaign, notices, clock, tom, carol, certifiers
):
    # The notice opens on five criteria met and certified (DOMAIN.md §3–4).
    unpublished = notices["a_unpublished"]
    for criterion in Criterion.values:
        CriterionCheck.objects.create(case=unpublished, criterion=criterion)
    exit_services.criteria_refresh([unpublished])
    for check in unpublished.criteria.all():
        exit_services.criterion_certify(by=certifiers[check.criterion], check=check)
    exit_services.notice_open(by=tom, case=unpublished)  # on 10-12
    assert counts(tom, campaign)["notice-publish"] == 1  # A2's is left
    assert counts(carol, campaign)["notice-close"] == 1  # running: not yet the county's
    close = groups_of(carol, campaign, today=D(2020, 10, 19))["notice-close"]
    assert {r.url for r in close.rows} == {
        detail(notices[key]) for key in ("a_ended", "a_running", "a_unpublished")
    }  # 10-05's, 10-06's and the one published on 10-12


def test_a_campaign_that_gives_the_notice_to_the_town_moves_notice_close_there(campaign, notices, tom, carol):
    campaign.step_levels = {**campaign.step_levels, "5": "town"}
    campaign.save()
    town = groups_of(tom, campaign)
    assert list(town) == [
        "step-3", "step-4", "notice-close", "notice-publish", "objections", "monitoring-screening", "measures",
    ]  # fmt: skip
    # Village A's notice of 10-05, now against the town's deadline; so are the two to publish.
    assert (town["notice-close"].count, *timing(town["notice-close"])) == (1, D(2020, 10, 31), 19, 0)
    assert [r.url for r in town["notice-close"].rows] == [detail(notices["a_ended"])]
    assert (town["notice-publish"].count, *timing(town["notice-publish"])) == (2, D(2020, 10, 31), 19, 0)

    county = groups_of(carol, campaign)
    assert "notice-close" not in county
    assert [k for k in county if k.startswith("step-")] == ["step-6", "step-7", "step-8"]


# --- objections and special situations --------------------------------------------------------


def test_a_county_official_gets_only_the_open_objections_of_her_county(campaign, objections, carol, zed, alice):
    mine = groups_of(carol, campaign)["objections"]
    assert mine.count == 2  # the dismissed and the upheld ones are done; 汉阴县's is zed's
    assert [r.due for r in mine.rows] == [D(2020, 10, 8), D(2020, 10, 10)]  # oldest first
    case = objections["open"][0].case
    assert {r.url for r in mine.rows} == {reverse("exits:detail", args=[case.pk]) + "#objections"}
    assert timing(mine) == (D(2020, 11, 10), 29, 0)
    assert groups_of(zed, campaign)["objections"].count == 1
    assert "objections" not in groups_of(alice, campaign)


def test_a_town_official_gets_the_open_objections_of_her_town_only(campaign, objections, alice, tom, carol):
    b_case = case_at(campaign, VILLAGE_B, Step.NOTICE, by=alice)
    objection(b_case, raised_on=D(2020, 10, 9), by=alice)

    mine = groups_of(tom, campaign)["objections"]
    # Village A's two open ones: not B's (the other town), nor 汉阴县's, nor the resolved two.
    assert mine.count == 2
    assert [r.due for r in mine.rows] == [D(2020, 10, 8), D(2020, 10, 10)]
    case = objections["open"][0].case
    assert {r.url for r in mine.rows} == {detail(case) + "#objections"}
    assert timing(mine) == (D(2020, 11, 10), 29, 0)  # the deadline of step 5's level, as the county's

    tina = make_user("tina", Role.TOWN_OFFICIAL, TOWN_B)
    assert [r.url for r in groups_of(tina, campaign)["objections"].rows] == [detail(b_case) + "#objections"]
    assert counts(carol, campaign)["objections"] == 3  # the county sees both towns'

    exit_services.objection_resolve(by=tom, objection=objections["open"][0], upheld=False, resolution="经核实不属实")
    assert counts(tom, campaign)["objections"] == 1
    assert counts(carol, campaign)["objections"] == 2


def test_the_village_investigates_and_the_county_decides_special_situations(
    campaign, situations, alice, bob, carol, zed
):
    investigate = groups_of(alice, campaign)["situations-investigate"]
    assert investigate.count == 1
    assert [r.label for r in investigate.rows] == [f"{situations['a_new'].household.number} · 失联人员"]
    assert investigate.rows[0].url == reverse("exits:situations")
    assert counts(bob, campaign)["situations-investigate"] == 1

    decide = groups_of(carol, campaign)["situations-decide"]
    assert decide.count == 2  # A's and B's investigated ones; the decided one and 汉阴县's are not hers
    assert {r.label for r in decide.rows} == {
        f"{situations[key].household.number} · 失联人员" for key in ("a_investigated", "b_investigated")
    }
    assert counts(zed, campaign)["situations-decide"] == 1


def test_a_household_marked_lost_contact_waits_for_the_village_s_investigation(campaign, alice, client):
    lost = ready_household(village=VILLAGE_A, lost_contact=True)
    # The situations page lists it as waiting for the village's investigation ...
    client.force_login(alice)
    assert lost.number in client.get(reverse("exits:situations")).content.decode()
    # ... and so should her 我的待办.
    investigate = groups_of(alice, campaign)["situations-investigate"]
    assert investigate.count == 1
    assert investigate.rows[0].label == f"{lost.number} · 失联人员"


def test_a_recorded_investigation_moves_the_situation_from_the_village_to_the_county(
    campaign, situations, alice, carol
):
    exit_services.situation_investigate(
        by=alice, campaign=campaign, household=situations["a_new"].household,
        kind=SituationKind.LOST_CONTACT, investigation="已联系本人，在西安务工",
    )  # fmt: skip
    assert counts(alice, campaign)["situations-investigate"] == 0
    assert counts(carol, campaign)["situations-decide"] == 3
    exit_services.situation_decide(by=carol, situation=situations["a_investigated"], decision=SituationDecision.PROCEED)
    assert counts(carol, campaign)["situations-decide"] == 2


# --- monitoring -------------------------------------------------------------------------------


def test_monitoring_cases_to_screen_are_the_village_s_and_the_town_s(campaign, monitoring, alice, bob, tom):
    village = groups_of(alice, campaign)["monitoring-screening"]
    assert village.count == 2
    assert timing(village) == (D(2020, 10, 15), 3, 0)  # the earliest response deadline
    assert [(r.due, r.days_left) for r in village.rows] == [(D(2020, 10, 15), 3), (D(2020, 10, 20), 8)]
    assert [r.url for r in village.rows] == [
        reverse("monitoring:detail", args=[monitoring["a_screening"][1].pk]),
        reverse("monitoring:detail", args=[monitoring["a_screening"][0].pk]),
    ]

    town = groups_of(tom, campaign)["monitoring-screening"]
    # A's two and A2's one, which passed its deadline a week ago: one of three is late.
    assert (town.count, *timing(town)) == (3, D(2020, 10, 5), -7, 1)
    assert town.overdue and town.days_overdue == 7
    assert timing(groups_of(bob, campaign)["monitoring-screening"]) == (D(2020, 10, 25), 13, 0)


def test_monitoring_cases_to_assess_are_the_county_s(campaign, monitoring, carol, zed):
    county = groups_of(carol, campaign)["monitoring-assessment"]
    assert (county.count, *timing(county)) == (2, D(2020, 10, 9), -3, 1)  # A's (10-18) and B's (10-09)
    assert {r.url for r in county.rows} == {
        reverse("monitoring:detail", args=[monitoring[key].pk]) for key in ("a_assessment", "b_assessment")
    }
    assert (groups_of(zed, campaign)["monitoring-assessment"].count) == 1


def test_nothing_to_screen_has_no_deadline(campaign, alice):
    screening = groups_of(alice, campaign)["monitoring-screening"]
    assert (screening.count, *timing(screening)) == (0, None, None, 0)
    assert not screening.overdue


def test_only_open_measures_of_open_monitoring_cases_are_to_do(campaign, monitoring, alice, tom, bob):
    mine = groups_of(alice, campaign)["measures"]
    # A: due 10-30 and 10-10 (late); not the one done, nor the closed case's.
    assert (mine.count, *timing(mine)) == (2, D(2020, 10, 10), -2, 1)
    assert [r.due for r in mine.rows] == [D(2020, 10, 10), D(2020, 10, 30)]
    assert [("本人" in r.detail) for r in mine.rows] == [False, True]  # alice's own measure says so
    assert mine.rows[0].url == reverse("monitoring:detail", args=[monitoring["a_assistance"].pk]) + "#measures"

    town = groups_of(tom, campaign)["measures"]
    assert (town.count, *timing(town)) == (3, D(2020, 10, 10), -2, 1)  # A2's (11-01) added
    assert timing(groups_of(bob, campaign)["measures"]) == (D(2020, 10, 20), 8, 0)


def test_a_measure_done_leaves_the_list(campaign, monitoring, alice):
    late = monitoring["measures"]["a_late"]
    late.done_on = D(2020, 10, 12)
    late.save()
    mine = groups_of(alice, campaign)["measures"]
    assert (mine.count, *timing(mine)) == (1, D(2020, 10, 30), 18, 0)


# --- sector certification ---------------------------------------------------------------------


def test_a_sector_sees_only_its_own_criteria_not_yet_certified_in_its_county(campaign, criteria, sam, regions):
    mine = groups_of(sam, campaign)["certify"]
    # 义务教育 of A's first case; not B's (not met: nothing to certify yet), not A's
    # certified one, not 汉阴县's.
    assert mine.count == 1
    assert [r.label for r in mine.rows] == [f"{criteria['a1'].household.number} · 义务教育"]
    assert [r.url for r in mine.rows] == [reverse("exits:detail", args=[criteria["a1"].pk]) + "#criteria"]
    assert timing(mine) == (D(2020, 10, 20), 8, 0)

    housing = make_user("hank", Role.SECTOR, COUNTY, sector=Sector.HOUSING)
    assert counts(housing, campaign) == {"certify": 1}
    other_education = make_user("olly", Role.SECTOR, OTHER_COUNTY, sector=Sector.EDUCATION)
    assert counts(other_education, campaign) == {"certify": 1}


def test_certifying_takes_the_criterion_off_the_sector_s_list(campaign, certifiers, alice, clock):
    cases = [exit_services.case_enrol(by=alice, campaign=campaign, household=ready_household()) for _ in range(2)]
    education = certifiers[Criterion.EDUCATION]
    assert counts(education, campaign) == {"certify": 2}
    exit_services.criterion_certify(by=education, check=cases[0].criteria.get(criterion=Criterion.EDUCATION))
    assert counts(education, campaign) == {"certify": 1}
    assert counts(certifiers[Criterion.WATER], campaign) == {"certify": 2}  # the other sectors' still wait


# --- registry problems ------------------------------------------------------------------------


def edit_url(household, member=None) -> str:
    url = reverse("households:edit", args=[household.pk])
    return url + f"#member-{member.pk}" if member else url


def test_a_household_whose_head_was_removed_is_to_be_fixed(campaign, registry_problems, alice, bob):
    group = groups_of(alice, campaign)["registry-no-head"]
    headless = registry_problems["headless"]
    assert group.count == 1
    assert [(r.label, r.url) for r in group.rows] == [(headless.number, edit_url(headless))]
    assert counts(bob, campaign)["registry-no-head"] == 1


def test_a_healthy_working_age_member_not_at_school_is_not_without_labour(campaign, registry_problems, alice, bob):
    group = groups_of(alice, campaign)["registry-labour"]
    idle = registry_problems["idle"]
    # Only the 16- and 59-year-olds: not the 15- or 60-year-old, the disabled, the ill,
    # the pupil or the weak labourer.
    assert group.count == 2
    assert [(r.label, r.url) for r in group.rows] == [
        (f"{m.household.number} {m.name}", edit_url(m.household, m)) for m in idle
    ]
    assert counts(bob, campaign)["registry-labour"] == 1


def test_the_labour_rule_follows_the_day(campaign, registry_problems, alice):
    # A day later the 15-year-old turns 16 and the 59-year-old turns 60.
    group = groups_of(alice, campaign, today=TODAY + datetime.timedelta(days=1))["registry-labour"]
    assert [r.label.split()[-1] for r in group.rows] == ["满十六岁", "十五岁"]


def test_a_phone_or_helper_phone_that_is_not_a_mobile_number_is_to_be_fixed(campaign, registry_problems, alice, bob):
    group = groups_of(alice, campaign)["registry-phone"]
    bad = sorted(registry_problems["bad_phones"], key=lambda h: h.number)
    assert group.count == 3
    assert [(r.label, r.url) for r in group.rows] == [(h.number, edit_url(h)) for h in bad]
    assert counts(bob, campaign)["registry-phone"] == 1


def test_an_id_number_that_fails_its_check_is_to_be_fixed(campaign, registry_problems, alice, bob):
    group = groups_of(alice, campaign)["registry-id"]
    bad = registry_problems["bad_ids"]
    assert group.count == 2  # a wrong check digit and a 30 February
    assert [(r.label, r.url) for r in group.rows] == [
        (f"{m.household.number} {m.name}", edit_url(m.household, m)) for m in bad
    ]
    assert counts(bob, campaign)["registry-id"] == 1


def test_a_clean_village_has_no_registry_problems(campaign, exit_cases, monitoring, alice):
    assert {k: v for k, v in counts(alice, campaign).items() if k.startswith("registry-")} == {
        "registry-no-head": 0, "registry-labour": 0, "registry-phone": 0, "registry-id": 0,
    }  # fmt: skip


# --- a fixed number of queries ----------------------------------------------------------------


def add_work(campaign, n, *, by):
    """``n`` items of every kind of work in village A, where alice, tom, carol and sam all
    look: cases at each step (the notice ones run their minimum days, and one more each
    is held open by an objection; the step-1 ones an uncertified 义务教育), a notice not published yet,
    special situations, monitoring cases past their deadline with an open measure, and
    records breaking each registry rule."""
    for _ in range(n):
        for step in range(1, DONE):
            case = case_at(campaign, VILLAGE_A, step, by=by, household=household_with_head(VILLAGE_A))
            if step == Step.NOTICE:  # and one held open by an objection
                held = case_at(campaign, VILLAGE_A, step, by=by, household=household_with_head(VILLAGE_A))
                objection(held, by=by)
            if step == Step.VERIFY:
                CriterionCheck.objects.create(case=case, criterion=Criterion.EDUCATION, result=CriterionResult.MET)
        case_at(campaign, VILLAGE_A, Step.NOTICE, by=by, household=household_with_head(VILLAGE_A), notice=None)
        for investigation in ("", "已联系本人"):
            household = household_with_head(VILLAGE_A, lost_contact=True)
            SpecialSituation.objects.create(
                campaign=campaign, household=household, village_id=VILLAGE_A,
                kind=SituationKind.LOST_CONTACT, investigation=investigation,
            )  # fmt: skip
        monitoring_case(VILLAGE_A, Stage.SCREENING, D(2020, 10, 1))
        monitoring_case(VILLAGE_A, Stage.ASSESSMENT, D(2020, 10, 1))
        measure(monitoring_case(VILLAGE_A, Stage.ASSISTANCE, D(2020, 9, 1)), D(2020, 10, 1))
        headless = household_with_head(VILLAGE_A, phone="0915123456")
        MemberFactory(household=headless, relationship=Relationship.SON, birth_date=next_birth())
        Member.objects.filter(household=headless, relationship=Relationship.HEAD).delete()
        member(headless, born=D(1995, 1, 1) + datetime.timedelta(days=next(_births) % 300))
        born = D(1975, 1, 1) + datetime.timedelta(days=next(_births) % 3000)
        member(
            headless, born=born, skill=LabourSkill.ORDINARY, id_number=wrong_check_digit(valid_id_number(birth=born))
        )


def queries(user, campaign) -> tuple[int, dict[str, int]]:
    with CaptureQueriesContext(connection) as captured:
        groups = todo_for(user=user, campaign=campaign, today=TODAY)
    return len(captured), {g.key: g.count for g in groups}


def test_the_number_of_queries_does_not_grow_with_the_work(campaign, alice, tom, carol, sam):
    people = {"alice": alice, "tom": tom, "carol": carol, "sam": sam}
    add_work(campaign, 1, by=alice)
    for user in people.values():
        todo_for(user=user, campaign=campaign, today=TODAY)  # the user's region, cached
    few = {name: queries(user, campaign) for name, user in people.items()}
    # Every group has one item: none is skipped as empty.
    assert {name: set(found.values()) for name, (_, found) in few.items()} == {
        "alice": {1}, "tom": {1}, "carol": {1}, "sam": {1},
    }  # fmt: skip

    add_work(campaign, 29, by=alice)
    many = {name: queries(user, campaign) for name, user in people.items()}
    assert set(many["alice"][1].values()) == {30}
    assert set(many["carol"][1].values()) == {30}
    assert many["tom"][1] == {
        "step-3": 30, "step-4": 30, "notice-publish": 30, "objections": 30, "monitoring-screening": 30, "measures": 30,
    }  # fmt: skip
    assert many["sam"][1] == {"certify": 30}
    # Two queries a group (a count and the first rows): the town's six (its two steps,
    # the notices to publish, the objections, screening and measures) and the county's
    # seven (notice-close, objections, steps 6–8, situations, assessment) alike; one
    # more (how many are late) for each monitoring or measures group whose earliest
    # deadline has passed; the village's special situations take two a kind (失联,
    # 刑满释放). The same for 1 item of each kind as for 30.
    expected = {"alice": 2 * 9 + 2 + 2, "tom": 2 * 6 + 2, "carol": 2 * 7 + 1, "sam": 2}
    assert {name: n for name, (n, _) in few.items()} == expected
    assert {name: n for name, (n, _) in many.items()} == expected


def test_an_open_objection_holds_a_finished_notice_out_of_the_county_s_notices_to_close(
    campaign, exit_cases, alice, tom, carol
):
    ended = exit_cases[VILLAGE_A][Step.NOTICE][0]  # started 10-05: its seven days are over
    assert counts(carol, campaign)["notice-close"] == 1
    raised = objection(ended, raised_on=D(2020, 10, 9), by=alice)
    # It cannot be closed while the objection is open: it waits among the objections.
    assert counts(carol, campaign)["notice-close"] == 0
    assert counts(carol, campaign)["objections"] == 1
    exit_services.objection_resolve(by=tom, objection=raised, upheld=False, resolution="经核实不属实")
    assert counts(carol, campaign)["notice-close"] == 1
    assert counts(carol, campaign)["objections"] == 0
