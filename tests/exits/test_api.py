"""/api/v1/exit-cases/: the exit workflow over the API — scoped like the pages, ruled by
the same services, refusing with the same messages as
``{"detail": …, "reasons": [...], "fields": {...}}`` (400) and a lost race as 409."""

import datetime
from decimal import Decimal

import pytest
from django.db.models import F

from exits import services
from exits.models import Campaign, Criterion, ExitCase, ObjectionStatus, Step
from households.models import ExitStatus, IncomeRecord
from tests.conftest import OTHER_COUNTY, TOWN_A, VILLAGE_A2, VILLAGE_B
from tests.exits.conftest import ready_household, refusal, step_data

pytestmark = pytest.mark.django_db

URL = "/api/v1/exit-cases/"
READ_ONLY = {"detail": "市级督查账号为只读账号，不能修改数据。"}


def post(client, url, payload=None):
    return client.post(url, payload or {}, content_type="application/json")


def numbers(response) -> set[str]:
    assert response.status_code == 200, response.json()
    return {row["household_number"] for row in response.json()["results"]}


# --- list and filters -----------------------------------------------------------------------


@pytest.fixture
def cases(flow, amy):
    """Cases at different steps: two at step 1 (one failing income), one at step 3, one
    in village A2, and one of an earlier campaign."""
    low = ready_household()
    IncomeRecord.objects.filter(household=low).update(wage_income=Decimal("7000"))
    low.members.filter(relationship="head").update(name="赵有才")
    made = {
        "fresh": flow.enrol(),
        "low": flow.enrol(low, certify=False),
        "ahead": flow.enrol(),
        "a2": flow.enrol(ready_household(VILLAGE_A2), by=amy, certify=False),
    }
    flow.bring_to(made["ahead"], Step.CROSS_CHECK)
    old = Campaign.objects.create(
        year=2019,
        name="2019年度贫困户退出",
        income_line=Decimal("3218"),
        village_deadline=datetime.date(2019, 10, 20),
        town_deadline=datetime.date(2019, 10, 31),
        county_deadline=datetime.date(2019, 11, 10),
        marking_deadline=datetime.date(2019, 11, 20),
    )
    made["old"] = services.case_enrol(by=flow.doers["village_cadre"], campaign=old, household=ready_household())
    return made


def test_the_list_holds_the_cases_in_scope_with_their_facts(client, cases, carol, alice, tom):
    client.force_login(carol)
    body = client.get(URL).json()
    assert body["count"] == 5
    row = next(r for r in body["results"] if r["id"] == cases["low"].pk)
    assert row["household_number"] == cases["low"].household.number
    assert row["head_name"] == "赵有才"
    assert (row["current_step"], row["current_step_display"], row["failing_count"]) == (1, "信息核实", 1)
    assert row["deadline"] == {"date": "2020-10-20", "days_left": 8, "overdue": False}

    client.force_login(alice)
    assert client.get(URL).json()["count"] == 4  # not village A2
    client.force_login(tom)
    assert client.get(URL).json()["count"] == 5


def test_the_list_filters(client, flow, cases, carol):
    client.force_login(carol)
    n = {key: case.household.number for key, case in cases.items()}
    campaign = flow.campaign
    assert numbers(client.get(URL, {"campaign": campaign.pk})) == {n["fresh"], n["low"], n["ahead"], n["a2"]}
    assert numbers(client.get(URL, {"campaign": cases["old"].campaign_id})) == {n["old"]}
    assert numbers(client.get(URL, {"step": 3})) == {n["ahead"]}
    assert numbers(client.get(URL, {"failing": "income", "campaign": campaign.pk})) == {n["low"]}
    assert numbers(client.get(URL, {"q": n["ahead"]})) == {n["ahead"]}
    assert numbers(client.get(URL, {"q": "赵有"})) == {n["low"]}
    assert numbers(client.get(URL, {"region": VILLAGE_A2})) == {n["a2"]}
    assert numbers(client.get(URL, {"region": TOWN_A, "step": 1, "campaign": campaign.pk})) == {
        n["fresh"],
        n["low"],
        n["a2"],
    }
    assert numbers(client.get(URL, {"region": OTHER_COUNTY})) == set()
    assert numbers(client.get(URL, {"region": "nonsense"})) == set()


def test_the_overdue_filter_follows_the_clock_and_the_deadlines(client, flow, cases, carol):
    """Village steps are due 10-20, town steps 10-31; the 2019 case is long overdue."""
    client.force_login(carol)
    n = {key: case.household.number for key, case in cases.items()}
    # bring_to went through no notice, so the clock still reads 2020-10-12.
    assert numbers(client.get(URL, {"overdue": "true"})) == {n["old"]}
    flow.clock.shift(9)  # 2020-10-21
    client.force_login(carol)  # the session of 10-12 has expired
    assert numbers(client.get(URL, {"overdue": "true"})) == {n["fresh"], n["low"], n["a2"], n["old"]}
    assert numbers(client.get(URL, {"overdue": "false"})) == {n["ahead"]}
    row = client.get(f"{URL}{cases['fresh'].pk}/").json()
    assert row["deadline"] == {"date": "2020-10-20", "days_left": -1, "overdue": True}


# --- retrieve ----------------------------------------------------------------------------------


def test_a_case_comes_with_its_criteria_steps_and_objections(client, flow, alice, tom):
    case = flow.enrol()
    flow.bring_to(case, Step.NOTICE)
    services.notice_open(by=tom, case=case)
    services.objection_add(by=alice, case=case, content="收入有误")
    client.force_login(tom)
    body = client.get(f"{URL}{case.pk}/").json()
    assert (body["current_step"], body["notice_started_on"]) == (5, "2020-10-12")
    assert [c["criterion"] for c in body["criteria"]] == list(Criterion.values)
    assert all(c["is_passed"] for c in body["criteria"])
    assert [(s["step"], s["completed_by"], s["is_reset"]) for s in body["steps"]] == [
        (1, "李爱丽", False),
        (2, "李爱丽", False),
        (3, "张二", False),
        (4, "张涛", False),
    ]
    assert [(o["content"], o["status"]) for o in body["objections"]] == [("收入有误", "open")]


# --- enrol -----------------------------------------------------------------------------------------


def test_a_village_cadre_enrols_through_the_api(client, clock, campaign, alice):
    household = ready_household()
    client.force_login(alice)
    response = post(client, URL, {"campaign": campaign.pk, "household": household.pk})
    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["household"], body["current_step"], len(body["criteria"])) == (household.pk, 1, 5)
    assert ExitCase.objects.get().enrolled_by == alice


def test_enrolment_refusals_come_as_reasons(client, clock, campaign, alice, tom):
    exited = ready_household(exit_status=ExitStatus.EXITED, exit_year=2019)
    client.force_login(alice)
    response = post(client, URL, {"campaign": campaign.pk, "household": exited.pk})
    assert response.status_code == 400
    assert response.json() == {
        "detail": "该户已脱贫（2019年），不能再纳入退出。",
        "reasons": ["该户已脱贫（2019年），不能再纳入退出。"],
        "fields": {},
    }

    elsewhere = ready_household(VILLAGE_B)
    response = post(client, URL, {"campaign": campaign.pk, "household": elsewhere.pk})
    assert (response.status_code, response.json()) == (400, {"household": ["户不存在或不在您的管辖范围内。"]})
    response = post(client, URL, {"campaign": 999, "household": ready_household().pk})
    assert (response.status_code, response.json()) == (400, {"campaign": ["退出批次不存在。"]})

    client.force_login(tom)
    response = post(client, URL, {"campaign": campaign.pk, "household": ready_household().pk})
    assert response.status_code == 400
    assert response.json()["reasons"] == ["只有村级录入员可以纳入退出户。"]
    assert not ExitCase.objects.exists()


# --- advance ------------------------------------------------------------------------------------


def test_advance_completes_the_current_step(client, flow, alice):
    case = flow.enrol()
    client.force_login(alice)
    response = post(client, f"{URL}{case.pk}/advance/", {"step": 1, **step_data(1)})
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["current_step"] == 2
    assert body["steps"][0]["data"]["head_signed"] is True


def test_advance_refuses_with_the_services_messages(client, flow, alice, tom):
    case = flow.enrol()
    flow.bring_to(case, Step.APPRAISE)
    bad = step_data(2, votes_for=15, votes_against=0, minutes="")
    expected = refusal(services.step_complete, by=tom, case=case, step=2, data=bad)

    client.force_login(tom)
    response = post(client, f"{URL}{case.pk}/advance/", {"step": 2, **bad})

    assert response.status_code == 400
    assert response.json() == {
        "detail": "第2步“民主评议”由村级录入员办理。；赞成票未超过参会人数的半数，民主评议未通过。；请填写会议记录。",
        "reasons": ["第2步“民主评议”由村级录入员办理。"],
        "fields": {
            "votes_for": ["赞成票未超过参会人数的半数，民主评议未通过。"],
            "minutes": ["请填写会议记录。"],
        },
    }
    assert response.json()["reasons"] == expected.messages
    assert response.json()["fields"] == expected.fields
    case.refresh_from_db()
    assert case.current_step == 2


def test_advance_refuses_an_out_of_order_step(client, flow, alice):
    case = flow.enrol()
    client.force_login(alice)
    response = post(client, f"{URL}{case.pk}/advance/", {"step": 3, **step_data(3)})
    assert response.status_code == 400
    assert response.json()["reasons"] == ["当前应完成第1步“信息核实”，不能办理第3步。"]


def test_advance_answers_a_mistyped_value_in_the_refusal_shape(client, flow, alice):
    case = flow.enrol()
    flow.bring_to(case, Step.APPRAISE)
    client.force_login(alice)
    response = post(client, f"{URL}{case.pk}/advance/", {"step": 2, **step_data(2, attendance="三十")})
    assert response.status_code == 400
    assert response.json()["fields"] == {"attendance": ["请填写参会人数（整数）。"]}


def test_a_lost_race_is_a_409_and_writes_nothing(client, flow, carol, carol2, monkeypatch):
    """carol2 approves between carol's checks and carol's write (simulated: the case moves
    on to step 7 just before carol's guarded update)."""
    case = flow.enrol()
    flow.bring_to(case, Step.APPROVE)
    original = services.clean_step_data

    def rival_gets_there_first(*args, **kwargs):
        ExitCase.objects.filter(pk=case.pk).update(current_step=F("current_step") + 1)
        return original(*args, **kwargs)

    monkeypatch.setattr(services, "clean_step_data", rival_gets_there_first)
    client.force_login(carol)
    response = post(client, f"{URL}{case.pk}/advance/", {"step": 6, "opinion": "批准"})

    assert response.status_code == 409
    assert response.json() == {"detail": "第6步“核查批准”刚被他人办理，您的操作未保存。请刷新页面查看最新状态。"}
    assert not case.steps.filter(step=Step.APPROVE).exists()


def test_a_standing_record_for_the_step_is_the_databases_last_word(flow, carol):
    """The partial unique index on standing records: a second completion of step 6 that
    got past the guarded update still ends as a conflict, and the claim is undone."""
    case = flow.enrol()
    flow.bring_to(case, Step.APPROVE)
    case.steps.create(step=Step.APPROVE, data={"opinion": "先到"}, completed_by=carol, completed_at=case.updated_at)
    with pytest.raises(services.ExitConflict) as caught:
        flow.complete(case, Step.APPROVE)
    assert caught.value.message == "第6步“核查批准”刚被他人办理，您的操作未保存。请刷新页面查看最新状态。"
    case.refresh_from_db()
    assert case.current_step == Step.APPROVE
    assert case.steps.filter(step=Step.APPROVE).count() == 1


def test_the_case_page_reports_a_lost_race(client, flow, carol, monkeypatch):
    case = flow.enrol()
    flow.bring_to(case, Step.APPROVE)
    original = services.clean_step_data

    def rival_gets_there_first(*args, **kwargs):
        ExitCase.objects.filter(pk=case.pk).update(current_step=F("current_step") + 1)
        return original(*args, **kwargs)

    monkeypatch.setattr(services, "clean_step_data", rival_gets_there_first)
    client.force_login(carol)
    response = client.post(f"/exits/{case.pk}/advance/", {"step-opinion": "批准"}, follow=True)
    assert "第6步“核查批准”刚被他人办理，您的操作未保存。请刷新页面查看最新状态。" in response.content.decode()
    case.refresh_from_db()
    assert case.current_step == Step.APPROVE


# --- return, notice, objections ---------------------------------------------------------------


def test_return_through_the_api(client, flow, tom):
    case = flow.enrol()
    flow.bring_to(case, Step.REVIEW)
    client.force_login(tom)
    response = post(client, f"{URL}{case.pk}/return/", {"to_step": 2, "reason": ""})
    assert response.status_code == 400
    assert response.json() == {"detail": "请填写退回原因。", "reasons": [], "fields": {"reason": ["请填写退回原因。"]}}

    response = post(client, f"{URL}{case.pk}/return/", {"to_step": 2, "reason": "评议人数不足"})
    assert response.status_code == 200
    body = response.json()
    assert body["current_step"] == 2
    assert [(s["step"], s["is_reset"], s["reset_reason"]) for s in body["steps"]] == [
        (1, False, ""),
        (2, True, "评议人数不足"),
        (3, True, "评议人数不足"),
    ]


def test_notice_objections_and_resolution_through_the_api(client, flow, alice, tom):
    case = flow.enrol()
    flow.bring_to(case, Step.REVIEW)
    client.force_login(tom)
    response = post(client, f"{URL}{case.pk}/notice/")
    assert response.status_code == 400
    assert response.json()["reasons"] == ["当前为第4步“审核审查”，完成前四步后才能公示。"]
    flow.complete(case, Step.REVIEW)

    response = post(client, f"{URL}{case.pk}/notice/", {"start": "2020-10-12"})
    assert (response.status_code, response.json()["notice_started_on"]) == (200, "2020-10-12")

    client.force_login(alice)
    response = post(client, f"{URL}{case.pk}/objections/", {"content": ""})
    assert response.status_code == 400
    assert response.json()["fields"] == {"content": ["请填写异议内容。"]}
    response = post(client, f"{URL}{case.pk}/objections/", {"content": "收入有误", "raised_by_name": "村民甲"})
    assert response.status_code == 201
    objection_id = response.json()["id"]
    assert response.json()["status"] == ObjectionStatus.OPEN

    client.force_login(tom)
    response = post(client, f"{URL}{case.pk}/advance/", {"step": 5})
    assert response.status_code == 400  # tom is not the county; the objection is open; 7 days
    response = post(client, f"{URL}{case.pk}/objections/999999/resolve/", {"upheld": False, "resolution": "x"})
    assert response.status_code == 404
    response = post(
        client, f"{URL}{case.pk}/objections/{objection_id}/resolve/", {"upheld": True, "resolution": "属实"}
    )
    assert response.status_code == 200
    assert (response.json()["status"], response.json()["resolved_by"]) == ("upheld", "张涛")
    case.refresh_from_db()
    assert case.current_step == Step.VERIFY


# --- criteria ---------------------------------------------------------------------------------


def test_criteria_certify_and_assess_through_the_api(client, flow, alice, sam, certifiers):
    household = ready_household()
    household.housing_appraisals.all().delete()
    case = flow.enrol(household, certify=False)
    client.force_login(sam)
    body = client.get(f"{URL}{case.pk}/criteria/").json()
    assert [(c["criterion"], c["result"], c["sector"]) for c in body] == [
        ("income", "met", "poverty"),
        ("housing", "pending", "housing"),
        ("education", "met", "education"),
        ("medical", "met", "health"),
        ("water", "met", "water"),
    ]
    assert body[0]["measured"] == {"year": 2020, "per_capita": "6000.00", "line": "4000.00"}

    response = post(client, f"{URL}{case.pk}/criteria/income/certify/", {"note": "同意"})
    assert response.status_code == 400
    assert response.json()["reasons"] == ["“收入达标”由扶贫/统计部门认定。"]
    response = post(client, f"{URL}{case.pk}/criteria/education/certify/", {"note": "学籍比对一致"})
    assert response.status_code == 200
    assert (response.json()["is_passed"], response.json()["certified_by"]) == (True, "刘山")
    assert post(client, f"{URL}{case.pk}/criteria/beauty/certify/").status_code == 404

    client.force_login(alice)
    response = post(client, f"{URL}{case.pk}/criteria/housing/assess/", {"assessment": "met", "note": ""})
    assert response.status_code == 400
    assert response.json()["fields"] == {"assessment_note": ["请填写评定说明（核实了什么、依据是什么）。"]}
    response = post(client, f"{URL}{case.pk}/criteria/housing/assess/", {"assessment": "met", "note": "砖混结构"})
    assert response.status_code == 200
    assert (response.json()["result"], response.json()["assessed_by"]) == ("met", "李爱丽")


# --- scope ------------------------------------------------------------------------------------


@pytest.fixture
def in_notice(flow, alice, tom):
    case = flow.enrol()
    flow.bring_to(case, Step.NOTICE)
    services.notice_open(by=tom, case=case)
    objection = services.objection_add(by=alice, case=case, content="收入有误")
    return case, objection


def endpoints(case, objection):
    base = f"{URL}{case.pk}/"
    gets = [base, f"{base}criteria/"]
    posts = [
        (f"{base}advance/", {"step": 5}),
        (f"{base}return/", {"to_step": 1, "reason": "重做"}),
        (f"{base}notice/", {}),
        (f"{base}objections/", {"content": "又一条"}),
        (f"{base}objections/{objection.pk}/resolve/", {"upheld": True, "resolution": "属实"}),
        (f"{base}criteria/income/certify/", {"note": ""}),
        (f"{base}criteria/housing/assess/", {"assessment": "met", "note": "看过"}),
    ]
    return gets, posts


@pytest.mark.parametrize("who", ["bob", "zed"])
def test_every_endpoint_of_a_case_is_404_outside_scope(request, client, in_notice, who):
    case, objection = in_notice
    client.force_login(request.getfixturevalue(who))
    gets, posts = endpoints(case, objection)
    for url in gets:
        assert client.get(url).status_code == 404, url
    for url, payload in posts:
        assert post(client, url, payload).status_code == 404, url
    assert client.get(URL).json()["count"] == 0
    case.refresh_from_db()
    assert (case.current_step, case.objections.get().status) == (Step.NOTICE, ObjectionStatus.OPEN)


def test_the_supervisor_reads_but_every_write_is_403(client, in_notice, sue, flow):
    case, objection = in_notice
    client.force_login(sue)
    gets, posts = endpoints(case, objection)
    for url in gets:
        assert client.get(url).status_code == 200, url
    assert client.get(URL).json()["count"] == 1
    for url, payload in [*posts, (URL, {"campaign": flow.campaign.pk, "household": case.household_id})]:
        response = post(client, url, payload)
        assert (response.status_code, response.json()) == (403, READ_ONLY), url
    case.refresh_from_db()
    assert (case.current_step, case.objections.count()) == (Step.NOTICE, 1)


def test_the_campaigns_are_listed_with_their_deadlines_and_mapping(client, campaign, sue):
    client.force_login(sue)
    body = client.get("/api/v1/exit-campaigns/").json()
    assert body["results"][0]["step_levels"]["6"] == "county"
    assert body["results"][0]["county_deadline"] == "2020-11-10"


def test_the_schema_documents_the_exit_endpoints(client, carol):
    client.force_login(carol)
    paths = client.get("/api/schema/", {"format": "json"}).json()["paths"]
    for path, method in [
        ("/api/v1/exit-campaigns/", "get"),
        ("/api/v1/exit-cases/", "get"),
        ("/api/v1/exit-cases/", "post"),
        ("/api/v1/exit-cases/{id}/", "get"),
        ("/api/v1/exit-cases/{id}/advance/", "post"),
        ("/api/v1/exit-cases/{id}/return/", "post"),
        ("/api/v1/exit-cases/{id}/notice/", "post"),
        ("/api/v1/exit-cases/{id}/objections/", "post"),
        ("/api/v1/exit-cases/{id}/objections/{objection_id}/resolve/", "post"),
        ("/api/v1/exit-cases/{id}/criteria/", "get"),
        ("/api/v1/exit-cases/{id}/criteria/{criterion}/certify/", "post"),
        ("/api/v1/exit-cases/{id}/criteria/{criterion}/assess/", "post"),
    ]:
        assert method in paths.get(path, {}), (path, method)
    advance = paths["/api/v1/exit-cases/{id}/advance/"]["post"]
    assert advance["summary"] == "完成当前步骤"
    assert {"400", "409"} <= set(advance["responses"])
