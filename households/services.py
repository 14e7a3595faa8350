"""Writes to the registry (建档立卡). Every data rule of DOMAIN.md §2 lives here, once:
forms, the API and the Excel import all call these services with plain dicts and get
the same Chinese messages back. Every text field passes the one normaliser
(households/normalize.py) here, whichever path it came by.

脱贫状态 and 脱贫年度 are the exit workflow's outcome (DOMAIN.md §4), not registry data:
these services keep them as they are and refuse a different value, whoever sends it.
Every write re-measures the household's open exit case in the same transaction
(``exits.services.cases_remeasure``), so a certification of data that changed lapses.

Errors come back as ``RegistryError``: messages per household field, per member row
(by position in the submitted list) and for the household as a whole, so a form can
put each message next to its input and an import can name the row.
"""

from __future__ import annotations

import functools
import threading
from dataclasses import dataclass, field
from datetime import date, timedelta

from django.conf import settings
from django.core.exceptions import FieldDoesNotExist, ValidationError
from django.db import IntegrityError, models, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop
from simple_history.utils import bulk_create_with_history, bulk_update_with_history

from accounts.models import User
from core import change_reasons
from core.bulk import batch_size, update_batch_size
from core.deletion import deletion_check
from core.errors import ProtectedRecords, Refusal
from exits.services import cases_remeasure
from households.idnumbers import age_on, mask_id_number, parse_id_number, validate_mobile
from households.models import (
    ExitStatus,
    Household,
    HousingAppraisal,
    IncomeRecord,
    LabourSkill,
    Member,
    MemberTransfer,
    PersonalDataAccess,
    PovertyCause,
    Relationship,
    WaterAssessment,
)
from households.normalize import clean_text, kind_of
from regions.models import Region

HOUSEHOLD_FIELDS = [
    "number", "village", "group_no", "phone", "identification_standard", "attribute", "main_cause",
    "other_causes", "identification_year", "exit_status", "exit_year", "is_relocated", "relocation_mode",
    "helper_name", "helper_unit", "helper_phone", "lost_contact", "released_prisoner", "special_notes",
]  # fmt: skip
MEMBER_FIELDS = [
    "name", "id_number", "relationship", "ethnicity", "political_status", "education", "schooling",
    "has_chronic_disease", "has_serious_illness", "is_disabled", "disability_category", "disability_grade",
    "labour_skill", "work_status", "work_place", "work_months", "employer", "medical_insurance",
    "critical_illness_insurance", "family_doctor", "is_dibao", "is_tekun",
]  # fmt: skip
# The exit workflow's outcome (DOMAIN.md §4): only step 8 (系统标注) sets 已脱贫 and only a
# confirmed relapse sets 返贫. The registry shows them and refuses a different value.
OUTCOME_FIELDS = ("exit_status", "exit_year")
EXIT_STATUS_READ_ONLY = gettext_noop(
    "脱贫状态由退出程序产生：完成第8步“系统标注”设为已脱贫，防返贫监测确认返贫设为返贫，不能在此修改；"
    "系统启用前已脱贫的户，请由县级审批人员在“历史脱贫登记”中录入。"
)
EXIT_YEAR_READ_ONLY = gettext_noop(
    "脱贫年度由退出程序产生：完成第8步“系统标注”时记为该次退出的年度，不能在此修改；"
    "系统启用前已脱贫的户，请由县级审批人员在“历史脱贫登记”中录入。"
)


@dataclass
class RegistryError(Exception):
    """What is wrong with a household and its members, each message naming its field."""

    household: dict[str, list[str]] = field(default_factory=dict)
    members: dict[int, dict[str, list[str]]] = field(default_factory=dict)
    general: list[str] = field(default_factory=list)
    # The model whose fields ``household`` names: a ledger service's errors are about
    # an IncomeRecord, HousingAppraisal or WaterAssessment, labelled from that model.
    model: type = Household
    # "Registered elsewhere" answers these errors give, to be recorded as PersonalDataAccess
    # rows once the refused write has rolled back (_records_existence_answers).
    existence_answers: list[IdClash] = field(default_factory=list)

    def add(self, field_name: str | None, message: str, *, member: int | None = None) -> None:
        if member is not None:
            self.members.setdefault(member, {}).setdefault(field_name or "__all__", []).append(message)
        elif field_name:
            self.household.setdefault(field_name, []).append(message)
        else:
            self.general.append(message)

    def __bool__(self) -> bool:
        return bool(self.household or self.members or self.general)

    def messages(self) -> list[str]:
        """Flat list of "字段：消息" lines, for API responses, imports and logs."""
        out = list(self.general)
        for name, msgs in self.household.items():
            out += [f"{_label(self.model, name)}：{m}" for m in msgs]
        for index, fields in sorted(self.members.items()):
            for name, msgs in fields.items():
                prefix = _("第%(n)d个成员") % {"n": index + 1}
                label = "" if name == "__all__" else _label(Member, name)
                out += [f"{prefix}{label and ' ' + label}：{m}" for m in msgs]
        return out

    def __str__(self) -> str:
        return "；".join(self.messages())


class ConcurrentEditError(Exception):
    """Someone else saved the household after this edit began."""


class RegistryLookups:
    """The registry facts the §2 rules consult, asked one household at a time.

    Forms and the API use this class; the Excel import hands the same rules a
    ``PreloadedLookups`` (households/import_plan.py) that answers from a few set-based
    queries for the whole file. Either way the rules themselves are written once.
    """

    def __init__(self, by: User):
        self.by = by
        self._existence_allowance: int | None = None

    def existence_allowance(self) -> int:
        """How many more "registered elsewhere" answers the user may be given now
        (settings.PERSONAL_DATA_LIMITS["exists"]); asked once, then counted down."""
        if self._existence_allowance is None:
            self._existence_allowance = personal_data_allowance(by=self.by, action=PersonalDataAccess.Action.EXISTS)
        return self._existence_allowance

    def existence_spend(self) -> None:
        self._existence_allowance = self.existence_allowance() - 1

    def number_taken(self, number: str, *, exclude_pk: int | None) -> bool:
        return Household.objects.filter(number=number).exclude(pk=exclude_pk).exists()

    def village(self, code: str) -> Region | None:
        return Region.objects.filter(code=code).first()

    def village_visible(self, village: Region) -> bool:
        return Region.objects.visible_to(self.by).filter(code=village.code).exists()

    def id_clashes(self, numbers: list[str], *, keep_pks: list[int]) -> list[IdClash]:
        """Members registered under any of ``numbers``, other than ``keep_pks``."""
        clashes = Member.objects.filter(id_number__in=numbers).exclude(pk__in=keep_pks).select_related("household")
        visible = set(Member.objects.visible_to(self.by).filter(id_number__in=numbers).values_list("pk", flat=True))
        return [IdClash(m.id_number, m.household.number, m.name, m.pk in visible, m.pk) for m in clashes]


@dataclass(frozen=True)
class IdClash:
    id_number: str
    household_number: str
    name: str
    visible: bool
    member_pk: int | None = None


def _label(model, name: str) -> str:
    if name == "members":
        return str(_("家庭成员"))
    try:
        return str(model._meta.get_field(name).verbose_name)
    except Exception:  # noqa: BLE001 - a pseudo-field such as "members"
        return name


# --- validation ---------------------------------------------------------------


def _clean_household(
    data: dict,
    *,
    by: User,
    instance: Household | None,
    errors: RegistryError,
    lookups: RegistryLookups | None = None,
) -> dict:
    lookups = lookups or RegistryLookups(by)
    data = {k: data[k] for k in HOUSEHOLD_FIELDS if k in data}
    _normalize_text_fields(Household, data, errors)
    _keep_outcome(data, instance=instance, errors=errors)
    # A field whose text was refused (control characters) is not looked up or checked
    # further: its one message says what to fix, and PostgreSQL cannot compare a NUL.
    refused = set(errors.household)
    for key, label in (("phone", _("联系电话")), ("helper_phone", _("帮扶责任人电话"))):
        if key in refused:
            continue
        try:
            data[key] = validate_mobile(data.get(key, ""), label=label)
        except ValidationError as exc:
            errors.add(key, exc.messages[0])
    number = str(data.get("number") or "")
    data["number"] = number
    if "number" not in refused:
        if not number:
            errors.add("number", _("请填写户编号。"))
        elif lookups.number_taken(number, exclude_pk=getattr(instance, "pk", None)):
            errors.add("number", _("户编号 %(n)s 已存在，不能重复登记。") % {"n": number})
    group_no = data.get("group_no")
    if group_no in (None, "") or int(group_no) < 1:
        errors.add("group_no", _("村民小组应为正整数。"))
    if "village" not in refused:
        village = data.get("village")
        if isinstance(village, str):
            village = lookups.village(village)
            data["village"] = village
        if village is None:
            errors.add("village", _("请选择所属村。"))
        elif village.level != Region.Level.VILLAGE:
            errors.add("village", _("所属村必须是村或社区一级的区划。"))
        elif not lookups.village_visible(village):
            errors.add("village", _("所选村不在您的管辖范围内。"))
    other = list(data.get("other_causes") or [])
    bad = [c for c in other if c not in PovertyCause.values]
    if bad:
        errors.add("other_causes", _("其他致贫原因包含无效选项：%(v)s。") % {"v": "、".join(map(str, bad))})
    if data.get("main_cause") and data["main_cause"] in other:
        errors.add("other_causes", _("其他致贫原因不能与主要致贫原因重复。"))
    data["other_causes"] = list(dict.fromkeys(other))
    this_year = timezone.localdate().year
    year = data.get("identification_year")
    exit_year = data["exit_year"]
    if not _blank(year) and not (2013 <= int(year) <= this_year):
        errors.add("identification_year", _("识别年度应在2013年至%(y)d年之间。") % {"y": this_year})
    elif not _blank(year) and exit_year is not None and int(year) >= exit_year:
        # A household identified in a year cannot exit in that same year (DOMAIN.md §3); the
        # exit year is the workflow's, so it is the identification year that is wrong.
        errors.add("identification_year", _("识别年度必须早于该户的脱贫年度（%(y)d年）。") % {"y": exit_year})
    if data.get("is_relocated") and not data.get("relocation_mode"):
        errors.add("relocation_mode", _("易地扶贫搬迁户必须选择搬迁方式。"))
    if not data.get("is_relocated"):
        data["relocation_mode"] = ""
    if (data.get("lost_contact") or data.get("released_prisoner")) and not str(data.get("special_notes", "")).strip():
        errors.add("special_notes", _("标记为失联人员或刑满释放人员时，请填写特殊情况说明。"))
    _check_field_limits(Household, data, errors)
    return data


def _clean_member(
    data: dict, *, index: int, existing: Member | None, today: date, errors: RegistryError
) -> dict | None:
    data = {k: data[k] for k in MEMBER_FIELDS if k in data}
    _normalize_text_fields(Member, data, errors, member=index)
    refused = set(errors.members.get(index, {}))
    data["name"] = str(data.get("name") or "")
    if not data["name"] and "name" not in refused:
        errors.add("name", _("请填写姓名。"), member=index)
    raw_id = data.get("id_number", "")
    if existing is not None and raw_id == mask_id_number(existing.id_number):
        # The form and the API show a masked number; sent back unchanged, it means "keep".
        raw_id = existing.id_number
    parsed = None
    if "id_number" not in refused:
        try:
            parsed = parse_id_number(raw_id, today=today)
        except ValidationError as exc:
            errors.add("id_number", exc.messages[0], member=index)
    if parsed:
        data.update(id_number=parsed.number, sex=parsed.sex, birth_date=parsed.birth_date)
    education, schooling = data.get("education") or "", data.get("schooling") or ""
    if bool(education) == bool(schooling):
        errors.add(
            "schooling" if education else "education",
            _("文化程度与在校生状况必须且只能填写一项：在校生填在校生状况，其他人填文化程度。"),
            member=index,
        )
    months = int(data.get("work_months") or 0)
    place = str(data.get("work_place") or "").strip()
    if not 0 <= months <= 12:
        errors.add("work_months", _("务工月数应在0到12之间。"), member=index)
    if months > 0 and not place:
        errors.add("work_place", _("务工月数大于0时必须填写务工地点。"), member=index)
    if months == 0 and place:
        errors.add("work_months", _("填写了务工地点时，务工月数应大于0。"), member=index)
    data.update(work_months=months, work_place=place)
    if data.get("is_disabled") and not data.get("disability_category"):
        errors.add("disability_category", _("残疾人员必须填写残疾类别。"), member=index)
    if not data.get("is_disabled"):
        data.update(disability_category="", disability_grade=None)
    elif data.get("disability_grade") not in (None, "") and not 1 <= int(data["disability_grade"]) <= 4:
        errors.add("disability_grade", _("残疾等级应为1至4级。"), member=index)
    healthy = not (data.get("has_chronic_disease") or data.get("has_serious_illness") or data.get("is_disabled"))
    working_age = parsed is not None and 16 <= age_on(parsed.birth_date, today) <= 59
    if working_age and healthy and not schooling and data.get("labour_skill") == LabourSkill.NONE:
        errors.add("labour_skill", _("16至59周岁、身体健康且不在校的成员不能登记为无劳动力。"), member=index)
    _check_field_limits(Member, data, errors, member=index)
    return data


def _blank(value) -> bool:
    return value is None or value == ""


def _normalize_text_fields(model, data: dict, errors: RegistryError, *, member: int | None = None) -> None:
    """Every free-text and code field of ``data`` through the one normaliser, in place;
    text with control characters becomes an error on its field. Choice fields hold
    codes, which the choices themselves check."""
    for name, value in data.items():
        if not isinstance(value, str):
            continue
        model_field = model._meta.get_field(name)
        if model_field.choices:
            continue
        try:
            data[name] = clean_text(value, kind_of(name, multiline=isinstance(model_field, models.TextField)))
        except ValidationError as exc:
            errors.add(name, exc.messages[0], member=member)


def _keep_outcome(data: dict, *, instance: Household | None, errors: RegistryError) -> None:
    """脱贫状态 and 脱贫年度 stay what they are (a new household: 未脱贫, no year), and a
    different value sent by any path is refused on its field (DOMAIN.md §4: the outcome
    belongs to the exit workflow). Sending the current value back is fine: a client
    echoing what it read, or a re-import of the registry's own ledger."""
    status = instance.exit_status if instance is not None else ExitStatus.NOT_EXITED
    year = instance.exit_year if instance is not None else None
    sent = data.get("exit_status")
    if not _blank(sent) and str(sent) != status:
        errors.add("exit_status", _(EXIT_STATUS_READ_ONLY))
    if "exit_year" in data and not _same_year(data["exit_year"], year):
        errors.add("exit_year", _(EXIT_YEAR_READ_ONLY))
    data.update(exit_status=status, exit_year=year)


def _same_year(value, year: int | None) -> bool:
    if _blank(value):
        return year is None
    try:
        return int(str(value).strip()) == year
    except ValueError:
        return False


SMALL_INTEGER_MAX = 32767  # PositiveSmallIntegerField's range on every supported database


def _check_field_limits(model, data: dict, errors: RegistryError, *, member: int | None = None) -> None:
    """What the database can hold: text lengths and small-integer ranges. Forms stop
    these in the browser; the Excel import and the API rely on this check."""
    for name, value in data.items():
        try:
            model_field = model._meta.get_field(name)
        except FieldDoesNotExist:
            continue
        if name in errors.household or name in errors.members.get(member, {}):
            continue  # the field already has a message
        if isinstance(value, str) and model_field.max_length and len(value) > model_field.max_length:
            errors.add(
                name,
                _("最多%(max)d个字符，当前为%(n)d个。") % {"max": model_field.max_length, "n": len(value)},
                member=member,
            )
        elif (
            isinstance(model_field, models.PositiveSmallIntegerField)
            and isinstance(value, int)
            and not 0 <= value <= SMALL_INTEGER_MAX
        ):
            errors.add(name, _("数值超出范围（0至%(max)d）。") % {"max": SMALL_INTEGER_MAX}, member=member)


def _check_family(members: dict[int, dict], errors: RegistryError) -> None:
    """Exactly one 户主, at most one 配偶, no ID number twice. ``members`` maps each
    row's position in the submitted list to its cleaned data (deleted rows left out)."""
    heads = [i for i, m in members.items() if m.get("relationship") == Relationship.HEAD]
    spouses = [i for i, m in members.items() if m.get("relationship") == Relationship.SPOUSE]
    if not heads:
        errors.add("members", _("每户必须有且只有一名户主，当前没有户主。"))
    for i in heads[1:]:
        errors.add("relationship", _("每户只能有一名户主。"), member=i)
    for i in spouses[1:]:
        errors.add("relationship", _("每户最多只能有一名配偶。"), member=i)
    seen: dict[str, int] = {}
    for i, m in members.items():
        number = m.get("id_number")
        if number and number in seen:
            errors.add("id_number", _("与第%(n)d个成员的证件号码重复。") % {"n": seen[number] + 1}, member=i)
        elif number:
            seen[number] = i


def _check_registry_duplicates(
    members: dict[int, dict],
    *,
    keep: list[Member],
    by: User,
    errors: RegistryError,
    lookups: RegistryLookups | None = None,
) -> None:
    """An ID number exists once in the whole registry (DOMAIN.md §2), also outside the
    user's region; then the message says so without saying where.

    That answer tells whoever asks that a person is registered somewhere in the city, so
    it is personal data (DOMAIN.md §9): each one is recorded, and a user who has had
    their share (settings.PERSONAL_DATA_LIMITS["exists"]) gets no more answers. From then
    on every number that is not already theirs to see is refused with the limit's
    message, whether it is registered elsewhere or not, so that the refusal itself
    tells nothing.
    """
    numbers = {m["id_number"]: i for i, m in members.items() if m.get("id_number")}
    if not numbers:
        return
    lookups = lookups or RegistryLookups(by)
    unchanged = {m.id_number for m in keep}
    clashes = {c.id_number: c for c in lookups.id_clashes(list(numbers), keep_pks=[m.pk for m in keep])}
    for number, index in numbers.items():
        clash = clashes.get(number)
        if clash is not None and clash.visible:
            errors.add(
                "id_number",
                _("该证件号码已登记在户 %(n)s（%(name)s），同一人只能登记一次；如该成员迁入本户，请使用成员转移。")
                % {"n": clash.household_number, "name": clash.name},
                member=index,
            )
        elif clash is None and number in unchanged:
            continue
        elif lookups.existence_allowance() <= 0:
            errors.add("id_number", personal_data_limit_message(PersonalDataAccess.Action.EXISTS, by=by), member=index)
        elif clash is not None:
            lookups.existence_spend()
            errors.existence_answers.append(clash)
            errors.add(
                "id_number",
                _("该证件号码已在其他地区登记，同一人只能登记一次；如该成员迁入本户，请联系其原户所在地办理成员转移。"),
                member=index,
            )


# How many registry services are running in this thread, one inside another.
_registry_depth = threading.local()


def _records_existence_answers(service):
    """Record the "registered elsewhere" answers of a refused registry write. The refusal
    rolls the service's transaction back, so the rows are written after it, by the
    outermost registry service (member_add runs household_update inside)."""

    @functools.wraps(service)
    def wrapper(*args, by: User, **kwargs):
        depth = getattr(_registry_depth, "value", 0)
        _registry_depth.value = depth + 1
        try:
            return service(*args, by=by, **kwargs)
        except RegistryError as error:
            if depth == 0:
                existence_answers_record(by=by, errors=error)
            raise
        finally:
            _registry_depth.value = depth

    return wrapper


def existence_answers_record(*, by: User, errors: RegistryError) -> None:
    """Write the "registered elsewhere" answers ``errors`` gave to ``by`` (once)."""
    if errors.existence_answers:
        personal_data_existence_record(by=by, clashes=errors.existence_answers)
        errors.existence_answers = []


# --- household with its members --------------------------------------------------


@_records_existence_answers
@transaction.atomic
def household_create(*, by: User, data: dict, members: list[dict]) -> Household:
    """Register a household with all its members, or nothing."""
    _require_writer(by)
    errors = RegistryError()
    today = timezone.localdate()
    household_data = _clean_household(data, by=by, instance=None, errors=errors)
    cleaned = {i: _clean_member(m, index=i, existing=None, today=today, errors=errors) for i, m in enumerate(members)}
    _check_family(cleaned, errors)
    _check_registry_duplicates(cleaned, keep=[], by=by, errors=errors)
    if errors:
        raise errors
    household = Household(**household_data)
    household._history_user = by
    _save(household, errors)
    _members_write(household, {i: (None, member_data) for i, member_data in cleaned.items()}, by=by, errors=errors)
    household.refresh_from_db(fields=["head_name"])  # set by the members' trigger (households.triggers)
    return household


@_records_existence_answers
@transaction.atomic
def household_update(
    *, by: User, household: Household, data: dict, members: list[dict] | None, version: int
) -> Household:
    """Save an edit of a household (and, when ``members`` is given, its member list).

    ``members`` items carry ``id`` for an existing member and ``DELETE: True`` to
    remove one; items without ``id`` are new. ``version`` is the household version the
    edit started from: if someone saved in between, the edit is refused.
    """
    _require_writer(by)
    locked = Household.objects.select_for_update().get(pk=household.pk)
    if locked.version != int(version):
        last = locked.history.select_related("history_user").first()
        who = str(last.history_user) if last and last.history_user else _("其他用户")
        when = timezone.localtime(locked.updated_at).strftime("%Y-%m-%d %H:%M")
        raise ConcurrentEditError(
            _("该户信息已被%(who)s于%(when)s修改，您的修改未保存。请刷新页面，在最新信息上重新修改。")
            % {"who": who, "when": when}
        )
    errors = RegistryError()
    today = timezone.localdate()
    merged = {name: getattr(locked, name) for name in HOUSEHOLD_FIELDS}
    merged.update({k: v for k, v in data.items() if k in HOUSEHOLD_FIELDS})
    household_data = _clean_household(merged, by=by, instance=locked, errors=errors)

    current = {m.pk: m for m in locked.members.all()}
    deleted: list[Member] = []
    # Position in the submitted list → (existing member or None, cleaned data).
    rows: dict[int, tuple[Member | None, dict]] = {}
    for index, item in enumerate(members or []):
        pk = item.get("id")
        existing = current.get(int(pk)) if pk not in (None, "") else None
        if pk not in (None, "") and existing is None:
            errors.add("members", _("成员记录不属于该户，请刷新页面后重试。"))
            continue
        if item.get("DELETE"):
            if existing:
                deleted.append(existing)
            continue
        rows[index] = (existing, _clean_member(item, index=index, existing=existing, today=today, errors=errors))
    if members is not None:
        cleaned = {index: data for index, (_existing, data) in rows.items()}
        _check_family(cleaned, errors)
        _check_registry_duplicates(cleaned, keep=[e for e, _d in rows.values() if e], by=by, errors=errors)
    if errors:
        raise errors

    for name, value in household_data.items():
        setattr(locked, name, value)
    locked.version += 1
    locked._history_user = by
    _save(locked, errors)
    for member in deleted:
        _member_delete_checked(member, by=by)
    # Swapped relationships (the spouse becomes 户主 and the old 户主 her spouse) would
    # trip the one-head / one-spouse unique constraints half-way through the saves:
    # park the rows whose relationship changes first. Their history rows are written
    # by the saves below, which store the final value.
    moving = [e.pk for e, data in rows.values() if e and e.relationship != data.get("relationship")]
    if moving:
        Member.objects.filter(pk__in=moving).update(relationship=Relationship.OTHER)
    _members_write(locked, rows, by=by, errors=errors)
    cases_remeasure(household_ids=[locked.pk], by=by)
    household.refresh_from_db()
    return household


def _members_write(household: Household, rows: dict[int, tuple[Member | None, dict]], *, by, errors) -> None:
    """Write the edited member list of ``household`` (locked by the caller) in a fixed
    number of statements, however many members it has (issue 17): a member whose data
    did not change is not written (and gets no history row); the changed ones are one
    batched UPDATE and the new ones one INSERT, each with their history rows."""
    concrete = {f.attname for f in Member._meta.concrete_fields} - {"id", "household_id", "created_at", "updated_at"}
    changed, created, written = [], [], set()
    now = timezone.now()
    for index, (existing, data) in rows.items():
        data = {name: value for name, value in data.items() if name in concrete}
        if existing is not None and all(getattr(existing, name) == value for name, value in data.items()):
            continue
        member = existing or Member(household=household)
        for name, value in data.items():
            setattr(member, name, value)
        member.updated_at = now
        try:
            # The household is the locked row itself: no need to ask the database for it.
            member.full_clean(exclude=["household"], validate_unique=False, validate_constraints=False)
        except ValidationError as exc:
            for name, msgs in exc.message_dict.items():
                for message in msgs:
                    errors.add(None if name == "__all__" else name, message, member=index)
            raise errors from exc
        written |= data.keys()
        (changed if existing else created).append(member)
    try:
        with transaction.atomic():
            if changed:
                bulk_update_with_history(
                    changed, Member, [*sorted(written), "updated_at"], batch_size=update_batch_size(), default_user=by
                )
            if created:
                bulk_create_with_history(created, Member, batch_size=batch_size(), default_user=by)
    except IntegrityError as exc:
        # Two people registered the same ID number at the same moment.
        errors.add(None, _("保存失败：户编号或证件号码刚被他人登记，请刷新后核对重试。"))
        raise errors from exc


def _save(obj, errors: RegistryError, *, index: int | None = None) -> None:
    """full_clean() then save(); a constraint the checks above missed still gets a message."""
    try:
        obj.full_clean(validate_unique=False, validate_constraints=False)
        with transaction.atomic():
            obj.save()
    except ValidationError as exc:
        for name, msgs in exc.message_dict.items():
            for message in msgs:
                errors.add(None if name == "__all__" else name, message, member=index)
        raise errors from exc
    except IntegrityError as exc:
        # Two people registered the same 户编号 or ID number at the same moment.
        errors.add(None, _("保存失败：户编号或证件号码刚被他人登记，请刷新后核对重试。"))
        raise errors from exc


def _require_writer(by: User) -> None:
    if not by.can_write:
        raise PermissionError(_("市级督查账号为只读账号，不能修改数据。"))


@transaction.atomic
def household_delete(*, by: User, household: Household) -> None:
    """Remove a household registered by mistake, with its members and ledgers (all audited).

    A household that anything must outlive (an exit or monitoring case, a relapse, a
    prior exit, a member transfer: the PROTECT keys) is refused, naming those records,
    before anything is deleted (``ProtectedRecords``).
    """
    _require_writer(by)
    household = Household.objects.select_for_update().get(pk=household.pk)
    members = list(household.members.all())
    head = next((m for m in members if m.relationship == Relationship.HEAD), None)
    label = (
        _("户“%(head)s”（户编号 %(number)s）") % {"head": head.name, "number": household.number}
        if head
        else _("户编号 %(number)s 的户") % {"number": household.number}
    )
    # The members are deleted first, one by one for their history rows: they do not
    # count as what stands in the way, but whatever depends on them does.
    deletion_check(household, along=members, label=label)
    for member in members:
        member._history_user = by
        member.delete()
    for related in (household.incomes.all(), household.housing_appraisals.all(), household.water_assessments.all()):
        for row in related:
            row._history_user = by
            row.delete()
    household._history_user = by
    household.delete()


# --- members one at a time (the API) -------------------------------------------------


def _member_payload(member: Member) -> dict:
    return {name: getattr(member, name) for name in MEMBER_FIELDS} | {"id": member.pk}


@_records_existence_answers
@transaction.atomic
def member_add(*, by: User, household: Household, data: dict) -> Member:
    members = [_member_payload(m) for m in household.members.all()] + [dict(data)]
    household_update(by=by, household=household, data={}, members=members, version=household.version)
    return household.members.get(id_number=parse_id_number(data.get("id_number")).number)


@_records_existence_answers
@transaction.atomic
def member_update(*, by: User, member: Member, data: dict) -> Member:
    household = member.household
    members = [
        (_member_payload(m) | dict(data) | {"id": m.pk}) if m.pk == member.pk else _member_payload(m)
        for m in household.members.all()
    ]
    household_update(by=by, household=household, data={}, members=members, version=household.version)
    member.refresh_from_db()
    return member


@_records_existence_answers
@transaction.atomic
def member_delete(*, by: User, member: Member) -> None:
    household = member.household
    members = [_member_payload(m) | ({"DELETE": True} if m.pk == member.pk else {}) for m in household.members.all()]
    household_update(by=by, household=household, data={}, members=members, version=household.version)


def _member_delete_checked(member: Member, *, by: User) -> None:
    if member.transfers.exists():
        raise RegistryError(
            general=[_("成员 %(n)s 有转移记录，不能删除；如已迁出请办理成员转移。") % {"n": member.name}]
        )
    try:
        deletion_check(member, label=_("成员“%(n)s”") % {"n": member.name})
    except ProtectedRecords as refusal:
        # Part of an edit of the member list: said where the edit's other refusals are.
        raise RegistryError(general=refusal.messages) from refusal
    member._history_user = by
    member.delete()


@transaction.atomic
def member_transfer(*, by: User, member: Member, to_household: Household, relationship: str, reason: str) -> Member:
    """Move a member to another household, keeping who, when, why and both relationships.

    Both households must be within the user's region; the member's history stays with
    the member, and the move itself is a ``MemberTransfer`` row.
    """
    _require_writer(by)
    visible = Household.objects.visible_to(by)
    errors = RegistryError()
    if not visible.filter(pk=member.household_id).exists() or not visible.filter(pk=to_household.pk).exists():
        errors.add(None, _("迁出户和迁入户都必须在您的管辖范围内；跨区域迁移请由共同的上级办理。"))
    if member.household_id == to_household.pk:
        errors.add("to_household", _("迁入户与当前所在户相同。"))
    try:
        reason = clean_text(str(reason or ""))
    except ValidationError as exc:
        errors.add("reason", exc.messages[0])
    else:
        if not reason:
            errors.add("reason", _("请填写转移原因。"))
    if member.relationship == Relationship.HEAD:
        if member.household.members.count() > 1:
            errors.add("relationship", _("户主迁出前，请先为原户指定新的户主。"))
        else:
            # Moving the only member would leave a household with no one in it.
            errors.add("relationship", _("户主是该户唯一成员，不能单独迁出；整户并入他户请由县级审批人员办理。"))
    if relationship not in Relationship.values:
        errors.add("relationship", _("请选择在新户中与户主的关系。"))
    elif relationship == Relationship.HEAD and to_household.members.filter(relationship=Relationship.HEAD).exists():
        errors.add("relationship", _("迁入户已有户主。"))
    elif relationship == Relationship.SPOUSE and to_household.members.filter(relationship=Relationship.SPOUSE).exists():
        errors.add("relationship", _("迁入户已有配偶。"))
    if errors:
        raise errors
    source = member.household
    MemberTransfer.objects.create(
        member=member,
        from_household=source,
        to_household=to_household,
        from_relationship=member.relationship,
        to_relationship=relationship,
        reason=reason,
        transferred_by=by,
    )
    member.household = to_household
    member.relationship = relationship
    member._history_user = by
    member._change_reason = change_reasons.stored(change_reasons.TRANSFER, reason=reason)
    member.save()
    # Both households changed: an edit of either that started before the move is stale,
    # and its refusal should name this transfer's author (so save, not update()).
    for household in (source, to_household):
        household.refresh_from_db()
        household.version += 1
        household._history_user = by
        household._change_reason = member._change_reason
        household.save(update_fields=["version", "updated_at"])
    cases_remeasure(household_ids=[source.pk, to_household.pk], by=by)
    return member


# --- ledgers ---------------------------------------------------------------------------


@transaction.atomic
def income_record_save(*, by: User, household: Household, year: int, data: dict) -> IncomeRecord:
    """Create or replace one year of the income ledger."""
    _require_writer(by)
    record = IncomeRecord.objects.filter(household=household, year=year).first() or IncomeRecord(
        household=household, year=year
    )
    errors = RegistryError(model=IncomeRecord)
    for name in ("population", "wage_income", "business_income", "property_income", "transfer_income",
                 "business_expense"):  # fmt: skip
        if name in data:
            setattr(record, name, data[name])
    if not record.population or int(record.population) < 1:
        errors.add("population", _("家庭人口数至少为1。"))
    this_year = timezone.localdate().year
    if not 2000 <= int(year) <= this_year:
        errors.add("year", _("年度应在2000年至%(y)d年之间。") % {"y": this_year})
    for name in ("wage_income", "business_income", "property_income", "transfer_income", "business_expense"):
        if getattr(record, name) is not None and getattr(record, name) < 0:
            errors.add(name, _("金额不能为负数。"))
    if errors:
        raise errors
    record._history_user = by
    _save(record, errors)
    cases_remeasure(household_ids=[household.pk], by=by)
    return record


@transaction.atomic
def housing_appraisal_add(*, by: User, household: Household, data: dict) -> HousingAppraisal:
    _require_writer(by)
    errors = RegistryError(model=HousingAppraisal)
    data = dict(data)
    _normalize_text_fields(HousingAppraisal, data, errors)
    appraisal = HousingAppraisal(household=household, **data)
    if appraisal.outcome and appraisal.grade not in ("C", "D"):
        errors.add("outcome", _("只有C级、D级危房需要填写改造或搬迁结果。"))
    if appraisal.outcome and not appraisal.outcome_date:
        errors.add("outcome_date", _("填写了改造或搬迁结果时，请填写结果日期。"))
    if appraisal.appraised_on and appraisal.appraised_on > timezone.localdate():
        errors.add("appraised_on", _("鉴定日期不能晚于今天。"))
    if errors:
        raise errors
    appraisal._history_user = by
    _save(appraisal, errors)
    cases_remeasure(household_ids=[household.pk], by=by)
    return appraisal


@transaction.atomic
def water_assessment_add(*, by: User, household: Household, data: dict) -> WaterAssessment:
    _require_writer(by)
    errors = RegistryError(model=WaterAssessment)
    data = dict(data)
    _normalize_text_fields(WaterAssessment, data, errors)
    assessment = WaterAssessment(household=household, **data)
    if not assessment.piped_to_house and assessment.round_trip_minutes is None:
        errors.add("round_trip_minutes", _("未通自来水入户时，请填写取水往返时间。"))
    if assessment.reliability_percent is not None and not 0 <= assessment.reliability_percent <= 100:
        errors.add("reliability_percent", _("供水保证率应在0到100之间。"))
    if assessment.assessed_on and assessment.assessed_on > timezone.localdate():
        errors.add("assessed_on", _("评估日期不能晚于今天。"))
    if errors:
        raise errors
    assessment._history_user = by
    _save(assessment, errors)
    cases_remeasure(household_ids=[household.pk], by=by)
    return assessment


# --- privacy ---------------------------------------------------------------------------


class PersonalDataLimit(Refusal):
    """Too many full numbers seen (or cross-area answers given) in a short time."""

    http_status = 429


def _limit_usage(*, by: User, action: str) -> list[tuple[int, int, int]]:
    """(seconds, limit, used) for each of the user's windows of ``action``. The records
    themselves are the counter, so every web and worker process shares it."""
    now = timezone.now()
    return [
        (
            seconds,
            limit,
            PersonalDataAccess.objects.filter(user=by, action=action, at__gte=now - timedelta(seconds=seconds)).count(),
        )
        for seconds, limit in settings.PERSONAL_DATA_LIMITS.get(action, [])
    ]


def _period_label(seconds: int) -> str:
    if seconds % 86400 == 0:
        return _("天") if seconds == 86400 else _("%(n)d天") % {"n": seconds // 86400}
    if seconds % 3600 == 0:
        return _("小时") if seconds == 3600 else _("%(n)d小时") % {"n": seconds // 3600}
    return _("分钟") if seconds == 60 else _("%(n)d分钟") % {"n": max(1, seconds // 60)}


def personal_data_allowance(*, by: User, action: str) -> int:
    """How many more records of ``action`` the user's limits allow now."""
    return max(0, min((limit - used for _s, limit, used in _limit_usage(by=by, action=action)), default=10**9))


def personal_data_limit_message(action: str, *, by: User) -> str:
    usage = _limit_usage(by=by, action=action)
    seconds, limit, _used = next(((s, lim, u) for s, lim, u in usage if u >= lim), usage[0] if usage else (60, 0, 0))
    return _(
        "为保护个人信息，%(what)s每%(period)s最多%(limit)d次，您已达到上限，请稍后再试；如工作确需，请联系系统管理员。"
    ) % {"what": PersonalDataAccess.Action(action).label, "period": _period_label(seconds), "limit": limit}


def _personal_data_throttle(*, by: User, action: str) -> None:
    """Refuse one more record of ``action`` when a limit of the user's is reached."""
    # Lock the user's row so that two tabs at once cannot both take the last place.
    User.objects.select_for_update().filter(pk=by.pk).first()
    if personal_data_allowance(by=by, action=action) <= 0:
        raise PersonalDataLimit(personal_data_limit_message(action, by=by))


def personal_data_existence_record(*, by: User, clashes: list[IdClash]) -> None:
    """One PersonalDataAccess row per "registered elsewhere" answer given to ``by``."""
    PersonalDataAccess.objects.bulk_create(
        [
            PersonalDataAccess(
                user=by,
                action=PersonalDataAccess.Action.EXISTS,
                member_id=clash.member_pk,
                detail=_("证件号码已在其他地区登记"),
            )
            for clash in clashes
        ]
    )


@transaction.atomic
def personal_data_reveal(*, by: User, member: Member | None = None, household: Household | None = None) -> str:
    """The full ID number of a member, or the full phone of a household, logged (DOMAIN.md §9)
    and limited per user (settings.PERSONAL_DATA_LIMITS)."""
    if not by.can_reveal_personal_data:
        raise PermissionError(_("您的角色不能查看完整的证件号码和电话号码。"))
    _personal_data_throttle(by=by, action=PersonalDataAccess.Action.REVEAL)
    if member is not None:
        PersonalDataAccess.objects.create(
            user=by,
            action=PersonalDataAccess.Action.REVEAL,
            member=member,
            household_id=member.household_id,
            detail=_("证件号码"),
        )
        return member.id_number
    PersonalDataAccess.objects.create(
        user=by, action=PersonalDataAccess.Action.REVEAL, household=household, detail=_("联系电话")
    )
    return household.phone
