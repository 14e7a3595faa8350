"""factory-boy factories for registry rows, with valid resident ID numbers."""

import datetime
import itertools

import factory
from stdnum.cn import ric

from households.models import (
    Education,
    Household,
    IdentificationStandard,
    LabourSkill,
    MedicalInsurance,
    Member,
    PovertyAttribute,
    PovertyCause,
    Relationship,
    Sex,
)

_sequence = itertools.count(1)


def valid_id_number(county="610902", birth=datetime.date(1980, 5, 17), sex=Sex.MALE) -> str:
    """A resident ID with a correct GB 11643 check digit, unique within a test run."""
    n = next(_sequence) % 500
    body = f"{county}{birth:%Y%m%d}{n * 2 + (1 if sex == Sex.MALE else 0):03d}"
    return body + ric.calc_check_digit(body + "0")


class HouseholdFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Household

    number = factory.Sequence(lambda n: f"T{n:08d}")
    village_id = "610902101201"
    group_no = 1
    identification_standard = IdentificationStandard.NATIONAL
    attribute = PovertyAttribute.GENERAL
    main_cause = PovertyCause.ILLNESS
    identification_year = 2014


class MemberFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Member

    household = factory.SubFactory(HouseholdFactory)
    name = factory.Sequence(lambda n: f"成员{n}")
    sex = Sex.MALE
    birth_date = datetime.date(1980, 5, 17)
    id_number = factory.LazyAttribute(lambda o: valid_id_number(birth=o.birth_date, sex=o.sex))
    relationship = Relationship.HEAD
    education = Education.JUNIOR
    labour_skill = LabourSkill.ORDINARY
    medical_insurance = MedicalInsurance.RESIDENT
    critical_illness_insurance = True
