"""What must hold before each step of an exit case can be done: one declared table.

Every gate is a named condition on a case (DOMAIN.md §3–4). A campaign says which
gates each step needs (``Campaign.step_gates``; empty means ``DEFAULT_STEP_GATES``),
and the step service, the notice, the batch actions, the API, the approval queue, the
printable notice list and the case page's "what blocks this case" panel all read the
table through ``blockers()``: a gate written inline in one caller would be a gate
another caller skips.

Gates read only what a case page prefetches (``criteria``, ``objections``, ``steps``,
``household.special_situations``), so showing them for a page of cases asks the
database nothing more. Whether the criteria are up to date is the caller's business:
the services re-measure before they judge (``services.criteria_refresh``), pages show
the last measurement.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.db import models
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from exits.models import (
    CRITERION_SECTOR,
    STEP_COUNT,
    Campaign,
    Criterion,
    CriterionCheck,
    CriterionResult,
    ExitCase,
    ObjectionStatus,
    SituationDecision,
    SituationKind,
    SpecialSituation,
    Step,
)


class Gate(models.TextChoices):
    CRITERIA_MET = "criteria_met", gettext_lazy("五项标准均达标")
    CRITERIA_CERTIFIED = "criteria_certified", gettext_lazy("五项标准均经行业部门认定")
    NO_OPEN_SITUATION = "no_open_situation", gettext_lazy("无未决的特殊情况（失联、刑满释放须有“正常退出”决定）")
    NOTICE_PUBLISHED = "notice_published", gettext_lazy("已发布公示")
    NOTICE_PERIOD_OVER = "notice_period_over", gettext_lazy("公示期满")
    NO_OPEN_OBJECTION = "no_open_objection", gettext_lazy("公示异议均已处理")
    EARLIER_STEPS_DONE = "earlier_steps_done", gettext_lazy("前面各步均已完成")


# The seed's order (DOMAIN.md §3): sector certification comes before the village's
# work, so all five criteria are met before 民主评议 and certified before the notice
# opens; no step of a household with an unresolved special situation; every gate of
# approval still holds for filing and marking (a household whose data changed after
# approval is not filed or marked until re-checked).
_ALWAYS = [Gate.NO_OPEN_SITUATION]
_MET = [Gate.CRITERIA_MET, *_ALWAYS]
_PASSED = [Gate.CRITERIA_MET, Gate.CRITERIA_CERTIFIED, *_ALWAYS]
DEFAULT_STEP_GATES: dict[str, list[str]] = {
    "1": list(_ALWAYS),
    "2": list(_MET),
    "3": list(_MET),
    "4": list(_MET),
    "5": [*_PASSED, Gate.NOTICE_PUBLISHED, Gate.NOTICE_PERIOD_OVER, Gate.NO_OPEN_OBJECTION],
    "6": [*_PASSED, Gate.NO_OPEN_OBJECTION, Gate.EARLIER_STEPS_DONE],
    "7": list(_PASSED),
    "8": list(_PASSED),
}

# Opening the notice (公示, step 5) puts the household's name on a public list as 拟退出:
# the step-5 gates that can hold before the notice exists must hold then, and for as
# long as the list is printed.
NOTICE_GATES = [Gate.CRITERIA_MET, Gate.CRITERIA_CERTIFIED, Gate.NO_OPEN_SITUATION]

# Rules of the procedure itself (DOMAIN.md §4) that a campaign may not drop: the notice
# minimum and its objections, and what approval needs.
REQUIRED_STEP_GATES: dict[str, list[str]] = {
    "5": [Gate.NOTICE_PUBLISHED, Gate.NOTICE_PERIOD_OVER, Gate.NO_OPEN_OBJECTION],
    "6": [*_PASSED, Gate.NO_OPEN_OBJECTION, Gate.EARLIER_STEPS_DONE],
}


def gates_for_step(campaign: Campaign, step: int) -> list[str]:
    """The gates of ``step`` in ``campaign``, in the table's order."""
    configured = (campaign.step_gates or {}).get(str(int(step)))
    gates = list(DEFAULT_STEP_GATES[str(int(step))] if configured is None else configured)
    for required in REQUIRED_STEP_GATES.get(str(int(step)), []):
        if required not in gates:
            gates.append(required)
    return [gate for gate in Gate.values if gate in gates]


def validate_step_gates(mapping: object) -> list[str]:
    """Problems with a campaign's ``step_gates`` (for the admin form), in Chinese."""
    if mapping in (None, "", {}):
        return []
    if not isinstance(mapping, dict):
        return [_('请按 {"步骤": [条件, …]} 填写各步骤前置条件。')]
    problems = []
    for key, gates in mapping.items():
        if key not in {str(s) for s in range(1, STEP_COUNT + 1)}:
            problems.append(_("无效的步骤：%(k)s。") % {"k": key})
            continue
        if not isinstance(gates, list) or any(g not in Gate.values for g in gates):
            problems.append(_("第%(k)s步的前置条件无效，可选：%(v)s。") % {"k": key, "v": "、".join(Gate.values)})
            continue
        missing = [g for g in REQUIRED_STEP_GATES.get(key, []) if g not in gates]
        if missing:
            labels = "、".join(str(Gate(g).label) for g in missing)
            problems.append(_("第%(k)s步不能去掉退出程序规定的条件：%(g)s。") % {"k": key, "g": labels})
    return problems


@dataclass(frozen=True)
class Blocker:
    """One gate that does not hold, and why, in words a cadre understands."""

    gate: str
    reasons: tuple[str, ...]

    @property
    def label(self) -> str:
        return str(Gate(self.gate).label)


def _step_label(step: int) -> str:
    return str(Step(step).label)


def _criteria_met(case: ExitCase) -> list[str]:
    reasons = []
    for check in case.criteria.all():
        if check.result != CriterionResult.MET:
            detail = "；".join(check.failures) or check.get_result_display()
            reasons.append(_("“%(c)s”未达标：%(d)s") % {"c": check.get_criterion_display(), "d": detail})
    if not reasons and len(case.criteria.all()) < len(Criterion.values):
        reasons.append(_("五项标准尚未测算，请先重新测算。"))
    return reasons


def _criteria_certified(case: ExitCase, *, met_checked: bool) -> list[str]:
    """Met criteria waiting for their sector; a criterion that is not met cannot be
    certified, which ``CRITERIA_MET`` already says when it is among the gates."""
    reasons = []
    for check in case.criteria.all():
        if check.result == CriterionResult.MET and not check.is_certified:
            sector = CRITERION_SECTOR[Criterion(check.criterion)]
            reason = _("“%(c)s”尚未经%(s)s部门认定。") % {"c": check.get_criterion_display(), "s": sector.label}
            if check.lapse_note:
                reason += _("（原认定已失效：%(why)s）") % {"why": check.lapse_note}
            reasons.append(reason)
        elif check.result != CriterionResult.MET and not met_checked:
            reasons.append(_("“%(c)s”未达标，不能认定。") % {"c": check.get_criterion_display()})
    return reasons


def situation_reasons(campaign: Campaign, household) -> list[str]:
    """Why a household flagged 失联 / 刑满释放 may not go on: no investigation yet, no
    decision yet, or a decision not to let it exit (DOMAIN.md §3)."""
    flagged = []
    if household.lost_contact:
        flagged.append(SituationKind.LOST_CONTACT)
    if household.released_prisoner:
        flagged.append(SituationKind.RELEASED_PRISONER)
    if not flagged:
        return []
    # .all() so a list that prefetched ``household.special_situations`` asks nothing more.
    records = {s.kind: s for s in household.special_situations.all() if s.campaign_id == campaign.pk}
    reasons = []
    for kind in flagged:
        label = SituationKind(kind).label
        record = records.get(kind)
        if record is None or not record.investigation:
            reasons.append(
                _("该户标记为%(kind)s，须先登记调查核实情况并由县级审批人员作出处理决定。") % {"kind": label}
            )
        elif not record.decision:
            reasons.append(_("该户为%(kind)s，尚无县级处理决定。") % {"kind": label})
        elif record.decision != SituationDecision.PROCEED:
            note = f"：{record.decision_note}" if record.decision_note else ""
            reasons.append(
                _("该户为%(kind)s，县级已决定“%(d)s”%(note)s。")
                % {"kind": label, "d": record.get_decision_display(), "note": note}
            )
    return reasons


def _notice_published(case: ExitCase) -> list[str]:
    return [] if case.notice_started_on else [_("尚未开始公示，请先发布公示。")]


def _notice_period_over(case: ExitCase) -> list[str]:
    if case.notice_started_on is None:
        return []  # NOTICE_PUBLISHED says it
    ends = case.notice_started_on + datetime.timedelta(days=case.campaign.notice_min_days)
    if timezone.localdate() < ends:
        return [
            _("公示期至少%(d)d天，最早可于%(end)s结束公示。")
            % {"d": case.campaign.notice_min_days, "end": ends.isoformat()}
        ]
    return []


def _no_open_objection(case: ExitCase) -> list[str]:
    n = sum(1 for objection in case.objections.all() if objection.status == ObjectionStatus.OPEN)
    return [_("有%(n)d条公示异议尚未处理完毕。") % {"n": n}] if n else []


def _earlier_steps_done(case: ExitCase, step: int) -> list[str]:
    done = {record.step for record in case.steps.all() if not record.is_reset}
    missing = [s for s in range(Step.VERIFY, step) if s not in done]
    if not missing:
        return []
    return [_("第%(steps)s步尚未完成。") % {"steps": "、".join(f"{s}（{_step_label(s)}）" for s in missing)}]


def _evaluate(case: ExitCase, gate: str, step: int, gates: list[str]) -> list[str]:
    if gate == Gate.CRITERIA_MET:
        return _criteria_met(case)
    if gate == Gate.CRITERIA_CERTIFIED:
        return _criteria_certified(case, met_checked=Gate.CRITERIA_MET in gates)
    if gate == Gate.NO_OPEN_SITUATION:
        return situation_reasons(case.campaign, case.household)
    if gate == Gate.NOTICE_PUBLISHED:
        return _notice_published(case)
    if gate == Gate.NOTICE_PERIOD_OVER:
        return _notice_period_over(case)
    if gate == Gate.NO_OPEN_OBJECTION:
        return _no_open_objection(case)
    if gate == Gate.EARLIER_STEPS_DONE:
        return _earlier_steps_done(case, step)
    raise ValueError(gate)


def blockers(case: ExitCase, step: int, *, gates: list[str] | None = None) -> list[Blocker]:
    """The gates of ``step`` (or the given ``gates``) that do not hold for ``case`` now."""
    out = []
    gates = case.campaign.gates_for(step) if gates is None else gates
    for gate in gates:
        reasons = _evaluate(case, gate, step, gates)
        if reasons:
            out.append(Blocker(gate, tuple(reasons)))
    return out


def blocker_messages(found: list[Blocker]) -> list[str]:
    return [reason for blocker in found for reason in blocker.reasons]


def notice_gates(campaign: Campaign) -> list[str]:
    return [gate for gate in NOTICE_GATES if gate in campaign.gates_for(Step.NOTICE)]


def notice_blockers(case: ExitCase) -> list[Blocker]:
    """What keeps ``case`` off the public notice list (or from opening its notice)."""
    return blockers(case, Step.NOTICE, gates=notice_gates(case.campaign))


def passes_q(campaign: Campaign, gates: list[str]) -> Q:
    """The cases of ``campaign`` for which every one of ``gates`` holds, as a database
    condition, for lists too long to judge one case at a time (the printable notice
    list of a county). Only the gates about a case's data have one; the state-machine
    test checks that it agrees with ``blockers``."""
    condition = Q()
    for gate in gates:
        if gate == Gate.CRITERIA_MET:
            condition &= ~Exists(
                CriterionCheck.objects.filter(case_id=OuterRef("pk")).exclude(result=CriterionResult.MET)
            )
        elif gate == Gate.CRITERIA_CERTIFIED:
            condition &= ~Exists(CriterionCheck.objects.filter(case_id=OuterRef("pk"), certified_at__isnull=True))
        elif gate == Gate.NO_OPEN_SITUATION:
            for kind, flag in (
                (SituationKind.LOST_CONTACT, "household__lost_contact"),
                (SituationKind.RELEASED_PRISONER, "household__released_prisoner"),
            ):
                proceed = SpecialSituation.objects.filter(
                    campaign_id=campaign.pk,
                    household_id=OuterRef("household_id"),
                    kind=kind,
                    decision=SituationDecision.PROCEED,
                )
                condition &= Q(**{flag: False}) | Exists(proceed)
        else:
            raise ValueError(f"{gate} has no database condition")
    return condition
