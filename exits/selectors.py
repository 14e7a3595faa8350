"""Reading exit cases: scoped lists with the facts pages filter on (overdue, failing
criteria), the filter set shared by pages, API and ledger, and deadline arithmetic."""

from __future__ import annotations

import datetime

import django_filters
from django.db import models
from django.db.models import Count, Exists, OuterRef, Q, QuerySet, Subquery, prefetch_related_objects
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import User
from exits import gates
from exits.models import (
    DONE,
    REVIEWS,
    STEP_COUNT,
    Campaign,
    Criterion,
    CriterionCheck,
    CriterionResult,
    ExitCase,
    Objection,
    ObjectionStatus,
    SituationKind,
    SpecialSituation,
    Step,
    StepRecord,
)
from households.models import ExitStatus, Household, Member
from households.search import IdSearchFilterMixin
from households.selectors import RegionChoiceFilter, household_head_name, search_households


def overdue_q(campaigns: list[Campaign], *, today: datetime.date | None = None) -> Q:
    """Cases whose current step's level deadline has passed: one OR over the
    (campaign, step) pairs that are late, so the database does the filtering."""
    today = today or timezone.localdate()
    condition = Q(pk__in=[])
    for campaign in campaigns:
        late = [step for step in range(1, STEP_COUNT + 1) if campaign.deadline_for(step) < today]
        if late:
            condition |= Q(campaign_id=campaign.pk, current_step__in=late)
    return condition


class NoticeState(models.TextChoices):
    """Where a case stands in its notice (公示, step 5), for lists and 我的待办."""

    UNPUBLISHED = "unpublished", _("待发布公示")
    RUNNING = "running", _("公示中")
    CLOSABLE = "closable", _("公示期满待办结")
    OBJECTED = "objected", _("有待处理的异议")


def notice_q(state: str, campaigns: list[Campaign], *, today: datetime.date | None = None) -> Q:
    """Cases at step 5 in ``state``. The minimum days are each campaign's own, so the
    condition is an OR over the campaigns (as ``overdue_q``)."""
    today = today or timezone.localdate()
    at_notice = Q(current_step=Step.NOTICE)
    objected = Exists(Objection.objects.filter(case_id=OuterRef("pk"), status=ObjectionStatus.OPEN))
    if state == NoticeState.UNPUBLISHED:
        return at_notice & Q(notice_started_on__isnull=True)
    if state == NoticeState.OBJECTED:
        return at_notice & objected
    over = Q(pk__in=[])
    for campaign in campaigns:
        ended = today - datetime.timedelta(days=campaign.notice_min_days)
        over |= Q(campaign_id=campaign.pk, notice_started_on__lte=ended)
    if state == NoticeState.CLOSABLE:
        return at_notice & over & ~objected
    return at_notice & Q(notice_started_on__isnull=False) & ~over  # running


def barred_q(user: User) -> Q:
    """Cases whose current step ``user`` may not do because they did a step it checks
    (separation of duties, exits.models.REVIEWS): left out of their 我的待办 and, with
    ``?actionable=true``, of the list it links to."""
    condition = Q(pk__in=[])
    for step, checked in REVIEWS.items():
        did_checked = StepRecord.objects.filter(
            case_id=OuterRef("pk"), is_reset=False, completed_by_id=user.pk, step__in=checked
        )
        condition |= Q(current_step=step) & Exists(did_checked)
    return condition


def _count_of(queryset: QuerySet, link: str) -> Coalesce:
    """The number of ``queryset``'s rows per outer row, as a correlated subquery."""
    counted = queryset.order_by().values(link).annotate(n=Count("pk")).values("n")[:1]
    return Coalesce(Subquery(counted, output_field=models.IntegerField()), 0)


def case_list(*, user: User) -> QuerySet[ExitCase]:
    """A user's cases with what the lists show of each. Every figure is a correlated
    subquery, never a join grouped over the scope: PostgreSQL works them out only for
    the rows a page keeps (after ORDER BY … LIMIT), so a page of 20 costs the same at
    2,000 and at 300,000 households (issue 17)."""
    criteria = CriterionCheck.objects.filter(case_id=OuterRef("pk"))
    return (
        ExitCase.objects.visible_to(user)
        .select_related("campaign", "household", "village")
        .annotate(
            head_name=household_head_name(),
            member_count=_count_of(Member.objects.filter(household_id=OuterRef("household_id")), "household_id"),
            failing_count=_count_of(criteria.exclude(result=CriterionResult.MET), "case_id"),
            uncertified_count=_count_of(criteria.filter(certified_at__isnull=True), "case_id"),
            open_objections=Exists(Objection.objects.filter(case_id=OuterRef("pk"), status=ObjectionStatus.OPEN)),
        )
        .order_by("village_id", "household__number")
    )


# What exits.gates reads of a case; prefetched, a page of cases costs four queries.
GATE_PREFETCH = ("criteria", "objections", "steps", "household__special_situations")


def with_blockers(cases) -> list[ExitCase]:
    """``cases`` with ``.blockers``: the gates of each case's current step that do not
    hold on its last measurement (the list and the batch panel show them before anyone
    submits). Works on a page of cases: four queries whatever its size."""
    cases = list(cases)
    prefetch_related_objects(cases, *GATE_PREFETCH)
    for case in cases:
        case.blockers = [] if case.is_done else gates.blockers(case, case.current_step)
    return cases


def notice_list_cases(*, user: User, campaign: Campaign) -> QuerySet[ExitCase]:
    """The households the printable notice (公示名单) names as 拟退出: in the notice or past
    it, and passing every notice gate (exits.gates.NOTICE_GATES) at the moment it is
    printed — a case whose criterion or certification lapsed, or that became 失联 since,
    drops off the list until it passes again (issue 14)."""
    cases = (
        case_list(user=user)
        .filter(campaign=campaign, current_step__gte=Step.NOTICE)
        .exclude(notice_started_on__isnull=True, current_step=Step.NOTICE)
    )
    return cases.filter(gates.passes_q(campaign, gates.notice_gates(campaign)))


def case_get(*, user: User, pk: int) -> ExitCase:
    return (
        ExitCase.objects.visible_to(user)
        .select_related("campaign", "household", "village")
        .prefetch_related(*GATE_PREFETCH, "steps__completed_by")
        .get(pk=pk)
    )


def campaign_list() -> QuerySet[Campaign]:
    return Campaign.objects.all()


def current_campaign() -> Campaign | None:
    return Campaign.objects.filter(is_active=True).order_by("-year").first()


def step_choices():
    return [(value, f"{value}. {label}") for value, label in Step.choices] + [(DONE, _("已完成"))]


class ExitCaseFilter(IdSearchFilterMixin, django_filters.FilterSet):
    campaign = django_filters.ModelChoiceFilter(
        label=_("退出批次"), queryset=Campaign.objects.all(), empty_label=_("全部批次")
    )
    region = RegionChoiceFilter(label=_("区划"))
    step = django_filters.ChoiceFilter(
        label=_("当前步骤"), field_name="current_step", choices=step_choices(), empty_label=_("全部步骤")
    )
    overdue = django_filters.BooleanFilter(label=_("已逾期"), method="filter_overdue")
    failing = django_filters.ChoiceFilter(
        label=_("未达标的标准"), choices=Criterion.choices, method="filter_failing", empty_label=_("不限")
    )
    uncertified = django_filters.ChoiceFilter(
        label=_("待认定的标准"), choices=Criterion.choices, method="filter_uncertified", empty_label=_("不限")
    )
    notice = django_filters.ChoiceFilter(
        label=_("公示"), choices=NoticeState.choices, method="filter_notice", empty_label=_("不限")
    )
    q = django_filters.CharFilter(label=_("搜索"), method="filter_q")
    actionable = django_filters.BooleanFilter(label=_("本人可办理"), method="filter_actionable")

    class Meta:
        model = ExitCase
        fields = ["campaign", "region", "step", "overdue", "failing", "uncertified", "notice", "q", "actionable"]

    def filter_actionable(self, queryset, name, value):
        user = getattr(self.request, "user", None)
        if value is None or user is None or not user.is_authenticated:
            return queryset
        return queryset.exclude(barred_q(user)) if value else queryset.filter(barred_q(user))

    def filter_overdue(self, queryset, name, value):
        if value is None:
            return queryset
        condition = overdue_q(list(Campaign.objects.all()))
        return queryset.filter(condition) if value else queryset.exclude(condition)

    def filter_uncertified(self, queryset, name, value):
        """Measured as met and waiting for the sector's certification (达标认定)."""
        waiting = CriterionCheck.objects.filter(
            case_id=OuterRef("pk"), criterion=value, result=CriterionResult.MET, certified_at__isnull=True
        )
        return queryset.filter(Exists(waiting))

    def filter_notice(self, queryset, name, value):
        return queryset.filter(notice_q(value, list(Campaign.objects.all())))

    def filter_failing(self, queryset, name, value):
        failing = CriterionCheck.objects.filter(case_id=OuterRef("pk"), criterion=value).exclude(
            result=CriterionResult.MET
        )
        return queryset.filter(Exists(failing))

    def filter_q(self, queryset, name, value):
        return search_households(queryset, value, through="household")


def deadline_status(deadline: datetime.date, *, today: datetime.date | None = None) -> dict:
    """{"deadline", "days_left" (negative when overdue), "overdue"} for display."""
    today = today or timezone.localdate()
    days = (deadline - today).days
    return {"deadline": deadline, "days_left": days, "days_overdue": -days, "overdue": days < 0}


def case_timeline(case: ExitCase) -> list[dict]:
    """The eight steps of a case: standing record (who, when, what), the returned ones,
    the deadline and whether it is late."""
    records = list(case.steps.select_related("completed_by").order_by("completed_at"))
    attachments = list(case.attachments.filter(step__isnull=False).select_related("uploaded_by"))
    today = timezone.localdate()
    timeline = []
    for step, label in Step.choices:
        standing = next((r for r in records if r.step == step and not r.is_reset), None)
        deadline = case.campaign.deadline_for(step)
        done_on = timezone.localdate(standing.completed_at) if standing else None
        timeline.append(
            {
                "step": step,
                "label": label,
                "level": case.campaign.level_of(step),
                "role": case.campaign.role_for(step),
                "record": standing,
                "returned": [r for r in records if r.step == step and r.is_reset],
                "attachments": [a for a in attachments if a.step == step],
                "is_current": case.current_step == step,
                "deadline": deadline_status(deadline, today=done_on or today),
                "late_done": bool(done_on and done_on > deadline),
            }
        )
    return timeline


def situations_to_investigate(*, user: User, campaign: Campaign | None) -> dict[str, QuerySet[Household]]:
    """For each special situation (失联, 刑满释放): the households flagged with it, not
    exited, whose investigation for ``campaign`` the village has not recorded yet
    (DOMAIN.md §3). The 特殊情况 page and the cadre's 我的待办 both read this."""
    flagged = Household.objects.visible_to(user).exclude(exit_status=ExitStatus.EXITED)
    result = {}
    for kind, flag in (
        (SituationKind.LOST_CONTACT, "lost_contact"),
        (SituationKind.RELEASED_PRISONER, "released_prisoner"),
    ):
        recorded = SpecialSituation.objects.filter(household_id=OuterRef("pk"), campaign=campaign, kind=kind).exclude(
            investigation=""
        )
        households = flagged.filter(**{flag: True}).filter(~Exists(recorded)) if campaign else flagged.none()
        result[kind] = households.select_related("village").order_by("village_id", "number")
    return result


def open_situations(*, user: User) -> QuerySet[SpecialSituation]:
    return (
        SpecialSituation.objects.visible_to(user)
        .filter(decision="")
        .select_related("campaign", "household", "village", "investigated_by")
    )


RECORD_LABELS = {
    "head_signed": _("户主签字认可"),
    "food_clothing_secure": _("吃穿不愁"),
    "signed_on": _("签字日期"),
    "meeting_date": _("评议会议日期"),
    "attendance": _("参会人数"),
    "votes_for": _("赞成票"),
    "votes_against": _("反对票"),
    "minutes": _("会议记录"),
    "checking_unit_name": _("交叉检查组来自"),
    "findings": _("检查发现的问题"),
    "opinion": _("意见"),
    "checklist": _("备案资料"),
    "marked_on": _("系统标注日期"),
    "operator": _("标注操作员"),
    "note": _("说明"),
}


def record_lines(record) -> list[tuple[str, str]]:
    """A step record's data as (label, text) lines, in a fixed order, blanks left out."""
    return data_lines(record.data)


def data_lines(data: dict | None) -> list[tuple[str, str]]:
    """A step's record (``StepRecord.data``) as (label, text) lines, in a fixed order,
    blanks and codes (the checking unit's region code: its name is a line) left out."""
    lines = []
    for key, label in RECORD_LABELS.items():
        value = (data or {}).get(key)
        if value in (None, "", []):
            continue
        if value is True:
            value = _("是")
        elif isinstance(value, list):
            value = "、".join(map(str, value))
        lines.append((str(label), str(value)))
    return lines
