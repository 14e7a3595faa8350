"""The five criteria (户脱贫5条标准, DOMAIN.md §3): measured from the registry with the
values and the member who fails, assessed by the village where data is missing,
certified by the right sector, and uncertified when the registry changes."""

import datetime
from decimal import Decimal

import pytest

from exits import services
from exits.models import Criterion, CriterionResult
from households.models import (
    HousingAppraisal,
    HousingOutcome,
    IncomeRecord,
    MedicalInsurance,
    Relationship,
    Schooling,
    WaterAssessment,
)
from tests.exits.conftest import ready_household, refusal
from tests.factories import MemberFactory

pytestmark = pytest.mark.django_db


def enrol(alice, campaign, household=None):
    return services.case_enrol(by=alice, campaign=campaign, household=household or ready_household())


def check_of(case, criterion):
    return case.criteria.get(criterion=criterion)


# --- measuring ------------------------------------------------------------------------------


def test_income_below_or_at_the_line_is_not_met(clock, campaign, alice):
    low = ready_household()
    IncomeRecord.objects.filter(household=low).update(wage_income=Decimal("7000"))
    at_line = ready_household()
    IncomeRecord.objects.filter(household=at_line).update(wage_income=Decimal("8000"))

    low_check = check_of(enrol(alice, campaign, low), Criterion.INCOME)
    at_line_check = check_of(enrol(alice, campaign, at_line), Criterion.INCOME)

    assert low_check.result == CriterionResult.NOT_MET
    assert low_check.measured == {"year": 2020, "per_capita": "3500.00", "line": "4000.00"}
    assert low_check.failures == ["2020年家庭人均纯收入3500.00元，未超过当年标准4000.00元。"]
    # "above that year's line": exactly the line is not enough.
    assert at_line_check.result == CriterionResult.NOT_MET
    assert at_line_check.failures == ["2020年家庭人均纯收入4000.00元，未超过当年标准4000.00元。"]


def test_income_uses_the_campaigns_own_line(clock, campaign, alice):
    campaign.income_line = Decimal("6500")
    campaign.save()
    check = check_of(enrol(alice, campaign), Criterion.INCOME)
    assert check.result == CriterionResult.NOT_MET
    assert check.failures == ["2020年家庭人均纯收入6000.00元，未超过当年标准6500.00元。"]


def test_a_missing_income_ledger_leaves_income_pending(clock, campaign, alice):
    household = ready_household()
    IncomeRecord.objects.filter(household=household).delete()
    check = check_of(enrol(alice, campaign, household), Criterion.INCOME)
    assert check.result == CriterionResult.PENDING
    assert check.failures == ["缺少2020年度收入台账。"]


def test_a_c_or_d_house_fails_until_it_has_a_safe_outcome(clock, campaign, alice):
    household = ready_household()
    HousingAppraisal.objects.create(
        household=household, grade="D", appraised_on=datetime.date(2020, 9, 1), appraising_unit="住建局"
    )
    case = enrol(alice, campaign, household)
    check = check_of(case, Criterion.HOUSING)
    assert check.result == CriterionResult.NOT_MET
    assert check.measured == {"grade": "D", "appraised_on": "2020-09-01", "outcome": ""}
    assert "尚无改造验收、搬迁入住或其他安全住房安排" in check.failures[0]

    # The latest appraisal counts: the same house after the family moved in with their children.
    HousingAppraisal.objects.create(
        household=household,
        grade="D",
        appraised_on=datetime.date(2020, 10, 1),
        appraising_unit="住建局",
        outcome=HousingOutcome.WITH_CHILDREN,
        outcome_date=datetime.date(2020, 10, 1),
    )
    services.criteria_refresh([case])
    check.refresh_from_db()
    assert (check.result, check.failures) == (CriterionResult.MET, [])


def test_the_housing_failure_names_the_grade_once(clock, campaign, alice):
    household = ready_household()
    HousingAppraisal.objects.create(
        household=household, grade="C", appraised_on=datetime.date(2020, 9, 1), appraising_unit="住建局"
    )
    check = check_of(enrol(alice, campaign, household), Criterion.HOUSING)
    assert check.failures == ["住房鉴定为C级危房，尚无改造验收、搬迁入住或其他安全住房安排。"]


@pytest.mark.parametrize(
    ("birth", "schooling", "education", "failing"),
    [
        (datetime.date(2008, 1, 1), "", "primary", True),  # 12, left school
        (datetime.date(2014, 10, 12), Schooling.PRESCHOOL_AGE, "", True),  # 6 today, not at school
        (datetime.date(2004, 10, 13), "", "junior", True),  # 15 until tomorrow
        (datetime.date(2004, 10, 12), "", "junior", False),  # 16 today
        (datetime.date(2014, 10, 13), Schooling.PRESCHOOL_AGE, "", False),  # 5 until tomorrow
        (datetime.date(2008, 1, 1), Schooling.GRADE_7, "", False),  # at school
    ],
)
def test_a_child_of_compulsory_school_age_out_of_school_fails_education(
    clock, campaign, alice, birth, schooling, education, failing
):
    household = ready_household()
    MemberFactory(
        household=household,
        relationship=Relationship.DAUGHTER,
        name="王小红",
        birth_date=birth,
        schooling=schooling,
        education=education,
        labour_skill="none",
    )
    check = check_of(enrol(alice, campaign, household), Criterion.EDUCATION)
    if failing:
        age = 2020 - birth.year - ((birth.month, birth.day) > (10, 12))
        assert check.result == CriterionResult.NOT_MET
        assert check.failures == [f"王小红（{age}周岁）处于义务教育阶段但未在校。"]
    else:
        assert (check.result, check.failures) == (CriterionResult.MET, [])


def test_a_home_taught_child_counts_as_enrolled_once_the_village_lists_them(clock, campaign, alice, certifiers):
    household = ready_household()
    child = MemberFactory(
        household=household,
        relationship=Relationship.DAUGHTER,
        name="王小红",
        birth_date=datetime.date(2009, 5, 1),
        schooling="",
        education="primary",
        labour_skill="none",
    )
    case = enrol(alice, campaign, household)
    check = check_of(case, Criterion.EDUCATION)
    assert check.result == CriterionResult.NOT_MET
    assert refusal(services.criterion_certify, by=certifiers[Criterion.EDUCATION], check=check).messages == [
        "“义务教育”尚未达标，不能认定：王小红（11周岁）处于义务教育阶段但未在校。"
    ]

    check = services.criterion_assess(
        by=alice, check=check, assessment=CriterionResult.MET, note="残疾，县特教学校送教上门", home_taught=[child.pk]
    )

    assert check.result == CriterionResult.MET
    assert check.measured["home_taught"] == [child.pk]
    assert (check.assessed_by, check.assessment) == (alice, CriterionResult.MET)
    # It stays so when measured again.
    services.criteria_refresh([case])
    check.refresh_from_db()
    assert check.result == CriterionResult.MET
    services.criterion_certify(by=certifiers[Criterion.EDUCATION], check=check)
    check.refresh_from_db()
    assert check.is_passed


def test_home_taught_members_must_belong_to_the_household(clock, campaign, alice):
    case = enrol(alice, campaign)
    stranger = MemberFactory(household=ready_household(), relationship=Relationship.SON, name="外人")
    error = refusal(
        services.criterion_assess,
        by=alice,
        check=check_of(case, Criterion.EDUCATION),
        assessment=CriterionResult.MET,
        note="送教上门",
        home_taught=[stranger.pk],
    )
    assert error.fields == {"home_taught": ["送教上门的成员必须是该户成员。"]}


def test_every_member_must_be_insured_and_the_failure_names_them(clock, campaign, alice):
    household = ready_household()
    household.members.filter(name="王小明").update(medical_insurance=MedicalInsurance.UNINSURED)
    household.members.filter(name="王建国").update(critical_illness_insurance=False)
    check = check_of(enrol(alice, campaign, household), Criterion.MEDICAL)
    assert check.result == CriterionResult.NOT_MET
    assert check.failures == ["王建国未参加大病保险。", "王小明未参加基本医疗保险。"]
    assert check.measured["members"] == 2


@pytest.mark.parametrize(
    ("changes", "failure"),
    [
        ({"quality_ok": False}, "水质不达标。"),
        ({"litres_per_person_day": Decimal("19.9")}, "水量不足每人每天20升。"),
        ({"piped_to_house": False, "round_trip_minutes": 21}, "未通自来水入户且取水往返超过20分钟。"),
        ({"reliability_percent": Decimal("94.9")}, "供水保证率低于95%。"),
    ],
)
def test_unsafe_water_fails_with_the_indicator_named(clock, campaign, alice, changes, failure):
    household = ready_household()
    WaterAssessment.objects.filter(household=household).update(**changes)
    check = check_of(enrol(alice, campaign, household), Criterion.WATER)
    assert (check.result, check.failures) == (CriterionResult.NOT_MET, [failure])


def test_water_at_the_thresholds_is_safe(clock, campaign, alice):
    household = ready_household()
    WaterAssessment.objects.filter(household=household).update(
        litres_per_person_day=Decimal("20"), piped_to_house=False, round_trip_minutes=20, reliability_percent=95
    )
    assert check_of(enrol(alice, campaign, household), Criterion.WATER).result == CriterionResult.MET


# --- village assessment for missing data --------------------------------------------------


def test_the_village_assessment_stands_in_for_missing_registry_data(clock, campaign, alice, certifiers):
    household = ready_household()
    HousingAppraisal.objects.filter(household=household).delete()
    case = enrol(alice, campaign, household)
    check = check_of(case, Criterion.HOUSING)
    assert (check.result, check.failures) == (CriterionResult.PENDING, ["缺少住房安全鉴定记录。"])

    check = services.criterion_assess(by=alice, check=check, assessment=CriterionResult.MET, note="入户查看，砖混结构")
    assert check.result == CriterionResult.MET
    services.criterion_certify(by=certifiers[Criterion.HOUSING], check=check)
    assert check_of(case, Criterion.HOUSING).is_passed


def test_the_village_assessment_does_not_override_measured_data(clock, campaign, alice):
    household = ready_household()
    WaterAssessment.objects.filter(household=household).update(quality_ok=False)
    case = enrol(alice, campaign, household)
    check = services.criterion_assess(
        by=alice, check=check_of(case, Criterion.WATER), assessment=CriterionResult.MET, note="看着还行"
    )
    assert check.result == CriterionResult.NOT_MET


def test_the_assessment_needs_a_result_and_a_note(clock, campaign, alice):
    check = check_of(enrol(alice, campaign), Criterion.HOUSING)
    error = refusal(services.criterion_assess, by=alice, check=check, assessment="pending", note=" ")
    assert error.fields == {
        "assessment": ["请选择评定结果：达标或未达标。"],
        "assessment_note": ["请填写评定说明（核实了什么、依据是什么）。"],
    }


def test_only_the_village_cadre_assesses(clock, campaign, alice, tom):
    check = check_of(enrol(alice, campaign), Criterion.HOUSING)
    error = refusal(services.criterion_assess, by=tom, check=check, assessment="met", note="看过")
    assert error.messages == ["标准评定由村级录入员在入户核实时填写。"]


# --- certification --------------------------------------------------------------------------


def test_each_criterion_is_certified_by_its_own_sector(clock, campaign, alice, certifiers):
    case = enrol(alice, campaign)
    for criterion, certifier in certifiers.items():
        check = services.criterion_certify(by=certifier, check=check_of(case, criterion), note="比对一致")
        assert (check.certified_by, check.certification_note, check.is_passed) == (certifier, "比对一致", True)
        assert check.history.latest().history_user == certifier


@pytest.mark.parametrize(
    ("criterion", "label", "sector"),
    [
        (Criterion.INCOME, "收入达标", "扶贫/统计"),
        (Criterion.HOUSING, "住房安全", "住建"),
        (Criterion.EDUCATION, "义务教育", "教育"),
        (Criterion.MEDICAL, "基本医疗", "卫健/医保"),
        (Criterion.WATER, "饮水安全", "水利"),
    ],
)
def test_a_wrong_sector_or_a_non_sector_user_cannot_certify(
    clock, campaign, alice, tom, certifiers, criterion, label, sector
):
    check = check_of(enrol(alice, campaign), criterion)
    wrong_sector = next(user for c, user in certifiers.items() if c != criterion)
    for user in (wrong_sector, tom, alice):
        assert refusal(services.criterion_certify, by=user, check=check).messages == [f"“{label}”由{sector}部门认定。"]
    assert not check_of(check.case, criterion).is_certified


def test_a_sector_of_another_county_cannot_certify(clock, campaign, alice, regions):
    from accounts.models import Role, Sector
    from tests.conftest import OTHER_COUNTY, make_user

    outsider = make_user("edu2", Role.SECTOR, OTHER_COUNTY, sector=Sector.EDUCATION)
    check = check_of(enrol(alice, campaign), Criterion.EDUCATION)
    assert refusal(services.criterion_certify, by=outsider, check=check).messages == ["该退出案件不在您的管辖范围内。"]


def test_a_criterion_not_met_cannot_be_certified(clock, campaign, alice, certifiers):
    household = ready_household()
    IncomeRecord.objects.filter(household=household).update(wage_income=Decimal("7000"))
    check = check_of(enrol(alice, campaign, household), Criterion.INCOME)
    assert refusal(services.criterion_certify, by=certifiers[Criterion.INCOME], check=check).messages == [
        "“收入达标”尚未达标，不能认定：2020年家庭人均纯收入3500.00元，未超过当年标准4000.00元。"
    ]


def test_certification_is_dropped_when_the_registry_no_longer_meets_the_criterion(clock, campaign, alice, certifiers):
    case = enrol(alice, campaign)
    for criterion in (Criterion.INCOME, Criterion.WATER):
        services.criterion_certify(by=certifiers[criterion], check=check_of(case, criterion))

    # Measured again on unchanged data: the certification stands.
    services.criteria_refresh([case])
    assert check_of(case, Criterion.INCOME).is_passed

    # Still met, but not what the sector certified: the certification lapses (DOMAIN.md §3).
    IncomeRecord.objects.filter(household=case.household).update(wage_income=Decimal("10000"))
    services.criteria_refresh([case])
    income = check_of(case, Criterion.INCOME)
    assert (income.result, income.is_certified) == (CriterionResult.MET, False)
    assert income.lapse_note.startswith("人均纯收入 6000.00 → 5000.00（")
    services.criterion_certify(by=certifiers[Criterion.INCOME], check=income)

    # No longer met: the certification goes, with the reason, and the change is in the history.
    IncomeRecord.objects.filter(household=case.household).update(wage_income=Decimal("6000"))
    services.criteria_refresh([case])
    income = check_of(case, Criterion.INCOME)
    assert (income.result, income.certified_at, income.certified_by) == (CriterionResult.NOT_MET, None, None)
    assert income.failures == ["2020年家庭人均纯收入3000.00元，未超过当年标准4000.00元。"]
    reason = income.history.latest().history_change_reason
    assert reason.startswith("数据变化，行业部门认定失效：人均纯收入 5000.00 → 3000.00")
    assert income.history.filter(certified_at__isnull=False).exists()
    # The untouched criterion keeps its certification.
    assert check_of(case, Criterion.WATER).is_passed

    # Met again: it must be certified again.
    IncomeRecord.objects.filter(household=case.household).update(wage_income=Decimal("12000"))
    services.criteria_refresh([case])
    income = check_of(case, Criterion.INCOME)
    assert (income.result, income.is_certified) == (CriterionResult.MET, False)


def test_the_refresh_button_measures_again(client, clock, campaign, alice):
    case = enrol(alice, campaign)
    IncomeRecord.objects.filter(household=case.household).update(wage_income=Decimal("1000"))
    client.force_login(alice)
    response = client.post(f"/exits/{case.pk}/criteria/refresh/")
    assert response.status_code == 302
    assert check_of(case, Criterion.INCOME).result == CriterionResult.NOT_MET


def test_the_certify_and_assess_pages_show_the_services_messages(client, clock, campaign, alice, sam, certifiers):
    household = ready_household()
    HousingAppraisal.objects.filter(household=household).delete()
    case = enrol(alice, campaign, household)
    housing = check_of(case, Criterion.HOUSING)

    client.force_login(sam)
    response = client.post(f"/exits/criteria/{housing.pk}/certify/", {"note": ""}, follow=True)
    assert "“住房安全”由住建部门认定。" in response.content.decode()

    client.force_login(alice)
    response = client.post(f"/exits/criteria/{housing.pk}/assess/", {"assessment": "met", "note": ""}, follow=True)
    assert "请填写评定说明（核实了什么、依据是什么）。" in response.content.decode()
    client.post(f"/exits/criteria/{housing.pk}/assess/", {"assessment": "met", "note": "砖混结构，无裂缝"})
    assert check_of(case, Criterion.HOUSING).result == CriterionResult.MET

    client.force_login(certifiers[Criterion.HOUSING])
    response = client.post(f"/exits/criteria/{housing.pk}/certify/", {"note": "同意"}, follow=True)
    assert "“住房安全”已认定达标。" in response.content.decode()
    assert check_of(case, Criterion.HOUSING).is_passed


def test_a_finished_case_keeps_its_assessments_and_certifications(flow, alice, certifiers):
    case = flow.enrol()
    flow.bring_to(case, 9)
    check = check_of(case, Criterion.HOUSING)
    assert refusal(services.criterion_certify, by=certifiers[Criterion.HOUSING], check=check).messages == [
        "该户已完成退出，不能再修改认定。"
    ]
    assert refusal(services.criterion_assess, by=alice, check=check, assessment="met", note="再看").messages == [
        "该户已完成退出，不能再修改评定。"
    ]
