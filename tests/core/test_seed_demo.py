"""seed_demo: one demo account per role and realistic households that obey the registry's rules.

Seeding takes a few seconds, so the module seeds once (twice, with the same seed, to
check that a second run adds rather than clashes) inside a transaction that is rolled
back when the module is done. Each test only reads.
"""

import json
from collections import Counter
from datetime import date, timedelta
from io import StringIO

import pytest
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from stdnum.cn import ric

from accounts.demo import DEMO_PASSWORD
from accounts.models import Role, User
from households.models import ExitStatus, Household, Member, Relationship, Sex
from regions.models import Region

HOUSEHOLDS = 200


def seed():
    out = StringIO()
    call_command("seed_demo", "--households", str(HOUSEHOLDS), "--seed", "1", stdout=out)
    return out.getvalue()


@pytest.fixture(scope="module")
def seeded(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock(), transaction.atomic():
        first_output = seed()
        first = {
            "households": set(Household.objects.values_list("number", flat=True)),
            "members": Member.objects.count(),
            "accounts": json.loads(settings.DEMO_ACCOUNTS_FILE.read_text(encoding="utf-8")),
            "users": User.objects.count(),
        }
        second_output = seed()
        yield {"first": first, "first_output": first_output, "second_output": second_output}
        transaction.set_rollback(True)


@pytest.fixture
def demo(seeded, db):
    return seeded


def test_it_loads_the_region_tree_when_there_is_none(demo):
    assert "区划：共 1661 个，新增 1661 个" in demo["first_output"]
    assert Region.objects.count() == 1661


def test_it_creates_one_demo_account_per_role(demo):
    roles = Counter(User.objects.values_list("role", flat=True))
    assert roles == {
        Role.VILLAGE_CADRE: 2,
        # Two at the town and the county: who cross-checks does not review, who closes
        # the notice does not approve (separation of duties, exits.models.REVIEWS).
        Role.TOWN_OFFICIAL: 2,
        # One department per exit criterion, so a demo case can be certified through.
        Role.SECTOR: 5,
        Role.COUNTY_OFFICIAL: 2,
        Role.CITY_SUPERVISOR: 1,
        Role.ADMIN: 1,
    }
    for user in User.objects.all():
        user.full_clean()
        assert user.check_password(DEMO_PASSWORD), user.username


def test_it_puts_the_two_cadres_in_villages_of_different_towns(demo):
    cadres = list(User.objects.filter(role=Role.VILLAGE_CADRE).select_related("region"))
    assert len(cadres) == 2
    assert all(c.region.level == Region.Level.VILLAGE for c in cadres)
    assert cadres[0].region.parent_id != cadres[1].region.parent_id
    # The town official oversees the first cadre, not the second.
    town = User.objects.get(username="town")
    assert sorted(c.region.parent_id == town.region_id for c in cadres) == [False, True]


def test_it_writes_the_accounts_file(demo):
    accounts = json.loads(settings.DEMO_ACCOUNTS_FILE.read_text(encoding="utf-8"))
    assert accounts == demo["first"]["accounts"]
    assert [a["username"] for a in accounts] == [
        "cadre", "cadre2", "town", "town2", "sector", "sector_poverty", "sector_housing", "sector_health",
        "sector_water", "county", "county2", "supervisor", "admin",
    ]  # fmt: skip
    for account in accounts:
        assert {"username", "password", "role", "region_code"} <= account.keys()
        user = User.objects.get(username=account["username"])
        assert account["role"] == user.role
        assert account["region_code"] == (user.region_id or "")
        assert user.check_password(account["password"])


def test_it_prints_the_accounts(demo):
    assert "演示账号（用户名 / 密码 / 角色 / 区划）：" in demo["first_output"]
    assert "cadre        AnKang@2020  村级录入员  610902101201 西关村" in demo["first_output"]


def test_it_resets_the_accounts_instead_of_duplicating_them(demo):
    assert User.objects.count() == demo["first"]["users"] == 13


def test_it_creates_the_households_asked_for(demo):
    assert len(demo["first"]["households"]) == HOUSEHOLDS
    assert f"演示数据：{HOUSEHOLDS} 户、{demo['first']['members']} 人" in demo["first_output"]


def test_it_adds_households_on_a_second_run_without_clashing_numbers(demo):
    numbers = list(Household.objects.values_list("number", flat=True))
    assert len(numbers) == len(set(numbers)) == 2 * HOUSEHOLDS
    assert demo["first"]["households"] < set(numbers)
    ids = list(Member.objects.values_list("id_number", flat=True))
    assert len(ids) == len(set(ids))


def test_it_numbers_households_after_their_village(demo):
    for number, village in Household.objects.values_list("number", "village_id"):
        assert number.startswith(village) and len(number) == 17 and number[12:].isdigit(), number


def test_it_gives_the_demo_cadres_a_workable_caseload(demo):
    for cadre in User.objects.filter(role=Role.VILLAGE_CADRE):
        assert Household.objects.visible_to(cadre).count() >= 40


def test_it_gives_every_member_a_valid_resident_id(demo):
    numbers = list(Member.objects.values_list("id_number", flat=True))
    assert len(numbers) > 2 * HOUSEHOLDS
    for number in numbers:
        ric.validate(number)  # raises with the reason: length, birth date or check digit


def test_it_derives_birth_date_and_sex_from_the_id(demo):
    for id_number, birth_date, sex in Member.objects.values_list("id_number", "birth_date", "sex"):
        assert ric.get_birth_date(id_number) == birth_date, id_number
        # GB 11643: the 17th digit is odd for men, even for women.
        assert sex == (Sex.MALE if int(id_number[16]) % 2 else Sex.FEMALE), id_number


def test_it_gives_each_household_exactly_one_head(demo):
    heads = Counter(Member.objects.filter(relationship=Relationship.HEAD).values_list("household_id", flat=True))
    households = set(Household.objects.values_list("id", flat=True))
    assert set(heads) == households
    assert set(heads.values()) == {1}


def test_it_never_exits_a_household_in_the_year_it_was_identified(demo):
    for status, identified, exited in Household.objects.values_list("exit_status", "identification_year", "exit_year"):
        if status == ExitStatus.NOT_EXITED:
            assert exited is None
        else:
            assert exited > identified


def test_it_uses_11_digit_mobile_numbers(demo):
    for phone, helper_phone in Household.objects.values_list("phone", "helper_phone"):
        for number in (phone, helper_phone):
            assert len(number) == 11 and number.isdigit() and number.startswith("1"), number


def test_it_records_a_created_history_row_for_every_row(demo):
    assert Household.history.filter(history_type="+").count() == Household.objects.count()
    assert Member.history.filter(history_type="+").count() == Member.objects.count()
    reasons = set(Household.history.filter(history_type="+").values_list("history_change_reason", flat=True))
    assert reasons == {"演示数据"}
    # Households whose demo exit case reached 系统标注 were then marked 已脱贫, on record.
    marked = Household.history.filter(history_type="~").values_list("history_change_reason", flat=True)
    assert set(marked) <= {"演示数据：系统标注"}


def test_it_records_the_account_changes(demo):
    cadre = User.objects.get(username="cadre")
    assert cadre.history.filter(history_type="+").count() == 1
    assert "password" not in {f.name for f in User.history.model._meta.get_fields()}


def test_it_refuses_a_negative_household_count(db):
    with pytest.raises(CommandError, match="--households 不能为负数。"):
        call_command("seed_demo", "--households", "-1", stdout=StringIO())


def test_every_demo_household_passes_the_registry_rules_unchanged(demo):
    """A cadre who opens a demo household and saves it without changing anything is not
    refused: the demo data obey the rules the registry service enforces (a 失联 or 刑满释放
    household carries its 特殊情况说明, for one)."""
    from households import services

    admin = User.objects.get(username="admin")
    flagged = Household.objects.filter(Q(lost_contact=True) | Q(released_prisoner=True))
    sample = list(flagged) + list(Household.objects.order_by("pk")[:40])
    assert flagged.exists(), "the demo flags some households 失联 / 刑满释放"
    with transaction.atomic():
        for household in sample:
            household.refresh_from_db()
            services.household_update(by=admin, household=household, data={}, members=None, version=household.version)
        transaction.set_rollback(True)


def test_it_keeps_the_2020_campaign_as_finished_history(demo):
    """The seed's campaign, with its real deadlines, is over: every case in it exited in
    2020 with all eight steps on record, and it is no longer the current campaign."""
    from exits.models import Campaign, CaseStatus, ExitCase, StepRecord

    history = Campaign.objects.get(year=2020)
    assert not history.is_active
    assert (history.village_deadline, history.marking_deadline) == (date(2020, 10, 20), date(2020, 11, 20))
    cases = ExitCase.objects.filter(campaign=history)
    assert cases.exists()
    assert set(cases.values_list("status", flat=True)) == {CaseStatus.EXITED}
    assert {d.year for d in cases.values_list("exited_on", flat=True)} == {2020}
    steps = StepRecord.objects.filter(case__campaign=history, is_reset=False)
    assert steps.count() == 8 * cases.count()
    assert {d.year for d in steps.values_list("completed_at", flat=True)} == {2020}
    assert set(Household.objects.filter(exit_cases__campaign=history).values_list("exit_year", flat=True)) == {2020}


def test_it_runs_a_current_campaign_around_the_day_it_is_made(demo):
    """Whatever day the demo is made, its current campaign is in progress: the village
    deadline has just passed, the town's, the county's and the marking's are ahead, and
    cases wait at every step, none done after today."""
    from exits.models import DONE, Step, StepRecord
    from exits.selectors import current_campaign

    today = timezone.localdate()
    campaign = current_campaign()
    assert campaign.year == today.year
    assert campaign.village_deadline < today < campaign.town_deadline
    assert campaign.county_deadline > today and campaign.marking_deadline > today
    cases = campaign.cases.all()
    # (A few hundred households give a few dozen cases: not every step is sure to have one.)
    steps = set(cases.values_list("current_step", flat=True))
    assert len(steps) >= 3 and DONE in steps and steps & {Step.VERIFY, Step.APPRAISE}, steps
    assert cases.filter(status="exited").exists() and cases.filter(status="in_progress").exists()
    done = StepRecord.objects.filter(case__campaign=campaign)
    assert done.exists()
    assert all(
        today - timedelta(days=40) <= timezone.localtime(at).date() <= today
        for at in done.values_list("completed_at", flat=True)
    )
    # A household is in one campaign at a time.
    assert not cases.filter(household__exit_cases__campaign__year=2020).exists()


def test_its_registry_has_an_income_ledger_for_the_current_campaign(demo):
    from households.models import IncomeRecord

    year = timezone.localdate().year
    assert IncomeRecord.objects.filter(year=year).count() == Household.objects.count()
