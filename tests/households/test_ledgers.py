"""The 王 household's ledgers behind three exit criteria (DOMAIN.md §3): the yearly
income (人均纯收入), the housing appraisal and the drinking-water assessment.
"""

import datetime
from decimal import Decimal

import pytest
from django.utils import timezone

from households import services
from households.models import HousingAppraisal, IncomeRecord, WaterAssessment
from households.services import RegistryError
from tests.html import elements, text

# 12000 + 5000 + 300.50 + 2400 − 1500 = 18200.50 yuan for 2 people: 9100.25 each.
INCOME_2020 = {
    "population": 2,
    "wage_income": Decimal("12000"),
    "business_income": Decimal("5000"),
    "property_income": Decimal("300.50"),
    "transfer_income": Decimal("2400"),
    "business_expense": Decimal("1500"),
}
AMOUNTS = ["wage_income", "business_income", "property_income", "transfer_income", "business_expense"]


def save_income(user, household, year=2020, **changes):
    return services.income_record_save(by=user, household=household, year=year, data={**INCOME_2020, **changes})


# --- income ------------------------------------------------------------------------------------


def test_per_capita_income_is_net_income_over_the_population(alice, wang):
    record = save_income(alice, wang)

    assert record.net_income == Decimal("18200.50")
    assert record.per_capita == Decimal("9100.25")


def test_the_sql_annotation_agrees_with_the_per_capita_shown(alice, wang):
    save_income(alice, wang)

    row = IncomeRecord.objects.with_per_capita().get(household=wang, year=2020)

    assert row.net_income_sql == Decimal("18200.50") == row.net_income
    assert row.per_capita_sql == Decimal("9100.25") == row.per_capita


def test_the_sql_annotation_rounds_like_the_per_capita_shown(alice, wang):
    save_income(
        alice,
        wang,
        population=3,
        wage_income=Decimal("10000.01"),
        business_income=0,
        property_income=0,
        transfer_income=0,
        business_expense=0,
    )

    row = IncomeRecord.objects.with_per_capita().get(household=wang, year=2020)

    assert row.per_capita == Decimal("3333.34")
    assert row.per_capita_sql == row.per_capita


def test_saving_a_year_again_replaces_that_years_record(alice, wang):
    first = save_income(alice, wang)

    second = save_income(alice, wang, population=3, wage_income=Decimal("15000"))

    assert second.pk == first.pk
    record = IncomeRecord.objects.get(household=wang)
    assert (record.year, record.population, record.wage_income) == (2020, 3, Decimal("15000.00"))
    assert record.per_capita == Decimal("7066.83")  # 21200.50 / 3
    assert record.history.count() == 2


def test_each_year_has_its_own_record(alice, wang):
    save_income(alice, wang, year=2019, wage_income=Decimal("8000"))
    save_income(alice, wang, year=2020)

    assert list(IncomeRecord.objects.filter(household=wang).values_list("year", flat=True)) == [2020, 2019]


@pytest.mark.parametrize("name", AMOUNTS)
def test_it_refuses_a_negative_amount(alice, wang, name):
    with pytest.raises(RegistryError) as caught:
        save_income(alice, wang, **{name: Decimal("-100")})

    assert caught.value.household == {name: ["金额不能为负数。"]}
    assert not IncomeRecord.objects.exists()


def test_a_refused_correction_keeps_the_years_record(alice, wang):
    save_income(alice, wang)

    with pytest.raises(RegistryError) as caught:
        save_income(alice, wang, transfer_income=Decimal("-1"))

    assert caught.value.household == {"transfer_income": ["金额不能为负数。"]}
    assert IncomeRecord.objects.get(household=wang).transfer_income == Decimal("2400.00")


def test_it_refuses_an_empty_household_and_a_year_to_come(alice, wang):
    next_year = timezone.localdate().year + 1

    with pytest.raises(RegistryError) as caught:
        save_income(alice, wang, year=next_year, population=0)

    assert caught.value.household == {
        "population": ["家庭人口数至少为1。"],
        "year": [f"年度应在2000年至{next_year - 1}年之间。"],
    }
    assert not IncomeRecord.objects.exists()


def test_the_income_form_shows_the_per_capita_on_the_detail_page(client, alice, wang):
    client.force_login(alice)

    response = client.post(
        f"/households/{wang.pk}/income/", {"year": 2020, **{k: str(v) for k, v in INCOME_2020.items()}}, follow=True
    )

    assert response.redirect_chain == [(f"/households/{wang.pk}/", 302)]
    assert "已保存年度收入。" in text(response)
    assert "2020 2 18,200.50 9,100.25" in text(response)


def post_negative_wage(client, household):
    return client.post(
        f"/households/{household.pk}/income/",
        {"year": 2020, **{k: str(v) for k, v in INCOME_2020.items()}, "wage_income": "-12000"},
        follow=True,
    )


def test_the_income_form_shows_a_refusal_and_stores_nothing(client, alice, wang):
    client.force_login(alice)

    response = post_negative_wage(client, wang)

    assert response.redirect_chain == [(f"/households/{wang.pk}/", 302)]
    assert "金额不能为负数。" in text(response)
    assert "已保存年度收入。" not in text(response)
    assert not IncomeRecord.objects.exists()


def test_the_income_refusal_names_the_field_in_chinese(client, alice, wang):
    client.force_login(alice)

    response = post_negative_wage(client, wang)

    assert "工资性收入：金额不能为负数。" in text(response)


# --- housing --------------------------------------------------------------------------------------


def appraise(user, household, **fields):
    data = {"grade": "C", "appraised_on": datetime.date(2019, 5, 10), "appraising_unit": "汉滨区住建局", **fields}
    return services.housing_appraisal_add(by=user, household=household, data=data)


@pytest.mark.parametrize("grade", ["A", "B"])
def test_an_a_or_b_house_is_safe(alice, wang, grade):
    assert appraise(alice, wang, grade=grade).is_safe is True


@pytest.mark.parametrize("grade", ["C", "D"])
def test_a_c_or_d_house_without_an_outcome_is_not_safe(alice, wang, grade):
    appraisal = appraise(alice, wang, grade=grade)

    assert HousingAppraisal.objects.get(pk=appraisal.pk).is_safe is False


def test_a_c_house_renovated_and_accepted_is_safe(alice, wang):
    appraisal = appraise(alice, wang, outcome="renovated", outcome_date=datetime.date(2019, 11, 20))

    stored = HousingAppraisal.objects.get(pk=appraisal.pk)
    assert (stored.outcome, stored.outcome_date, stored.is_safe) == ("renovated", datetime.date(2019, 11, 20), True)


def test_a_d_house_left_for_a_relocation_home_is_safe(alice, wang):
    assert appraise(alice, wang, grade="D", outcome="relocated", outcome_date=datetime.date(2020, 3, 1)).is_safe


def test_it_refuses_an_outcome_on_an_a_grade_house(alice, wang):
    with pytest.raises(RegistryError) as caught:
        appraise(alice, wang, grade="A", outcome="renovated", outcome_date=datetime.date(2019, 11, 20))

    assert caught.value.household == {"outcome": ["只有C级、D级危房需要填写改造或搬迁结果。"]}
    assert not HousingAppraisal.objects.exists()


def test_it_asks_for_the_date_of_an_outcome(alice, wang):
    with pytest.raises(RegistryError) as caught:
        appraise(alice, wang, outcome="welfare_home")

    assert caught.value.household == {"outcome_date": ["填写了改造或搬迁结果时，请填写结果日期。"]}
    assert not HousingAppraisal.objects.exists()


def test_the_detail_page_marks_an_unsafe_house(client, alice, wang):
    appraise(alice, wang, grade="D")
    client.force_login(alice)

    response = client.get(f"/households/{wang.pk}/")

    badge = [b for b in elements(response, "span", "badge") if b.text == "D级（整幢危房）"]
    assert len(badge) == 1
    assert "text-bg-danger" in badge[0].classes


# --- drinking water ---------------------------------------------------------------------------------

# Exactly on each Shaanxi threshold: 20 L per person a day, a 20-minute round trip, 95%.
WATER_AT_THRESHOLDS = {
    "assessed_on": datetime.date(2020, 6, 1),
    "quality_ok": True,
    "litres_per_person_day": Decimal("20"),
    "piped_to_house": False,
    "round_trip_minutes": 20,
    "reliability_percent": Decimal("95"),
}


def assess(user, household, **changes):
    return services.water_assessment_add(by=user, household=household, data={**WATER_AT_THRESHOLDS, **changes})


def test_water_on_every_threshold_is_safe(alice, wang):
    assessment = WaterAssessment.objects.get(pk=assess(alice, wang).pk)

    assert (assessment.quantity_ok, assessment.convenience_ok, assessment.reliability_ok) == (True, True, True)
    assert assessment.is_safe is True


@pytest.mark.parametrize(
    ("changes", "failing"),
    [
        ({"quality_ok": False}, "quality_ok"),
        ({"litres_per_person_day": Decimal("19.9")}, "quantity_ok"),
        ({"round_trip_minutes": 21}, "convenience_ok"),
        ({"reliability_percent": Decimal("94.9")}, "reliability_ok"),
    ],
    ids=["quality", "quantity", "convenience", "reliability"],
)
def test_one_failing_indicator_makes_the_water_unsafe(alice, wang, changes, failing):
    assessment = WaterAssessment.objects.get(pk=assess(alice, wang, **changes).pk)

    indicators = {
        name: getattr(assessment, name) for name in ("quality_ok", "quantity_ok", "convenience_ok", "reliability_ok")
    }
    assert [name for name, ok in indicators.items() if not ok] == [failing]
    assert assessment.is_safe is False


def test_piped_water_needs_no_round_trip(alice, wang):
    assessment = assess(alice, wang, piped_to_house=True, round_trip_minutes=None)

    stored = WaterAssessment.objects.get(pk=assessment.pk)
    assert (stored.round_trip_minutes, stored.convenience_ok, stored.is_safe) == (None, True, True)


def test_it_asks_for_the_round_trip_when_water_is_not_piped(alice, wang):
    with pytest.raises(RegistryError) as caught:
        assess(alice, wang, piped_to_house=False, round_trip_minutes=None)

    assert caught.value.household == {"round_trip_minutes": ["未通自来水入户时，请填写取水往返时间。"]}
    assert not WaterAssessment.objects.exists()


def test_the_detail_page_marks_the_failing_water_indicator(client, alice, wang):
    client.force_login(alice)

    response = client.post(
        f"/households/{wang.pk}/water/",
        {
            "assessed_on": "2020-06-01",
            "quality_ok": "on",
            "litres_per_person_day": "15",
            "round_trip_minutes": "10",
            "reliability_percent": "98",
        },
        follow=True,
    )

    assert "已添加饮水安全评估。" in text(response)
    assert [b.text for b in elements(response, "span", "badge") if b.text in ("达标", "未达标")] == ["未达标"]
    flagged = [s.text for s in elements(response, "span", "text-danger")]
    assert "水量 15.0 L" in flagged
    assert not any(s.startswith(("水质", "方便程度", "保证率")) for s in flagged)
