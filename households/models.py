"""The registry (建档立卡, DOMAIN.md §2): households 户 and their members 人.

Every enumeration is a ``TextChoices`` whose values the database also checks, so a
value that bypasses the forms (a bulk import, a shell session) is still refused.
"""

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

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
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    history = HistoricalRecords(verbose_name=_("户变更记录"))
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

    def __str__(self) -> str:
        return self.name
