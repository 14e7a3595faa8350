"""Each role's 我的待办 (issue 7): what waits on this user today, in groups that each
carry a count, the deadline that applies, the first few rows and the page where the
work is done.

- village cadre: cases at the village steps, special situations to investigate,
  monitoring cases to screen, open measures, and the village records that break a
  DOMAIN.md §2 rule;
- town official: cases at the town steps, notices to publish, open objections,
  monitoring cases to screen;
- county official: notices whose minimum days have passed, open objections, the
  approval queue, archive filing and system marking, special situations awaiting a
  decision, monitoring cases awaiting the county's decision;
- sector department: criteria waiting for its certification, against the
  certification deadline.

Every group is a fixed handful of queries (a count, the first rows, and for some how
many are late), so a home page costs the same whatever the size of the region; the one
exception is the ID-number check, which reads the numbers of the cadre's village.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import gettext as _

from accounts.models import Role, User
from exits.models import (
    CRITERION_SECTOR,
    REVIEWS,
    Campaign,
    CaseStatus,
    CriterionCheck,
    CriterionResult,
    ExitCase,
    Objection,
    ObjectionStatus,
    SituationKind,
    SpecialSituation,
    Step,
)
from exits.selectors import NoticeState, barred_q, notice_q, situations_to_investigate
from households.idnumbers import MOBILE_RE, id_number_passes, parse_id_number
from households.models import Household, LabourSkill, Member, Relationship
from households.selectors import household_head_name
from monitoring.models import OPEN_STAGES, Measure, MonitoringCase, Stage

ROWS = 5  # rows shown per group; the group's link leads to all of them


@dataclass
class TodoRow:
    label: str
    detail: str
    url: str
    due: datetime.date | None = None
    days_left: int | None = None


@dataclass
class TodoGroup:
    key: str  # stable name for the API and tests: "step-6", "objections", "registry-no-head"
    title: str
    count: int
    url: str
    deadline: datetime.date | None = None
    days_left: int | None = None
    rows: list[TodoRow] = field(default_factory=list)
    late: int = 0  # how many of ``count`` are past their deadline

    @property
    def overdue(self) -> bool:
        return self.days_left is not None and self.days_left < 0

    @property
    def days_overdue(self) -> int:
        return -(self.days_left or 0)


def _days(day: datetime.date | None, today: datetime.date) -> int | None:
    return (day - today).days if day else None


def _group(key, title, queryset: QuerySet, url: str, row, *, deadline=None, today) -> TodoGroup:
    """Count the queryset, turn its first ``ROWS`` into rows."""
    count = queryset.count()
    rows = [row(obj) for obj in queryset[:ROWS]] if count else []
    days_left = _days(deadline, today)
    late = count if days_left is not None and days_left < 0 else 0
    return TodoGroup(
        key=key, title=title, count=count, url=url, deadline=deadline, days_left=days_left, rows=rows, late=late
    )


def _list_url(campaign: Campaign, **filters) -> str:
    """The exit-case list filtered to what a group counts."""
    return reverse("exits:list") + "?" + urlencode({"campaign": campaign.pk, **filters})


def _case_row(case) -> TodoRow:
    return TodoRow(
        label=f"{case.household.number} {case.head_name or ''}".strip(),
        detail=case.village.name,
        url=reverse("exits:detail", args=[case.pk]),
    )


def exit_step_groups(*, user: User, campaign: Campaign, steps, today: datetime.date) -> list[TodoGroup]:
    cases = (
        ExitCase.objects.visible_to(user)
        .filter(campaign=campaign)
        .select_related("household", "village")
        .annotate(head_name=household_head_name())
        .order_by("village_id", "household__number")
    )
    # Not the cases this person may not do (separation of duties): someone else's work.
    cases = cases.exclude(barred_q(user))
    groups = []
    for step in steps:
        # The list it links to leaves out the same cases where the step checks others.
        url = _list_url(campaign, step=step, **({"actionable": "true"} if step in REVIEWS else {}))
        waiting = cases.filter(current_step=step)
        key, title = f"step-{step}", _("待办理第%(n)d步：%(s)s") % {"n": step, "s": Step(step).label}
        if step == Step.APPROVE:
            url = reverse("exits:approvals")
        if step == Step.NOTICE:
            # What the step's level can do now: close the notices whose minimum days
            # have passed. Notices still running wait; unpublished ones are the town's;
            # one with an open objection waits for it (the objections group).
            waiting = waiting.filter(notice_q(NoticeState.CLOSABLE, [campaign], today=today))
            url = _list_url(campaign, notice=NoticeState.CLOSABLE)
            key, title = "notice-close", str(NoticeState.CLOSABLE.label)
        groups.append(_group(key, title, waiting, url, _case_row, deadline=campaign.deadline_for(step), today=today))
    return groups


def notice_publish_group(*, user: User, campaign: Campaign, today: datetime.date) -> TodoGroup:
    """Cases through the town's review whose notice (公示) is not published yet: the
    town runs the village notice (DOMAIN.md §1, §4)."""
    cases = (
        ExitCase.objects.visible_to(user)
        .filter(campaign=campaign)
        .filter(notice_q(NoticeState.UNPUBLISHED, [campaign], today=today))
        .select_related("household", "village")
        .annotate(head_name=household_head_name())
        .order_by("village_id", "household__number")
    )
    url = _list_url(campaign, notice=NoticeState.UNPUBLISHED)
    return _group(
        "notice-publish",
        str(NoticeState.UNPUBLISHED.label),
        cases,
        url,
        _case_row,
        deadline=campaign.deadline_for(Step.NOTICE),
        today=today,
    )


def objection_group(*, user: User, campaign: Campaign, today: datetime.date) -> TodoGroup:
    objections = (
        Objection.objects.visible_to(user)
        .filter(case__campaign=campaign, status=ObjectionStatus.OPEN)
        .select_related("case__household", "case__village")
        .order_by("raised_on", "pk")
    )

    def row(objection):
        return TodoRow(
            label=objection.case.household.number,
            detail=f"{objection.case.village.name} · {objection.content[:40]}",
            url=reverse("exits:detail", args=[objection.case_id]) + "#objections",
            due=objection.raised_on,
        )

    return _group(
        "objections",
        _("公示异议待核实处理"),
        objections,
        _list_url(campaign, notice=NoticeState.OBJECTED),
        row,
        deadline=campaign.deadline_for(Step.NOTICE),
        today=today,
    )


def situation_group(*, user: User, campaign: Campaign, investigated: bool, today: datetime.date) -> TodoGroup:
    """Special situations (失联, 刑满释放): the village investigates each flagged household
    (the same list as the 特殊情况 page), the county decides once it is investigated."""
    url = reverse("exits:situations")
    if not investigated:
        waiting = situations_to_investigate(user=user, campaign=campaign)
        count, rows = 0, []
        for kind, households in waiting.items():  # two kinds: four queries, whatever the numbers
            count += households.count()
            rows += [
                TodoRow(label=f"{h.number} · {SituationKind(kind).label}", detail=h.village.name, url=url)
                for h in households[:ROWS]
            ]
        rows = rows[:ROWS]
        deadline = campaign.village_deadline
        days_left = _days(deadline, today)
        return TodoGroup(
            key="situations-investigate",
            title=_("特殊情况待调查核实"),
            count=count,
            url=url,
            deadline=deadline,
            days_left=days_left,
            rows=rows,
            late=count if days_left < 0 else 0,
        )
    situations = (
        SpecialSituation.objects.visible_to(user)
        .filter(campaign=campaign, decision="")
        .exclude(investigation="")
        .select_related("household", "village")
        .order_by("village_id", "household__number")
    )

    def row(situation):
        return TodoRow(
            label=f"{situation.household.number} · {situation.get_kind_display()}",
            detail=situation.village.name,
            url=url,
        )

    return _group(
        "situations-decide",
        _("特殊情况待县级决定"),
        situations,
        url,
        row,
        deadline=campaign.county_deadline,
        today=today,
    )


def certification_group(*, user: User, campaign: Campaign, today: datetime.date) -> TodoGroup:
    """A sector's criteria measured as met and not yet certified, against the campaign's
    certification deadline (DOMAIN.md §3: its own, by default the village deadline —
    the seed has certification done before the village steps start)."""
    criteria = [c for c, sector in CRITERION_SECTOR.items() if sector == user.sector]
    checks = (
        CriterionCheck.objects.visible_to(user)
        # Only what it can certify: a criterion the registry shows as met (达标), on a
        # case still in progress — the same criteria as the deadline dashboard and the
        # overdue alert count (exits.scans.certification_overdue).
        .filter(
            case__campaign=campaign,
            case__status=CaseStatus.IN_PROGRESS,
            criterion__in=criteria,
            result=CriterionResult.MET,
            certified_at__isnull=True,
        )
        .select_related("case__household", "case__village")
        .order_by("case__village_id", "case__household__number")
    )

    def row(check):
        return TodoRow(
            label=f"{check.case.household.number} · {check.get_criterion_display()}",
            detail=f"{check.case.village.name} · {check.get_result_display()}",
            url=reverse("exits:detail", args=[check.case_id]) + "#criteria",
        )

    return _group(
        "certify",
        _("待达标认定"),
        checks,
        _list_url(campaign, uncertified=criteria[0]) if len(criteria) == 1 else _list_url(campaign),
        row,
        deadline=campaign.certification_due,
        today=today,
    )


def monitoring_groups(*, user: User, stages, today: datetime.date) -> list[TodoGroup]:
    """Monitoring cases waiting at ``stages``; each row's due date is its response deadline."""
    groups = []
    for stage in stages:
        cases = (
            MonitoringCase.objects.visible_to(user)
            .filter(stage=stage)
            .select_related("household", "village")
            .annotate(head_name=household_head_name())
            .order_by("response_due", "pk")
        )

        def row(case):
            return TodoRow(
                label=f"{case.household.number} {case.head_name or ''}".strip(),
                detail=f"{case.village.name} · {case.get_channel_display()}",
                url=reverse("monitoring:detail", args=[case.pk]),
                due=case.response_due,
                days_left=_days(case.response_due, today),
            )

        titles = {
            Stage.SCREENING: _("监测对象待排查、提交研判"),
            Stage.ASSESSMENT: _("监测对象待县级研判"),
        }
        group = _group(
            f"monitoring-{stage}",
            titles[stage],
            cases,
            reverse("monitoring:list") + "?" + urlencode({"stage": stage}),
            row,
            today=today,
        )
        # The earliest response deadline is the group's; how many have passed it.
        group.deadline = group.rows[0].due if group.rows else None
        group.days_left = _days(group.deadline, today)
        group.late = cases.filter(response_due__lt=today).count() if group.overdue else 0
        groups.append(group)
    return groups


def measure_group(*, user: User, today: datetime.date) -> TodoGroup:
    """Open measures of the region's open monitoring cases, the earliest due first; those
    whose responsible person is the user are marked 本人."""
    name = user.get_full_name() or user.username
    measures = (
        Measure.objects.visible_to(user)
        .filter(case__stage__in=OPEN_STAGES, done_on__isnull=True)
        .select_related("case__household", "case__village")
        .order_by("due_on", "pk")
    )

    def row(measure):
        mine = measure.responsible_person == name
        return TodoRow(
            label=f"{measure.case.household.number} · {measure.get_type_display()}",
            detail=(_("%(village)s · 责任人：%(person)s（本人）") if mine else _("%(village)s · 责任人：%(person)s"))
            % {"village": measure.case.village.name, "person": measure.responsible_person},
            url=reverse("monitoring:detail", args=[measure.case_id]) + "#measures",
            due=measure.due_on,
            days_left=_days(measure.due_on, today),
        )

    group = _group(
        "measures", _("帮扶措施待落实"), measures, reverse("monitoring:list") + "?stage=assistance", row, today=today
    )
    group.deadline = group.rows[0].due if group.rows else None
    group.days_left = _days(group.deadline, today)
    group.late = measures.filter(due_on__lt=today).count() if group.overdue else 0
    return group


# --- data problems (DOMAIN.md §2) ------------------------------------------------------------
# The rules the database itself guards (one 户主 at most, one 配偶, 文化程度 XOR 在校生状况,
# 务工地点 iff 务工月数, unique ID numbers) cannot be broken by stored data; these are the
# ones that can: a head deleted or moved away, a child who turned 16 while registered as
# 无劳动力, numbers entered before a check existed or loaded straight into the database.


def _years_before(day: datetime.date, years: int) -> datetime.date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February in a year without one
        return day.replace(year=day.year - years, day=28)


def registry_problem_groups(*, user: User, today: datetime.date) -> list[TodoGroup]:
    households = Household.objects.visible_to(user)
    members = Member.objects.visible_to(user)
    fix = "households:edit"

    def household_row(message):
        def row(household):
            return TodoRow(label=household.number, detail=message, url=reverse(fix, args=[household.pk]))

        return row

    def member_row(message):
        def row(member):
            return TodoRow(
                label=f"{member.household.number} {member.name}",
                detail=message,
                url=reverse(fix, args=[member.household_id]) + f"#member-{member.pk}",
            )

        return row

    head = Member.objects.filter(household_id=OuterRef("pk"), relationship=Relationship.HEAD)
    no_head = households.filter(~Exists(head)).order_by("number")
    # Born from 60 years ago (exclusive) to 16 years ago (inclusive): aged 16–59 today.
    oldest, youngest = _years_before(today, 60), _years_before(today, 16)
    idle = (
        members.filter(labour_skill=LabourSkill.NONE, schooling="", birth_date__gt=oldest, birth_date__lte=youngest)
        .filter(has_chronic_disease=False, has_serious_illness=False, is_disabled=False)
        .select_related("household")
        .order_by("household__number", "pk")
    )
    pattern = MOBILE_RE.pattern
    bad_phone = (
        households.filter(
            (~Q(phone="") & ~Q(phone__regex=pattern)) | (~Q(helper_phone="") & ~Q(helper_phone__regex=pattern))
        )
    ).order_by("number")
    groups = [
        _group(
            "registry-no-head",
            _("没有户主的户"),
            no_head,
            reverse("households:list"),
            household_row(_("每户必须有且只有一名户主")),
            today=today,
        ),
        _group(
            "registry-labour",
            _("16至59周岁、身体健康且不在校却登记为无劳动力的成员"),
            idle,
            reverse("households:list"),
            member_row(_("请核实劳动技能")),
            today=today,
        ),
        _group(
            "registry-phone",
            _("联系电话不是11位手机号码的户"),
            bad_phone,
            reverse("households:list"),
            household_row(_("请更正联系电话或帮扶责任人电话")),
            today=today,
        ),
    ]
    groups.append(_bad_id_group(members, today=today, member_row=member_row))
    return groups


def _bad_id_group(members: QuerySet, *, today: datetime.date, member_row) -> TodoGroup:
    """ID numbers whose check digit or birth date is wrong. The check digit is
    arithmetic the database cannot do, so this reads the numbers of the region (one
    query, two columns) and checks them here; it is meant for a village."""
    bad = []
    for pk, number in members.values_list("pk", "id_number").order_by("household__number", "pk").iterator():
        if id_number_passes(number, today=today):
            continue
        try:
            parse_id_number(number, today=today)
        except ValidationError:
            bad.append(pk)
    rows = members.filter(pk__in=bad[:ROWS]).select_related("household").order_by("household__number", "pk")
    return TodoGroup(
        key="registry-id",
        title=_("证件号码校验不通过的成员"),
        count=len(bad),
        url=reverse("households:list"),
        rows=[member_row(_("请核对证件号码"))(m) for m in rows] if bad else [],
    )


# --- per role --------------------------------------------------------------------------------


def todo_for(*, user: User, campaign: Campaign | None, today: datetime.date | None = None) -> list[TodoGroup]:
    """The user's 我的待办, in the order the home page shows it."""
    today = today or timezone.localdate()
    groups: list[TodoGroup] = []
    role = user.role
    if campaign is not None:
        # The steps the campaign gives this role (DOMAIN.md §4; the marking is the county's).
        steps = [s for s in Step.values if campaign.role_for(s) == role]
        groups += exit_step_groups(user=user, campaign=campaign, steps=steps, today=today)
    if campaign is not None and role == Role.VILLAGE_CADRE:
        groups.append(situation_group(user=user, campaign=campaign, investigated=False, today=today))
    if campaign is not None and role == Role.TOWN_OFFICIAL:
        groups.append(notice_publish_group(user=user, campaign=campaign, today=today))
        groups.append(objection_group(user=user, campaign=campaign, today=today))
    if campaign is not None and role == Role.COUNTY_OFFICIAL:
        # Objections hold a notice open: show them next to the notices (or first).
        at = next((i + 1 for i, g in enumerate(groups) if g.key == "notice-close"), 0)
        groups.insert(at, objection_group(user=user, campaign=campaign, today=today))
        groups.append(situation_group(user=user, campaign=campaign, investigated=True, today=today))
    if campaign is not None and role == Role.SECTOR and user.sector in CRITERION_SECTOR.values():
        groups.append(certification_group(user=user, campaign=campaign, today=today))
    if role in (Role.VILLAGE_CADRE, Role.TOWN_OFFICIAL):
        groups += monitoring_groups(user=user, stages=[Stage.SCREENING], today=today)
    if role == Role.COUNTY_OFFICIAL:
        groups += monitoring_groups(user=user, stages=[Stage.ASSESSMENT], today=today)
    if role in (Role.VILLAGE_CADRE, Role.TOWN_OFFICIAL):
        groups.append(measure_group(user=user, today=today))
    if role == Role.VILLAGE_CADRE:
        groups += registry_problem_groups(user=user, today=today)
    return groups
