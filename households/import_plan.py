"""The registry import, after parsing: decide each household of the file and write it.

``plan_import`` takes the rows ``importing.read_workbook`` parsed and decides, per
household, new / updated / unchanged / rejected, with the rules the forms use
(``services._clean_household``, ``_clean_member``, ``_check_family``,
``_check_registry_duplicates``). Those rules normally look facts up one query at a
time; here ``PreloadedLookups`` answers them from a handful of set-based queries for
the whole file, so validating 10,000 households costs a few queries, not 50,000.

``apply_import`` writes a plan that has no rejected row: new rows with COPY
(core/bulk.py), changed rows with bulk updates, each with its history row. The caller
holds the transaction, re-plans inside it (the registry may have changed since the
preview) and rolls back on any error, so a file lands whole or not at all.

Upsert: a household is matched by 户编号, a member by 证件号码 within that household.
Members already registered but absent from the file are kept (deleting a member is a
deliberate act on the household page). An empty cell clears an optional value; where
a value is required by the model (民族, 政治面貌, 务工状况) an empty cell keeps the
current value, or takes the default for a new member.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from django.db import models
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import pgettext_lazy
from simple_history.utils import bulk_update_with_history

from accounts.models import User
from core import change_reasons
from core.bulk import allocate_ids, bulk_insert_with_history, in_chunks
from exits.services import cases_remeasure
from households.excel import HOUSEHOLD_COLUMNS, HOUSEHOLD_SHEET, MEMBER_COLUMNS, MEMBER_SHEET
from households.idnumbers import mask_phone
from households.importing import ParsedWorkbook, RowError
from households.models import Household, Member, Relationship
from households.services import (
    HOUSEHOLD_FIELDS,
    MEMBER_FIELDS,
    OUTCOME_FIELDS,
    IdClash,
    RegistryError,
    RegistryLookups,
    _check_family,
    _check_registry_duplicates,
    _clean_household,
    _clean_member,
    existence_answers_record,
)
from regions.models import Region
from regions.scoping import code_visible_to

PROGRESS_EVERY = 500
CHANGE_REASON = change_reasons.stored(change_reasons.IMPORT)

HOUSEHOLD_HEADERS = {column.field: column.header for column in HOUSEHOLD_COLUMNS}
MEMBER_HEADERS = {column.field: column.header for column in MEMBER_COLUMNS} | {
    "sex": "证件号码",
    "birth_date": "证件号码",
}
MEMBER_COMPARED = [*MEMBER_FIELDS, "sex", "birth_date"]

Progress = Callable[[int, int], None]


# Phones a ledger shows masked unless exported in full (DOMAIN.md §9).
MASKED_PHONES = ("phone", "helper_phone")


@dataclass
class Counts:
    """Rows of one sheet by what the import does with them. ``rejected`` counts the rows
    with an error of their own; ``held`` the rows without one that are not imported
    because a row of the same household has one (a household is imported whole)."""

    new: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    held: int = 0

    def as_dict(self) -> dict[str, int]:
        return {
            "new": self.new,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "rejected": self.rejected,
            "held": self.held,
        }


@dataclass
class ImportPlan:
    households: Counts = field(default_factory=Counts)
    members: Counts = field(default_factory=Counts)
    errors: list[RowError] = field(default_factory=list)
    # What apply_import writes: cleaned dicts for new rows, (instance, cleaned) for changes.
    new_households: list[dict] = field(default_factory=list)
    new_members: list[tuple[str, dict]] = field(default_factory=list)  # (户编号, cleaned)
    changed_households: list[tuple[Household, dict]] = field(default_factory=list)
    changed_members: list[tuple[Member, dict]] = field(default_factory=list)
    existing_pks: dict[str, int] = field(default_factory=dict)  # 户编号 → pk of households in the file

    @property
    def counts(self) -> dict[str, dict[str, int]]:
        return {"households": self.households.as_dict(), "members": self.members.as_dict()}


class PreloadedLookups(RegistryLookups):
    """The registry facts for a whole file, loaded with a few chunked ``IN`` queries."""

    def __init__(self, by: User, *, numbers: set[str], id_numbers: set[str], village_codes: set[str]):
        super().__init__(by)
        self.households: dict[str, Household] = {}
        for chunk in in_chunks(numbers):
            for household in Household.objects.filter(number__in=chunk):
                self.households[household.number] = household
        self.members_of: dict[int, list[Member]] = defaultdict(list)
        in_scope = [h.pk for h in self.households.values() if code_visible_to(by, h.village_id)]
        for chunk in in_chunks(in_scope):
            for member in Member.objects.filter(household_id__in=chunk).order_by("pk"):
                self.members_of[member.household_id].append(member)
        # Every registered holder of the file's ID numbers: (pk, household 户编号, name, village).
        self.id_holders: dict[str, tuple[int, str, str, str]] = {}
        for chunk in in_chunks(id_numbers):
            rows = Member.objects.filter(id_number__in=chunk).values_list(
                "pk", "id_number", "name", "household__number", "household__village_id"
            )
            for pk, number, name, household_number, village_code in rows:
                self.id_holders[number] = (pk, household_number, name, village_code)
        self.regions: dict[str, Region] = {}
        for chunk in in_chunks(village_codes):
            self.regions.update((r.code, r) for r in Region.objects.filter(code__in=chunk))

    def number_taken(self, number: str, *, exclude_pk: int | None) -> bool:
        household = self.households.get(number)
        return household is not None and household.pk != exclude_pk

    def village(self, code: str) -> Region | None:
        return self.regions.get(code)

    def village_visible(self, village: Region) -> bool:
        return code_visible_to(self.by, village.code)

    def id_clashes(self, numbers: list[str], *, keep_pks: list[int]) -> list[IdClash]:
        keep = set(keep_pks)
        clashes = []
        for number in numbers:
            holder = self.id_holders.get(number)
            if holder is not None and holder[0] not in keep:
                pk, household_number, name, village_code = holder
                clashes.append(IdClash(number, household_number, name, code_visible_to(self.by, village_code)))
        return clashes


def _model_value(instance: models.Model, name: str) -> Any:
    if name == "village":
        return instance.village_id
    return getattr(instance, name)


def _comparable(name: str, value: Any) -> Any:
    if isinstance(value, Region):
        return value.code
    if name == "other_causes":
        return list(value or [])
    return value


def _fill_blanks(model: type[models.Model], data: dict, current: models.Model | None) -> dict:
    """An empty cell for a field that cannot be empty keeps the current value (or takes
    the field's default for a new row); every other empty cell means "empty"."""
    for name, value in list(data.items()):
        if value not in ("", None):
            continue
        model_field = model._meta.get_field(name)
        if model_field.blank or model_field.null:
            continue
        if current is not None:
            data[name] = _model_value(current, name)
        elif model_field.has_default():
            data[name] = model_field.get_default()
    return data


def _differs(instance: models.Model, cleaned: dict, names: Iterable[str]) -> bool:
    return any(
        name in cleaned and _comparable(name, cleaned[name]) != _comparable(name, _model_value(instance, name))
        for name in names
    )


class _Rejections:
    """Row errors of the file, keeping each cell's parse error as its only message."""

    def __init__(self, parse_errors: list[RowError]):
        self.errors = list(parse_errors)
        self.parse_cells = {(e.sheet, e.row, e.column_header) for e in parse_errors}
        self.rows = {(e.sheet, e.row) for e in parse_errors}

    def add(self, sheet: str, row: int, header: str, message: str) -> None:
        if (sheet, row, header) in self.parse_cells:
            return  # the cell's own message already says what is wrong with it
        self.errors.append(RowError(sheet, row, header, message))
        self.rows.add((sheet, row))

    def has(self, sheet: str, row: int) -> bool:
        return (sheet, row) in self.rows


def plan_import(parsed: ParsedWorkbook, *, by: User, progress: Progress | None = None) -> ImportPlan:
    """Decide every household of a parsed file against the registry as it is now."""
    plan = ImportPlan()
    rejections = _Rejections(parsed.errors)
    today = timezone.localdate()

    household_rows: dict[str, dict] = {}
    for row in parsed.households:
        number = row.get("number")
        if not number:
            plan.households.rejected += 1  # its 户编号 cell already carries the error
            continue
        if number in household_rows:
            first = household_rows[number]["row_number"]
            rejections.add(HOUSEHOLD_SHEET, row["row_number"], "户编号", _("户编号与第%(n)d行重复。") % {"n": first})
            plan.households.rejected += 1
            continue
        household_rows[number] = row

    member_rows: dict[str, list[dict]] = defaultdict(list)
    rejected_numbers: set[str] = set()
    first_row_of_id: dict[str, int] = {}
    for row in parsed.members:
        number, id_number = row.get("household"), row.get("id_number")
        if not number:
            plan.members.rejected += 1
            continue
        if id_number and id_number in first_row_of_id:
            rejections.add(
                MEMBER_SHEET,
                row["row_number"],
                "证件号码",
                _("证件号码与第%(n)d行重复，同一人只能登记一次。") % {"n": first_row_of_id[id_number]},
            )
            plan.members.rejected += 1
            rejected_numbers.add(number)
            continue
        if id_number:
            first_row_of_id[id_number] = row["row_number"]
        member_rows[number].append(row)

    numbers = list(household_rows) + [n for n in member_rows if n not in household_rows]
    lookups = PreloadedLookups(
        by,
        numbers=set(numbers),
        id_numbers=set(first_row_of_id),
        village_codes={str(row["village"]) for row in household_rows.values() if row.get("village")},
    )
    for done, number in enumerate(numbers, start=1):
        _plan_household(
            plan,
            number,
            household_rows.get(number),
            member_rows.get(number, []),
            by=by,
            lookups=lookups,
            rejections=rejections,
            today=today,
            already_rejected=number in rejected_numbers,
        )
        if progress and done % PROGRESS_EVERY == 0:
            progress(done, len(numbers))
    plan.errors = sorted(rejections.errors, key=lambda e: (e.sheet != HOUSEHOLD_SHEET, e.row))
    return plan


def _plan_household(
    plan: ImportPlan,
    number: str,
    household_row: dict | None,
    member_rows: list[dict],
    *,
    by: User,
    lookups: PreloadedLookups,
    rejections: _Rejections,
    today,
    already_rejected: bool,
) -> None:
    if household_row is not None:
        anchor = (HOUSEHOLD_SHEET, household_row["row_number"])
    else:
        anchor = (MEMBER_SHEET, member_rows[0]["row_number"])
    existing = lookups.households.get(number)

    def reject_whole(message: str) -> None:
        rejections.add(*anchor, "户编号", message)
        _count_rejected(plan, household_row, member_rows, rejections)

    if existing is not None and not code_visible_to(by, existing.village_id):
        reject_whole(_("户编号 %(n)s 已在其他地区登记，不能在此导入。") % {"n": number})
        return
    if existing is None and household_row is None:
        reject_whole(_("户编号 %(n)s 在“户信息”表和系统中都不存在，请先在“户信息”表中填写该户。") % {"n": number})
        return

    errors = RegistryError()
    cleaned_household = None
    if household_row is not None:
        # An empty 脱贫状态 or 脱贫年度 cell says nothing: the outcome is the exit workflow's,
        # and only a value that differs from the record's is refused (by the service).
        cells = {
            k: v
            for k, v in household_row.items()
            if k in HOUSEHOLD_FIELDS and not (k in OUTCOME_FIELDS and v in ("", None))
        }
        if existing is not None:
            for name in MASKED_PHONES:
                # A 户台账 exported with masked phones and uploaded back: a number shown
                # as the registry's own, masked, is that number unchanged.
                value = cells.get(name)
                if isinstance(value, str) and "*" in value and value == mask_phone(getattr(existing, name)):
                    cells[name] = getattr(existing, name)
        data = _fill_blanks(Household, cells, existing)
        if existing is not None:
            data = {name: _model_value(existing, name) for name in HOUSEHOLD_FIELDS} | data
        cleaned_household = _clean_household(data, by=by, instance=existing, errors=errors, lookups=lookups)

    current = lookups.members_of.get(existing.pk, []) if existing is not None else []
    by_id = {m.id_number: m for m in current}
    file_ids = {row.get("id_number") for row in member_rows}
    # Registered members the file leaves out stay in the family, listed first so that a
    # second 户主 in the file is the row that gets the message.
    family: dict[int, dict] = {}
    owners: dict[int, Member | dict] = {}
    for member in current:
        if member.id_number not in file_ids:
            owners[len(family)] = member
            family[len(family)] = {name: getattr(member, name) for name in MEMBER_COMPARED}
    matches: dict[int, Member | None] = {}
    for row in member_rows:
        index = len(family)
        match = by_id.get(row.get("id_number"))
        data = _fill_blanks(Member, {k: row[k] for k in MEMBER_FIELDS if k in row}, match)
        if match is not None:
            data = {name: getattr(match, name) for name in MEMBER_FIELDS} | data
        owners[index], matches[index] = row, match
        family[index] = _clean_member(data, index=index, existing=match, today=today, errors=errors)
    # A member whose ID number could not be read cannot be matched to a registered one:
    # the family checks would only guess (its row already carries the real error).
    ids_readable = all(row.get("id_number") for row in member_rows)
    if ids_readable and (member_rows or existing is None):
        _check_family(family, errors)
        file_family = {i: d for i, d in family.items() if isinstance(owners[i], dict)}
        _check_registry_duplicates(file_family, keep=current, by=by, errors=errors, lookups=lookups)
        existence_answers_record(by=by, errors=errors)

    _record_errors(errors, anchor, household_row, owners, rejections)
    rows_rejected = already_rejected or bool(errors) or rejections.has(*anchor)
    rows_rejected = rows_rejected or any(rejections.has(MEMBER_SHEET, row["row_number"]) for row in member_rows)
    if rows_rejected:
        _count_rejected(plan, household_row, member_rows, rejections)
        return

    changed = False
    if existing is None:
        plan.new_households.append(cleaned_household)
        changed = True
    else:
        plan.existing_pks[number] = existing.pk
        if cleaned_household is not None and _differs(existing, cleaned_household, HOUSEHOLD_FIELDS):
            plan.changed_households.append((existing, cleaned_household))
            changed = True
    for index, match in matches.items():
        cleaned = family[index]
        if match is None:
            plan.new_members.append((number, cleaned))
            plan.members.new += 1
            changed = True
        elif _differs(match, cleaned, MEMBER_COMPARED):
            plan.changed_members.append((match, cleaned))
            plan.members.updated += 1
            changed = True
        else:
            plan.members.unchanged += 1
    if household_row is None:
        return  # a file of members only: no 户信息 row to count
    if existing is None:
        plan.households.new += 1
    elif changed:
        plan.households.updated += 1
    else:
        plan.households.unchanged += 1


def _count_rejected(
    plan: ImportPlan,
    household_row: dict | None,
    member_rows: list[dict],
    rejections: _Rejections,
) -> None:
    """Count a household that is not imported: each of its rows as rejected when the row
    has an error of its own, else as held back with it. (A member row refused before
    planning — a repeated ID number — is counted there and is not among ``member_rows``.)"""
    if household_row is not None:
        if rejections.has(HOUSEHOLD_SHEET, household_row["row_number"]):
            plan.households.rejected += 1
        else:
            plan.households.held += 1
    for row in member_rows:
        if rejections.has(MEMBER_SHEET, row["row_number"]):
            plan.members.rejected += 1
        else:
            plan.members.held += 1


def _record_errors(
    errors: RegistryError,
    anchor: tuple[str, int],
    household_row: dict | None,
    owners: dict[int, Member | dict],
    rejections: _Rejections,
) -> None:
    """Turn a household's RegistryError into row errors with sheet, row and column."""
    for message in errors.general:
        rejections.add(*anchor, "户编号", message)
    for name, messages in errors.household.items():
        if household_row is not None and name in HOUSEHOLD_HEADERS:
            place = (HOUSEHOLD_SHEET, household_row["row_number"], HOUSEHOLD_HEADERS[name])
        else:
            place = (*anchor, "户编号")
        for message in messages:
            rejections.add(*place, message)
    for index, fields in errors.members.items():
        owner = owners[index]
        for name, messages in fields.items():
            for message in messages:
                if isinstance(owner, dict):
                    header = MEMBER_HEADERS.get(name, "姓名")
                    rejections.add(MEMBER_SHEET, owner["row_number"], header, message)
                else:
                    # A registered member the file does not list: say who.
                    prefix = _("成员%(name)s（已登记，未在本文件中）") % {"name": owner.name}
                    rejections.add(*anchor, "户编号", f"{prefix}：{message}")


def apply_import(plan: ImportPlan, *, by: User, progress: Progress | None = None) -> None:
    """Write a plan with no rejected row. The caller holds the transaction."""
    if plan.errors:
        raise ValueError("a plan with rejected rows is never applied")
    now = timezone.now()
    household_ids = allocate_ids(Household, len(plan.new_households))
    pks = dict(plan.existing_pks)
    rows = []
    for pk, cleaned in zip(household_ids, plan.new_households, strict=True):
        row = {name: value for name, value in cleaned.items() if name != "village"}
        row.update(id=pk, village_id=cleaned["village"].code, version=1, created_at=now, updated_at=now)
        rows.append(row)
        pks[cleaned["number"]] = pk
    bulk_insert_with_history(Household, rows, user_id=by.pk, change_reason=CHANGE_REASON)
    if progress:
        progress(1, 4)

    if plan.changed_households:
        households = []
        for household, cleaned in plan.changed_households:
            for name, value in cleaned.items():
                setattr(household, name, value)
            household.version += 1
            household.updated_at = now
            households.append(household)
        bulk_update_with_history(
            households,
            Household,
            [*HOUSEHOLD_FIELDS, "version", "updated_at"],
            batch_size=1000,
            default_user=by,
            default_change_reason=CHANGE_REASON,
            default_date=now,
        )
    if progress:
        progress(2, 4)

    if plan.changed_members:
        # A swap of 户主 and 配偶 would trip the one-head / one-spouse constraints half
        # way through the update: park the rows whose relationship changes first.
        moving = [m.pk for m, cleaned in plan.changed_members if m.relationship != cleaned.get("relationship")]
        for chunk in in_chunks(moving):
            Member.objects.filter(pk__in=chunk).update(relationship=Relationship.OTHER)
        members = []
        for member, cleaned in plan.changed_members:
            for name, value in cleaned.items():
                setattr(member, name, value)
            member.updated_at = now
            members.append(member)
        bulk_update_with_history(
            members,
            Member,
            [*MEMBER_COMPARED, "updated_at"],
            batch_size=1000,
            default_user=by,
            default_change_reason=CHANGE_REASON,
            default_date=now,
        )
    if progress:
        progress(3, 4)

    # A household whose members changed is a changed household: an edit of its page
    # that began before the import must be refused as stale, like after any other save.
    touched = {pks[number] for number, _cleaned in plan.new_members}
    touched |= {member.household_id for member, _cleaned in plan.changed_members}
    touched -= set(household_ids)
    updated = {household.pk for household, _cleaned in plan.changed_households}
    for chunk in in_chunks(touched - updated):
        # ``version`` is not audited (the members' own history rows record the change).
        Household.objects.filter(pk__in=chunk).update(version=F("version") + 1)

    member_ids = allocate_ids(Member, len(plan.new_members))
    rows = []
    for pk, (number, cleaned) in zip(member_ids, plan.new_members, strict=True):
        rows.append(cleaned | {"id": pk, "household_id": pks[number], "created_at": now, "updated_at": now})
    bulk_insert_with_history(Member, rows, user_id=by.pk, change_reason=CHANGE_REASON)
    # Data changes reach the case (DOMAIN.md §4), in the caller's transaction; a new
    # household has no case yet.
    cases_remeasure(household_ids=updated | touched, by=by)
    if progress:
        progress(4, 4)


# --- the import kind the imports app runs (imports/kinds.py) ---------------------------


def _template(user: User) -> bytes:
    from households.excel import household_template

    villages = (
        Region.objects.visible_to(user).filter(level=Region.Level.VILLAGE).order_by("code").values_list("code", "name")
    )
    return household_template(villages=list(villages))


def _importer():
    from households.importing import read_workbook
    from imports.kinds import Importer
    from imports.models import ImportKind

    return Importer(
        kind=ImportKind.HOUSEHOLDS,
        sheets={HOUSEHOLD_SHEET: HOUSEHOLD_COLUMNS, MEMBER_SHEET: MEMBER_COLUMNS},
        count_labels={"households": pgettext_lazy("导入统计", "户"), "members": pgettext_lazy("导入统计", "成员")},
        template=_template,
        template_filename="贫困户导入模板.xlsx",
        parse=read_workbook,
        load_parsed=ParsedWorkbook.from_json,
        plan=plan_import,
        apply=apply_import,
        result_url_name="households:list",
        models=(Household, Member),
    )
