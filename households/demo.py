"""Realistic demo households for `seed_demo` (development and benchmarks only).

Distributions are plausible for an Ankang village in 2020: most households already
exited in 2016–2019, illness and lack of skills lead the poverty causes, a few members
are uninsured, a few children of compulsory-school age are out of school. ID numbers
are valid resident IDs: the address code is the county's code *when the person was
registered* (Ankang's counties were renumbered from 6124xx to 6109xx in 2000), the
birth date is real, the sequence digit's parity gives the sex, and the GB 11643 check
digit is computed by python-stdnum.

Writes go in chunks through simple-history's bulk helpers, so 300k households
(about 1M members) never sit in memory and every row has its "created" audit entry.
"""

from __future__ import annotations

import itertools
import random
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta

from django.db import transaction
from faker import Faker
from stdnum.cn import ric

from core import change_reasons
from core.bulk import allocate_ids, bulk_insert_with_history
from households.models import (
    Education,
    ExitStatus,
    Household,
    HousingAppraisal,
    IdentificationStandard,
    IncomeRecord,
    LabourSkill,
    MedicalInsurance,
    Member,
    PoliticalStatus,
    PovertyAttribute,
    PovertyCause,
    Relationship,
    RelocationMode,
    Schooling,
    Sex,
    WaterAssessment,
    WorkStatus,
)

# Ages are reckoned from the day the demo is generated, so every demo person meets
# today's data rules (a 17-year-old is not "无劳动力" because he was 11 in 2020).
TODAY = date.today()

# The county's ID address code by birth year (DOMAIN.md §1 codes; pre-2000 codes are
# those of 安康地区, 汉滨区 was 安康县 before 1988 and 安康市 (county-level) until 2000).
_OLD_CODES = {
    "610902": [(1988, "612421"), (2000, "612401")],
    "610921": [(2000, "612422")],
    "610922": [(2000, "612423")],
    "610923": [(2000, "612424")],
    "610924": [(2000, "612425")],
    "610925": [(2000, "612426")],
    "610926": [(2000, "612427")],
    "610927": [(2000, "612428")],
    "610928": [(2000, "612429")],
    "610929": [(2000, "612430")],
}


def id_address_code(county: str, birth_year: int) -> str:
    for until, code in _OLD_CODES.get(county, []):
        if birth_year < until:
            return code
    if county == "610928" and birth_year >= 2021:
        return "610981"  # 旬阳县 became 旬阳市 in 2021
    return county


class Weighted:
    """A weighted choice with its cumulative weights computed once (this runs ~1M times)."""

    def __init__(self, table: list[tuple[object, float]]):
        self.values, weights = zip(*table, strict=True)
        self.cumulative = list(itertools.accumulate(weights))

    def __call__(self, rng: random.Random):
        return rng.choices(self.values, cum_weights=self.cumulative)[0]


MAIN_CAUSES = Weighted(
    [
        (PovertyCause.ILLNESS, 30),
        (PovertyCause.LACK_SKILLS, 18),
        (PovertyCause.LACK_LABOUR, 12),
        (PovertyCause.DISABILITY, 10),
        (PovertyCause.LACK_FUNDS, 10),
        (PovertyCause.SCHOOLING, 6),
        (PovertyCause.POOR_TRANSPORT, 4),
        (PovertyCause.LACK_MOTIVATION, 4),
        (PovertyCause.DISASTER, 2),
        (PovertyCause.LACK_LAND, 2),
        (PovertyCause.LACK_WATER, 1),
        (PovertyCause.OTHER, 1),
    ]
)
ATTRIBUTES = Weighted([(PovertyAttribute.GENERAL, 75), (PovertyAttribute.DIBAO, 20), (PovertyAttribute.TEKUN, 5)])
STANDARDS = Weighted(
    [
        (IdentificationStandard.NATIONAL, 90),
        (IdentificationStandard.PROVINCIAL, 8),
        (IdentificationStandard.MUNICIPAL, 2),
    ]
)
ADULT_EDUCATION = Weighted(
    [
        (Education.ILLITERATE, 12),
        (Education.PRIMARY, 38),
        (Education.JUNIOR, 38),
        (Education.SENIOR, 9),
        (Education.COLLEGE, 2),
        (Education.BACHELOR, 1),
    ]
)
HELPER_UNITS = [
    "县扶贫局",
    "县教体局",
    "县卫健局",
    "县住建局",
    "县水利局",
    "县人社局",
    "县民政局",
    "镇人民政府",
    "县农业农村局",
    "县财政局",
    "县供电分公司",
    "县农村信用社",
]
DISABILITY_CATEGORIES = ["视力残疾", "听力残疾", "言语残疾", "肢体残疾", "智力残疾", "精神残疾"]
WORK_PLACES = {
    WorkStatus.IN_TOWN: ["本镇", "镇上"],
    WorkStatus.IN_COUNTY: ["县城", "县工业园区"],
    WorkStatus.IN_PROVINCE: ["西安市", "汉中市", "宝鸡市"],
    WorkStatus.OUT_OF_PROVINCE: ["浙江省宁波市", "江苏省苏州市", "广东省东莞市", "新疆哈密市"],
    WorkStatus.PUBLIC_WELFARE_POST: ["本村"],
}
EMPLOYERS = ["建筑工地", "毛绒玩具社区工厂", "茶叶加工厂", "电子厂", "物流公司", "村保洁员", "护林员"]


# Heads of household are mostly 40–75.
HEAD_AGES = Weighted([(age, 4 if 40 <= age < 75 else 1) for age in range(22, 90)])
# Mobile prefixes of China's three carriers.
MOBILE_PREFIXES = [
    "130",
    "131",
    "132",
    "133",
    "135",
    "136",
    "137",
    "138",
    "139",
    "150",
    "151",
    "152",
    "153",
    "155",
    "156",
    "157",
    "158",
    "159",
    "173",
    "177",
    "180",
    "181",
    "182",
    "183",
    "185",
    "186",
    "187",
    "188",
    "189",
    "191",
    "198",
    "199",
]


class Names:
    """Pools of Faker zh_CN names drawn once: Faker's weighted draw is the slowest part
    of generating a million people, and a pool of thousands keeps its distribution."""

    def __init__(self, fake: Faker, rng: random.Random, size: int = 4000):
        self.rng = rng
        self.surnames = [fake.last_name() for _ in range(size)]
        self.male = [fake.first_name_male() for _ in range(size)]
        self.female = [fake.first_name_female() for _ in range(size)]

    def surname(self) -> str:
        return self.rng.choice(self.surnames)

    def given(self, sex: str) -> str:
        return self.rng.choice(self.male if sex == Sex.MALE else self.female)

    def full(self) -> str:
        return self.surname() + self.given(Sex.MALE if self.rng.random() < 0.6 else Sex.FEMALE)

    def mobile(self) -> str:
        return self.rng.choice(MOBILE_PREFIXES) + f"{self.rng.randrange(10**8):08d}"


@dataclass
class DemoPerson:
    relationship: str
    sex: str
    birth_date: date


class IdNumbers:
    """Unique valid resident ID numbers; knows every number already in the registry."""

    def __init__(self, rng: random.Random, taken: set[str]):
        self.rng = rng
        self.taken = taken

    def new(self, county: str, birth: date, sex: str) -> str:
        prefix = id_address_code(county, birth.year) + birth.strftime("%Y%m%d")
        while True:
            seq = self.rng.randrange(0, 500) * 2 + (1 if sex == Sex.MALE else 0)
            body = f"{prefix}{seq:03d}"
            number = body + ric.calc_check_digit(body + "0")
            if number not in self.taken:
                self.taken.add(number)
                return number


def _birth(rng: random.Random, age: int) -> date:
    return TODAY - timedelta(days=age * 365 + rng.randrange(0, 365))


def _family(rng: random.Random) -> list[DemoPerson]:
    """A plausible family: head, maybe spouse, children, grandchildren or an old parent."""
    head_age = HEAD_AGES(rng)
    head_sex = Sex.MALE if rng.random() < 0.82 else Sex.FEMALE
    people = [DemoPerson(Relationship.HEAD, head_sex, _birth(rng, head_age))]
    spouse_age = max(20, head_age + rng.randint(-5, 3))
    if rng.random() < (0.82 if head_age < 70 else 0.5):
        people.append(
            DemoPerson(Relationship.SPOUSE, Sex.FEMALE if head_sex == Sex.MALE else Sex.MALE, _birth(rng, spouse_age))
        )
    n_children = rng.choices([0, 1, 2, 3], weights=[15, 35, 38, 12])[0]
    child_ages = []
    son_ages = []
    for _ in range(n_children):
        age = head_age - rng.randint(20, 34)
        if age < 0:
            continue
        # Adult children of older heads have mostly set up their own households.
        if age >= 30 and rng.random() < 0.6:
            continue
        sex = rng.choice([Sex.MALE, Sex.FEMALE])
        child_ages.append(age)
        if sex == Sex.MALE:
            son_ages.append(age)
        people.append(DemoPerson(Relationship.SON if sex == Sex.MALE else Relationship.DAUGHTER, sex, _birth(rng, age)))
    # A married son lives with his parents, with his wife and children.
    if son_ages and max(son_ages) >= 24 and rng.random() < 0.5:
        people.append(DemoPerson(Relationship.DAUGHTER_IN_LAW, Sex.FEMALE, _birth(rng, max(son_ages) - 1)))
        for _ in range(rng.choices([0, 1, 2], weights=[30, 45, 25])[0]):
            age = max(son_ages) - rng.randint(22, 30)
            if age >= 0:
                sex = rng.choice([Sex.MALE, Sex.FEMALE])
                people.append(
                    DemoPerson(
                        Relationship.GRANDSON if sex == Sex.MALE else Relationship.GRANDDAUGHTER, sex, _birth(rng, age)
                    )
                )
    if head_age < 55 and rng.random() < 0.25:
        sex = rng.choice([Sex.MALE, Sex.FEMALE])
        people.append(
            DemoPerson(
                Relationship.FATHER if sex == Sex.MALE else Relationship.MOTHER,
                sex,
                _birth(rng, head_age + rng.randint(22, 32)),
            )
        )
    return people


def _age(birth: date) -> int:
    return TODAY.year - birth.year - ((TODAY.month, TODAY.day) < (birth.month, birth.day))


def _schooling_for(rng: random.Random, age: int) -> tuple[str, str]:
    """(education, schooling): exactly one of them is set (DOMAIN.md §2)."""
    if age < 3:
        return "", Schooling.PRESCHOOL_AGE
    if age < 6:
        return "", Schooling.PRESCHOOL if rng.random() < 0.85 else Schooling.PRESCHOOL_AGE
    if age <= 15:
        if rng.random() < 0.004:  # the rare child of compulsory-school age out of school
            return (Education.PRIMARY if age < 13 else Education.JUNIOR), ""
        grade = {12: Schooling.GRADE_7, 13: Schooling.GRADE_8, 14: Schooling.GRADE_9}
        return "", grade.get(age, Schooling.PRIMARY if age < 12 else Schooling.GRADE_9)
    if age <= 18:
        roll = rng.random()
        if roll < 0.55:
            return "", [Schooling.HIGH_1, Schooling.HIGH_2, Schooling.HIGH_3][min(age - 16, 2)]
        if roll < 0.8:
            return "", [Schooling.VOCATIONAL_1, Schooling.VOCATIONAL_2, Schooling.VOCATIONAL_3][min(age - 16, 2)]
        return Education.JUNIOR, ""
    if age <= 22 and rng.random() < 0.3:
        return "", rng.choice([Schooling.HIGHER_VOCATIONAL_1, Schooling.HIGHER_VOCATIONAL_2, Schooling.BACHELOR])
    if age >= 60:
        return rng.choices([Education.ILLITERATE, Education.PRIMARY, Education.JUNIOR], weights=[40, 45, 15])[0], ""
    return ADULT_EDUCATION(rng), ""


def _member_fields(rng: random.Random, person: DemoPerson) -> dict:
    age = _age(person.birth_date)
    education, schooling = _schooling_for(rng, age)
    chronic = rng.random() < (0.25 if age >= 60 else 0.06)
    serious = rng.random() < 0.03
    disabled = rng.random() < 0.05
    in_school = bool(schooling)
    if age < 16 or in_school:
        skill = LabourSkill.NONE
    elif age >= 70 or serious:
        skill = LabourSkill.LOST if serious or rng.random() < 0.4 else LabourSkill.WEAK
    elif age >= 60 or disabled or chronic:
        skill = LabourSkill.WEAK
    else:
        skill = LabourSkill.SKILLED if rng.random() < 0.15 else LabourSkill.ORDINARY
    work_status, work_place, work_months, employer = WorkStatus.NOT_WORKING, "", 0, ""
    if skill in (LabourSkill.ORDINARY, LabourSkill.SKILLED, LabourSkill.WEAK) and rng.random() < 0.6:
        work_status = rng.choices(
            [
                WorkStatus.IN_TOWN,
                WorkStatus.IN_COUNTY,
                WorkStatus.IN_PROVINCE,
                WorkStatus.OUT_OF_PROVINCE,
                WorkStatus.PUBLIC_WELFARE_POST,
            ],
            weights=[20, 25, 20, 28, 7] if skill != LabourSkill.WEAK else [30, 20, 5, 5, 40],
        )[0]
        work_place = rng.choice(WORK_PLACES[work_status])
        work_months = rng.randint(3, 12)
        employer = rng.choice(EMPLOYERS)
    insurance_roll = rng.random()
    insurance = (
        MedicalInsurance.UNINSURED
        if insurance_roll < 0.006
        else MedicalInsurance.EMPLOYEE
        if insurance_roll < 0.02
        else MedicalInsurance.RESIDENT
    )
    return {
        "education": education,
        "schooling": schooling,
        "has_chronic_disease": chronic,
        "has_serious_illness": serious,
        "is_disabled": disabled,
        "disability_category": rng.choice(DISABILITY_CATEGORIES) if disabled else "",
        "disability_grade": rng.randint(1, 4) if disabled else None,
        "labour_skill": skill,
        "work_status": work_status,
        "work_place": work_place,
        "work_months": work_months,
        "employer": employer,
        "medical_insurance": insurance,
        "critical_illness_insurance": insurance != MedicalInsurance.UNINSURED and rng.random() < 0.985,
        "family_doctor": rng.random() < 0.9,
        "political_status": (
            PoliticalStatus.PARTY_MEMBER
            if age >= 25 and rng.random() < 0.04
            else PoliticalStatus.LEAGUE_MEMBER
            if 14 <= age <= 28 and rng.random() < 0.3
            else PoliticalStatus.MASSES
        ),
        "ethnicity": "汉族" if rng.random() < 0.995 else rng.choice(["回族", "满族", "蒙古族"]),
    }


def _household_fields(rng: random.Random) -> dict:
    identification_year = rng.choices([2014, 2015, 2016, 2017, 2018, 2019], weights=[70, 8, 7, 6, 5, 4])[0]
    # A household cannot exit in the year it was identified, so 2019's are all still poor.
    roll = rng.random() if identification_year < 2019 else 0.9
    if roll < 0.84:
        status, exit_year = ExitStatus.EXITED, rng.randint(max(2016, identification_year + 1), 2019)
    elif roll < 0.99:
        status, exit_year = ExitStatus.NOT_EXITED, None
    else:
        status, exit_year = ExitStatus.RETURNED, rng.randint(max(2016, identification_year + 1), 2019)
    relocated = rng.random() < 0.25
    main_cause = MAIN_CAUSES(rng)
    others = rng.sample([c for c in PovertyCause.values if c != main_cause], k=rng.choices([0, 1, 2], [50, 35, 15])[0])
    return {
        "identification_standard": STANDARDS(rng),
        "attribute": ATTRIBUTES(rng),
        "main_cause": main_cause,
        "other_causes": others,
        "identification_year": identification_year,
        "exit_status": status,
        "exit_year": exit_year,
        "is_relocated": relocated,
        "relocation_mode": (RelocationMode.CENTRALISED if rng.random() < 0.7 else RelocationMode.SCATTERED)
        if relocated
        else "",
        "group_no": rng.randint(1, 12),
    }


# National poverty lines (DOMAIN.md §3.1) for the demo's income ledger: the seed's two
# years, and this year's for the current demo campaign (exits.demo), measured against
# the last national line.
POVERTY_LINE = {2019: 3218, 2020: 4000, TODAY.year: 4000}
APPRAISING_UNITS = ["县住建局", "镇村建站", "县房屋安全鉴定中心"]


def _income_rows(rng: random.Random, household_id: int, size: int, status: str) -> list[dict]:
    """The income ledger of 2019, 2020 and this year; per-capita income around the year's line: exited
    households mostly well above it, unexited ones straddling it."""
    rows = []
    per_capita = None
    for year, line in POVERTY_LINE.items():
        if per_capita is not None:
            # A household's income moves from one year to the next; it does not start over.
            per_capita = per_capita * rng.uniform(0.97, 1.3)
        elif status == ExitStatus.NOT_EXITED:
            per_capita = rng.gauss(line * 1.05, line * 0.25)
        else:
            per_capita = rng.lognormvariate(0, 0.35) * line * 2.6
        per_capita = max(per_capita, line * 0.4)
        net = per_capita * size
        wage_share = rng.uniform(0.35, 0.75)
        transfer_share = rng.uniform(0.1, 0.35)
        business_gross = net * max(0.0, 1 - wage_share - transfer_share - 0.02) * 1.25
        rows.append(
            {
                "household_id": household_id,
                "year": year,
                "population": size,
                "wage_income": round(net * wage_share, 2),
                "business_income": round(business_gross, 2),
                "property_income": round(net * 0.02, 2),
                "transfer_income": round(net * transfer_share, 2),
                "business_expense": round(business_gross * 0.2, 2),
            }
        )
    return rows


def _housing_row(rng: random.Random, household_id: int, relocated: bool) -> dict:
    """Most houses are A/B; a few C/D, most of them since renovated or left behind."""
    grade = rng.choices(["A", "B", "C", "D"], weights=[45, 47, 5, 3])[0]
    appraised = TODAY - timedelta(days=rng.randint(200, 1800))
    outcome, outcome_date = "", None
    if grade in ("C", "D") and rng.random() < 0.85:
        outcome = "relocated" if relocated else rng.choice(["renovated", "renovated", "welfare_home", "with_children"])
        outcome_date = appraised + timedelta(days=rng.randint(60, 400))
    return {
        "household_id": household_id,
        "grade": grade,
        "appraised_on": appraised,
        "appraising_unit": rng.choice(APPRAISING_UNITS),
        "outcome": outcome,
        "outcome_date": outcome_date,
        "notes": "",
    }


def _water_row(rng: random.Random, household_id: int) -> dict:
    piped = rng.random() < 0.85
    unsafe = rng.random() < 0.03
    return {
        "household_id": household_id,
        "assessed_on": TODAY - timedelta(days=rng.randint(100, 1200)),
        "quality_ok": not (unsafe and rng.random() < 0.5),
        "litres_per_person_day": round(rng.uniform(12, 19.5) if unsafe else rng.uniform(25, 80), 1),
        "piped_to_house": piped,
        "round_trip_minutes": None if piped else rng.randint(3, 30 if unsafe else 18),
        "reliability_percent": round(rng.uniform(96, 100), 1),
        "notes": "",
    }


SPECIAL_NOTES = {
    "lost_contact": "户主外出务工多年，电话停机，村组多次联系未果。",
    "released_prisoner": "户主2019年刑满释放，已回村居住，村委会定期走访。",
}


def village_plan(rng: random.Random, villages: list[str], households: int, favoured: list[str]) -> Iterator[str]:
    """The village of each new household: the demo cadres' villages first get a
    workable caseload (up to 40 each), the rest spread over every village."""
    favoured_share = min(households, 40 * len(favoured))
    for i in range(favoured_share):
        yield favoured[i % len(favoured)]
    for _ in range(households - favoured_share):
        yield rng.choice(villages)


def seed_households(
    *, households: int, villages: list[str], favoured: list[str], seed: int, chunk: int = 5000, progress=None
) -> dict[str, int]:
    """Create ``households`` demo households with members; returns counts."""
    rng = random.Random(seed)
    fake = Faker("zh_CN")
    fake.seed_instance(seed)
    names = Names(fake, rng)
    taken = set(Member.objects.values_list("id_number", flat=True).iterator(chunk_size=20000))
    ids = IdNumbers(rng, taken)
    # Household numbers continue each village's sequence, so seeding twice adds, never clashes.
    next_seq: dict[str, int] = {}
    for number in Household.objects.values_list("number", flat=True).iterator(chunk_size=20000):
        village, seq = number[:12], int(number[12:])
        next_seq[village] = max(next_seq.get(village, 0), seq)
    created_h = created_m = 0
    plan = village_plan(rng, villages, households, favoured)
    while created_h < households:
        size = min(chunk, households - created_h)
        with transaction.atomic():
            household_ids = allocate_ids(Household, size)
            household_rows, member_rows = [], []
            for household_id in household_ids:
                village = next(plan)
                next_seq[village] = next_seq.get(village, 0) + 1
                household_rows.append(
                    {
                        "id": household_id,
                        "number": f"{village}{next_seq[village]:05d}",
                        "village_id": village,
                        "phone": names.mobile(),
                        "helper_name": names.full(),
                        "helper_unit": rng.choice(HELPER_UNITS),
                        "helper_phone": names.mobile(),
                        "lost_contact": rng.random() < 0.002,
                        "released_prisoner": rng.random() < 0.002,
                        **_household_fields(rng),
                    }
                )
                row = household_rows[-1]
                # The registry requires the note with either flag (households.services).
                notes = [SPECIAL_NOTES[flag] for flag in ("lost_contact", "released_prisoner") if row[flag]]
                if notes:
                    row["special_notes"] = "；".join(notes)
                surname = names.surname()
                county = village[:6]
                for person in _family(rng):
                    shares_surname = person.relationship not in (
                        Relationship.SPOUSE,
                        Relationship.DAUGHTER_IN_LAW,
                        Relationship.MOTHER,
                    )
                    member_rows.append(
                        {
                            "household_id": household_id,
                            "name": (surname if shares_surname else names.surname()) + names.given(person.sex),
                            "id_number": ids.new(county, person.birth_date, person.sex),
                            "sex": person.sex,
                            "birth_date": person.birth_date,
                            "relationship": person.relationship,
                            **_member_fields(rng, person),
                        }
                    )
            for member_id, row in zip(allocate_ids(Member, len(member_rows)), member_rows, strict=True):
                row["id"] = member_id
            sizes = Counter(row["household_id"] for row in member_rows)
            income_rows, housing_rows, water_rows = [], [], []
            for household in household_rows:
                hid = household["id"]
                income_rows += _income_rows(rng, hid, sizes[hid], household["exit_status"])
                housing_rows.append(_housing_row(rng, hid, household["is_relocated"]))
                water_rows.append(_water_row(rng, hid))
            for model, rows in ((IncomeRecord, income_rows), (HousingAppraisal, housing_rows),
                                (WaterAssessment, water_rows)):  # fmt: skip
                for row_id, row in zip(allocate_ids(model, len(rows)), rows, strict=True):
                    row["id"] = row_id
            for model, rows in ((Household, household_rows), (Member, member_rows), (IncomeRecord, income_rows),
                                (HousingAppraisal, housing_rows), (WaterAssessment, water_rows)):  # fmt: skip
                bulk_insert_with_history(model, rows, change_reason=change_reasons.DEMO)
            members = member_rows
        created_h += size
        created_m += len(members)
        if progress:
            progress(created_h, created_m)
    return {"households": created_h, "members": created_m}
