"""Demo exit cases for `seed_demo` (development and benchmarks only).

Two campaigns. "2020年度贫困户退出", with the seed's deadlines, is finished history: half
the households that had not exited by 2019 and meet every criterion exited in it, every
step done in autumn 2020. The current year's campaign lives in the present, whatever
day the demo is made: its village deadline passed four days ago, the town's, the
county's and the marking's are ahead (``CURRENT_DEADLINES``). Its cases are left at
every step: most done in time, the rest waiting (the village's late ones overdue), some
with failing criteria, some with an open objection in the notice, some ready for approval.
Criteria are measured from the registry by ``exits.criteria`` like real cases; rows
are written with COPY and their history (core/bulk.py), so this scales with the seed.
"""

from __future__ import annotations

import datetime
import random
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from django.db import transaction
from django.utils import timezone
from simple_history.utils import bulk_update_with_history

from accounts.models import Role, User
from core import change_reasons
from core.bulk import allocate_ids, bulk_insert_with_history, in_chunks, update_batch_size
from exits.criteria import load_registry_data, measure
from exits.models import (
    DEFAULT_STEP_LEVELS,
    DONE,
    POVERTY_LINES,
    Campaign,
    CaseStatus,
    Criterion,
    CriterionCheck,
    CriterionResult,
    ExitCase,
    Objection,
    PriorExit,
    Step,
    StepRecord,
)
from exits.services import ARCHIVE_ITEMS
from households.models import ExitStatus, Household

SHANGHAI = ZoneInfo("Asia/Shanghai")
CHUNK = 2000
HISTORY_YEAR = 2020
# Of the households that meet every criterion, the share that exited in the 2020 campaign;
# the rest, and every household that does not, are in the current campaign.
HISTORY_SHARE = 0.5
# The current campaign's deadlines, in days from the day the demo is generated: the
# village's has passed (its late cases are overdue), the town's, the county's and the
# system marking's are ahead.
CURRENT_DEADLINES = {"village": -4, "town": 6, "county": 16, "marking": 26}


@dataclass(frozen=True)
class Timeline:
    """When a demo campaign's work was done, if done in time."""

    enrolled: datetime.date
    certified: datetime.date
    steps: dict[int, datetime.date]  # the day each step was done
    notice_started: datetime.date
    objection: datetime.date
    # Where its cases stop (step → weight; DONE: exited).
    stops: dict[int, int]
    # A done step's day moves by up to this many days (never past ``steps[8]``).
    jitter: tuple[int, int]

    def step_day(self, step: int, rng: random.Random) -> datetime.date:
        return self.steps[step] + datetime.timedelta(days=rng.randint(*self.jitter))


def history_campaign() -> Campaign:
    """The seed's 2020 campaign with its real deadlines (10-20, 10-31, 11-10, 11-20), finished."""
    campaign, _created = Campaign.objects.get_or_create(
        year=HISTORY_YEAR,
        defaults={
            "name": "2020年度贫困户退出",
            "income_line": POVERTY_LINES[HISTORY_YEAR],
            "village_deadline": datetime.date(2020, 10, 20),
            "town_deadline": datetime.date(2020, 10, 31),
            "county_deadline": datetime.date(2020, 11, 10),
            "marking_deadline": datetime.date(2020, 11, 20),
            "step_levels": dict(DEFAULT_STEP_LEVELS),
            "is_active": False,
        },
    )
    return campaign


def demo_campaign(today: datetime.date | None = None) -> Campaign:
    """The current campaign, its deadlines around ``today`` (the day it is first made).

    Its income line is the last national line (2020's 4,000 元); a county sets its own.
    """
    today = today or timezone.localdate()
    campaign, _created = Campaign.objects.get_or_create(
        year=today.year,
        defaults={
            "name": f"{today.year}年度贫困户退出",
            "income_line": POVERTY_LINES[max(POVERTY_LINES)],
            **{f"{level}_deadline": today + datetime.timedelta(days=days) for level, days in CURRENT_DEADLINES.items()},
            "step_levels": dict(DEFAULT_STEP_LEVELS),
        },
    )
    return campaign


def campaign_today(campaign: Campaign) -> datetime.date:
    """The day a demo campaign was made for: its deadlines sit around it."""
    return campaign.village_deadline - datetime.timedelta(days=CURRENT_DEADLINES["village"])


def history_timeline() -> Timeline:
    day = datetime.date
    return Timeline(
        enrolled=day(2020, 10, 1),
        certified=day(2020, 10, 5),
        steps={
            1: day(2020, 10, 8),
            2: day(2020, 10, 15),
            3: day(2020, 10, 23),
            4: day(2020, 10, 28),
            5: day(2020, 11, 6),
            6: day(2020, 11, 7),
            7: day(2020, 11, 9),
            8: day(2020, 11, 16),
        },  # fmt: skip
        notice_started=day(2020, 10, 29),
        objection=day(2020, 11, 2),
        stops={DONE: 1},
        jitter=(-2, 2),
    )


def current_timeline(campaign: Campaign) -> Timeline:
    """Steps done in time before the village deadline, a notice of 7 days or more, the
    last exits marked yesterday; the rest wait at each step."""
    today = campaign_today(campaign)

    def ago(days: int) -> datetime.date:
        return today - datetime.timedelta(days=days)

    return Timeline(
        enrolled=ago(30),
        certified=ago(26),
        steps={1: ago(22), 2: ago(17), 3: ago(13), 4: ago(11), 5: ago(2), 6: ago(2), 7: ago(1), 8: ago(1)},
        notice_started=ago(10),
        objection=ago(6),
        # Most are done; the rest wait at each step.
        stops={1: 8, 2: 7, 3: 7, 4: 6, 5: 8, 6: 8, 7: 4, 8: 4, DONE: 48},
        jitter=(-1, 0),
    )


def _at(day: datetime.date, rng: random.Random) -> datetime.datetime:
    return datetime.datetime.combine(day, datetime.time(rng.randint(8, 17), rng.randint(0, 59)), tzinfo=SHANGHAI)


def _record(step: int, case: dict, rng: random.Random, day: datetime.date) -> dict:
    if step == Step.VERIFY:
        return {"head_signed": True, "food_clothing_secure": True, "signed_on": day.isoformat(), "note": ""}
    if step == Step.APPRAISE:
        attendance = rng.randint(25, 60)
        against = rng.randint(0, 3)
        return {
            "meeting_date": day.isoformat(),
            "attendance": attendance,
            "votes_for": attendance - against - rng.randint(0, 2),
            "votes_against": against,
            "minutes": "村两委会同村民代表评议，同意该户退出。",
        }
    if step == Step.CROSS_CHECK:
        return {"checking_unit": case["cross_unit"], "checking_unit_name": "", "findings": "未发现问题"}
    if step == Step.REVIEW:
        return {"opinion": "经审核，学籍、参保、住房、饮水数据比对一致，同意退出。"}
    if step == Step.NOTICE:
        return {"note": "公示期满无异议"}
    if step == Step.APPROVE:
        return {"opinion": "同意退出"}
    if step == Step.ARCHIVE:
        return {"checklist": list(ARCHIVE_ITEMS)}
    return {"marked_on": day.isoformat(), "operator": "陈立新"}


def seed_exit_cases(*, share: float = 0.8, seed: int = 2020, today: datetime.date | None = None) -> dict[str, int]:
    """The 2020 campaign as finished history and the current campaign in progress.

    Half the unexited households (identified before 2020) that meet every criterion
    exited in 2020; ``share`` of the rest are enrolled in the current campaign, whose
    deadlines sit around ``today``.
    """
    rng = random.Random(seed)
    users = _demo_users()
    if users is None:
        return {"cases": 0, "history": 0}
    prior_exits_seed(users[Role.COUNTY_OFFICIAL])
    history = history_campaign()
    exited = _enrol(history, history_timeline(), rng, users, share=HISTORY_SHARE, only_met=True)
    current = demo_campaign(today)
    created = _enrol(current, current_timeline(current), rng, users, share=share)
    return {"cases": created, "history": exited}


def seed_current_cases(*, share: float = 1.0, seed: int = 2020) -> int:
    """Enrol ``share`` of the eligible households in the current demo campaign (benchmarks)."""
    users = _demo_users()
    if users is None:
        return 0
    campaign = demo_campaign()
    return _enrol(campaign, current_timeline(campaign), random.Random(seed), users, share=share)


def _demo_users() -> dict | None:
    users = {u.role: u for u in User.objects.filter(username__in=["cadre", "town", "county"])}
    if len(users) < 3:
        return None
    # Separation of duties (exits.models.REVIEWS): the second town official cross-checks,
    # the second county official closes the notice.
    seconds = {u.role: u for u in User.objects.filter(username__in=["town2", "county2"])}
    users["seconds"] = {role: seconds.get(role, users.get(role)) for role in (Role.TOWN_OFFICIAL, Role.COUNTY_OFFICIAL)}
    users["certifiers"] = {u.sector: u for u in User.objects.filter(role=Role.SECTOR, username__startswith="sector")}
    return users


def _enrol(campaign, timeline, rng, users, *, share: float, only_met: bool = False) -> int:
    enrolled = ExitCase.objects.values("household_id")
    eligible = list(
        Household.objects.filter(exit_status=ExitStatus.NOT_EXITED, identification_year__lt=campaign.year)
        .exclude(pk__in=enrolled.filter(campaign=campaign))
        # A household is in one campaign at a time.
        .exclude(pk__in=enrolled.filter(status=CaseStatus.IN_PROGRESS))
        .exclude(lost_contact=True)
        .exclude(released_prisoner=True)
        .order_by("pk")
        .values_list("pk", "village_id")
    )
    chosen = [row for row in eligible if rng.random() < share]
    created = 0
    for start in range(0, len(chosen), CHUNK):
        with transaction.atomic():
            created += _seed_chunk(campaign, timeline, chosen[start : start + CHUNK], rng, users, only_met=only_met)
    return created


def _seed_chunk(campaign, timeline, chunk, rng, users, *, only_met: bool) -> int:
    registry = load_registry_data([pk for pk, _village in chunk], year=campaign.year)
    results_of = {pk: measure(campaign, registry[pk]) for pk, _village in chunk}
    if only_met:
        chunk = [row for row in chunk if all(m.result == CriterionResult.MET for m in results_of[row[0]].values())]
    certifiers = users["certifiers"]
    now = timezone.now()
    case_ids = allocate_ids(ExitCase, len(chunk))
    cases, checks, steps, objections, exited = [], [], [], [], []
    stops, weights = list(timeline.stops), list(timeline.stops.values())
    for case_id, (household_id, village) in zip(case_ids, chunk, strict=True):
        results = results_of[household_id]
        all_met = all(m.result == CriterionResult.MET for m in results.values())
        stop = rng.choices(stops, weights=weights)[0]
        if stop > Step.VERIFY and not all_met:
            # Every criterion is met before 民主评议 (exits.gates): a failing household waits at step 1 or 2.
            stop = rng.choice([1, 2])
        case = {
            "id": case_id,
            "campaign_id": campaign.pk,
            "household_id": household_id,
            "village_id": village,
            "current_step": stop,
            "status": CaseStatus.EXITED if stop == DONE else CaseStatus.IN_PROGRESS,
            "notice_started_on": None,
            "enrolled_by_id": users[Role.VILLAGE_CADRE].pk,
            "enrolled_at": _at(timeline.enrolled, rng),
            "exited_on": None,
            "version": 1,
            "updated_at": now,
            # The cross-check team comes from a village of another town of the county.
            "cross_unit": village[:6] + ("102" if village[6:9] != "102" else "101") + "201",
        }
        for step in range(1, min(stop, DONE)):
            done = timeline.step_day(step, rng)
            level_user = users[Role.TOWN_OFFICIAL if step in (3, 4) else Role.COUNTY_OFFICIAL]
            if step in (Step.CROSS_CHECK, Step.NOTICE):
                level_user = users["seconds"][Role.TOWN_OFFICIAL if step == Step.CROSS_CHECK else Role.COUNTY_OFFICIAL]
            if step <= 2:
                level_user = users[Role.VILLAGE_CADRE]
            steps.append(
                {
                    "case_id": case_id,
                    "step": step,
                    "data": _record(step, case, rng, done),
                    "completed_by_id": level_user.pk,
                    "completed_at": _at(done, rng),
                    "is_reset": False,
                    "reset_at": None,
                    "reset_reason": "",
                }
            )
        if stop >= Step.NOTICE:
            case["notice_started_on"] = timeline.notice_started
            if stop == Step.NOTICE and rng.random() < 0.35:
                objections.append(
                    {
                        "case_id": case_id,
                        "raised_on": timeline.objection,
                        "raised_by_name": "",
                        "content": "反映该户家庭收入填报偏高，请核实务工收入。",
                        "recorded_by_id": users[Role.TOWN_OFFICIAL].pk,
                        "status": "open",
                        "resolution": "",
                        "resolved_by_id": None,
                        "resolved_at": None,
                        "created_at": _at(timeline.objection, rng),
                    }
                )
        if stop == DONE:
            case["exited_on"] = timeline.steps[Step.MARK]
            exited.append(household_id)
        for criterion, measurement in results.items():
            certifier = certifiers.get(_sector(criterion))
            # Certified before the notice opens (exits.gates); earlier, most are.
            certified = (
                measurement.result == CriterionResult.MET
                and certifier is not None
                and (stop >= Step.NOTICE or rng.random() < 0.6)
            )
            checks.append(
                {
                    "case_id": case_id,
                    "criterion": criterion,
                    "result": measurement.result,
                    "measured": measurement.measured,
                    "failures": [str(f) for f in measurement.failures],
                    "measured_at": now,
                    "assessment": "",
                    "assessment_note": "",
                    "assessed_by_id": None,
                    "assessed_at": None,
                    "certified_by_id": certifier.pk if certified else None,
                    "certified_at": _at(timeline.certified, rng) if certified else None,
                    "certification_note": "行业数据比对一致" if certified else "",
                    "certified_measured": measurement.measured if certified else None,
                    "lapse_note": "",
                }
            )
        del case["cross_unit"]
        cases.append(case)
    for model, rows in ((ExitCase, cases), (CriterionCheck, checks), (StepRecord, steps), (Objection, objections)):
        missing = [row for row in rows if "id" not in row]
        for row_id, row in zip(allocate_ids(model, len(missing)), missing, strict=True):
            row["id"] = row_id
        bulk_insert_with_history(model, rows, change_reason=change_reasons.DEMO)
    for ids in in_chunks(exited):
        households = list(Household.objects.filter(pk__in=ids))
        for household in households:
            household.exit_status, household.exit_year = ExitStatus.EXITED, campaign.year
            household.version += 1
        bulk_update_with_history(
            households,
            Household,
            ["exit_status", "exit_year", "version"],
            batch_size=update_batch_size(),
            default_change_reason=change_reasons.DEMO_MARKED,
        )
    return len(cases)


def prior_exits_seed(county_user: User) -> int:
    """The demo registry's households that exited before 2020 (已脱贫, and 返贫 ones that
    had exited) get their 历史脱贫登记, as a county loading its registry would record them."""
    exited = list(
        Household.objects.exclude(exit_status=ExitStatus.NOT_EXITED)
        .filter(prior_exit__isnull=True, exit_cases__isnull=True)
        .values_list("pk", "exit_year")
    )
    now = timezone.now()
    for start in range(0, len(exited), CHUNK * 10):
        chunk = exited[start : start + CHUNK * 10]
        rows = [
            {
                "id": row_id,
                "household_id": pk,
                "year": year,
                "document": f"{year}年度贫困户退出批准文件（演示）",
                "note": "",
                "recorded_by_id": county_user.pk,
                "recorded_at": now,
            }
            for row_id, (pk, year) in zip(allocate_ids(PriorExit, len(chunk)), chunk, strict=True)
        ]
        bulk_insert_with_history(PriorExit, rows, change_reason=change_reasons.DEMO_PRIOR_EXIT)
    return len(exited)


def _sector(criterion: str) -> str:
    from exits.models import CRITERION_SECTOR

    return CRITERION_SECTOR[Criterion(criterion)]
