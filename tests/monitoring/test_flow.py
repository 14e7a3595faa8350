"""A household found by the scan goes through the four stages, on the pages."""

import datetime
from decimal import Decimal

import pytest

from households.models import ExitStatus, IncomeRecord
from monitoring import services
from monitoring.models import MonitoringCase, Stage
from monitoring.scans import at_risk_scan
from tests.exits.conftest import ready_household

pytestmark = pytest.mark.django_db


def test_a_low_income_household_is_found_confirmed_helped_and_closed(client, clock, alice, tom, carol, sue):
    household = ready_household(exit_status=ExitStatus.EXITED, exit_year=2019)
    IncomeRecord.objects.filter(household=household, year=2020).update(wage_income=Decimal("9000"))  # 4,500/person
    assert at_risk_scan() == {"findings": 1, "opened": 1, "joined": 0}
    assert at_risk_scan() == {"findings": 0, "opened": 0, "joined": 0}
    case = MonitoringCase.objects.get()
    assert (case.stage, case.channel, case.category) == (Stage.SCREENING, "system", "unstable")
    assert case.response_due == datetime.date(2020, 10, 27)

    for user in (alice, tom, carol, sue):
        client.force_login(user)
        assert client.get("/monitoring/").status_code == 200
        assert client.get(f"/monitoring/{case.pk}/").status_code == 200
    client.force_login(alice)
    client.post(f"/monitoring/{case.pk}/submit/", {"note": "入户核实：务工收入下降"})
    client.force_login(carol)
    client.post(f"/monitoring/{case.pk}/decide/", {"decision": "confirm", "reason": "确认为脱贫不稳定户"})
    case.refresh_from_db()
    assert case.stage == Stage.ASSISTANCE
    client.post(
        f"/monitoring/{case.pk}/units/",
        {"unit": ["镇人社站", "村委会", ""], "person": ["张三", "李四", ""], "phone": ["", "", ""], "lead": "0"},
    )
    client.post(
        f"/monitoring/{case.pk}/measures/",
        {"type": "employment", "content": "推荐公益岗位", "responsible_person": "张三", "due_on": "2020-11-30"},
    )
    assert case.responsible_units.filter(is_lead=True).count() == 1
    refusals = services.close_refusals(case)
    assert any("监测线" in r for r in refusals) and any("未完成" in r for r in refusals)
    IncomeRecord.objects.filter(household=household, year=2020).update(wage_income=Decimal("16000"))
    measure = case.measures.get()
    client.force_login(alice)
    client.post(f"/monitoring/measures/{measure.pk}/done/")
    client.force_login(tom)
    client.post(f"/monitoring/{case.pk}/close/", {"closed_on": "2020-10-12", "method": "公益岗位收入稳定"})
    case.refresh_from_db()
    assert (case.stage, case.closed_on) == (Stage.CLOSED, datetime.date(2020, 10, 12))
    assert client.get("/monitoring/export/cases.xlsx").status_code == 200
