"""Exit-case fixtures: the 2020 campaign with the seed's dates, sector certifiers for the
five criteria, and a household whose registry data meets every criterion."""

import datetime
from decimal import Decimal

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from accounts.models import Role, Sector
from exits import services
from exits.models import DEFAULT_STEP_LEVELS, Campaign, Criterion, ExitCase, Step
from exits.services import ARCHIVE_ITEMS, ExitError
from households.models import HousingAppraisal, IncomeRecord, Relationship, Schooling, WaterAssessment
from tests.conftest import COUNTY, OTHER_COUNTY_VILLAGE, TOWN_A, VILLAGE_A, VILLAGE_A2, make_user
from tests.factories import HouseholdFactory, MemberFactory

# The campaign's village work is done in the autumn of 2020.
AUTUMN_2020 = datetime.datetime(2020, 10, 12, 10, 0, tzinfo=datetime.timezone(datetime.timedelta(hours=8)))


@pytest.fixture
def clock():
    """A controllable clock, starting on 2020-10-12 (Asia/Shanghai); ``clock.shift(days)``."""
    with time_machine.travel(AUTUMN_2020, tick=False) as traveller:

        class Clock:
            def shift(self, days: int) -> None:
                traveller.shift(datetime.timedelta(days=days))

        yield Clock()


@pytest.fixture
def campaign(db):
    return Campaign.objects.create(
        year=2020,
        name="2020年度贫困户退出",
        income_line=Decimal("4000"),
        village_deadline=datetime.date(2020, 10, 20),
        town_deadline=datetime.date(2020, 10, 31),
        county_deadline=datetime.date(2020, 11, 10),
        marking_deadline=datetime.date(2020, 11, 20),
        step_levels=dict(DEFAULT_STEP_LEVELS),
    )


SECTOR_OF = {
    Criterion.INCOME: Sector.POVERTY_STATISTICS,
    Criterion.HOUSING: Sector.HOUSING,
    Criterion.EDUCATION: Sector.EDUCATION,
    Criterion.MEDICAL: Sector.HEALTH,
    Criterion.WATER: Sector.WATER,
}


@pytest.fixture
def certifiers(regions):
    """One sector account per criterion, in 汉滨区."""
    return {
        criterion: make_user(f"sector_{sector}", Role.SECTOR, COUNTY, sector=sector, full_name=f"{sector}认定")
        for criterion, sector in SECTOR_OF.items()
    }


def ready_household(village=VILLAGE_A, *, head="王建国", son="王小明", **fields):
    """A household whose 2020 registry data meets all five criteria: income 6,000/person,
    house grade A, safe water, everyone insured, the 10-year-old at primary school."""
    household = HouseholdFactory(village_id=village, identification_year=2016, **fields)
    MemberFactory(household=household, relationship=Relationship.HEAD, name=head)
    MemberFactory(
        household=household,
        relationship=Relationship.SON,
        name=son,
        birth_date=datetime.date(2010, 3, 1),
        education="",
        schooling=Schooling.PRIMARY,
        labour_skill="none",
    )
    IncomeRecord.objects.create(household=household, year=2020, population=2, wage_income=Decimal("12000"))
    HousingAppraisal.objects.create(
        household=household, grade="A", appraised_on=datetime.date(2020, 6, 1), appraising_unit="汉滨区住建局"
    )
    WaterAssessment.objects.create(
        household=household,
        assessed_on=datetime.date(2020, 6, 1),
        quality_ok=True,
        litres_per_person_day=Decimal("60"),
        piped_to_house=True,
        reliability_percent=Decimal("98"),
    )
    return household


# --- the workflow, step by step ---------------------------------------------------------------

# A record each step accepts (the walkthrough's), keyed by step.
STEP_DATA = {
    1: {"head_signed": True, "food_clothing_secure": True, "signed_on": "2020-10-12"},
    2: {"meeting_date": "2020-10-12", "attendance": 30, "votes_for": 28, "votes_against": 1, "minutes": "同意退出"},
    3: {"checking_unit": "610902102201", "findings": "未发现问题"},
    4: {"opinion": "同意"},
    5: {},
    6: {"opinion": "批准退出"},
    7: {"checklist": list(ARCHIVE_ITEMS)},
    8: {},  # marked_on: the day it is done (see step_data)
}


def step_data(step: int, **changes) -> dict:
    """The accepted record of ``step``, with ``changes`` on top (None removes a key)."""
    data = {**STEP_DATA[int(step)]}
    if int(step) == Step.MARK:
        data["marked_on"] = timezone.localdate().isoformat()
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


def refusal(call, *args, **kwargs) -> ExitError:
    """The ``ExitError`` that ``call`` raises (the test fails if it raises nothing)."""
    with pytest.raises(ExitError) as caught:
        call(*args, **kwargs)
    return caught.value


class Flow:
    """Moves cases through the eight steps with the right people: the village cadre,
    the town official and the county official for the level each step belongs to."""

    def __init__(self, *, clock, campaign, certifiers, doers, reviewers=None):
        self.clock = clock
        self.campaign = campaign
        self.certifiers = certifiers
        self.doers = doers  # role → user
        # Separation of duties (exits.models.REVIEWS): the second town official
        # cross-checks and the second county official closes the notice, so the first
        # ones may review (4) and approve (6).
        self.reviewers = reviewers or {}  # role → second user of that role

    def enrol(self, household=None, *, certify=True, by=None) -> ExitCase:
        household = household or ready_household()
        case = services.case_enrol(by=by or self.doers[Role.VILLAGE_CADRE], campaign=self.campaign, household=household)
        if certify:
            self.certify(case)
        return case

    def certify(self, case: ExitCase) -> None:
        for check in case.criteria.all():
            services.criterion_certify(by=self.certifiers[check.criterion], check=check, note="数据比对一致")

    def doer(self, step: int):
        self.campaign.refresh_from_db()
        role = self.campaign.role_for(step)
        if step in (Step.CROSS_CHECK, Step.NOTICE) and role in self.reviewers:
            return self.reviewers[role]
        return self.doers[role]

    def complete(self, case: ExitCase, step: int | None = None, *, by=None, **changes):
        case.refresh_from_db()
        step = step or case.current_step
        return services.step_complete(by=by or self.doer(step), case=case, step=step, data=step_data(step, **changes))

    def bring_to(self, cases, step: int) -> None:
        """Complete every step before ``step`` (the notice after its minimum days)."""
        cases = [cases] if isinstance(cases, ExitCase) else list(cases)
        for current in range(1, step):
            todo = [c for c in cases if (c.refresh_from_db() or c.current_step) == current]
            if current == Step.NOTICE and todo:
                for case in todo:
                    services.notice_open(by=self.doers[Role.TOWN_OFFICIAL], case=case)
                self.clock.shift(self.campaign.notice_min_days)
            for case in todo:
                self.complete(case, current)
        for case in cases:
            case.refresh_from_db()


@pytest.fixture
def flow(clock, campaign, certifiers, alice, tom, carol, tom2, carol2):
    return Flow(
        clock=clock,
        campaign=campaign,
        certifiers=certifiers,
        doers={Role.VILLAGE_CADRE: alice, Role.TOWN_OFFICIAL: tom, Role.COUNTY_OFFICIAL: carol},
        reviewers={Role.TOWN_OFFICIAL: tom2, Role.COUNTY_OFFICIAL: carol2},
    )


@pytest.fixture
def carol2(regions):
    """A second county official of 汉滨区."""
    return make_user("carol2", Role.COUNTY_OFFICIAL, COUNTY, full_name="陈二")


@pytest.fixture
def tom2(regions):
    """A second town official of alice's town."""
    return make_user("tom2", Role.TOWN_OFFICIAL, TOWN_A, full_name="张二")


@pytest.fixture
def amy(regions):
    """Village cadre of village A2 (alice's town)."""
    return make_user("amy", Role.VILLAGE_CADRE, VILLAGE_A2, full_name="艾米")


@pytest.fixture
def olga(regions):
    """Village cadre of a village in 汉阴县 (zed's county)."""
    return make_user("olga", Role.VILLAGE_CADRE, OTHER_COUNTY_VILLAGE, full_name="欧佳")


# --- attachments ----------------------------------------------------------------------------

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
JPG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00\xff\xd9"
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00"
EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 48


def upload(name: str, content: bytes, content_type: str = "application/octet-stream") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type=content_type)


@pytest.fixture
def media(settings, tmp_path):
    """Uploaded files go to a folder of this test's own."""
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT
