"""Writes to monitoring cases (DOMAIN.md §5); every rule lives here once, with its
Chinese message, for the pages, the API and the scans.

Stages: 全面排查 (screening, the village or town checks the household) → 综合研判
(submitted for the county's decision) → the county confirms (精准帮扶) or dismisses
with a reason → 动态销号 once the risk is gone, refused while the household's income
is below the monitoring line or one of the five criteria fails.

While a confirmed case is assisted, the county may confirm that the exited household
has fallen back into poverty (返贫): the one path that writes 返贫 to the household.
"""

from __future__ import annotations

import datetime
from collections import defaultdict
from decimal import Decimal

from django.db import transaction
from django.utils import timezone
from django.utils.text import Truncator
from django.utils.translation import gettext as _
from simple_history.utils import bulk_create_with_history, bulk_update_with_history

from accounts.models import Role, User
from core import change_reasons
from core.bulk import batch_size, in_chunks, update_batch_size
from core.errors import Refusal
from households.models import ExitStatus, Household
from monitoring.models import (
    DEVELOPMENT_MEASURES,
    MAX_RISK_TYPES,
    OPEN_STAGES,
    Category,
    Channel,
    Finding,
    Measure,
    MeasureType,
    MonitoringCase,
    MonitoringSettings,
    RelapseRecord,
    ResponsibleUnit,
    RiskType,
    Stage,
)
from regions.scoping import code_visible_to

WORKING_AGE = (16, 59)


class MonitoringError(Refusal):
    """A monitoring action is refused; ``messages`` say why, field by field where there is one."""


def _category_for(household: Household) -> str:
    return Category.UNSTABLE if household.exit_status in (ExitStatus.EXITED, ExitStatus.RETURNED) else Category.MARGINAL


# --- findings: every channel ends here ---------------------------------------------------------


@transaction.atomic
def findings_record(specs, *, today: datetime.date | None = None, channel: str = Channel.SYSTEM, by=None) -> dict:
    """Record findings (``monitoring.scans.FindingSpec``) not seen before: each joins its
    household's open case, or opens a candidate (全面排查). Set-based; idempotent."""
    today = today or timezone.localdate()
    now = timezone.now()
    specs = {spec.key: spec for spec in specs}
    seen: set[str] = set()
    for chunk in in_chunks(specs):
        seen |= set(Finding.objects.filter(key__in=chunk).values_list("key", flat=True))
    new = [spec for key, spec in specs.items() if key not in seen]
    if not new:
        return {"findings": 0, "opened": 0, "joined": 0}
    by_household: dict[int, list] = defaultdict(list)
    for spec in new:
        by_household[spec.household_id].append(spec)
    open_cases: dict[int, MonitoringCase] = {}
    households: dict[int, Household] = {}
    for chunk in in_chunks(by_household):
        for case in MonitoringCase.objects.filter(household_id__in=chunk, stage__in=OPEN_STAGES):
            open_cases[case.household_id] = case
        for household in Household.objects.filter(pk__in=chunk).only("pk", "village_id", "exit_status"):
            households[household.pk] = household
    response_days = MonitoringSettings.current().response_days
    to_open = []
    changed = []
    for household_id, found in by_household.items():
        risks = list(dict.fromkeys(spec.risk_type for spec in found))
        case = open_cases.get(household_id)
        if case is None:
            household = households[household_id]
            to_open.append(
                MonitoringCase(
                    household_id=household_id,
                    village_id=household.village_id,
                    category=_category_for(household),
                    channel=channel,
                    risk_types=risks[:MAX_RISK_TYPES],
                    discovered_on=today,
                    response_due=today + datetime.timedelta(days=response_days),
                    description="；".join(dict.fromkeys(spec.detail for spec in found)),
                    created_by=by,
                )
            )
        else:
            merged = list(dict.fromkeys([*case.risk_types, *risks]))[:MAX_RISK_TYPES]
            if merged != case.risk_types:
                case.risk_types = merged
                changed.append(case)
    reason = change_reasons.stored("%(channel)s", channel=Channel(channel).label)
    opened = bulk_create_with_history(
        to_open, MonitoringCase, batch_size=batch_size(), default_user=by, default_change_reason=reason
    )
    if opened and opened[0].pk is None:
        ids = {}
        for chunk in in_chunks([c.household_id for c in opened]):
            ids |= dict(
                MonitoringCase.objects.filter(household_id__in=chunk, stage=Stage.SCREENING).values_list(
                    "household_id", "pk"
                )
            )
        for case in opened:
            case.pk = ids[case.household_id]
    for case in opened:
        open_cases[case.household_id] = case
    if changed:
        bulk_update_with_history(
            changed, MonitoringCase, ["risk_types"], batch_size=update_batch_size(), default_user=by
        )
    Finding.objects.bulk_create(
        [
            Finding(
                case_id=open_cases[spec.household_id].pk,
                key=spec.key,
                channel=channel,
                risk_type=spec.risk_type,
                detail=spec.detail,
                found_at=now,
                recorded_by=by,
            )
            for spec in new
        ],
        batch_size=batch_size(),
    )
    return {"findings": len(new), "opened": len(opened), "joined": len(by_household) - len(opened)}


def _require(by: User, case_or_household, roles) -> None:
    village = case_or_household.village_id
    if not by.can_write:
        raise MonitoringError(_("市级督查账号为只读账号，不能修改数据。"))
    if not code_visible_to(by, village):
        raise MonitoringError(_("该户不在您的管辖范围内。"))
    if roles and by.role not in roles:
        labels = "、".join(str(Role(r).label) for r in roles)
        raise MonitoringError(_("此操作由%(roles)s办理。") % {"roles": labels})


def _risk_types(values) -> list[str]:
    values = list(dict.fromkeys(values or []))
    bad = [v for v in values if v not in RiskType.values]
    if bad or not values:
        raise MonitoringError([], fields={"risk_types": [_("请选择风险类型。")]})
    if len(values) > MAX_RISK_TYPES:
        raise MonitoringError([], fields={"risk_types": [_("风险类型最多选择%(n)d项。") % {"n": MAX_RISK_TYPES}]})
    return values


def case_report(*, by: User, household: Household, channel: str, risk_types, description: str) -> MonitoringCase:
    """A self-declaration recorded by a cadre, or a town/village assessment entry."""
    from monitoring.scans import FindingSpec

    _require(by, household, (Role.VILLAGE_CADRE, Role.TOWN_OFFICIAL))
    if channel not in (Channel.SELF_DECLARED, Channel.ASSESSMENT):
        raise MonitoringError([], fields={"channel": [_("请选择发现渠道：自我申报或镇村研判。")]})
    risks = _risk_types(risk_types)
    if not str(description or "").strip():
        raise MonitoringError([], fields={"description": [_("请填写风险情况说明。")]})
    now = timezone.now()
    specs = [
        FindingSpec(f"{channel}:{household.pk}:{now:%Y%m%d%H%M%S%f}:{risk}", household.pk, risk, description.strip())
        for risk in risks
    ]
    findings_record(specs, channel=channel, by=by)
    return MonitoringCase.objects.get(household=household, stage__in=OPEN_STAGES)


# --- stages ----------------------------------------------------------------------------------


@transaction.atomic
def case_submit(*, by: User, case: MonitoringCase, note: str) -> MonitoringCase:
    """全面排查 done: the village or town submits the case for the county's decision."""
    case = MonitoringCase.objects.select_for_update().get(pk=case.pk)
    _require(by, case, (Role.VILLAGE_CADRE, Role.TOWN_OFFICIAL))
    if case.stage != Stage.SCREENING:
        raise MonitoringError(_("只有“全面排查”阶段的对象可以提交研判。"))
    if not str(note or "").strip():
        raise MonitoringError([], fields={"note": [_("请填写排查情况。")]})
    case.screening_note = note.strip()
    case.stage = Stage.ASSESSMENT
    case.assessed_by, case.assessed_at = by, timezone.now()
    case._history_user = by
    case.save()
    return case


@transaction.atomic
def case_decide(
    *, by: User, case: MonitoringCase, confirm: bool, reason: str, risk_types=None, category: str | None = None
) -> MonitoringCase:
    """综合研判: the county confirms the risk (→ 精准帮扶) or dismisses it, with a reason."""
    case = MonitoringCase.objects.select_for_update().get(pk=case.pk)
    _require(by, case, (Role.COUNTY_OFFICIAL,))
    if case.stage not in (Stage.SCREENING, Stage.ASSESSMENT):
        raise MonitoringError(_("该对象已作出研判决定。"))
    if not str(reason or "").strip():
        raise MonitoringError([], fields={"reason": [_("请填写研判意见。")]})
    if confirm:
        if risk_types is not None:
            case.risk_types = _risk_types(risk_types)
        if category is not None:
            if category not in Category.values:
                raise MonitoringError([], fields={"category": [_("请选择监测对象类别。")]})
            case.category = category
    case.stage = Stage.ASSISTANCE if confirm else Stage.DISMISSED
    case.decision_reason = reason.strip()
    case.decided_by, case.decided_at = by, timezone.now()
    case._history_user = by
    case.save()
    return case


@transaction.atomic
def units_set(*, by: User, case: MonitoringCase, units: list[dict]) -> list[ResponsibleUnit]:
    """The responsible units and people; exactly one of them leads (涉及多方有人主责)."""
    case = MonitoringCase.objects.select_for_update().get(pk=case.pk)
    _require(by, case, (Role.VILLAGE_CADRE, Role.TOWN_OFFICIAL, Role.COUNTY_OFFICIAL))
    if case.stage not in OPEN_STAGES:
        raise MonitoringError(_("该监测对象已销号或排除，不能再修改责任单位。"))
    errors = []
    cleaned = []
    for i, unit in enumerate(units, start=1):
        name, person = str(unit.get("unit") or "").strip(), str(unit.get("person") or "").strip()
        phone = str(unit.get("phone") or "").strip()
        if not name or not person:
            errors.append(_("第%(n)d行：请填写责任单位和责任人。") % {"n": i})
        for value, model_field in ((name, "unit"), (person, "person"), (phone, "phone")):
            limit = ResponsibleUnit._meta.get_field(model_field).max_length
            if len(value) > limit:
                label = ResponsibleUnit._meta.get_field(model_field).verbose_name
                errors.append(_("第%(n)d行：%(label)s最多%(max)d个字符。") % {"n": i, "label": label, "max": limit})
        cleaned.append(
            ResponsibleUnit(
                case=case, unit=name, person=person, phone=phone,
                is_lead=bool(unit.get("is_lead")),
            )
        )  # fmt: skip
    if not cleaned:
        errors.append(_("请至少填写一个责任单位。"))
    leads = sum(1 for u in cleaned if u.is_lead)
    if cleaned and leads != 1:
        errors.append(_("多个责任单位时必须有且只有一个牵头单位（当前%(n)d个）。") % {"n": leads})
    if errors:
        raise MonitoringError(errors)
    for old in case.responsible_units.all():
        old._history_user = by
        old.delete()
    for unit in cleaned:
        unit._history_user = by
        unit.save()
    return cleaned


@transaction.atomic
def measure_add(*, by: User, case: MonitoringCase, data: dict) -> Measure:
    case = MonitoringCase.objects.select_for_update().get(pk=case.pk)
    _require(by, case, (Role.VILLAGE_CADRE, Role.TOWN_OFFICIAL, Role.COUNTY_OFFICIAL))
    if case.stage != Stage.ASSISTANCE:
        raise MonitoringError(_("县级确认为监测对象后才能制定帮扶措施。"))
    errors: dict[str, list[str]] = {}
    if data.get("type") not in MeasureType.values:
        errors["type"] = [_("请选择帮扶措施类型。")]
    for name, label in (("content", _("措施内容")), ("responsible_person", _("责任人"))):
        if not str(data.get(name) or "").strip():
            errors[name] = [_("请填写%(label)s。") % {"label": label}]
    due = data.get("due_on")
    if isinstance(due, str):
        try:
            due = datetime.date.fromisoformat(due)
        except ValueError:
            due = None
    if not isinstance(due, datetime.date):
        errors["due_on"] = [_("请填写完成时限。")]
    if errors:
        raise MonitoringError([], fields=errors)
    measure = Measure(
        case=case,
        type=data["type"],
        content=str(data["content"]).strip(),
        responsible_person=str(data["responsible_person"]).strip(),
        due_on=due,
    )
    measure._history_user = by
    measure.save()
    return measure


@transaction.atomic
def measure_done(*, by: User, measure: Measure, done_on: datetime.date | None = None) -> Measure:
    _require(by, measure.case, (Role.VILLAGE_CADRE, Role.TOWN_OFFICIAL, Role.COUNTY_OFFICIAL))
    if measure.done_on is not None:
        raise MonitoringError(_("该措施已于%(d)s完成。") % {"d": measure.done_on.isoformat()})
    measure.done_on = done_on or timezone.localdate()
    measure._history_user = by
    measure.save()
    return measure


def has_working_age_labour(household: Household, *, today: datetime.date) -> bool:
    from households.idnumbers import age_on
    from households.models import LabourSkill

    low, high = WORKING_AGE
    return any(
        low <= age_on(m.birth_date, today) <= high and m.labour_skill in (LabourSkill.ORDINARY, LabourSkill.SKILLED)
        for m in household.members.all()
    )


def case_problems(case: MonitoringCase, *, today: datetime.date | None = None) -> list[str]:
    """What the rules of DOMAIN.md §5 say is missing on an open case (shown on its page)."""
    today = today or timezone.localdate()
    problems = []
    if case.stage == Stage.ASSISTANCE:
        units = list(case.responsible_units.all())
        if not units:
            problems.append(_("尚未落实责任单位和责任人。"))
        elif sum(1 for u in units if u.is_lead) != 1:
            problems.append(_("多个责任单位时必须有且只有一个牵头单位。"))
        measures = list(case.measures.all())
        if has_working_age_labour(case.household, today=today) and not any(
            m.type in DEVELOPMENT_MEASURES for m in measures
        ):
            problems.append(_("该户有劳动年龄内的劳动力，须有产业、就业、金融或公益岗位等开发式帮扶措施。"))
    return problems


def close_refusals(case: MonitoringCase, *, today: datetime.date | None = None) -> list[str]:
    """Closing (风险消除) needs income stably above the monitoring line and the five
    criteria holding again (DOMAIN.md §5)."""
    from monitoring.scans import criteria_findings, income_findings

    today = today or timezone.localdate()
    reasons = []
    if case.stage != Stage.ASSISTANCE:
        return [_("只有“精准帮扶”阶段的监测对象可以销号。")]
    rules = MonitoringSettings.current()
    household_only = Household.objects.filter(pk=case.household_id).values("pk")
    from households.models import IncomeRecord

    if not IncomeRecord.objects.filter(household_id=case.household_id).exists():
        reasons.append(_("尚无收入记录，不能说明收入已稳定超过监测线。"))
    for finding in income_findings(rules, household_only):
        if finding.key.startswith("income_low:"):
            reasons.append(_("收入尚未稳定超过监测线：%(d)s") % {"d": finding.detail})
    for finding in criteria_findings(household_only, today=today):
        reasons.append(_("两不愁三保障仍有问题：%(d)s") % {"d": finding.detail})
    if not case.measures.exists():
        reasons.append(_("尚未落实帮扶措施。"))
    elif case.measures.filter(done_on__isnull=True).exists():
        reasons.append(_("还有帮扶措施未完成。"))
    return reasons


@transaction.atomic
def case_close(*, by: User, case: MonitoringCase, closed_on, method: str) -> MonitoringCase:
    """动态销号: the risk is gone; records the date and how."""
    case = MonitoringCase.objects.select_for_update().get(pk=case.pk)
    _require(by, case, (Role.TOWN_OFFICIAL, Role.COUNTY_OFFICIAL))
    errors: dict[str, list[str]] = {}
    if isinstance(closed_on, str):
        try:
            closed_on = datetime.date.fromisoformat(closed_on)
        except ValueError:
            closed_on = None
    if not isinstance(closed_on, datetime.date):
        errors["closed_on"] = [_("请填写销号日期。")]
    elif closed_on > timezone.localdate():
        errors["closed_on"] = [_("销号日期不能晚于今天。")]
    elif closed_on < case.discovered_on:
        errors["closed_on"] = [_("销号日期不能早于发现日期（%(d)s）。") % {"d": case.discovered_on.isoformat()}]
    if not str(method or "").strip():
        errors["method"] = [_("请填写风险消除方式。")]
    reasons = close_refusals(case)
    if reasons or errors:
        raise MonitoringError(reasons, fields=errors)
    case.stage = Stage.CLOSED
    case.closed_on, case.close_method, case.closed_by = closed_on, method.strip(), by
    case._history_user = by
    case.save()
    return case


# --- relapse (返贫) ----------------------------------------------------------------------------


def relapse_refusals(case: MonitoringCase) -> list[str]:
    """Why a relapse cannot be confirmed on ``case`` now, whoever asks (the page shows
    these before anyone submits). A relapse is a finding about a risk the county has
    already confirmed (综合研判 → 精准帮扶, DOMAIN.md §5); a dismissed risk was judged
    not to exist and a closed one to be gone, so neither can carry it."""
    if case.stage == Stage.DISMISSED:
        return [_("该监测对象已研判排除，不能认定返贫。")]
    if case.stage == Stage.CLOSED:
        return [_("该监测对象已销号，不能认定返贫。")]
    if case.stage != Stage.ASSISTANCE:
        return [_("县级综合研判确认为监测对象后，才能认定返贫。")]
    if case.household.exit_status != ExitStatus.EXITED:
        return [
            _("只有已脱贫户可以认定返贫；该户脱贫状态为“%(status)s”。")
            % {"status": ExitStatus(case.household.exit_status).label}
        ]
    return []


def latest_income(household: Household) -> tuple[int, Decimal, Decimal] | None:
    """(year, per-capita net income, poverty line) of the household's latest income
    ledger year, or None without one: what the county sees when it decides."""
    from households.models import IncomeRecord

    record = IncomeRecord.objects.filter(household=household).order_by("-year").first()
    if record is None:
        return None
    return record.year, record.per_capita, MonitoringSettings.current().base_line


@transaction.atomic
def relapse_confirm(*, by: User, case: MonitoringCase, reason: str) -> RelapseRecord:
    """The county confirms that the exited household of ``case`` has fallen back into
    poverty: 脱贫状态 becomes 返贫 (脱贫年度 stays — it did exit that year), recorded
    with who, when, why and the income that stood then."""
    case = MonitoringCase.objects.select_for_update().select_related("household").get(pk=case.pk)
    _require(by, case, (Role.COUNTY_OFFICIAL,))
    # The household row is locked too: step 8 of an exit case writes the same column.
    case.household = Household.objects.select_for_update().get(pk=case.household_id)
    household = case.household
    refusals = relapse_refusals(case)
    reason = str(reason or "").strip()
    fields = {} if reason else {"reason": [_("请填写返贫认定理由。")]}
    if refusals or fields:
        raise MonitoringError(refusals, fields=fields)
    income = latest_income(household)
    now = timezone.now()
    record = RelapseRecord(
        household=household,
        case=case,
        exit_year=household.exit_year,
        reason=reason,
        confirmed_by=by,
        confirmed_at=now,
    )
    if income is not None:
        record.income_year, record.per_capita_income, record.income_line = income
    record._history_user = by
    record._change_reason = Truncator(change_reasons.stored(change_reasons.RELAPSE, r=reason)).chars(100)
    record.full_clean()
    record.save()
    household.exit_status = ExitStatus.RETURNED
    household.version += 1
    household._history_user = by
    # simple-history keeps at most 100 characters of a change reason.
    household._change_reason = Truncator(
        change_reasons.stored(change_reasons.RELAPSE_HOUSEHOLD, d=timezone.localdate(now).isoformat(), r=reason)
    ).chars(100)
    household.save(update_fields=["exit_status", "version", "updated_at"])
    return record
