"""The registry (建档立卡, DOMAIN.md §2): households 户 and their members 人.

Every enumeration is a ``TextChoices`` whose values the database also checks, so a
value that bypasses the forms (a bulk import, a shell session) is still refused.
"""

from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings
from django.db import models
from django.db.models import ExpressionWrapper, F, Q
from django.db.models.functions import Round
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from households.idnumbers import mask_id_number, mask_phone
from regions.scoping import ScopedQuerySet


class IdentificationStandard(models.TextChoices):
    NATIONAL = "national", _("国家标准")
    PROVINCIAL = "provincial", _("省定标准")
    MUNICIPAL = "municipal", _("市定标准")


class PovertyAttribute(models.TextChoices):
    GENERAL = "general", _("一般贫困户")
    DIBAO = "dibao", _("低保贫困户")
    TEKUN = "tekun", _("特困供养贫困户")


class PovertyCause(models.TextChoices):
    ILLNESS = "illness", _("因病")
    DISABILITY = "disability", _("因残")
    SCHOOLING = "schooling", _("因学")
    DISASTER = "disaster", _("因灾")
    LACK_LAND = "lack_land", _("缺土地")
    LACK_WATER = "lack_water", _("缺水")
    LACK_SKILLS = "lack_skills", _("缺技术")
    LACK_LABOUR = "lack_labour", _("缺劳力")
    LACK_FUNDS = "lack_funds", _("缺资金")
    POOR_TRANSPORT = "poor_transport", _("交通条件落后")
    LACK_MOTIVATION = "lack_motivation", _("自身发展动力不足")
    OTHER = "other", _("其他")


class ExitStatus(models.TextChoices):
    NOT_EXITED = "not_exited", _("未脱贫")
    EXITED = "exited", _("已脱贫")
    RETURNED = "returned", _("返贫")


class RelocationMode(models.TextChoices):
    CENTRALISED = "centralised", _("集中安置")
    SCATTERED = "scattered", _("分散安置")


class HouseholdQuerySet(ScopedQuerySet):
    region_lookup = "village__code"


class Household(models.Model):
    number = models.CharField(_("户编号"), max_length=30, unique=True)
    village = models.ForeignKey(
        "regions.Region",
        verbose_name=_("所属村"),
        on_delete=models.PROTECT,
        related_name="households",
        limit_choices_to={"level": "village"},
    )
    group_no = models.PositiveSmallIntegerField(_("村民小组"))
    phone = models.CharField(_("联系电话"), max_length=11, blank=True)
    identification_standard = models.CharField(_("识别标准"), max_length=12, choices=IdentificationStandard.choices)
    attribute = models.CharField(_("贫困户属性"), max_length=10, choices=PovertyAttribute.choices)
    main_cause = models.CharField(_("主要致贫原因"), max_length=16, choices=PovertyCause.choices)
    # A short list of PovertyCause values; the service validates each entry.
    other_causes = models.JSONField(_("其他致贫原因"), default=list, blank=True)
    identification_year = models.PositiveSmallIntegerField(_("识别年度"))
    exit_status = models.CharField(
        _("脱贫状态"), max_length=12, choices=ExitStatus.choices, default=ExitStatus.NOT_EXITED
    )
    exit_year = models.PositiveSmallIntegerField(_("脱贫年度"), null=True, blank=True)
    is_relocated = models.BooleanField(_("易地扶贫搬迁户"), default=False)
    relocation_mode = models.CharField(_("搬迁方式"), max_length=12, choices=RelocationMode.choices, blank=True)
    helper_name = models.CharField(_("帮扶责任人"), max_length=50, blank=True)
    helper_unit = models.CharField(_("帮扶责任人单位"), max_length=100, blank=True)
    helper_phone = models.CharField(_("帮扶责任人电话"), max_length=11, blank=True)
    lost_contact = models.BooleanField(_("失联人员"), default=False)
    released_prisoner = models.BooleanField(_("刑满释放人员"), default=False)
    special_notes = models.TextField(_("特殊情况说明"), blank=True)
    # Optimistic lock: every save through the registry service bumps it, and a save
    # that started from an older version is refused (no silent lost update).
    version = models.PositiveIntegerField(_("版本"), default=1)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)
    # The 户主's name, kept by database triggers on the member table (households.triggers)
    # whatever path writes a member: lists, searches and counts read it from the
    # household row and its index instead of looking up each household's members.
    # Derived, so never edited and not in the 变更记录 (the member's own history has it).
    head_name = models.CharField(_("户主姓名"), max_length=50, null=True, blank=True, editable=False)

    history = HistoricalRecords(verbose_name=_("户变更记录"), excluded_fields=["version", "head_name"])
    # How the 变更记录 panel shows these fields: phones masked like everywhere else (§9).
    HISTORY_DISPLAY = {
        "phone": lambda v: mask_phone(v),
        "helper_phone": lambda v: mask_phone(v),
        "other_causes": lambda v: "、".join(str(PovertyCause(c).label) if c in PovertyCause.values else c for c in v),
    }
    objects = HouseholdQuerySet.as_manager()

    class Meta:
        verbose_name = _("贫困户")
        verbose_name_plural = _("贫困户")
        ordering = ["number"]
        constraints = [
            models.CheckConstraint(
                condition=Q(identification_standard__in=IdentificationStandard.values),
                name="household_identification_standard_valid",
            ),
            models.CheckConstraint(
                condition=Q(attribute__in=PovertyAttribute.values), name="household_attribute_valid"
            ),
            models.CheckConstraint(condition=Q(main_cause__in=PovertyCause.values), name="household_main_cause_valid"),
            models.CheckConstraint(condition=Q(exit_status__in=ExitStatus.values), name="household_exit_status_valid"),
            # An exited or relapsed household has the year it exited; an unexited one has none.
            models.CheckConstraint(
                condition=Q(exit_status="not_exited", exit_year__isnull=True)
                | (~Q(exit_status="not_exited") & Q(exit_year__isnull=False)),
                name="household_exit_year_iff_exited",
            ),
            models.CheckConstraint(
                condition=Q(is_relocated=True, relocation_mode__in=RelocationMode.values)
                | Q(is_relocated=False, relocation_mode=""),
                name="household_relocation_mode_iff_relocated",
            ),
            models.CheckConstraint(condition=Q(group_no__gte=1), name="household_group_no_positive"),
        ]
        indexes = [
            # A region's households by exit status (未脱贫 and the like), read from the
            # index alone (the id and the 户主 are in it): the list's most used filter,
            # and the count of a 户主 search that narrows them further (bench/bench_pages.py).
            models.Index(
                fields=["exit_status", "village", "id"],
                opclasses=["varchar_pattern_ops", "varchar_pattern_ops", "int8_ops"],
                include=["head_name"],
                name="household_status_village",
            ),
        ]

    def __str__(self) -> str:
        return self.number


class Relationship(models.TextChoices):
    HEAD = "head", _("户主")
    SPOUSE = "spouse", _("配偶")
    SON = "son", _("之子")
    DAUGHTER = "daughter", _("之女")
    DAUGHTER_IN_LAW = "daughter_in_law", _("之儿媳")
    SON_IN_LAW = "son_in_law", _("之女婿")
    GRANDSON = "grandson", _("之孙子")
    GRANDDAUGHTER = "granddaughter", _("之孙女")
    DAUGHTERS_SON = "daughters_son", _("之外孙子")
    DAUGHTERS_DAUGHTER = "daughters_daughter", _("之外孙女")
    FATHER = "father", _("之父")
    MOTHER = "mother", _("之母")
    WIFES_FATHER = "wifes_father", _("之岳父")
    WIFES_MOTHER = "wifes_mother", _("之岳母")
    HUSBANDS_FATHER = "husbands_father", _("之公公")
    HUSBANDS_MOTHER = "husbands_mother", _("之婆婆")
    GRANDFATHER = "grandfather", _("之祖父")
    GRANDMOTHER = "grandmother", _("之祖母")
    MATERNAL_GRANDFATHER = "maternal_grandfather", _("之外祖父")
    MATERNAL_GRANDMOTHER = "maternal_grandmother", _("之外祖母")
    SIBLING = "sibling", _("之兄弟姐妹")
    GREAT_GRANDSON = "great_grandson", _("之曾孙子")
    GREAT_GRANDDAUGHTER = "great_granddaughter", _("之曾孙女")
    NEPHEW = "nephew", _("之侄儿")
    NIECE = "niece", _("之侄女")
    SIBLINGS_WIFE = "siblings_wife", _("之兄弟媳妇")
    UNCLE = "uncle", _("之叔伯")
    OTHER = "other", _("其他")


class Sex(models.TextChoices):
    MALE = "male", _("男")
    FEMALE = "female", _("女")


class PoliticalStatus(models.TextChoices):
    PARTY_MEMBER = "party_member", _("中共党员")
    PROBATIONARY = "probationary", _("中共预备党员")
    LEAGUE_MEMBER = "league_member", _("共青团员")
    MASSES = "masses", _("群众")


class Education(models.TextChoices):
    ILLITERATE = "illiterate", _("文盲或半文盲")
    PRIMARY = "primary", _("小学")
    JUNIOR = "junior", _("初中")
    SENIOR = "senior", _("高中")
    COLLEGE = "college", _("大专")
    BACHELOR = "bachelor", _("本科及以上")


class Schooling(models.TextChoices):
    PRESCHOOL_AGE = "preschool_age", _("学龄前儿童")
    PRESCHOOL = "preschool", _("学前教育")
    PRIMARY = "primary", _("小学")
    GRADE_7 = "grade_7", _("七年级")
    GRADE_8 = "grade_8", _("八年级")
    GRADE_9 = "grade_9", _("九年级")
    HIGH_1 = "high_1", _("普通高中一年级")
    HIGH_2 = "high_2", _("普通高中二年级")
    HIGH_3 = "high_3", _("普通高中三年级")
    VOCATIONAL_1 = "vocational_1", _("中职一年级")
    VOCATIONAL_2 = "vocational_2", _("中职二年级")
    VOCATIONAL_3 = "vocational_3", _("中职三年级")
    HIGHER_VOCATIONAL_1 = "higher_vocational_1", _("高职高专一年级")
    HIGHER_VOCATIONAL_2 = "higher_vocational_2", _("高职高专二年级")
    HIGHER_VOCATIONAL_3 = "higher_vocational_3", _("高职高专三年级")
    BACHELOR = "bachelor", _("本科及以上")


class LabourSkill(models.TextChoices):
    ORDINARY = "ordinary", _("普通劳动力")
    SKILLED = "skilled", _("技能劳动力")
    WEAK = "weak", _("弱劳动力或半劳动力")
    LOST = "lost", _("丧失劳动力")
    NONE = "none", _("无劳动力")


class WorkStatus(models.TextChoices):
    IN_TOWN = "in_town", _("乡（镇）内务工")
    IN_COUNTY = "in_county", _("乡（镇）外县内务工")
    IN_PROVINCE = "in_province", _("县外省内务工")
    OUT_OF_PROVINCE = "out_of_province", _("省外务工")
    PUBLIC_WELFARE_POST = "public_welfare_post", _("公益性岗位")
    NOT_WORKING = "not_working", _("未务工")


class MedicalInsurance(models.TextChoices):
    RESIDENT = "resident", _("城乡居民基本医疗保险")
    EMPLOYEE = "employee", _("城镇职工基本医疗保险")
    UNINSURED = "uninsured", _("未参保")


class MemberQuerySet(ScopedQuerySet):
    region_lookup = "household__village__code"


class Member(models.Model):
    household = models.ForeignKey(Household, verbose_name=_("所属户"), on_delete=models.PROTECT, related_name="members")
    name = models.CharField(_("姓名"), max_length=50)
    id_number = models.CharField(_("证件号码"), max_length=18, unique=True)
    # Sex and birth date are derived from the ID number by the registry service and
    # stored so that age and sex can be filtered and aggregated in SQL.
    sex = models.CharField(_("性别"), max_length=6, choices=Sex.choices)
    birth_date = models.DateField(_("出生日期"))
    relationship = models.CharField(_("与户主关系"), max_length=24, choices=Relationship.choices)
    ethnicity = models.CharField(_("民族"), max_length=20, default="汉族")
    political_status = models.CharField(
        _("政治面貌"), max_length=16, choices=PoliticalStatus.choices, default=PoliticalStatus.MASSES
    )
    education = models.CharField(_("文化程度"), max_length=12, choices=Education.choices, blank=True)
    schooling = models.CharField(_("在校生状况"), max_length=24, choices=Schooling.choices, blank=True)
    # 健康状况 allows several values; "健康" is the absence of the three below.
    has_chronic_disease = models.BooleanField(_("长期慢性病"), default=False)
    has_serious_illness = models.BooleanField(_("患有大病"), default=False)
    is_disabled = models.BooleanField(_("残疾"), default=False)
    disability_category = models.CharField(_("残疾类别"), max_length=20, blank=True)
    disability_grade = models.PositiveSmallIntegerField(_("残疾等级"), null=True, blank=True)
    labour_skill = models.CharField(_("劳动技能"), max_length=10, choices=LabourSkill.choices)
    work_status = models.CharField(
        _("务工状况"), max_length=20, choices=WorkStatus.choices, default=WorkStatus.NOT_WORKING
    )
    work_place = models.CharField(_("务工地点"), max_length=100, blank=True)
    work_months = models.PositiveSmallIntegerField(_("务工月数"), default=0)
    employer = models.CharField(_("务工单位"), max_length=100, blank=True)
    medical_insurance = models.CharField(_("医保"), max_length=10, choices=MedicalInsurance.choices)
    critical_illness_insurance = models.BooleanField(_("大病保险"), default=False)
    family_doctor = models.BooleanField(_("家庭医生签约"), default=False)
    is_dibao = models.BooleanField(_("低保"), default=False)
    is_tekun = models.BooleanField(_("特困"), default=False)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    history = HistoricalRecords(verbose_name=_("成员变更记录"))
    HISTORY_DISPLAY = {"id_number": lambda v: mask_id_number(v)}
    objects = MemberQuerySet.as_manager()

    class Meta:
        verbose_name = _("家庭成员")
        verbose_name_plural = _("家庭成员")
        ordering = ["household", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(relationship__in=Relationship.values), name="member_relationship_valid"),
            models.CheckConstraint(condition=Q(sex__in=Sex.values), name="member_sex_valid"),
            models.CheckConstraint(
                condition=Q(political_status__in=PoliticalStatus.values), name="member_political_status_valid"
            ),
            models.CheckConstraint(condition=Q(education__in=[*Education.values, ""]), name="member_education_valid"),
            models.CheckConstraint(condition=Q(schooling__in=[*Schooling.values, ""]), name="member_schooling_valid"),
            # 文化程度 XOR 在校生状况 (DOMAIN.md §2).
            models.CheckConstraint(
                condition=(Q(education="") & ~Q(schooling="")) | (~Q(education="") & Q(schooling="")),
                name="member_education_xor_schooling",
            ),
            models.CheckConstraint(condition=Q(labour_skill__in=LabourSkill.values), name="member_labour_skill_valid"),
            models.CheckConstraint(condition=Q(work_status__in=WorkStatus.values), name="member_work_status_valid"),
            models.CheckConstraint(
                condition=Q(medical_insurance__in=MedicalInsurance.values), name="member_medical_insurance_valid"
            ),
            models.CheckConstraint(condition=Q(work_months__lte=12), name="member_work_months_at_most_12"),
            # 务工地点 is filled exactly when 务工月数 > 0.
            models.CheckConstraint(
                condition=(Q(work_months=0) & Q(work_place="")) | (Q(work_months__gt=0) & ~Q(work_place="")),
                name="member_work_place_iff_months",
            ),
            # Exactly one 户主 and at most one 配偶 per household: the "at most" half is
            # the database's; "at least one 户主" is checked by the registry service.
            models.UniqueConstraint(fields=["household"], condition=Q(relationship="head"), name="member_one_head"),
            models.UniqueConstraint(fields=["household"], condition=Q(relationship="spouse"), name="member_one_spouse"),
        ]
        indexes = [
            # Each household's 户主 with the name: a 户主 name search probes it alone.
            models.Index(fields=["household", "name"], condition=Q(relationship="head"), name="member_head_name"),
        ]

    def __str__(self) -> str:
        return self.name


class IncomeRecordQuerySet(ScopedQuerySet):
    region_lookup = "household__village__code"

    def with_per_capita(self):
        """Annotate 人均纯收入 in SQL, the same formula as ``IncomeRecord.per_capita``."""
        net = (
            F("wage_income")
            + F("business_income")
            + F("property_income")
            + F("transfer_income")
            - F("business_expense")
        )
        return self.annotate(
            net_income_sql=ExpressionWrapper(net, output_field=models.DecimalField(max_digits=14, decimal_places=2)),
            # Rounded half away from zero to the fen, as ``IncomeRecord.per_capita`` is.
            per_capita_sql=Round(
                ExpressionWrapper(
                    net / F("population"), output_field=models.DecimalField(max_digits=14, decimal_places=4)
                ),
                2,
            ),
        )


class IncomeRecord(models.Model):
    """One year of a household's income ledger (DOMAIN.md §3.1).

    人均纯收入 is derived, never stored: (工资性 + 生产经营性 + 财产性 + 转移性 − 生产经营性支出)
    ÷ 家庭人口数. The population is that year's, recorded with the ledger, so a later
    change of household members does not rewrite past years.
    """

    household = models.ForeignKey(Household, verbose_name=_("所属户"), on_delete=models.CASCADE, related_name="incomes")
    year = models.PositiveSmallIntegerField(_("年度"))
    population = models.PositiveSmallIntegerField(_("家庭人口数"))
    wage_income = models.DecimalField(_("工资性收入"), max_digits=12, decimal_places=2, default=0)
    business_income = models.DecimalField(_("生产经营性收入"), max_digits=12, decimal_places=2, default=0)
    property_income = models.DecimalField(_("财产性收入"), max_digits=12, decimal_places=2, default=0)
    transfer_income = models.DecimalField(_("转移性收入"), max_digits=12, decimal_places=2, default=0)
    business_expense = models.DecimalField(_("生产经营性支出"), max_digits=12, decimal_places=2, default=0)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    history = HistoricalRecords(verbose_name=_("收入变更记录"))
    objects = IncomeRecordQuerySet.as_manager()

    class Meta:
        verbose_name = _("家庭年收入")
        verbose_name_plural = _("家庭年收入")
        ordering = ["household", "-year"]
        constraints = [
            models.UniqueConstraint(fields=["household", "year"], name="income_one_record_per_year"),
            models.CheckConstraint(condition=Q(population__gte=1), name="income_population_positive"),
            models.CheckConstraint(
                condition=Q(
                    wage_income__gte=0,
                    business_income__gte=0,
                    property_income__gte=0,
                    transfer_income__gte=0,
                    business_expense__gte=0,
                ),
                name="income_amounts_not_negative",
            ),
            models.CheckConstraint(condition=Q(year__gte=2000, year__lte=2100), name="income_year_plausible"),
        ]

    def __str__(self) -> str:
        return f"{self.household} {self.year}"

    @property
    def net_income(self) -> Decimal:
        return (
            self.wage_income
            + self.business_income
            + self.property_income
            + self.transfer_income
            - self.business_expense
        )

    @property
    def per_capita(self) -> Decimal:
        return (self.net_income / self.population).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


class HousingGrade(models.TextChoices):
    A = "A", _("A级（安全）")
    B = "B", _("B级（基本安全）")
    C = "C", _("C级（局部危房）")
    D = "D", _("D级（整幢危房）")


class HousingOutcome(models.TextChoices):
    """How a C/D house was made safe (DOMAIN.md §3.2)."""

    RENOVATED = "renovated", _("危房改造已验收")
    RELOCATED = "relocated", _("易地搬迁已入住")
    WELFARE_HOME = "welfare_home", _("入住幸福院")
    PUBLIC_RENTAL = "public_rental", _("入住集体公租房")
    WITH_CHILDREN = "with_children", _("随子女居住（有赡养协议）")


class HousingAppraisalQuerySet(ScopedQuerySet):
    region_lookup = "household__village__code"


class HousingAppraisal(models.Model):
    household = models.ForeignKey(
        Household, verbose_name=_("所属户"), on_delete=models.CASCADE, related_name="housing_appraisals"
    )
    grade = models.CharField(_("鉴定等级"), max_length=1, choices=HousingGrade.choices)
    appraised_on = models.DateField(_("鉴定日期"))
    appraising_unit = models.CharField(_("鉴定单位"), max_length=100)
    outcome = models.CharField(_("改造或搬迁结果"), max_length=16, choices=HousingOutcome.choices, blank=True)
    outcome_date = models.DateField(_("结果日期"), null=True, blank=True)
    notes = models.TextField(_("备注"), blank=True)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)

    history = HistoricalRecords(verbose_name=_("住房鉴定变更记录"))
    objects = HousingAppraisalQuerySet.as_manager()

    class Meta:
        verbose_name = _("住房安全鉴定")
        verbose_name_plural = _("住房安全鉴定")
        ordering = ["household", "-appraised_on", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(grade__in=HousingGrade.values), name="housing_grade_valid"),
            models.CheckConstraint(condition=Q(outcome__in=[*HousingOutcome.values, ""]), name="housing_outcome_valid"),
            # Only a C/D house needs an outcome, and an outcome has its date.
            models.CheckConstraint(
                condition=Q(outcome="") | (Q(grade__in=["C", "D"]) & Q(outcome_date__isnull=False)),
                name="housing_outcome_only_for_c_d_with_date",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.household} {self.grade} {self.appraised_on}"

    @property
    def is_safe(self) -> bool:
        """A/B pass; C/D pass only once renovated, relocated or otherwise safely housed."""
        return self.grade in (HousingGrade.A, HousingGrade.B) or bool(self.outcome)


# Shaanxi drinking-water thresholds (DOMAIN.md §3.5, 省水利厅 2017) — a published rule.
WATER_MIN_LITRES_PER_PERSON_DAY = Decimal("20")
WATER_MAX_ROUND_TRIP_MINUTES = 20
WATER_MIN_RELIABILITY_PERCENT = Decimal("95")


class WaterAssessmentQuerySet(ScopedQuerySet):
    region_lookup = "household__village__code"


class WaterAssessment(models.Model):
    household = models.ForeignKey(
        Household, verbose_name=_("所属户"), on_delete=models.CASCADE, related_name="water_assessments"
    )
    assessed_on = models.DateField(_("评估日期"))
    quality_ok = models.BooleanField(_("水质达标"), help_text=_("符合 GB 5749，或小型工程无肉眼可见杂质、无异色异味"))
    litres_per_person_day = models.DecimalField(_("人均日供水量（升）"), max_digits=6, decimal_places=1)
    piped_to_house = models.BooleanField(_("自来水入户"), default=False)
    round_trip_minutes = models.PositiveSmallIntegerField(_("取水往返时间（分钟）"), null=True, blank=True)
    reliability_percent = models.DecimalField(_("供水保证率（%）"), max_digits=5, decimal_places=1)
    notes = models.TextField(_("备注"), blank=True)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)

    history = HistoricalRecords(verbose_name=_("饮水评估变更记录"))
    objects = WaterAssessmentQuerySet.as_manager()

    class Meta:
        verbose_name = _("饮水安全评估")
        verbose_name_plural = _("饮水安全评估")
        ordering = ["household", "-assessed_on", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(reliability_percent__gte=0, reliability_percent__lte=100), name="water_reliability_0_100"
            ),
            models.CheckConstraint(condition=Q(litres_per_person_day__gte=0), name="water_litres_not_negative"),
            # Without piped water the walk to the source is what convenience is measured by.
            models.CheckConstraint(
                condition=Q(piped_to_house=True) | Q(round_trip_minutes__isnull=False),
                name="water_round_trip_unless_piped",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.household} {self.assessed_on}"

    @property
    def quantity_ok(self) -> bool:
        return self.litres_per_person_day >= WATER_MIN_LITRES_PER_PERSON_DAY

    @property
    def convenience_ok(self) -> bool:
        return self.piped_to_house or (
            self.round_trip_minutes is not None and self.round_trip_minutes <= WATER_MAX_ROUND_TRIP_MINUTES
        )

    @property
    def reliability_ok(self) -> bool:
        return self.reliability_percent >= WATER_MIN_RELIABILITY_PERCENT

    @property
    def is_safe(self) -> bool:
        return self.quality_ok and self.quantity_ok and self.convenience_ok and self.reliability_ok


class MemberTransfer(models.Model):
    """A member moving between households (a transfer, never a duplicate ID, DOMAIN.md §2)."""

    member = models.ForeignKey(Member, verbose_name=_("成员"), on_delete=models.CASCADE, related_name="transfers")
    from_household = models.ForeignKey(
        Household, verbose_name=_("迁出户"), on_delete=models.PROTECT, related_name="transfers_out"
    )
    to_household = models.ForeignKey(
        Household, verbose_name=_("迁入户"), on_delete=models.PROTECT, related_name="transfers_in"
    )
    from_relationship = models.CharField(_("原与户主关系"), max_length=24, choices=Relationship.choices)
    to_relationship = models.CharField(_("新与户主关系"), max_length=24, choices=Relationship.choices)
    reason = models.CharField(_("转移原因"), max_length=200)
    transferred_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("办理人"), on_delete=models.PROTECT, related_name="+"
    )
    transferred_at = models.DateTimeField(_("办理时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("成员转移")
        verbose_name_plural = _("成员转移")
        ordering = ["-transferred_at"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(from_household=F("to_household")), name="transfer_between_different_households"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.member}: {self.from_household} → {self.to_household}"


class PersonalDataAccess(models.Model):
    """Every view of a full ID or phone number, and every full-number export (DOMAIN.md §9)."""

    class Action(models.TextChoices):
        REVEAL = "reveal", _("查看完整号码")
        EXPORT = "export", _("导出完整号码")
        # "该证件号码已在其他地区登记": the answer tells that a person exists somewhere.
        EXISTS = "exists", _("跨地区查重")

    user = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("操作人"), on_delete=models.PROTECT)
    action = models.CharField(_("操作"), max_length=8, choices=Action.choices)
    household = models.ForeignKey(Household, verbose_name=_("户"), on_delete=models.SET_NULL, null=True, blank=True)
    member = models.ForeignKey(Member, verbose_name=_("成员"), on_delete=models.SET_NULL, null=True, blank=True)
    detail = models.CharField(_("说明"), max_length=200, blank=True)
    at = models.DateTimeField(_("时间"), auto_now_add=True, db_index=True)

    class Meta:
        verbose_name = _("个人信息查看记录")
        verbose_name_plural = _("个人信息查看记录")
        ordering = ["-at"]
        constraints = [
            models.CheckConstraint(condition=Q(action__in=["reveal", "export", "exists"]), name="pda_action_valid"),
        ]
        # The per-user limits count a user's recent rows of one action.
        indexes = [models.Index(fields=["user", "action", "at"], name="pda_user_action_at")]

    def __str__(self) -> str:
        return f"{self.user} {self.get_action_display()} {self.at:%Y-%m-%d %H:%M}"
