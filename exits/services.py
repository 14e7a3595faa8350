"""Writes to exit cases. Every rule of DOMAIN.md §3–§4 lives here, once; pages, the API
and batch actions call these functions and show the same Chinese messages.

Refusals raise ``ExitError`` (a list of messages saying exactly what is missing); a
lost race raises ``ExitConflict``. Step completion claims the case with a guarded
UPDATE on ``current_step`` — of twenty officials approving at the same moment one
wins, the rest get a conflict — and the partial unique index on standing step
records is the database's backstop.
"""

from __future__ import annotations

import datetime
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _
from simple_history.utils import bulk_create_with_history

from accounts.models import Role, User
from core import change_reasons
from core.bulk import batch_size, in_chunks
from core.errors import Refusal
from exits import gates
from exits.criteria import load_registry_data, measure, measured_label, measured_value
from exits.models import (
    CRITERION_SECTOR,
    DONE,
    REVIEWS,
    SECTOR_CRITERION,
    Attachment,
    Campaign,
    CaseStatus,
    Criterion,
    CriterionCheck,
    CriterionResult,
    ExitCase,
    Level,
    Objection,
    ObjectionStatus,
    PriorExit,
    SituationDecision,
    SituationKind,
    SpecialSituation,
    Step,
    StepRecord,
)
from households.models import ExitStatus, Household
from households.normalize import CONTROL_CHARACTERS, has_control_characters
from regions.models import Region
from regions.scoping import code_visible_to

ARCHIVE_ITEMS = [
    "五项标准核查表",
    "户主签字认可书",
    "民主评议会议记录",
    "交叉检查表",
    "审核审查意见",
    "公示公告材料",
    "核查批准文件",
]
ATTACHMENT_TYPES = {  # extension → (content type, leading bytes)
    "pdf": ("application/pdf", (b"%PDF",)),
    "jpg": ("image/jpeg", (b"\xff\xd8\xff",)),
    "jpeg": ("image/jpeg", (b"\xff\xd8\xff",)),
    "png": ("image/png", (b"\x89PNG\r\n\x1a\n",)),
}
REVIEWING_ROLES = frozenset({Role.TOWN_OFFICIAL, Role.COUNTY_OFFICIAL})


class ExitError(Refusal):
    """An exit step or record is refused; ``messages`` say why, field by field where there is one."""


class ExitConflict(Exception):
    """Someone else changed the case first; nothing was written."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def _step_label(step: int) -> str:
    return str(Step(step).label)


def _require_scope(by: User, case: ExitCase) -> None:
    if not by.can_write:
        raise ExitError(_("市级督查账号为只读账号，不能修改数据。"))
    if not code_visible_to(by, case.village_id):
        raise ExitError(_("该退出案件不在您的管辖范围内。"))


# --- campaigns -------------------------------------------------------------------------


# --- enrolment ------------------------------------------------------------------------


def enrolment_refusals(campaign: Campaign, household: Household, *, enrolled: bool | None = None) -> list[str]:
    """Why ``household`` may not be enrolled into ``campaign``. ``enrolled``: whether the
    caller already knows it is in the campaign (a list of candidates excludes those), so
    a page of candidates asks nothing per row."""
    reasons = []
    if not campaign.is_active:
        reasons.append(_("退出批次“%(c)s”已结束，不能再纳入。") % {"c": campaign.name})
    if household.exit_status == ExitStatus.EXITED:
        reasons.append(_("该户已脱贫（%(y)s年），不能再纳入退出。") % {"y": household.exit_year})
    if household.identification_year == campaign.year:
        reasons.append(_("该户为%(y)d年新识别的贫困户，当年识别不能当年退出。") % {"y": campaign.year})
    reasons += gates.situation_reasons(campaign, household)
    if enrolled is None:
        enrolled = ExitCase.objects.filter(campaign=campaign, household=household).exists()
    if enrolled:
        reasons.append(_("该户已纳入“%(c)s”。") % {"c": campaign.name})
    return reasons


@transaction.atomic
def case_enrol(*, by: User, campaign: Campaign, household: Household) -> ExitCase:
    """Enrol one household into a campaign (village cadres), with its five criteria measured."""
    if by.role != Role.VILLAGE_CADRE:
        raise ExitError(_("只有村级录入员可以纳入退出户。"))
    if not code_visible_to(by, household.village_id):
        raise ExitError(_("该户不在您的管辖范围内。"))
    reasons = enrolment_refusals(campaign, household)
    if reasons:
        raise ExitError(reasons)
    case = ExitCase(campaign=campaign, household=household, village_id=household.village_id, enrolled_by=by)
    case._history_user = by
    try:
        with transaction.atomic():
            case.save()
    except IntegrityError:
        raise ExitConflict(_("该户刚被他人纳入“%(c)s”。") % {"c": campaign.name}) from None
    bulk_create_with_history(
        [CriterionCheck(case=case, criterion=c) for c in Criterion.values],
        CriterionCheck,
        batch_size=batch_size(),
        default_user=by,
    )
    criteria_refresh([case])
    return case


@dataclass
class BatchOutcome:
    """One item of a batch action: what it was about, and its case or its refusal."""

    label: str
    case: ExitCase | None = None
    error: str = ""
    gates: list[str] = field(default_factory=list)  # the gates that block it, by name
    head_name: str = ""  # the household's 户主, so a result table names the family

    @property
    def ok(self) -> bool:
        return not self.error


def cases_enrol(*, by: User, campaign: Campaign, households: Iterable[Household]) -> list[BatchOutcome]:
    """Enrol many households; each succeeds or fails on its own."""
    outcomes = []
    for household in households:
        try:
            outcomes.append(
                BatchOutcome(
                    household.number,
                    case_enrol(by=by, campaign=campaign, household=household),
                    head_name=household.head_name or "",
                )
            )
        except ExitError as error:
            outcomes.append(
                BatchOutcome(household.number, error="；".join(error.all_messages), head_name=household.head_name or "")
            )
        except ExitConflict as conflict:
            outcomes.append(BatchOutcome(household.number, error=conflict.message, head_name=household.head_name or ""))
    return outcomes


# --- criteria ---------------------------------------------------------------------------


def criteria_refresh(cases: list[ExitCase], *, by: User | None = None) -> None:
    """Measure the five criteria of ``cases`` from the registry as it is now.

    A certification stands only on what it certified (DOMAIN.md §3): when the measured
    result or values differ from the snapshot taken at certification, it lapses — the
    history row keeps who certified what, and ``lapse_note`` tells the case page why.
    A village assessment stands in only for data the registry lacks (待认定).
    """
    if not cases:
        return
    by_campaign: dict[int, list[ExitCase]] = {}
    for case in cases:
        by_campaign.setdefault(case.campaign_id, []).append(case)
    now = timezone.now()
    for cases_of_campaign in by_campaign.values():
        campaign = cases_of_campaign[0].campaign
        registry = load_registry_data([c.household_id for c in cases_of_campaign], year=campaign.year)
        checks = CriterionCheck.objects.filter(case__in=cases_of_campaign)
        by_case: dict[int, list[CriterionCheck]] = {}
        for check in checks:
            by_case.setdefault(check.case_id, []).append(check)
        changed = []
        watched = ("result", "measured", "failures", "certified_at")
        for case in cases_of_campaign:
            checks_of_case = by_case.get(case.pk, [])
            education = next((c for c in checks_of_case if c.criterion == Criterion.EDUCATION), None)
            home_taught = set((education.measured or {}).get("home_taught", [])) if education else set()
            results = measure(campaign, registry[case.household_id], home_taught=home_taught)
            for check in checks_of_case:
                before = tuple(getattr(check, name) for name in watched)
                measurement = results[check.criterion]
                result = measurement.result
                if result == CriterionResult.PENDING and check.assessment:
                    result = check.assessment
                check.result, check.measured, check.failures = result, measurement.measured, measurement.failures
                reason = change_reasons.stored(change_reasons.MEASURED)
                if check.is_certified and (result != CriterionResult.MET or check.measured != check.certified_measured):
                    check.lapse_note = _lapse_note(check, now)
                    check.certified_at, check.certified_by, check.certification_note = None, None, ""
                    check.certified_measured = None
                    reason = change_reasons.stored(change_reasons.LAPSED, why=check.lapse_note)
                if tuple(getattr(check, name) for name in watched) != before or check.measured_at is None:
                    check._change_reason = reason
                    check._history_user = by
                    changed.append(check)
                check.measured_at = check.measured_at or now
        for check in changed:
            check.measured_at = now
            check.save()


def _lapse_note(check: CriterionCheck, now) -> str:
    """ "人均纯收入 5210.00 → 500.00（2020-10-21 09:30）": what changed under a certification."""
    old, new = check.certified_measured or {}, check.measured or {}
    parts = []
    for key in sorted(set(old) | set(new)):
        if old.get(key) != new.get(key):
            parts.append(f"{measured_label(key)} {measured_value(old.get(key))} → {measured_value(new.get(key))}")
    if check.result != CriterionResult.MET:
        parts.append(_("测算结果为“%(r)s”") % {"r": check.get_result_display()})
    when = timezone.localtime(now).strftime("%Y-%m-%d %H:%M")
    return f"{'；'.join(parts) or _('测算数据已变化')}（{when}）"


def cases_remeasure(*, household_ids: Iterable[int], by: User | None = None) -> None:
    """Data changes reach the case (DOMAIN.md §4): after any registry write to these
    households, re-measure the open exit cases in the caller's transaction, so a
    certification of data that changed lapses at once, on every path that writes."""
    ids = {int(pk) for pk in household_ids if pk is not None}
    if not ids:
        return
    cases = []
    for chunk in in_chunks(sorted(ids)):
        cases += list(
            ExitCase.objects.filter(household_id__in=chunk, status=CaseStatus.IN_PROGRESS).select_related("campaign")
        )
    criteria_refresh(cases, by=by)


@transaction.atomic
def criterion_assess(
    *, by: User, check: CriterionCheck, assessment: str, note: str, home_taught: list[int] | None = None
) -> CriterionCheck:
    """The village's assessment of one criterion (村级评定), recorded at the home visit."""
    case = check.case
    _require_scope(by, case)
    if by.role != Role.VILLAGE_CADRE:
        raise ExitError(_("标准评定由村级录入员在入户核实时填写。"))
    if case.is_done:
        raise ExitError(_("该户已完成退出，不能再修改评定。"))
    errors: dict[str, list[str]] = {}
    if assessment not in (CriterionResult.MET, CriterionResult.NOT_MET):
        errors["assessment"] = [_("请选择评定结果：达标或未达标。")]
    if not str(note or "").strip():
        errors["assessment_note"] = [_("请填写评定说明（核实了什么、依据是什么）。")]
    if home_taught is not None and check.criterion == Criterion.EDUCATION:
        member_ids = set(case.household.members.values_list("pk", flat=True))
        if not set(home_taught) <= member_ids:
            errors["home_taught"] = [_("送教上门的成员必须是该户成员。")]
    if errors:
        raise ExitError([], fields=errors)
    check.assessment = assessment
    check.assessment_note = note.strip()
    check.assessed_by = by
    check.assessed_at = timezone.now()
    if home_taught is not None and check.criterion == Criterion.EDUCATION:
        check.measured = {**(check.measured or {}), "home_taught": sorted(set(home_taught))}
    check._history_user = by
    check.save()
    criteria_refresh([case])
    check.refresh_from_db()
    return check


@transaction.atomic
def criterion_certify(*, by: User, check: CriterionCheck, note: str = "") -> CriterionCheck:
    """The sector department's certification (达标认定) of a met criterion."""
    case = check.case
    _require_scope(by, case)
    sector = CRITERION_SECTOR[Criterion(check.criterion)]
    if by.role != Role.SECTOR or by.sector != sector:
        raise ExitError(_("“%(c)s”由%(s)s部门认定。") % {"c": check.get_criterion_display(), "s": sector.label})
    if case.is_done:
        raise ExitError(_("该户已完成退出，不能再修改认定。"))
    criteria_refresh([case])
    check.refresh_from_db()
    if check.result != CriterionResult.MET:
        reasons = "；".join(check.failures) or check.get_result_display()
        raise ExitError(_("“%(c)s”尚未达标，不能认定：%(r)s") % {"c": check.get_criterion_display(), "r": reasons})
    check.certified_by = by
    check.certified_at = timezone.now()
    check.certification_note = str(note or "").strip()
    check.certified_measured = check.measured  # what was certified; a change lapses it
    check.lapse_note = ""
    check._history_user = by
    check.save()
    return check


# --- steps ------------------------------------------------------------------------------


def _date(value, label: str, errors: dict, name: str, *, today: datetime.date) -> datetime.date | None:
    if isinstance(value, datetime.date):
        day = value
    else:
        try:
            day = datetime.date.fromisoformat(str(value or "").strip())
        except ValueError:
            errors[name] = [_("请填写%(label)s（如 2020-10-13）。") % {"label": label}]
            return None
    if day > today:
        errors[name] = [_("%(label)s不能晚于今天。") % {"label": label}]
        return None
    return day


def _integer(value, label: str, errors: dict, name: str) -> int | None:
    try:
        number = int(value)
    except (TypeError, ValueError):
        errors[name] = [_("请填写%(label)s（整数）。") % {"label": label}]
        return None
    if number < 0:
        errors[name] = [_("%(label)s不能为负数。") % {"label": label}]
        return None
    return number


def _text(data: dict, name: str, label: str, errors: dict) -> str:
    value = str(data.get(name) or "").strip()
    if not value:
        errors[name] = [_("请填写%(label)s。") % {"label": label}]
    return value


def _truthy(value) -> bool:
    return value is True or str(value).lower() in ("1", "true", "on", "yes", "是")


def clean_step_data(case: ExitCase, step: int, data: dict, *, by: User) -> dict:
    """What each step must record (DOMAIN.md §4), checked and normalised to JSON."""
    today = timezone.localdate()
    errors: dict[str, list[str]] = {}
    out: dict = {}
    if step == Step.VERIFY:
        if not _truthy(data.get("head_signed")):
            errors["head_signed"] = [_("信息核实须经户主签字认可。")]
        if not _truthy(data.get("food_clothing_secure")):
            errors["food_clothing_secure"] = [_("请入户确认吃穿不愁。")]
        signed_on = _date(data.get("signed_on"), _("签字日期"), errors, "signed_on", today=today)
        out = {"head_signed": True, "food_clothing_secure": True, "signed_on": signed_on and signed_on.isoformat()}
        out["note"] = str(data.get("note") or "").strip()
    elif step == Step.APPRAISE:
        meeting = _date(data.get("meeting_date"), _("评议会议日期"), errors, "meeting_date", today=today)
        attendance = _integer(data.get("attendance"), _("参会人数"), errors, "attendance")
        votes_for = _integer(data.get("votes_for"), _("赞成票"), errors, "votes_for")
        votes_against = _integer(data.get("votes_against"), _("反对票"), errors, "votes_against")
        if None not in (attendance, votes_for, votes_against):
            if attendance < 1:
                errors["attendance"] = [_("参会人数至少为1人。")]
            elif votes_for + votes_against > attendance:
                errors["votes_for"] = [_("赞成票与反对票之和不能超过参会人数。")]
            elif votes_for * 2 <= attendance:
                errors["votes_for"] = [_("赞成票未超过参会人数的半数，民主评议未通过。")]
        minutes = _text(data, "minutes", _("会议记录"), errors)
        out = {
            "meeting_date": meeting and meeting.isoformat(),
            "attendance": attendance,
            "votes_for": votes_for,
            "votes_against": votes_against,
            "minutes": minutes,
        }
    elif step == Step.CROSS_CHECK:
        code = str(data.get("checking_unit") or "").strip()
        unit = Region.objects.filter(code=code).first() if code else None
        if unit is None or unit.level not in (Region.Level.VILLAGE, Region.Level.TOWN):
            errors["checking_unit"] = [_("请选择交叉检查组所在的村或镇。")]
        elif case.village_id.startswith(unit.prefix):
            errors["checking_unit"] = [_("交叉检查组必须来自其他村（不能是该户所在村或其所属的镇）。")]
        findings = _text(data, "findings", _("检查发现的问题"), errors)
        out = {"checking_unit": code, "checking_unit_name": unit.name if unit else "", "findings": findings}
    elif step == Step.REVIEW:
        out = {"opinion": _text(data, "opinion", _("审核审查意见"), errors)}
    elif step == Step.NOTICE:
        out = {"note": str(data.get("note") or "").strip()}
    elif step == Step.APPROVE:
        out = {"opinion": _text(data, "opinion", _("批准意见"), errors)}
    elif step == Step.ARCHIVE:
        items = data.get("checklist") or []
        missing = [item for item in ARCHIVE_ITEMS if item not in items]
        if missing:
            errors["checklist"] = [_("备案资料不全，缺少：%(items)s。") % {"items": "、".join(missing)}]
        out = {"checklist": list(ARCHIVE_ITEMS)}
    elif step == Step.MARK:
        marked_on = _date(data.get("marked_on"), _("系统标注日期"), errors, "marked_on", today=today)
        operator = str(data.get("operator") or "").strip() or by.full_name or by.username
        out = {"marked_on": marked_on and marked_on.isoformat(), "operator": operator}
    if errors:
        raise ExitError([], fields=errors)
    return out


def separation_refusals(case: ExitCase, step: int, *, by: User) -> list[str]:
    """Who may not complete ``step`` because they completed a step it checks (the
    declared table ``exits.models.REVIEWS``)."""
    standing = {r.step: r for r in case.steps.all() if not r.is_reset}
    reasons = []
    for checked in REVIEWS.get(step, ()):
        record = standing.get(checked)
        if record is not None and record.completed_by_id == by.pk:
            reasons.append(
                _("您办理了第%(c)d步“%(cl)s”，不能再办理复核它的第%(s)d步“%(sl)s”。")
                % {"c": checked, "cl": _step_label(checked), "s": step, "sl": _step_label(step)}
            )
    return reasons


def separation_excluded(case: ExitCase, step: int) -> list[tuple[User, list[int]]]:
    """The people barred from ``step`` and the checked steps they did: for the case
    page, before anyone tries."""
    barred: dict[int, tuple[User, list[int]]] = {}
    for record in case.steps.all():
        if not record.is_reset and record.step in REVIEWS.get(step, ()):
            barred.setdefault(record.completed_by_id, (record.completed_by, []))[1].append(record.step)
    return list(barred.values())


def step_refusals(case: ExitCase, step: int, *, by: User, refresh: bool = True) -> list[str]:
    """Everything that stops ``by`` from completing ``step`` of ``case`` now (besides its
    record): order, role, separation of duties and the step's gates (exits.gates).

    ``refresh`` re-measures the criteria first (a write): the step service does; a
    page that only shows what blocks a case reads the last measurement, and with
    ``criteria``, ``steps``, ``objections`` and ``household__special_situations``
    prefetched it asks the database nothing.
    """
    campaign = case.campaign
    if case.is_done:
        return [_("该户已完成全部退出程序。")]
    if step != case.current_step:
        return [
            _("当前应完成第%(n)d步“%(label)s”，不能办理第%(s)d步。")
            % {"n": case.current_step, "label": _step_label(case.current_step), "s": step}
        ]
    reasons = []
    role = campaign.role_for(step)
    if by.role != role:
        reasons.append(
            _("第%(s)d步“%(label)s”由%(role)s办理。")
            % {"s": step, "label": _step_label(step), "role": Role(role).label}
        )
    reasons += separation_refusals(case, step, by=by)
    if refresh:
        criteria_refresh([case], by=by)
    found = gates.blocker_messages(gates.blockers(case, step))
    if found and step > Step.APPROVE:
        # After approval the way back is the county's (DOMAIN.md §4).
        found.append(_("该户数据在批准后发生变化，须由县级审批人员退回案件重新核查。"))
    return reasons + found


def notice_close_refusals(case: ExitCase) -> list[str]:
    """Why the notice of ``case`` cannot close now (its step-5 gates)."""
    return gates.blocker_messages(gates.blockers(case, Step.NOTICE))


def notice_ends_on(case: ExitCase) -> datetime.date | None:
    if case.notice_started_on is None:
        return None
    return case.notice_started_on + datetime.timedelta(days=case.campaign.notice_min_days)


def approval_refusals(case: ExitCase, *, refresh: bool = True) -> list[str]:
    """What stops approval (step 6) besides who approves: the step's gates — all five
    criteria passed and certified, steps 1–5 done, no open objection, no unresolved
    special situation (DOMAIN.md §4). ``refresh`` as in ``step_refusals``."""
    if refresh:
        criteria_refresh([case])
    return gates.blocker_messages(gates.blockers(case, Step.APPROVE))


def step_complete(*, by: User, case: ExitCase, step: int, data: dict | None = None) -> StepRecord:
    """Complete ``step`` of ``case`` with its record; refuse with every reason at once."""
    with transaction.atomic():
        case = ExitCase.objects.select_related("campaign", "household").get(pk=case.pk)
        _require_scope(by, case)
        reasons = step_refusals(case, step, by=by)
        blocked = [b.label for b in gates.blockers(case, step)] if case.current_step == step else []
        field_errors: dict[str, list[str]] = {}
        cleaned: dict = {}
        try:
            cleaned = clean_step_data(case, step, data or {}, by=by)
        except ExitError as error:
            field_errors = error.fields
        if reasons or field_errors:
            error = ExitError(reasons, fields=field_errors)
            error.gates = blocked
            raise error
        next_step = step + 1
        claimed = ExitCase.objects.filter(pk=case.pk, current_step=step).update(
            current_step=next_step,
            status=CaseStatus.EXITED if next_step == DONE else CaseStatus.IN_PROGRESS,
            exited_on=timezone.localdate() if next_step == DONE else None,
            version=F("version") + 1,
            updated_at=timezone.now(),
        )
        if not claimed:
            raise ExitConflict(
                _("第%(s)d步“%(label)s”刚被他人办理，您的操作未保存。请刷新页面查看最新状态。")
                % {"s": step, "label": _step_label(step)}
            )
        try:
            with transaction.atomic():
                record = StepRecord.objects.create(
                    case=case, step=step, data=cleaned, completed_by=by, completed_at=timezone.now()
                )
        except IntegrityError:
            raise ExitConflict(
                _("第%(s)d步“%(label)s”刚被他人办理，您的操作未保存。请刷新页面查看最新状态。")
                % {"s": step, "label": _step_label(step)}
            ) from None
        case.refresh_from_db()
        case._history_user = by
        case._change_reason = change_reasons.stored(change_reasons.STEP_DONE, s=step, label=Step(step).label)
        case.save(update_fields=["updated_at"])
        if step == Step.VERIFY:
            criteria_refresh([case])
        if step == Step.MARK:
            household = Household.objects.select_for_update().get(pk=case.household_id)
            household.exit_status = ExitStatus.EXITED
            household.exit_year = case.campaign.year
            household.version += 1
            household._history_user = by
            household._change_reason = change_reasons.stored(change_reasons.MARKED, c=case.campaign.name)
            household.save()
    return record


def steps_complete(*, by: User, cases: Iterable[ExitCase], step: int, data: dict | None = None) -> list[BatchOutcome]:
    """Batch: complete ``step`` for many cases; each succeeds or fails on its own."""
    outcomes = []
    for case in cases:
        label, head = case.household.number, case.household.head_name or ""
        try:
            step_complete(by=by, case=case, step=step, data=data)
            outcomes.append(BatchOutcome(label, case, head_name=head))
        except ExitError as error:
            outcomes.append(
                BatchOutcome(
                    label, case, error="；".join(error.all_messages), gates=getattr(error, "gates", []), head_name=head
                )
            )
        except ExitConflict as conflict:
            outcomes.append(BatchOutcome(label, case, error=conflict.message, head_name=head))
    return outcomes


def criteria_certify(*, by: User, cases: Iterable[ExitCase], note: str = "") -> list[BatchOutcome]:
    """Batch: a sector department certifies its own criterion (CRITERION_SECTOR) for many
    cases; each goes through ``criterion_certify`` and succeeds or fails with its reason."""
    criterion = SECTOR_CRITERION.get(by.sector) if by.role == Role.SECTOR else None
    outcomes = []
    for case in cases:
        label, head = case.household.number, case.household.head_name or ""
        check = case.criteria.filter(criterion=criterion).first() if criterion else None
        if check is None:
            refusal = _("批量认定由行业部门使用，每个部门认定本部门负责的标准。")
            outcomes.append(BatchOutcome(label, case, error=refusal, head_name=head))
            continue
        try:
            with transaction.atomic():
                criterion_certify(by=by, check=check, note=note)
            outcomes.append(BatchOutcome(label, case, head_name=head))
        except ExitError as error:
            outcomes.append(BatchOutcome(label, case, error="；".join(error.all_messages), head_name=head))
    return outcomes


@transaction.atomic
def notice_open(*, by: User, case: ExitCase, start: datetime.date | str | None = None) -> ExitCase:
    """Publish the notice (公示) of a case at step 5: town officials run the village
    notice, county officials the announcement; either may open it."""
    case = ExitCase.objects.select_for_update().select_related("campaign").get(pk=case.pk)
    _require_scope(by, case)
    if by.role not in REVIEWING_ROLES:
        raise ExitError(_("公示由镇办干部或县级审批人员发布。"))
    if case.current_step != Step.NOTICE:
        raise ExitError(
            _("当前为第%(n)d步“%(label)s”，完成前四步后才能公示。")
            % {"n": case.current_step, "label": case.current_step_label}
        )
    if case.notice_started_on is not None:
        raise ExitError(_("公示已于%(d)s开始。") % {"d": case.notice_started_on.isoformat()})
    # The notice names the household as 拟退出 in public: the seed wants the sector's
    # certification done before (DOMAIN.md §3), so the notice gates hold first.
    criteria_refresh([case], by=by)
    blocked = gates.blocker_messages(gates.notice_blockers(case))
    if blocked:
        raise ExitError(blocked)
    errors: dict[str, list[str]] = {}
    day = _date(start or timezone.localdate(), _("公示开始日期"), errors, "start", today=timezone.localdate())
    review = case.steps.filter(step=Step.REVIEW, is_reset=False).first()
    reviewed_on = timezone.localdate(review.completed_at) if review else None
    if day and reviewed_on and day < reviewed_on:
        errors["start"] = [_("公示开始日期不能早于审核审查完成的日期（%(d)s）。") % {"d": reviewed_on.isoformat()}]
    if errors:
        raise ExitError([], fields=errors)
    case.notice_started_on = day
    case.version += 1
    case._history_user = by
    case._change_reason = change_reasons.stored(change_reasons.NOTICE_OPENED)
    case.save()
    return case


@transaction.atomic
def objection_add(*, by: User, case: ExitCase, content: str, raised_on=None, raised_by_name: str = "") -> Objection:
    case = ExitCase.objects.select_for_update().get(pk=case.pk)
    _require_scope(by, case)
    if case.current_step != Step.NOTICE or case.notice_started_on is None:
        raise ExitError(_("只有公示期间可以登记异议。"))
    errors: dict[str, list[str]] = {}
    if not str(content or "").strip():
        errors["content"] = [_("请填写异议内容。")]
    day = _date(raised_on or timezone.localdate(), _("提出日期"), errors, "raised_on", today=timezone.localdate())
    if errors:
        raise ExitError([], fields=errors)
    objection = Objection(
        case=case, raised_on=day, raised_by_name=str(raised_by_name or "").strip(), content=content.strip()
    )
    objection.recorded_by = by
    objection._history_user = by
    objection.save()
    return objection


@transaction.atomic
def objection_resolve(
    *, by: User, objection: Objection, upheld: bool, resolution: str, return_to: int = Step.VERIFY
) -> Objection:
    """Record how an objection was verified. An upheld objection sends the case back."""
    objection = Objection.objects.select_for_update().select_related("case").get(pk=objection.pk)
    case = objection.case
    _require_scope(by, case)
    if by.role not in REVIEWING_ROLES:
        raise ExitError(_("公示异议由镇办干部或县级审批人员核实处理。"))
    if objection.status != ObjectionStatus.OPEN:
        raise ExitError(_("该异议已处理。"))
    if not str(resolution or "").strip():
        raise ExitError([], fields={"resolution": [_("请填写核实处理情况。")]})
    objection.status = ObjectionStatus.UPHELD if upheld else ObjectionStatus.DISMISSED
    objection.resolution = resolution.strip()
    objection.resolved_by = by
    objection.resolved_at = timezone.now()
    objection._history_user = by
    objection.save()
    if upheld and case.current_step > return_to:
        # (A case already sent back by an earlier objection stays where it is.)
        case_return(
            by=by,
            case=case,
            to_step=return_to,
            reason=_("公示异议成立：%(r)s") % {"r": objection.resolution},
            via_objection=True,
        )
    return objection


@transaction.atomic
def case_return(*, by: User, case: ExitCase, to_step: int, reason: str, via_objection: bool = False) -> ExitCase:
    """Send a case back to an earlier step: that step and later ones are reset (their
    records stay as history) and must be done again. A reviewer returns only from a
    step of their own level (``return_refusal``); the case is re-measured, so a
    certification whose data changed since does not survive the return."""
    case = ExitCase.objects.select_for_update().select_related("campaign").get(pk=case.pk)
    _require_scope(by, case)
    if by.role not in REVIEWING_ROLES:
        raise ExitError(_("只有镇办干部或县级审批人员可以退回案件。"))
    if case.is_done:
        raise ExitError(_("该户已完成退出，不能退回。"))
    refusal = return_refusal(case, by=by, via_objection=via_objection)
    if refusal:
        raise ExitError(refusal)
    try:
        to_step = int(to_step)
    except (TypeError, ValueError):
        to_step = 0
    if not Step.VERIFY <= to_step < case.current_step:
        raise ExitError(
            [], fields={"to_step": [_("只能退回到当前步骤（第%(n)d步）之前的步骤。") % {"n": case.current_step}]}
        )
    if not str(reason or "").strip():
        raise ExitError([], fields={"reason": [_("请填写退回原因。")]})
    now = timezone.now()
    for record in case.steps.filter(is_reset=False, step__gte=to_step):
        record.is_reset, record.reset_at, record.reset_reason = True, now, reason.strip()
        record._history_user = by
        record.save()
    case.current_step = to_step
    if to_step <= Step.NOTICE:
        case.notice_started_on = None
    case.version += 1
    case._history_user = by
    case._change_reason = change_reasons.stored(
        change_reasons.RETURNED, s=to_step, label=Step(to_step).label, r=reason.strip()
    )
    case.save()
    criteria_refresh([case], by=by)
    return case


def return_refusal(case: ExitCase, *, by: User, via_objection: bool = False) -> str:
    """Returns stay within the returner's level (DOMAIN.md §4): a town official returns
    only a case waiting at a town step; undoing the county's approval is the county's
    act. An objection upheld during the notice returns the case as part of the notice
    step, whoever of the town or county resolved it."""
    if via_objection and case.current_step == Step.NOTICE:
        return ""
    level_role = case.campaign.role_for(case.current_step)
    if by.role != level_role:
        return _(
            "该户当前在第%(n)d步“%(label)s”（%(level)s步骤），只能由%(role)s角色退回；您只能退回停留在本级步骤的案件。"
        ) % {
            "n": case.current_step,
            "label": _step_label(case.current_step),
            "level": Level(case.campaign.level_of(case.current_step)).label,
            "role": Role(level_role).label,
        }
    return ""


# --- special situations -------------------------------------------------------------------


@transaction.atomic
def situation_investigate(
    *, by: User, campaign: Campaign, household: Household, kind: str, investigation: str
) -> SpecialSituation:
    """The village records what it found about a 失联 / 刑满释放 household."""
    if not by.can_write or not code_visible_to(by, household.village_id):
        raise ExitError(_("该户不在您的管辖范围内。"))
    if by.role not in (Role.VILLAGE_CADRE, Role.TOWN_OFFICIAL, Role.COUNTY_OFFICIAL):
        raise ExitError(_("调查核实情况由村、镇或县级人员登记。"))
    if kind not in SituationKind.values:
        raise ExitError([], fields={"kind": [_("请选择特殊情况类型。")]})
    if not str(investigation or "").strip():
        raise ExitError([], fields={"investigation": [_("请填写调查核实情况。")]})
    situation, _created = SpecialSituation.objects.get_or_create(
        campaign=campaign, household=household, kind=kind, defaults={"village_id": household.village_id}
    )
    if situation.decision:
        raise ExitError(_("县级已作出处理决定，不能再修改调查情况。"))
    situation.investigation = investigation.strip()
    situation.investigated_by = by
    situation._history_user = by
    situation.save()
    return situation


@transaction.atomic
def situation_decide(*, by: User, situation: SpecialSituation, decision: str, note: str = "") -> SpecialSituation:
    """A county official decides: proceed, defer, or not exiting this year."""
    situation = SpecialSituation.objects.select_for_update().get(pk=situation.pk)
    if not by.can_write or not code_visible_to(by, situation.village_id):
        raise ExitError(_("该户不在您的管辖范围内。"))
    if by.role != Role.COUNTY_OFFICIAL:
        raise ExitError(_("特殊情况的处理决定由县级审批人员作出。"))
    if not situation.investigation:
        raise ExitError(_("请先由村级登记调查核实情况，再作处理决定。"))
    if decision not in SituationDecision.values:
        raise ExitError([], fields={"decision": [_("请选择处理决定。")]})
    situation.decision = decision
    situation.decision_note = str(note or "").strip()
    situation.decided_by = by
    situation.decided_at = timezone.now()
    situation._history_user = by
    situation.save()
    return situation


# --- attachments --------------------------------------------------------------------------


@transaction.atomic
def attachment_add(
    *, by: User, case: ExitCase, upload: UploadedFile, step: int | None = None, criterion: str = ""
) -> Attachment:
    """Evidence for a step or a criterion: PDF, JPG or PNG, checked by content, size-limited."""
    _require_scope(by, case)
    name = upload.name or ""
    extension = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    if extension not in ATTACHMENT_TYPES:
        raise ExitError([], fields={"file": [_("附件只能是 PDF、JPG 或 PNG 文件。")]})
    if upload.size > settings.EXIT_ATTACHMENT_MAX_BYTES:
        limit = settings.EXIT_ATTACHMENT_MAX_BYTES // (1024 * 1024)
        raise ExitError([], fields={"file": [_("附件不能超过 %(n)d MB。") % {"n": limit}]})
    content_type, magics = ATTACHMENT_TYPES[extension]
    head = upload.read(16)
    upload.seek(0)
    if not any(head.startswith(magic) for magic in magics):
        raise ExitError([], fields={"file": [_("文件内容与扩展名不符，请上传真实的 PDF、JPG 或 PNG 文件。")]})
    if step is None and not criterion:
        raise ExitError(_("请说明附件属于哪个步骤或哪项标准。"))
    if step is not None and step not in Step.values:
        raise ExitError([], fields={"step": [_("步骤无效。")]})
    if criterion and criterion not in Criterion.values:
        raise ExitError([], fields={"criterion": [_("标准无效。")]})
    attachment = Attachment(
        case=case,
        step=step,
        criterion=criterion,
        token=uuid.uuid4().hex,
        original_name=name[:255],
        content_type=content_type,
        size=upload.size,
        uploaded_by=by,
    )
    attachment.file.save(name, upload, save=False)
    try:
        attachment.full_clean(exclude=["file"])
    except ValidationError as error:
        raise ExitError(error.messages) from error
    attachment.save()
    return attachment


def level_deadline_label(level: str) -> str:
    return str(Level(level).label)


# --- exits from before the system (历史脱贫登记) ---------------------------------------------


@transaction.atomic
def prior_exit_record(*, by: User, household: Household, year, document: str, note: str = "") -> PriorExit:
    """Record that ``household`` exited in ``year`` under ``document``, before the system
    was in use (a county loading its registry). Besides step 8 and a confirmed relapse,
    this is the one path that writes 脱贫状态 (DOMAIN.md §4), and it is the county's."""
    if not by.can_write:
        raise ExitError(_("市级督查账号为只读账号，不能修改数据。"))
    if by.role != Role.COUNTY_OFFICIAL:
        raise ExitError(_("历史脱贫由县级审批人员登记。"))
    if not code_visible_to(by, household.village_id):
        raise ExitError(_("该户不在您的管辖范围内。"))
    household = Household.objects.select_for_update().get(pk=household.pk)
    if household.exit_status != ExitStatus.NOT_EXITED:
        raise ExitError(
            _("该户脱贫状态为“%(s)s”（%(y)s年），不能再登记历史脱贫。")
            % {"s": household.get_exit_status_display(), "y": household.exit_year}
        )
    if household.exit_cases.exists():
        raise ExitError(_("该户已纳入退出批次，脱贫状态由退出程序产生，不能登记历史脱贫。"))
    errors: dict[str, list[str]] = {}
    this_year = timezone.localdate().year
    try:
        year = int(str(year).strip().removesuffix("年"))
    except (TypeError, ValueError):
        year = None
    if year is None or not 2014 <= year <= this_year:
        errors["year"] = [_("脱贫年度应为2014年至%(y)d年之间的年份。") % {"y": this_year}]
    elif year <= household.identification_year:
        # A household cannot exit in the year it was identified (DOMAIN.md §3).
        errors["year"] = [_("脱贫年度必须晚于识别年度（%(y)d年）。") % {"y": household.identification_year}]
    document = " ".join(str(document or "").split())
    if not document:
        errors["document"] = [_("请填写批准退出的文件名称及文号。")]
    elif len(document) > PriorExit._meta.get_field("document").max_length:
        errors["document"] = [_("依据文件最多200个字符。")]
    for name, value in (("document", document), ("note", str(note or ""))):
        if has_control_characters(value):
            errors.setdefault(name, []).append(_(CONTROL_CHARACTERS))
    if errors:
        raise ExitError([], fields=errors)
    record = PriorExit(household=household, year=year, document=document, note=str(note or "").strip(), recorded_by=by)
    record._history_user = by
    record.save()
    household.exit_status, household.exit_year = ExitStatus.EXITED, year
    household.version += 1
    household._history_user = by
    household._change_reason = change_reasons.stored(change_reasons.PRIOR_EXIT, d=document)
    household.save()
    return record


def prior_exits_record(*, by: User, numbers: Iterable[str], year, document: str, note: str = "") -> list[BatchOutcome]:
    """Many households of one approval document (a county's past exits are approved by
    year, one document for a list): each succeeds or fails with its reason."""
    outcomes = []
    visible = Household.objects.visible_to(by)
    for number in dict.fromkeys(n.strip() for n in numbers if n and n.strip()):
        household = visible.filter(number=number).first()
        if household is None:
            outcomes.append(BatchOutcome(number, error=_("户编号不存在或不在您的管辖范围内。")))
            continue
        head = household.head_name or ""
        try:
            prior_exit_record(by=by, household=household, year=year, document=document, note=note)
            outcomes.append(BatchOutcome(number, head_name=head))
        except ExitError as error:
            outcomes.append(BatchOutcome(number, error="；".join(error.all_messages), head_name=head))
    return outcomes
