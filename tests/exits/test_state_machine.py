"""No sequence of actions produces an exit the rules would refuse (issue 14, point 7).

A Hypothesis ``RuleBasedStateMachine`` drives random sequences of what people do to
households and their exit cases — registry edits (income above and below the 4,000 line,
housing grades A–D, schooling and insurance of members, 失联 / 刑满释放 flags, attempts to
set 脱贫状态), enrolment, village assessment, sector certification by the right and the
wrong sector, steps (the current one and wrong ones), the notice and its minimum days,
objections upheld or dismissed, returns to earlier steps, special-situation
investigations and decisions — by random people of every role, through the services
(``ExitWorkflow``) and, in a smaller run, through the API (``ExitWorkflowThroughApi``).
Every call either succeeds or raises its domain refusal (``ExitError``, ``ExitConflict``,
``RegistryError``, ``PermissionError``; through the API: 400/403/404/409); anything else
fails the test.

Where it is cheap the machine also predicts the answer: a step, the notice, a
certification, an enrolment, an objection or a return succeeds exactly when order,
role, scope, separation of duties (``exits.models.REVIEWS``) and the declared gates
(``exits.gates.blockers`` on the re-measured case) allow it; a registry edit sending
another 脱贫状态 or 脱贫年度 is refused and changes nothing.

People are named ("tom2") or relative to the action ("@level": the first person whose
role and region fit it; "@other": a neighbouring role), so a shrunk failure reads as a
story. Each example starts with one case taken a random number of moves along by a
diligent team (``advance``), which keeps moving it while everything else happens.

Invariants, checked after every step:

1. 已脱贫 belongs to the workflow: a household is 已脱贫 only if its exit case completed
   step 8 (status exited, current step 9) or it has a ``PriorExit`` record, and then with
   that exit's year; nothing here confirms a relapse, so no household is 返贫; a household
   with neither is 未脱贫 without a year.
2. Every gate held: each standing step record was created by a call made while
   ``gates.blockers(case, step)`` on the freshly re-measured case was empty (measured in
   a savepoint rolled back just before the call).
3. The printable notice list (``exits.selectors.notice_list_cases``) names only cases
   that pass their notice gates (``gates.notice_blockers(case) == []``), and every case
   in or past its notice that passes them (its database condition agrees with the gates).
4. Nobody completed a step they may not: each standing record's author has the role of
   the step's level, the case in scope, and did not complete a step it checks
   (``REVIEWS``) that is also standing.
5. No step stands before its predecessor: a case's standing steps are exactly
   1..current_step-1, completed in that order; status is exited iff current step is 9;
   no notice date before step 5, one after it.
6. A certification stands on what it certified: ``certified_at`` set means result 达标,
   ``certified_measured == measured``, certified by that criterion's sector in scope.
7. Data changes reach the case: an open case's stored criteria (result, values,
   reasons) are what ``exits.criteria.measure`` makes of the registry now.

Database state is reset per example by a savepoint of our own (``transaction.atomic()``
entered in the machine's ``__init__``, rolled back in ``teardown``) inside pytest-django's
test transaction: the region tree, people and households are made once per test and
every example starts from exactly them, on SQLite and PostgreSQL alike, without the
flush of a transactional test (too slow for hundreds of examples) and without
``hypothesis.extra.django.TestCase``, which would give up the shared pytest fixtures.
The clock is time_machine's, restarted at 2020-10-12 10:00 (+08:00) for every example.

The invariants look again only when something was written (a refused call writes
nothing), on one load of the cases shared between them.

Profiles: ``ci`` (the default: derandomized, 40 sequences of 50 steps through the
services and 10 of 37 through the API; about 40 s on SQLite, 50 s on PostgreSQL, database
creation included), ``long`` (random, 1,000 sequences of 80 steps and 250 of 60; about
half an hour) and ``debug`` (12 sequences, every step printed with what each call
answered):

    HYPOTHESIS_PROFILE=long .venv/bin/pytest tests/exits/test_state_machine.py -p no:randomly

Each test also asserts that its search went deep (households marked 已脱贫 and notices
opened; through the services, steps refused by a gate too): finding nothing means little
otherwise.
"""

from __future__ import annotations

import contextlib
import datetime
import os
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal

import pytest
import time_machine
from django.db import DatabaseError, transaction
from django.db.models import Prefetch
from django.db.models.signals import post_delete, post_save
from django.utils import timezone
from hypothesis import HealthCheck, Verbosity, note, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    initialize,
    invariant,
    multiple,
    rule,
    run_state_machine_as_test,
)
from rest_framework.test import APIClient

from accounts.models import Role, Sector
from core.errors import Refusal
from exits import gates, selectors, services
from exits.criteria import load_registry_data, measure
from exits.models import (
    CRITERION_SECTOR,
    DONE,
    REVIEWS,
    CaseStatus,
    Criterion,
    CriterionCheck,
    CriterionResult,
    ExitCase,
    Objection,
    ObjectionStatus,
    PriorExit,
    SituationDecision,
    SituationKind,
    SpecialSituation,
    Step,
    StepRecord,
)
from households import services as registry
from households.models import (
    Education,
    ExitStatus,
    Household,
    MedicalInsurance,
    Member,
    Relationship,
    Schooling,
    WaterAssessment,
)
from regions.scoping import code_visible_to
from tests.conftest import COUNTY, OTHER_COUNTY, TOWN_A, TOWN_B, VILLAGE_A, VILLAGE_B, household_in, make_user
from tests.exits.conftest import AUTUMN_2020, ready_household, step_data

# --- profiles -------------------------------------------------------------------------------

settings.register_profile(
    "ci",
    derandomize=True,
    database=None,
    max_examples=40,
    stateful_step_count=50,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large],
)
settings.register_profile(
    "long",
    derandomize=False,
    database=None,
    print_blob=True,
    max_examples=1000,
    stateful_step_count=80,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large],
)
# A few examples, every step printed with the notes of what each call answered.
settings.register_profile("debug", parent=settings.get_profile("ci"), max_examples=12, verbosity=Verbosity.debug)
# Read here and passed to the run (not loaded globally), so other Hypothesis tests keep
# their own defaults.
PROFILE = settings.get_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

# --- the world every example starts from ---------------------------------------------------

# Everyone who may act, by role and region. Three town and three county officials so that
# separation of duties can be satisfied (and broken); a sector of another county; a
# read-only supervisor and an administrator.
USERNAMES = [
    "alice", "amy", "bob",  # village cadres: village A, A2 (same town), B (other town)
    "tom", "tom2", "tom3", "tina", "tina2",  # town officials: town A ×3, town B ×2
    "carol", "carol2", "carol3", "zed",  # county officials: 汉滨区 ×3, 汉阴县
    "sector_poverty", "sector_housing", "sector_education", "sector_health", "sector_water", "sam",  # 汉滨区
    "hana",  # 水利 of 汉阴县: the right sector, the wrong county
    "sue", "root",  # city supervisor (read-only), administrator
]  # fmt: skip
EXTRA_PEOPLE = [
    ("tom3", Role.TOWN_OFFICIAL, TOWN_A, ""),
    ("tina", Role.TOWN_OFFICIAL, TOWN_B, ""),
    ("tina2", Role.TOWN_OFFICIAL, TOWN_B, ""),
    ("carol3", Role.COUNTY_OFFICIAL, COUNTY, ""),
    ("hana", Role.SECTOR, OTHER_COUNTY, Sector.WATER),
]
# Households: three that can go all the way (one lacking its water assessment, so the
# village's assessment must stand in), one identified this year (cannot exit in 2020),
# one that exited in 2019 before the system (a PriorExit).
HOUSEHOLDS = ["h_a1", "h_a2", "h_b", "h_new", "h_prior"]
# "@level" is the first person whose role and region fit the action, "@level2" the second…;
# "@other" someone in the region with a neighbouring role (a county official at a town
# step, a town official at a county one). So about half of all actions are tried by
# someone who might be allowed, and many of the rest by someone who almost is.
WHO = st.one_of(st.sampled_from(["@level", "@level2", "@level3", "@other"]), st.sampled_from(USERNAMES))
# For a step, also "@barred": whoever completed a step it checks (``REVIEWS``), if anyone.
STEP_WHO = st.one_of(st.sampled_from(["@level", "@level2", "@level3", "@other", "@barred"]), st.sampled_from(USERNAMES))
NEIGHBOURS = [Role.TOWN_OFFICIAL, Role.COUNTY_OFFICIAL, Role.VILLAGE_CADRE, Role.SECTOR, Role.ADMIN]
REFUSALS = (services.ExitError, services.ExitConflict, registry.RegistryError, PermissionError)
REVIEWING = (Role.TOWN_OFFICIAL, Role.COUNTY_OFFICIAL)


@dataclass
class World:
    campaign: object
    people: dict
    households: dict  # name → pk
    seen: Counter = field(default_factory=Counter)  # what the examples reached, for the coverage floor


@pytest.fixture
def world(clock, regions, campaign, certifiers, alice, amy, bob, tom, tom2, carol, carol2, sam, sue, zed, root):
    people = {u.username: u for u in (alice, amy, bob, tom, tom2, carol, carol2, sam, sue, zed, root)}
    people |= {u.username: u for u in certifiers.values()}
    for username, role, region, sector in EXTRA_PEOPLE:
        people[username] = make_user(username, role, region, sector=sector)
    assert sorted(people) == sorted(USERNAMES)

    h_a2 = ready_household(VILLAGE_A, head="李二", son="李小二")
    WaterAssessment.objects.filter(household=h_a2).delete()  # 饮水 待认定 until assessed
    h_new = ready_household(VILLAGE_A, head="新识别", son="新小")
    Household.objects.filter(pk=h_new.pk).update(identification_year=2020)
    h_prior = household_in(VILLAGE_A, exit_status=ExitStatus.EXITED, exit_year=2019)
    PriorExit.objects.create(household=h_prior, year=2019, document="汉政发〔2019〕12号", recorded_by=carol)
    households = {
        "h_a1": ready_household(VILLAGE_A),
        "h_a2": h_a2,
        "h_b": ready_household(VILLAGE_B, head="赵三", son="赵小三"),
        "h_new": h_new,
        "h_prior": h_prior,
    }
    return World(campaign=campaign, people=people, households={k: h.pk for k, h in households.items()})


def _why(refusal) -> str:
    return "；".join(refusal.all_messages) if isinstance(refusal, Refusal) else str(refusal)


def _case_query():
    return ExitCase.objects.select_related("campaign", "household").prefetch_related(
        "criteria",
        "objections",
        Prefetch("steps", queryset=StepRecord.objects.select_related("completed_by").order_by("step", "pk")),
        "household__special_situations",
    )


def _standing(case: ExitCase) -> dict[int, StepRecord]:
    return {r.step: r for r in case.steps.all() if not r.is_reset}


# --- the machine -----------------------------------------------------------------------------


class ExitWorkflow(RuleBasedStateMachine):
    """Random people do random things to five households; the rules must hold throughout."""

    world: World  # set by the test

    cases = Bundle("cases")  # ExitCase pks
    objections = Bundle("objections")  # Objection pks

    def __init__(self):
        super().__init__()
        # One savepoint per example, rolled back in teardown (see the module docstring).
        self._atomic = transaction.atomic()
        self._atomic.__enter__()
        self._travel = time_machine.travel(AUTUMN_2020, tick=False)
        self._clock = self._travel.start()
        # Step records created by a call made while every gate held (invariant 2).
        self.gated_records: set[int] = set()
        # Every saved or deleted row, every call that succeeded and every move of the
        # clock starts a new generation; the invariants look once per generation, on one
        # shared load of the cases. A refused call writes nothing (each service is one
        # transaction), so after it they need not look again. What a probe writes is
        # rolled back and does not count.
        self._generation = 0
        self._probing = False
        self._looked: dict[str, int] = {}
        self._loaded: tuple[int, list[ExitCase]] | None = None
        self._villages: dict[int, str] = {}
        self._signal_uid = f"exit-state-machine-{id(self)}"
        post_save.connect(self._written, weak=False, dispatch_uid=self._signal_uid)
        post_delete.connect(self._written, weak=False, dispatch_uid=self._signal_uid)

    def _written(self, **kwargs):
        if not self._probing:
            self._generation += 1

    def unchanged_since_last_look(self, invariant: str) -> bool:
        if self._looked.get(invariant) == self._generation:
            return True
        self._looked[invariant] = self._generation
        return False

    def teardown(self):
        post_save.disconnect(dispatch_uid=self._signal_uid)
        post_delete.disconnect(dispatch_uid=self._signal_uid)
        try:
            with contextlib.suppress(DatabaseError):  # (after a failure the transaction may be broken)
                furthest = max(ExitCase.objects.values_list("current_step", flat=True), default=0)
                self.world.seen[f"examples ending at step {furthest}"] += 1
                if CriterionCheck.objects.exclude(lapse_note="").exists():
                    self.world.seen["examples where a certification lapsed"] += 1
            self._travel.stop()
        finally:
            transaction.set_rollback(True)
            self._atomic.__exit__(None, None, None)

    # --- helpers ---------------------------------------------------------------------------

    @property
    def campaign(self):
        return self.world.campaign

    def household(self, name: str) -> Household:
        return Household.objects.get(pk=self.world.households[name])

    def case(self, pk: int) -> ExitCase:
        return _case_query().get(pk=pk)

    @staticmethod
    def light(pk: int) -> ExitCase:
        """The case without what the gates read: for the services, which load their own."""
        return ExitCase.objects.get(pk=pk)

    def village_of(self, case_pk: int) -> str:
        if case_pk not in self._villages:
            self._villages[case_pk] = ExitCase.objects.values_list("village_id", flat=True).get(pk=case_pk)
        return self._villages[case_pk]

    def all_cases(self) -> list[ExitCase]:
        """Every case with what the gates read, loaded once per state the invariants see."""
        if self._loaded is None or self._loaded[0] != self._generation:
            self._loaded = (self._generation, list(_case_query().order_by("pk")))
        return self._loaded[1]

    def person(self, who: str, *, roles, village: str, sector: str | None = None):
        """``who`` as a user: a username; "@levelN", the Nth person whose role is one of
        ``roles`` (in that order) and whose region holds ``village``; or "@other", the first
        person of that region whose role is not."""
        if who == "@other":
            others = [r for r in NEIGHBOURS if r not in roles]
            fits = sorted(
                (u for u in self.world.people.values() if u.role in others and code_visible_to(u, village)),
                key=lambda u: (others.index(u.role), u.username),
            )
            user = fits[0]
        elif who.startswith("@"):
            n = {"@level": 0, "@level2": 1, "@level3": 2}[who]
            fits = sorted(
                (
                    u
                    for u in self.world.people.values()
                    if u.role in roles and (sector is None or u.sector == sector) and code_visible_to(u, village)
                ),
                key=lambda u: (list(roles).index(u.role), u.username),
            )
            user = fits[n % len(fits)] if fits else self.world.people["root"]
        else:
            user = self.world.people[who]
        note(f"  {who} → {user.username} ({user.role}{' ' + user.sector if user.sector else ''})")
        return user

    def attempt(self, label: str, call, **kwargs):
        """(True, result) or (False, refusal); any other exception fails the test."""
        try:
            result = call(**kwargs)
        except REFUSALS as refusal:
            note(f"  {label}: refused — {_why(refusal)[:300]}")
            return False, refusal
        note(f"  {label}: done")
        self._generation += 1  # (saves bump it too; this covers a bare UPDATE)
        return True, result

    def probe(self, case_pk: int, judge):
        """``judge(case)`` on the case as the services see it — re-measured from the registry
        first — in a savepoint that is rolled back, so probing changes nothing."""
        self._probing = True
        try:
            with transaction.atomic():
                fresh = ExitCase.objects.select_related("campaign").get(pk=case_pk)
                if not fresh.is_done:
                    services.criteria_refresh([fresh])
                verdict = judge(self.case(case_pk))
                transaction.set_rollback(True)
        finally:
            self._probing = False
        return verdict

    @staticmethod
    def scope_problems(user, village: str) -> list[str]:
        problems = []
        if not user.can_write:
            problems.append("read-only account")
        if not code_visible_to(user, village):
            problems.append("case outside the user's region")
        return problems

    def step_record_data(self, case_pk: int, step: int) -> dict:
        if step == Step.CROSS_CHECK:  # a team from another town
            other = VILLAGE_B if self.village_of(case_pk).startswith(TOWN_A[:9]) else VILLAGE_A
            return step_data(step, checking_unit=other)
        return step_data(step)

    # --- actions (the API machine sends the same through HTTP) --------------------------------

    def act_enrol(self, user, household: Household):
        ok, result = self.attempt(
            "case_enrol", services.case_enrol, by=user, campaign=self.campaign, household=household
        )
        return ok, (result.pk if ok else None)

    def act_step(self, user, case_pk: int, step: int, data: dict) -> bool:
        return self.attempt(
            f"step_complete({step})", services.step_complete, by=user, case=self.light(case_pk), step=step, data=data
        )[0]

    def act_notice(self, user, case_pk: int) -> bool:
        return self.attempt("notice_open", services.notice_open, by=user, case=self.light(case_pk))[0]

    def act_return(self, user, case_pk: int, to_step: int, reason: str) -> bool:
        return self.attempt(
            f"case_return(to {to_step})",
            services.case_return,
            by=user,
            case=self.light(case_pk),
            to_step=to_step,
            reason=reason,
        )[0]

    def act_objection_add(self, user, case_pk: int, content: str):
        ok, result = self.attempt(
            "objection_add", services.objection_add, by=user, case=self.light(case_pk), content=content
        )
        return ok, (result.pk if ok else None)

    def act_objection_resolve(self, user, objection: Objection, upheld: bool, resolution: str, return_to: int) -> bool:
        return self.attempt(
            "objection_resolve",
            services.objection_resolve,
            by=user,
            objection=objection,
            upheld=upheld,
            resolution=resolution,
            return_to=return_to,
        )[0]

    def act_certify(self, user, check: CriterionCheck) -> bool:
        return self.attempt(
            f"criterion_certify({check.criterion})", services.criterion_certify, by=user, check=check, note="比对一致"
        )[0]

    def act_household_update(self, user, household: Household, data: dict) -> bool:
        return self.attempt(
            f"household_update({sorted(data)})",
            registry.household_update,
            by=user,
            household=household,
            data=data,
            members=None,
            version=household.version,
        )[0]

    def act_member_update(self, user, member: Member, data: dict) -> bool:
        return self.attempt(
            f"member_update({sorted(data)})", registry.member_update, by=user, member=member, data=data
        )[0]

    # --- registry --------------------------------------------------------------------------

    def registry_editor(self, who: str, household: Household):
        return self.person(
            who, roles=(Role.VILLAGE_CADRE, Role.TOWN_OFFICIAL, Role.COUNTY_OFFICIAL), village=household.village_id
        )

    def ledger_editor(self, who: str, household: Household):
        """The ledger services leave scope to the page or API that fetched the household
        (``visible_to``): someone outside the region never reaches them, so neither here."""
        user = self.registry_editor(who, household)
        if user.can_write and not code_visible_to(user, household.village_id):
            note("  (outside the user's region: the page and API answer 404 before the service)")
            return None
        return user

    @rule(name=st.sampled_from(HOUSEHOLDS), who=WHO, wage=st.sampled_from([1000, 7000, 8000, 8002, 12000, 20000]))
    def save_income(self, name, who, wage):
        """2020 income for 2 people: 500, 3,500, 4,000 (not above the line), 4,001, 6,000, 10,000."""
        household = self.household(name)
        user = self.ledger_editor(who, household)
        if user is None:
            return
        data = {"population": 2, "wage_income": Decimal(wage)}
        ok, _ = self.attempt("income_record_save", registry.income_record_save, by=user, household=household,
                             year=2020, data=data)  # fmt: skip
        assert not ok or user.can_write, f"{user.username} (read-only) changed the income ledger"

    @rule(
        name=st.sampled_from(HOUSEHOLDS),
        who=WHO,
        grade=st.sampled_from(["A", "B", "C", "D"]),
        renovated=st.booleans(),
    )
    def appraise_housing(self, name, who, grade, renovated):
        household = self.household(name)
        user = self.ledger_editor(who, household)
        if user is None:
            return
        data = {"grade": grade, "appraised_on": timezone.localdate(), "appraising_unit": "汉滨区住建局"}
        if renovated:
            data |= {"outcome": "renovated", "outcome_date": timezone.localdate()}
        ok, _ = self.attempt(f"housing_appraisal_add({grade})", registry.housing_appraisal_add, by=user,
                             household=household, data=data)  # fmt: skip
        assert not ok or user.can_write, f"{user.username} (read-only) added a housing appraisal"

    @rule(name=st.sampled_from(HOUSEHOLDS), who=WHO, litres=st.sampled_from([10, 60]))
    def assess_water(self, name, who, litres):
        household = self.household(name)
        user = self.ledger_editor(who, household)
        if user is None:
            return
        data = {
            "assessed_on": timezone.localdate(),
            "quality_ok": True,
            "litres_per_person_day": Decimal(litres),
            "piped_to_house": True,
            "reliability_percent": Decimal("98"),
        }
        ok, _ = self.attempt("water_assessment_add", registry.water_assessment_add, by=user, household=household,
                             data=data)  # fmt: skip
        assert not ok or user.can_write, f"{user.username} (read-only) added a water assessment"

    MEMBER_CHANGES = {
        "out_of_school": {"schooling": "", "education": Education.PRIMARY},
        "at_school": {"schooling": Schooling.PRIMARY, "education": ""},
        "uninsured": {"medical_insurance": MedicalInsurance.UNINSURED},
        "insured": {"medical_insurance": MedicalInsurance.RESIDENT},
        "no_critical_illness_insurance": {"critical_illness_insurance": False},
        "critical_illness_insurance": {"critical_illness_insurance": True},
        "family_doctor": {"family_doctor": True},
        "no_family_doctor": {"family_doctor": False},
    }

    @rule(
        name=st.sampled_from(HOUSEHOLDS),
        who=WHO,
        son=st.booleans(),
        change=st.sampled_from(sorted(MEMBER_CHANGES)),
    )
    def edit_member(self, name, who, son, change):
        household = self.household(name)
        members = household.members.order_by("pk")
        member = (members.filter(relationship=Relationship.SON).first() if son else None) or members.first()
        user = self.registry_editor(who, household)
        ok = self.act_member_update(user, member, self.MEMBER_CHANGES[change])
        assert not ok or (user.can_write and code_visible_to(user, household.village_id)), (
            f"{user.username} changed a member of {name} outside their scope or read-only"
        )

    @rule(
        name=st.sampled_from(HOUSEHOLDS),
        who=WHO,
        flag=st.sampled_from(["lost_contact", "released_prisoner", "clear"]),
        with_notes=st.booleans(),
    )
    def flag_household(self, name, who, flag, with_notes):
        household = self.household(name)
        user = self.registry_editor(who, household)
        if flag == "clear":
            data = {"lost_contact": False, "released_prisoner": False, "special_notes": ""}
        else:
            data = {flag: True, "special_notes": "外出务工，联系不上" if with_notes else ""}
        ok = self.act_household_update(user, household, data)
        assert not ok or (user.can_write and code_visible_to(user, household.village_id)), (
            f"{user.username} changed {name} outside their scope or read-only"
        )
        if ok and flag != "clear":
            self.world.seen["flagged"] += 1

    @rule(
        name=st.sampled_from(HOUSEHOLDS),
        who=WHO,
        status=st.sampled_from(ExitStatus.values),
        year=st.sampled_from([None, 2019, 2020]),
    )
    def set_exit_status(self, name, who, status, year):
        """脱贫状态 is the workflow's outcome: a registry edit sending another value is refused;
        echoing the current one back is harmless."""
        household = self.household(name)
        user = self.registry_editor(who, household)
        ok = self.act_household_update(user, household, {"exit_status": status, "exit_year": year})
        after = self.household(name)
        assert (after.exit_status, after.exit_year) == (household.exit_status, household.exit_year), (
            f"a registry edit changed 脱贫状态 of {name}: {household.exit_status}/{household.exit_year} → "
            f"{after.exit_status}/{after.exit_year}"
        )
        if (status, year) != (household.exit_status, household.exit_year):
            assert not ok, f"a registry edit sending 脱贫状态 {status}/{year} to {name} was accepted"

    # A change to the household of a case (the rules above pick any household).
    DISTURBANCES = {
        "income 500/person": ("save_income", {"wage": 1000}),
        "income 4,000/person (not above the line)": ("save_income", {"wage": 8000}),
        "income 10,000/person": ("save_income", {"wage": 20000}),
        "house D": ("appraise_housing", {"grade": "D", "renovated": False}),
        "house C, renovated": ("appraise_housing", {"grade": "C", "renovated": True}),
        "water 10 L": ("assess_water", {"litres": 10}),
        "water 60 L": ("assess_water", {"litres": 60}),
        "son out of school": ("edit_member", {"son": True, "change": "out_of_school"}),
        "head uninsured": ("edit_member", {"son": False, "change": "uninsured"}),
        "family doctor signed": ("edit_member", {"son": True, "change": "family_doctor"}),
        "失联": ("flag_household", {"flag": "lost_contact", "with_notes": True}),
        "刑满释放": ("flag_household", {"flag": "released_prisoner", "with_notes": True}),
    }

    @rule(case=cases, who=WHO, change=st.sampled_from(sorted(DISTURBANCES)))
    def disturb(self, case, who, change):
        household_id = ExitCase.objects.values_list("household_id", flat=True).get(pk=case)
        name = next(n for n, pk in self.world.households.items() if pk == household_id)
        action, arguments = self.DISTURBANCES[change]
        getattr(self, action)(name=name, who=who, **arguments)

    # --- enrolment and criteria -----------------------------------------------------------------

    @initialize(
        target=cases,
        name=st.sampled_from(["h_a1", "h_a2", "h_b"]),
        head_start=st.lists(st.integers(0, 2), max_size=12),
    )
    def first_enrolment(self, name, head_start):
        """Every example starts with one household enrolled by its village cadre and taken
        a few moves along by the diligent team (``advance`` with each ``pick`` of
        ``head_start``, checked as ever), so the disruptions that follow meet cases at
        every depth: under the notice, with an objection, approved, filed, exited."""
        household = self.household(name)
        ok, case_pk = self.act_enrol(self.person("@level", roles=(Role.VILLAGE_CADRE,), village=household.village_id),
                                     household)  # fmt: skip
        assert ok, f"{name} could not be enrolled"
        for pick in head_start:
            self.advance(case_pk, pick=pick)
        return case_pk

    @rule(target=cases, name=st.sampled_from(HOUSEHOLDS), who=WHO)
    def enrol(self, name, who):
        household = self.household(name)
        user = self.person(who, roles=(Role.VILLAGE_CADRE,), village=household.village_id)
        expected = self.scope_problems(user, household.village_id)
        if user.role != Role.VILLAGE_CADRE:
            expected.append("not a village cadre")
        if household.exit_status == ExitStatus.EXITED:
            expected.append("already exited")
        if household.identification_year == self.campaign.year:
            expected.append("identified this year")
        expected += gates.situation_reasons(self.campaign, household)
        if ExitCase.objects.filter(campaign=self.campaign, household=household).exists():
            expected.append("already enrolled")
        ok, case_pk = self.act_enrol(user, household)
        assert ok == (not expected), (
            f"enrolment of {name} by {user.username}: {'accepted' if ok else 'refused'}, "
            f"the rules say {expected or 'yes'}"
        )
        return case_pk if ok else multiple()

    def certify_problems(self, case: ExitCase, check: CriterionCheck, user) -> list[str]:
        problems = self.scope_problems(user, case.village_id)
        if user.role != Role.SECTOR or user.sector != CRITERION_SECTOR[Criterion(check.criterion)]:
            problems.append("not the criterion's sector")
        if case.is_done:
            problems.append("case exited")
        if check.result != CriterionResult.MET:
            problems.append(f"criterion {check.result}")
        return problems

    def certify_one(self, case_pk: int, criterion: str, who: str) -> None:
        sector = CRITERION_SECTOR[Criterion(criterion)]
        user = self.person(who, roles=(Role.SECTOR,), village=self.village_of(case_pk), sector=sector)
        expected = self.probe(
            case_pk,
            lambda c: self.certify_problems(c, next(x for x in c.criteria.all() if x.criterion == criterion), user),
        )
        ok = self.act_certify(user, CriterionCheck.objects.get(case_id=case_pk, criterion=criterion))
        assert ok == (not expected), (
            f"certification of {criterion} by {user.username}: {'accepted' if ok else 'refused'}, "
            f"the rules say {expected or 'yes'}"
        )

    @rule(case=cases, criterion=st.sampled_from(Criterion.values), who=WHO)
    def certify(self, case, criterion, who):
        self.certify_one(case, criterion, who)

    @rule(case=cases)
    def certify_all(self, case):
        """Each sector certifies its criterion waiting for it (refused where no longer met)."""
        self.certify_waiting(case)

    def assess_missing(self, case_pk: int) -> None:
        """At the home visit the village cadre assesses what the registry lacks (待认定)."""
        for check in CriterionCheck.objects.filter(case_id=case_pk, result=CriterionResult.PENDING, assessment=""):
            user = self.person("@level", roles=(Role.VILLAGE_CADRE,), village=self.village_of(case_pk))
            self.attempt(f"criterion_assess({check.criterion}, met)", services.criterion_assess, by=user, check=check,
                         assessment=CriterionResult.MET, note="入户核实")  # fmt: skip

    def certify_waiting(self, case_pk: int) -> None:
        waiting = CriterionCheck.objects.filter(case_id=case_pk, result=CriterionResult.MET, certified_at=None)
        for criterion in waiting.values_list("criterion", flat=True):
            self.certify_one(case_pk, criterion, "@level")

    @rule(
        case=cases,
        criterion=st.sampled_from(Criterion.values),
        who=WHO,
        assessment=st.sampled_from([CriterionResult.MET, CriterionResult.NOT_MET]),
    )
    def assess(self, case, criterion, who, assessment):
        before = self.light(case)
        user = self.person(who, roles=(Role.VILLAGE_CADRE,), village=before.village_id)
        check = CriterionCheck.objects.get(case_id=case, criterion=criterion)
        ok, _ = self.attempt(
            f"criterion_assess({criterion}, {assessment})",
            services.criterion_assess,
            by=user,
            check=check,
            assessment=assessment,
            note="入户核实",
        )
        assert not ok or (
            user.role == Role.VILLAGE_CADRE and not self.scope_problems(user, before.village_id) and not before.is_done
        ), f"{user.username} assessed {criterion} of a case they may not"

    # --- steps -------------------------------------------------------------------------------

    def step_problems(self, case: ExitCase, step: int, user) -> tuple[list[str], list[str]]:
        """(rules, gates): what order, role, scope and separation of duties say against
        ``user`` completing ``step`` now, and which declared gates do not hold."""
        rules = self.scope_problems(user, case.village_id)
        if case.is_done:
            return [*rules, "case already exited"], []
        if step != case.current_step:
            rules.append(f"current step is {case.current_step}")
            return rules, []
        if user.role != case.campaign.role_for(step):
            rules.append(f"step {step} is done by {case.campaign.role_for(step)}")
        standing = _standing(case)
        for checked in REVIEWS.get(step, ()):
            if checked in standing and standing[checked].completed_by_id == user.pk:
                rules.append(f"{user.username} completed step {checked}, which step {step} checks")
        found = [f"{b.gate}: {'；'.join(b.reasons)}" for b in gates.blockers(case, step)]
        return rules, found

    def complete(self, case_pk: int, step: int, user) -> bool:
        rules, blocked = self.probe(case_pk, lambda c: self.step_problems(c, step, user))
        ok = self.act_step(user, case_pk, step, self.step_record_data(case_pk, step))
        if ok:
            assert not blocked, (
                f"GATE NOT HELD: {user.username} completed step {step} of case {case_pk} while {blocked}"
            )
            assert not rules, f"RULE BROKEN: {user.username} completed step {step} of case {case_pk} although {rules}"
            record = StepRecord.objects.get(case_id=case_pk, step=step, is_reset=False)
            self.gated_records.add(record.pk)
            self.world.seen[f"step {step} done"] += 1
        else:
            assert rules or blocked, (
                f"step {step} of case {case_pk} refused to {user.username} although order, role, scope, "
                "separation of duties and every declared gate allow it"
            )
            if blocked and not rules:
                self.world.seen["refused by a gate"] += 1
                for gate in sorted({b.split(":")[0] for b in blocked}):
                    self.world.seen[f"step {step} refused by {gate}"] += 1
        return ok

    @rule(case=cases, who=STEP_WHO, step=st.one_of(st.just(0), st.integers(1, 8)))
    def complete_step(self, case, who, step):
        """Someone completes a step — the current one when ``step`` is 0."""
        current = self.light(case)
        step = step or min(current.current_step, Step.MARK)
        if who == "@barred":
            checked = StepRecord.objects.filter(case_id=case, step__in=REVIEWS.get(step, ()), is_reset=False)
            barred = checked.select_related("completed_by").order_by("step").last()
            who = barred.completed_by.username if barred else "@level"
            note(f"  @barred → {who}")
        user = self.person(who, roles=(self.campaign.role_for(step),), village=current.village_id)
        self.complete(case, step, user)

    @rule(case=cases, pick=st.integers(0, 2))
    def advance(self, case, pick):
        """What a diligent team does next, up to one completed step: each sector certifies
        its criterion once it is met; at the notice, a town or county official publishes
        it, a villager may object (``pick`` 1, once per notice), each objection is verified
        (upheld when ``pick`` is 2) and the minimum days pass; then someone of the step's
        level who is not barred from it (``REVIEWS``) completes the current step — when
        ``pick`` is 2, after the one who is barred has tried. Every call is checked as any
        other (a gate that does not hold still refuses). Publishing the notice, an
        objection and its verification are moves of their own, so other things can happen
        while the notice runs."""
        if self.light(case).is_done:
            return
        self.assess_missing(case)
        self.certify_waiting(case)
        current = self.case(case)
        if current.current_step == Step.NOTICE:
            if current.notice_started_on is None:
                self.open_notice(case, "@level3" if pick == 2 else "@level")
                return
            objection = next((o for o in current.objections.all() if o.status == ObjectionStatus.OPEN), None)
            if objection is not None:
                self.resolve(objection.pk, "@level", upheld=pick == 2, return_to=Step.VERIFY)
                return
            if pick == 1 and not any(o.raised_on >= current.notice_started_on for o in current.objections.all()):
                self.raise_objection(case, "@level3")
                return
            ends = services.notice_ends_on(current)
            if ends > timezone.localdate():
                self.shift_clock((ends - timezone.localdate()).days)
        step = current.current_step
        role = current.campaign.role_for(step)
        standing = _standing(current)
        barred = {standing[c].completed_by_id for c in REVIEWS.get(step, ()) if c in standing}
        fit = sorted(
            (
                u
                for u in self.world.people.values()
                if u.role == role and code_visible_to(u, current.village_id) and u.pk not in barred
            ),
            key=lambda u: u.username,
        )
        same_level = [u for u in self.world.people.values() if u.pk in barred and u.role == role]
        if pick == 2 and same_level:
            # The one who did the checked step tries first (and must be refused).
            note(f"  advance, barred: {same_level[0].username}")
            self.complete(case, step, same_level[0])
        if fit:
            user = fit[pick % len(fit)]
            note(f"  advance: {user.username}")
            self.complete(case, step, user)

    # --- notice and objections ----------------------------------------------------------------

    def notice_problems(self, case: ExitCase, user) -> tuple[list[str], list[str]]:
        rules = self.scope_problems(user, case.village_id)
        if user.role not in REVIEWING:
            rules.append("not a town or county official")
        if case.current_step != Step.NOTICE:
            rules.append(f"at step {case.current_step}")
            return rules, []
        if case.notice_started_on is not None:
            rules.append("notice already open")
        return rules, [f"{b.gate}: {'；'.join(b.reasons)}" for b in gates.notice_blockers(case)]

    def open_notice(self, case_pk: int, who: str) -> None:
        current = self.light(case_pk)
        user = self.person(who, roles=REVIEWING, village=current.village_id)
        rules, blocked = self.probe(case_pk, lambda c: self.notice_problems(c, user))
        ok = self.act_notice(user, case_pk)
        if ok:
            assert not blocked, f"GATE NOT HELD: {user.username} opened the notice of case {case_pk} while {blocked}"
            assert not rules, f"RULE BROKEN: {user.username} opened the notice of case {case_pk} although {rules}"
            assert self.light(case_pk).notice_started_on == timezone.localdate()
            self.world.seen["notice opened"] += 1
        else:
            assert rules or blocked, f"notice of case {case_pk} refused to {user.username} though every rule allows it"

    @rule(case=cases, who=WHO)
    def notice(self, case, who):
        self.open_notice(case, who)

    @rule(days=st.integers(1, 8))
    def wait(self, days):
        self.shift_clock(days)

    def shift_clock(self, days: int) -> None:
        note(f"  clock + {days} days")
        self._generation += 1  # ages and the notice period move with it
        self._clock.shift(datetime.timedelta(days=days))

    @rule(target=objections, case=cases, who=WHO)
    def raise_objection(self, case, who):
        current = self.light(case)
        user = self.person(who, roles=REVIEWING + (Role.VILLAGE_CADRE,), village=current.village_id)
        expected = self.scope_problems(user, current.village_id)
        if current.current_step != Step.NOTICE or current.notice_started_on is None:
            expected.append("not in the notice")
        ok, objection_pk = self.act_objection_add(user, case, "群众反映该户收入不实")
        assert ok == (not expected), (
            f"objection to case {case} by {user.username}: {'accepted' if ok else 'refused'}, "
            f"the rules say {expected or 'yes'}"
        )
        if ok:
            self.world.seen["objection raised"] += 1
        return objection_pk if ok else multiple()

    @rule(objection=objections, who=WHO, upheld=st.booleans(), return_to=st.integers(1, 4))
    def resolve(self, objection, who, upheld, return_to):
        record = Objection.objects.select_related("case__campaign").get(pk=objection)
        case = record.case
        user = self.person(who, roles=REVIEWING, village=case.village_id)
        expected = self.scope_problems(user, case.village_id)
        if user.role not in REVIEWING:
            expected.append("not a town or county official")
        if record.status != ObjectionStatus.OPEN:
            expected.append("already resolved")
        if upheld and case.current_step > return_to:
            if case.is_done:
                expected.append("case exited: cannot send it back")
            elif case.current_step != Step.NOTICE and user.role != case.campaign.role_for(case.current_step):
                expected.append("the return is not this level's")
        ok = self.act_objection_resolve(
            user, record, upheld, "经核实" + ("情况属实" if upheld else "不属实"), return_to
        )
        assert ok == (not expected), (
            f"resolving objection {objection} by {user.username}: {'accepted' if ok else 'refused'}, "
            f"the rules say {expected or 'yes'}"
        )
        if ok and upheld and case.current_step > return_to:
            assert self.light(case.pk).current_step == return_to, "an upheld objection did not send the case back"
            self.world.seen["objection upheld"] += 1
        elif ok:
            self.world.seen["objection resolved"] += 1

    # --- returns ----------------------------------------------------------------------------------

    @rule(case=cases, who=WHO, to_step=st.integers(1, 8))
    def send_back(self, case, who, to_step):
        current = self.light(case)
        role = self.campaign.role_for(min(current.current_step, Step.MARK))
        user = self.person(who, roles=(role,), village=current.village_id)
        expected = self.scope_problems(user, current.village_id)
        if user.role not in REVIEWING:
            expected.append("not a town or county official")
        if current.is_done:
            expected.append("case exited")
        elif user.role != role:
            expected.append(f"a case at step {current.current_step} is returned by {role}")
        if not 1 <= to_step < current.current_step:
            expected.append("not an earlier step")
        ok = self.act_return(user, case, to_step, "复核发现问题")
        assert ok == (not expected), (
            f"return of case {case} to step {to_step} by {user.username}: {'accepted' if ok else 'refused'}, "
            f"the rules say {expected or 'yes'}"
        )
        if ok:
            assert self.light(case).current_step == to_step
            self.world.seen["returned"] += 1

    # --- weights --------------------------------------------------------------------------------

    # Hypothesis draws rules uniformly: a rule listed twice is drawn twice as often. The
    # diligent team's next move comes about as often as all the disruptions together, so
    # examples reach the notice, approval and marking; objections and returns often
    # enough to meet a notice that is running or a case that went far.
    advance_2 = advance
    advance_3 = advance
    advance_4 = advance
    advance_5 = advance
    advance_6 = advance
    raise_objection_2 = raise_objection
    raise_objection_3 = raise_objection
    raise_objection_4 = raise_objection
    resolve_2 = resolve
    resolve_3 = resolve
    send_back_2 = send_back
    send_back_3 = send_back
    disturb_2 = disturb

    # --- special situations -------------------------------------------------------------------

    @rule(name=st.sampled_from(HOUSEHOLDS), kind=st.sampled_from(SituationKind.values), who=WHO)
    def investigate(self, name, kind, who):
        household = self.household(name)
        user = self.person(
            who, roles=(Role.VILLAGE_CADRE, Role.TOWN_OFFICIAL, Role.COUNTY_OFFICIAL), village=household.village_id
        )
        ok, _ = self.attempt(
            f"situation_investigate({kind})",
            services.situation_investigate,
            by=user,
            campaign=self.campaign,
            household=household,
            kind=kind,
            investigation="已入户调查，家属知情",
        )
        assert not ok or (
            not self.scope_problems(user, household.village_id)
            and user.role in (Role.VILLAGE_CADRE, Role.TOWN_OFFICIAL, Role.COUNTY_OFFICIAL)
        ), f"{user.username} recorded an investigation they may not"

    @rule(
        name=st.sampled_from(HOUSEHOLDS),
        kind=st.sampled_from(SituationKind.values),
        who=WHO,
        decision=st.sampled_from(SituationDecision.values),
    )
    def decide(self, name, kind, who, decision):
        household = self.household(name)
        situation = SpecialSituation.objects.filter(campaign=self.campaign, household=household, kind=kind).first()
        if situation is None:
            return
        user = self.person(who, roles=(Role.COUNTY_OFFICIAL,), village=household.village_id)
        ok, _ = self.attempt(
            f"situation_decide({kind}, {decision})",
            services.situation_decide,
            by=user,
            situation=situation,
            decision=decision,
            note="县级研究决定",
        )
        assert not ok or (
            not self.scope_problems(user, household.village_id)
            and user.role == Role.COUNTY_OFFICIAL
            and situation.investigation
        ), f"{user.username} decided a special situation they may not"

    # --- invariants ---------------------------------------------------------------------------

    @invariant()
    def outcome_belongs_to_the_workflow(self):
        if self.unchanged_since_last_look("outcome_belongs_to_the_workflow"):
            return
        exited = {c.household_id: c for c in self.all_cases() if c.status == CaseStatus.EXITED}
        priors = {p.household_id: p for p in PriorExit.objects.all()}
        for household in Household.objects.all():
            case, prior = exited.get(household.pk), priors.get(household.pk)
            assert household.exit_status != ExitStatus.RETURNED, f"{household} is 返贫 without a confirmed relapse"
            if household.exit_status == ExitStatus.EXITED:
                assert case or prior, (
                    f"INVARIANT 1: {household} is 已脱贫 ({household.exit_year}) without completing step 8 "
                    "or a prior-exit record"
                )
                year = case.campaign.year if case else prior.year
                assert household.exit_year == year, (
                    f"INVARIANT 1: {household} exited in {household.exit_year}, not {year}"
                )
            else:
                assert case is None, f"INVARIANT 1: case {case.pk} completed step 8 but {household} is not 已脱贫"
                assert prior is None, f"INVARIANT 1: {household} has a prior exit ({prior.year}) but is not 已脱贫"
                assert household.exit_year is None, f"{household} is not 已脱贫 but has 脱贫年度 {household.exit_year}"
        for case in exited.values():
            assert case.current_step == DONE and case.exited_on is not None

    @invariant()
    def every_standing_step_passed_its_gates(self):
        if self.unchanged_since_last_look("every_standing_step_passed_its_gates"):
            return
        for record in (r for c in self.all_cases() for r in c.steps.all() if not r.is_reset):
            assert record.pk in self.gated_records, (
                f"INVARIANT 2: standing step {record.step} of case {record.case_id} was not completed by a call "
                "whose gates were seen to hold"
            )

    @invariant()
    def notice_list_passes_notice_gates(self):
        if self.unchanged_since_last_look("notice_list_passes_notice_gates"):
            return
        published = [
            c
            for c in self.all_cases()
            if c.current_step > Step.NOTICE or (c.current_step == Step.NOTICE and c.notice_started_on is not None)
        ]
        if not published:
            return  # nothing could be listed: spare the query
        root = self.world.people["root"]
        listed = {c.pk for c in selectors.notice_list_cases(user=root, campaign=self.campaign)}
        for case in self.all_cases():
            blocked = gates.notice_blockers(case)
            if case.pk in listed:
                assert not blocked, (
                    f"INVARIANT 3: case {case.pk} ({case.household}) is on the printable notice list at step "
                    f"{case.current_step} while {[(b.gate, b.reasons) for b in blocked]}"
                )
            # The list's database condition (gates.passes_q) agrees with the gates themselves.
            elif case in published:
                assert blocked, (
                    f"INVARIANT 3: case {case.pk} ({case.household}) passes its notice gates at step "
                    f"{case.current_step} but is missing from the printable notice list"
                )

    @invariant()
    def nobody_completed_a_step_they_may_not(self):
        if self.unchanged_since_last_look("nobody_completed_a_step_they_may_not"):
            return
        for case in self.all_cases():
            standing = _standing(case)
            for step, record in standing.items():
                by = record.completed_by
                assert by.role == case.campaign.role_for(step), (
                    f"INVARIANT 4: step {step} of case {case.pk} stands completed by {by.username} ({by.role})"
                )
                assert code_visible_to(by, case.village_id), (
                    f"INVARIANT 4: step {step} of case {case.pk} completed by {by.username}, outside their region"
                )
                for checked in REVIEWS.get(step, ()):
                    if checked in standing:
                        assert standing[checked].completed_by_id != by.pk, (
                            f"INVARIANT 4: {by.username} completed both step {checked} and step {step}, "
                            f"which checks it, on case {case.pk}"
                        )

    @invariant()
    def steps_stand_in_order(self):
        if self.unchanged_since_last_look("steps_stand_in_order"):
            return
        for case in self.all_cases():
            standing = _standing(case)
            assert sorted(standing) == list(range(1, case.current_step)), (
                f"INVARIANT 5: case {case.pk} at step {case.current_step} has standing steps {sorted(standing)}"
            )
            times = [standing[s].completed_at for s in sorted(standing)]
            assert times == sorted(times), f"INVARIANT 5: steps of case {case.pk} completed out of order: {times}"
            assert (case.status == CaseStatus.EXITED) == (case.current_step == DONE)
            if case.current_step < Step.NOTICE:
                assert case.notice_started_on is None, (
                    f"INVARIANT 5: case {case.pk} at step {case.current_step} is in notice"
                )
            if case.current_step > Step.NOTICE:
                assert case.notice_started_on is not None, f"INVARIANT 5: case {case.pk} passed the notice without one"

    @invariant()
    def certifications_stand_on_what_they_certified(self):
        if self.unchanged_since_last_look("certifications_stand_on_what_they_certified"):
            return
        certifiers = {u.pk: u for u in self.world.people.values()}
        for case in self.all_cases():
            for check in case.criteria.all():
                if check.certified_at is not None:
                    self.check_certification(case, check, certifiers.get(check.certified_by_id))

    @staticmethod
    def check_certification(case: ExitCase, check: CriterionCheck, by) -> None:
        label = f"{check.criterion} of case {check.case_id}"
        assert check.result == CriterionResult.MET, f"INVARIANT 6: {label} is certified but {check.result}"
        assert check.certified_measured == check.measured, (
            f"INVARIANT 6: {label} certified {check.certified_measured} but measures {check.measured}"
        )
        assert by is not None and by.role == Role.SECTOR and by.sector == check.sector, (
            f"INVARIANT 6: {label} certified by {by}"
        )
        assert code_visible_to(by, case.village_id), f"INVARIANT 6: {label} certified from outside"

    @invariant()
    def data_changes_reach_the_case(self):
        if self.unchanged_since_last_look("data_changes_reach_the_case"):
            return
        open_cases = [c for c in self.all_cases() if c.status == CaseStatus.IN_PROGRESS]
        if not open_cases:
            return
        registry_now = load_registry_data([c.household_id for c in open_cases], year=self.campaign.year)
        for case in open_cases:
            checks = {c.criterion: c for c in case.criteria.all()}
            home_taught = set(checks[Criterion.EDUCATION].measured.get("home_taught", []))
            for criterion, measurement in measure(case.campaign, registry_now[case.household_id],
                                                  home_taught=home_taught).items():  # fmt: skip
                check = checks[criterion]
                result = measurement.result
                if result == CriterionResult.PENDING and check.assessment:
                    result = check.assessment  # the village's assessment stands in for missing data
                stored = (check.result, check.measured, check.failures)
                assert stored == (result, measurement.measured, measurement.failures), (
                    f"INVARIANT 7: {criterion} of case {case.pk} ({case.household}) stored {stored} but the "
                    f"registry measures {(result, measurement.measured, measurement.failures)}"
                )


# --- the same through the API -----------------------------------------------------------------


class ExitWorkflowThroughApi(ExitWorkflow):
    """Steps, returns, the notice, objections, certification, enrolment and household
    edits sent as HTTP requests (DRF ``APIClient``); registry ledgers, assessments and
    special situations stay on the services."""

    def request(self, user, method: str, url: str, payload: dict):
        client = APIClient()
        client.force_authenticate(user=user)
        response = getattr(client, method)(url, payload, format="json")
        body = response.json() if response.content else {}
        if response.status_code in (200, 201):
            note(f"  {method.upper()} {url}: {response.status_code}")
            self._generation += 1
            return True, body
        assert response.status_code in (400, 403, 404, 409), (
            f"{method.upper()} {url} by {user.username} answered {response.status_code}: {response.content[:500]!r}"
        )
        note(f"  {method.upper()} {url}: {response.status_code} {str(body)[:300]}")
        return False, body

    def act_enrol(self, user, household):
        ok, body = self.request(
            user, "post", "/api/v1/exit-cases/", {"campaign": self.campaign.pk, "household": household.pk}
        )
        return ok, (body["id"] if ok else None)

    def act_step(self, user, case_pk, step, data):
        return self.request(user, "post", f"/api/v1/exit-cases/{case_pk}/advance/", {"step": step, **data})[0]

    def act_notice(self, user, case_pk):
        return self.request(user, "post", f"/api/v1/exit-cases/{case_pk}/notice/", {})[0]

    def act_return(self, user, case_pk, to_step, reason):
        return self.request(
            user, "post", f"/api/v1/exit-cases/{case_pk}/return/", {"to_step": to_step, "reason": reason}
        )[0]

    def act_objection_add(self, user, case_pk, content):
        ok, body = self.request(user, "post", f"/api/v1/exit-cases/{case_pk}/objections/", {"content": content})
        return ok, (body["id"] if ok else None)

    def act_objection_resolve(self, user, objection, upheld, resolution, return_to):
        url = f"/api/v1/exit-cases/{objection.case_id}/objections/{objection.pk}/resolve/"
        payload = {"upheld": upheld, "resolution": resolution, "return_to": return_to}
        return self.request(user, "post", url, payload)[0]

    def act_certify(self, user, check):
        url = f"/api/v1/exit-cases/{check.case_id}/criteria/{check.criterion}/certify/"
        return self.request(user, "post", url, {"note": "比对一致"})[0]

    def act_household_update(self, user, household, data):
        payload = {"version": household.version, **data}
        return self.request(user, "patch", f"/api/v1/households/{household.pk}/", payload)[0]

    def act_member_update(self, user, member, data):
        household = member.household
        rows = [{"id": m.pk, **(data if m.pk == member.pk else {})} for m in household.members.order_by("pk")]
        payload = {"version": household.version, "members": rows}
        return self.request(user, "patch", f"/api/v1/households/{household.pk}/", payload)[0]


# --- the tests ----------------------------------------------------------------------------------

pytestmark = pytest.mark.django_db


def _run(machine, world, monkeypatch, run_settings) -> Counter:
    monkeypatch.setattr(ExitWorkflow, "world", world, raising=False)
    run_state_machine_as_test(machine, settings=run_settings)
    print(f"\n{machine.__name__} reached: {dict(sorted(world.seen.items()))}")
    return world.seen


def test_no_sequence_of_service_calls_breaks_the_exit_rules(world, monkeypatch):
    seen = _run(ExitWorkflow, world, monkeypatch, PROFILE)
    # Finding nothing means little unless the search went deep: households were marked
    # 已脱贫, notices opened, gates refused steps.
    assert seen["step 8 done"] and seen["notice opened"] and seen["refused by a gate"], seen


def test_no_sequence_of_api_calls_breaks_the_exit_rules(world, monkeypatch):
    smaller = settings(
        PROFILE,
        max_examples=max(PROFILE.max_examples // 4, 5),
        stateful_step_count=max(PROFILE.stateful_step_count * 3 // 4, 20),
    )
    seen = _run(ExitWorkflowThroughApi, world, monkeypatch, smaller)
    assert seen["step 8 done"] and seen["notice opened"], seen
