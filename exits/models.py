"""Exit cases (脱贫退出): campaigns, the five criteria and the eight steps (DOMAIN.md §3, §4).

A campaign carries every deadline, the step-to-level mapping, the notice minimum and
the income line as data. A household enrolled into a campaign is an ``ExitCase``; its
five ``CriterionCheck`` rows hold what the registry measured, the village's
assessment and the sector's certification; each completed step is a ``StepRecord``
(a return resets the later ones, which stay as history). Objections belong to the
notice step; special situations (失联, 刑满释放) get their own investigated decision.
"""

from __future__ import annotations

import datetime
from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from accounts.models import Role, Sector
from regions.scoping import ScopedQuerySet


class Level(models.TextChoices):
    VILLAGE = "village", _("村级")
    TOWN = "town", _("镇级")
    COUNTY = "county", _("县级")
    MARKING = "marking", _("系统标注")


# Who works at each level of the workflow (DOMAIN.md §1, §4): the marking is done by
# the county's operator.
LEVEL_ROLE = {
    Level.VILLAGE: Role.VILLAGE_CADRE,
    Level.TOWN: Role.TOWN_OFFICIAL,
    Level.COUNTY: Role.COUNTY_OFFICIAL,
    Level.MARKING: Role.COUNTY_OFFICIAL,
}


class Step(models.IntegerChoices):
    VERIFY = 1, _("信息核实")
    APPRAISE = 2, _("民主评议")
    CROSS_CHECK = 3, _("交叉检查")
    REVIEW = 4, _("审核审查")
    NOTICE = 5, _("公示公告")
    APPROVE = 6, _("核查批准")
    ARCHIVE = 7, _("资料备案")
    MARK = 8, _("系统标注")


STEP_COUNT = 8
DONE = STEP_COUNT + 1  # a case's current_step once step 8 is done

# The seed's mapping (DOMAIN.md §4); each campaign stores its own copy.
DEFAULT_STEP_LEVELS = {
    "1": Level.VILLAGE,
    "2": Level.VILLAGE,
    "3": Level.TOWN,
    "4": Level.TOWN,
    "5": Level.COUNTY,
    "6": Level.COUNTY,
    "7": Level.COUNTY,
    "8": Level.MARKING,
}

# Separation of duties (DOMAIN.md §1, §4), one declared table: the person completing a
# step must not be the person who completed any step it checks. The service refuses,
# the case page names who may not act before anyone tries. (Issue 14 asks at least
# 4 ≠ 3, 6 ≠ 5, 3–4 ≠ 1–2, 6 ≠ 3–4.)
REVIEWS = {
    Step.CROSS_CHECK: (Step.VERIFY, Step.APPRAISE),
    Step.REVIEW: (Step.VERIFY, Step.APPRAISE, Step.CROSS_CHECK),
    Step.APPROVE: (Step.CROSS_CHECK, Step.REVIEW, Step.NOTICE),
}

# National current-price poverty lines (DOMAIN.md §3.1): the default income line of a
# new campaign for that year; the campaign's own value is what counts.
POVERTY_LINES = {
    2014: Decimal("2800"),
    2015: Decimal("2855"),
    2016: Decimal("2952"),
    2017: Decimal("2952"),
    2018: Decimal("2995"),
    2019: Decimal("3218"),
    2020: Decimal("4000"),
}


class Campaign(models.Model):
    year = models.PositiveSmallIntegerField(_("年度"), unique=True)
    name = models.CharField(_("名称"), max_length=100)
    income_line = models.DecimalField(_("收入标准（元/人·年）"), max_digits=8, decimal_places=2)
    village_deadline = models.DateField(_("村级完成时限"))
    town_deadline = models.DateField(_("镇级完成时限"))
    county_deadline = models.DateField(_("县级完成时限"))
    marking_deadline = models.DateField(_("系统标注时限"))
    step_levels = models.JSONField(_("步骤所属层级"), default=dict)
    # Which gates (exits.gates.Gate) must hold before each step can be done; empty
    # means the defaults of exits.gates.DEFAULT_STEP_GATES (DOMAIN.md §3–4).
    step_gates = models.JSONField(_("各步骤前置条件"), default=dict, blank=True)
    # Sector certification (行业部门达标认定) comes before the village's work (seed);
    # empty means the village deadline.
    certification_deadline = models.DateField(_("达标认定时限"), null=True, blank=True)
    notice_min_days = models.PositiveSmallIntegerField(_("公示最少天数"), default=7)
    school_age_min = models.PositiveSmallIntegerField(_("义务教育起始年龄"), default=6)
    school_age_max = models.PositiveSmallIntegerField(_("义务教育截止年龄"), default=15)
    is_active = models.BooleanField(_("进行中"), default=True)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)

    history = HistoricalRecords(verbose_name=_("退出批次变更记录"))
    # How the 变更记录 panel shows the step settings: step and level names, not codes.
    HISTORY_DISPLAY = {
        "step_levels": lambda v: _describe_step_levels(v),
        "step_gates": lambda v: _describe_step_gates(v),
    }

    class Meta:
        verbose_name = _("退出批次")
        verbose_name_plural = _("退出批次")
        ordering = ["-year"]
        constraints = [
            models.CheckConstraint(
                condition=Q(village_deadline__lte=models.F("town_deadline"))
                & Q(town_deadline__lte=models.F("county_deadline"))
                & Q(county_deadline__lte=models.F("marking_deadline")),
                name="campaign_deadlines_in_order",
            ),
            models.CheckConstraint(condition=Q(notice_min_days__gte=1), name="campaign_notice_min_days_positive"),
            models.CheckConstraint(
                condition=Q(school_age_min__lte=models.F("school_age_max")), name="campaign_school_age_range"
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def level_of(self, step: int) -> str:
        return (self.step_levels or DEFAULT_STEP_LEVELS).get(str(int(step)), DEFAULT_STEP_LEVELS[str(int(step))])

    def role_for(self, step: int) -> str:
        return LEVEL_ROLE[Level(self.level_of(step))]

    def deadline_for_level(self, level: str) -> datetime.date:
        return getattr(self, f"{level}_deadline")

    def deadline_for(self, step: int) -> datetime.date:
        return self.deadline_for_level(self.level_of(step))

    @property
    def certification_due(self) -> datetime.date:
        return self.certification_deadline or self.village_deadline

    def gates_for(self, step: int) -> list[str]:
        from exits.gates import gates_for_step  # the table lives with the gates

        return gates_for_step(self, step)


class CaseStatus(models.TextChoices):
    IN_PROGRESS = "in_progress", _("退出中")
    EXITED = "exited", _("已退出")


class ExitCaseQuerySet(ScopedQuerySet):
    region_lookup = "village__code"


class ExitCase(models.Model):
    campaign = models.ForeignKey(Campaign, verbose_name=_("退出批次"), on_delete=models.PROTECT, related_name="cases")
    household = models.ForeignKey(
        "households.Household", verbose_name=_("贫困户"), on_delete=models.PROTECT, related_name="exit_cases"
    )
    # The household's village, copied so scoping and dashboards need no join.
    village = models.ForeignKey("regions.Region", verbose_name=_("所属村"), on_delete=models.PROTECT, related_name="+")
    current_step = models.PositiveSmallIntegerField(_("当前步骤"), default=Step.VERIFY)
    status = models.CharField(_("状态"), max_length=12, choices=CaseStatus.choices, default=CaseStatus.IN_PROGRESS)
    notice_started_on = models.DateField(_("公示开始日期"), null=True, blank=True)
    enrolled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("纳入人"), on_delete=models.PROTECT, related_name="+"
    )
    enrolled_at = models.DateTimeField(_("纳入时间"), auto_now_add=True)
    exited_on = models.DateField(_("退出日期"), null=True, blank=True)
    # Guarded updates compare-and-set this, so two people completing the same step at
    # the same moment produce one completion and one conflict.
    version = models.PositiveIntegerField(_("版本"), default=1)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    history = HistoricalRecords(verbose_name=_("退出案件变更记录"), excluded_fields=["version"])
    objects = ExitCaseQuerySet.as_manager()

    class Meta:
        verbose_name = _("退出案件")
        verbose_name_plural = _("退出案件")
        ordering = ["village_id", "household__number"]
        constraints = [
            models.UniqueConstraint(fields=["campaign", "household"], name="exitcase_one_per_campaign"),
            models.CheckConstraint(
                condition=Q(current_step__gte=1, current_step__lte=DONE), name="exitcase_current_step_range"
            ),
            models.CheckConstraint(condition=Q(status__in=CaseStatus.values), name="exitcase_status_valid"),
            models.CheckConstraint(
                condition=Q(status="exited", current_step=DONE) | Q(status="in_progress", current_step__lt=DONE),
                name="exitcase_exited_iff_done",
            ),
        ]
        indexes = [models.Index(fields=["campaign", "current_step"])]

    def __str__(self) -> str:
        return f"{self.campaign.year} {self.household.number}"

    @property
    def is_done(self) -> bool:
        return self.current_step >= DONE

    @property
    def current_step_label(self) -> str:
        return str(Step(self.current_step).label) if self.current_step <= STEP_COUNT else str(_("已完成"))


class Criterion(models.TextChoices):
    INCOME = "income", _("收入达标")
    HOUSING = "housing", _("住房安全")
    EDUCATION = "education", _("义务教育")
    MEDICAL = "medical", _("基本医疗")
    WATER = "water", _("饮水安全")


# The sector department that certifies each criterion (DOMAIN.md §3).
CRITERION_SECTOR = {
    Criterion.INCOME: Sector.POVERTY_STATISTICS,
    Criterion.HOUSING: Sector.HOUSING,
    Criterion.EDUCATION: Sector.EDUCATION,
    Criterion.MEDICAL: Sector.HEALTH,
    Criterion.WATER: Sector.WATER,
}
# …and the criterion each department certifies (one each).
SECTOR_CRITERION = {sector: criterion for criterion, sector in CRITERION_SECTOR.items()}


class CriterionResult(models.TextChoices):
    MET = "met", _("达标")
    NOT_MET = "not_met", _("未达标")
    PENDING = "pending", _("待认定")


def _describe_measured(value) -> str:
    from exits.criteria import describe_measured  # criteria.py imports this module

    return describe_measured(value)


def _step_name(step) -> str:
    try:
        return f"{int(step)} {Step(int(step)).label}"
    except ValueError:
        return str(step)


def _describe_step_levels(value: dict) -> str:
    """ "1 信息核实：村级；…": which level carries each step."""
    return "；".join(
        f"{_step_name(step)}：{Level(level).label if level in Level.values else level}"
        for step, level in sorted(value.items(), key=lambda item: int(item[0]))
    )


def _describe_step_gates(value: dict) -> str:
    """ "7 核查批准：五项标准均达标、…": the gates each step needs (empty: the defaults)."""
    from exits.gates import Gate  # gates.py imports this module

    if not value:
        return str(_("默认前置条件"))
    return "；".join(
        f"{_step_name(step)}："
        + ("、".join(str(Gate(g).label) if g in Gate.values else str(g) for g in gates) or str(_("无")))
        for step, gates in sorted(value.items(), key=lambda item: int(item[0]))
    )


def _describe_step_data(value: dict) -> str:
    from exits.selectors import data_lines  # selectors.py imports this module

    return "；".join(f"{label}：{text}" for label, text in data_lines(value)) or "—"


class CriterionCheckQuerySet(ScopedQuerySet):
    region_lookup = "case__village__code"


class CriterionCheck(models.Model):
    """One of the five criteria of a case: measured from the registry, assessed by the
    village, certified by the criterion's sector department."""

    case = models.ForeignKey(ExitCase, verbose_name=_("退出案件"), on_delete=models.CASCADE, related_name="criteria")
    criterion = models.CharField(_("标准"), max_length=10, choices=Criterion.choices)
    result = models.CharField(
        _("测算结果"), max_length=8, choices=CriterionResult.choices, default=CriterionResult.PENDING
    )
    # What the registry showed: e.g. {"per_capita": "5210.00", "line": "4000.00"} or the
    # failing members, so the page can say why.
    measured = models.JSONField(_("测算数据"), default=dict, blank=True)
    failures = models.JSONField(_("未达标原因"), default=list, blank=True)
    measured_at = models.DateTimeField(_("测算时间"), null=True, blank=True)
    assessment = models.CharField(_("村级评定"), max_length=8, choices=CriterionResult.choices, blank=True)
    assessment_note = models.TextField(_("评定说明"), blank=True)
    assessed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("评定人"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    assessed_at = models.DateTimeField(_("评定时间"), null=True, blank=True)
    certified_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("认定人"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    certified_at = models.DateTimeField(_("认定时间"), null=True, blank=True)
    certification_note = models.TextField(_("认定意见"), blank=True)
    # What the sector certified: the measured values at that moment. A certification
    # stands only while the registry still measures exactly this (DOMAIN.md §3: "a
    # certification lapses when the data it certified changes").
    certified_measured = models.JSONField(_("认定时的测算数据"), null=True, blank=True)
    # Why the last certification lapsed, shown on the case page until certified again.
    lapse_note = models.TextField(_("认定失效原因"), blank=True)

    history = HistoricalRecords(verbose_name=_("退出标准变更记录"))
    # How the 变更记录 panel shows the measurements: labelled values, not Python dicts.
    HISTORY_DISPLAY = {
        "measured": lambda v: _describe_measured(v),
        "certified_measured": lambda v: _describe_measured(v),
        "failures": lambda v: "；".join(map(str, v)),
    }
    objects = CriterionCheckQuerySet.as_manager()

    class Meta:
        verbose_name = _("退出标准")
        verbose_name_plural = _("退出标准")
        ordering = ["case", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["case", "criterion"], name="criterion_once_per_case"),
            models.CheckConstraint(condition=Q(criterion__in=Criterion.values), name="criterion_valid"),
            models.CheckConstraint(condition=Q(result__in=CriterionResult.values), name="criterion_result_valid"),
            # A certification stands only on a met criterion.
            models.CheckConstraint(
                condition=Q(certified_at__isnull=True) | Q(result="met"), name="criterion_certified_only_when_met"
            ),
        ]
        # Criteria waiting for their sector's certification (进度看板, 我的待办): at city
        # scale the dashboard's count reads this instead of every criterion (issue 17).
        indexes = [
            models.Index(
                fields=["case"],
                condition=Q(result="met", certified_at__isnull=True),
                name="criterion_awaiting_cert",
            )
        ]

    def __str__(self) -> str:
        return str(self.get_criterion_display())

    @property
    def sector(self) -> str:
        return CRITERION_SECTOR[Criterion(self.criterion)]

    @property
    def is_certified(self) -> bool:
        return self.certified_at is not None

    @property
    def is_passed(self) -> bool:
        """Met and certified (DOMAIN.md §3: each criterion is a veto)."""
        return self.result == CriterionResult.MET and self.is_certified


class StepRecordQuerySet(ScopedQuerySet):
    region_lookup = "case__village__code"


class StepRecord(models.Model):
    """One completion of one step. A return to an earlier step marks the records of
    that step and later ones ``reset``; they stay as history."""

    case = models.ForeignKey(ExitCase, verbose_name=_("退出案件"), on_delete=models.CASCADE, related_name="steps")
    step = models.PositiveSmallIntegerField(_("步骤"), choices=Step.choices)
    data = models.JSONField(_("步骤记录"), default=dict, blank=True)
    completed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("完成人"), on_delete=models.PROTECT, related_name="+"
    )
    completed_at = models.DateTimeField(_("完成时间"))
    is_reset = models.BooleanField(_("已被退回"), default=False)
    reset_at = models.DateTimeField(_("退回时间"), null=True, blank=True)
    reset_reason = models.TextField(_("退回原因"), blank=True)

    history = HistoricalRecords(verbose_name=_("退出步骤变更记录"))
    HISTORY_DISPLAY = {"data": lambda v: _describe_step_data(v)}
    objects = StepRecordQuerySet.as_manager()

    class Meta:
        verbose_name = _("退出步骤记录")
        verbose_name_plural = _("退出步骤记录")
        ordering = ["case", "step", "completed_at"]
        constraints = [
            # At most one standing completion per step: the database's last word on a race.
            models.UniqueConstraint(
                fields=["case", "step"], condition=Q(is_reset=False), name="steprecord_one_standing_per_step"
            ),
            models.CheckConstraint(condition=Q(step__gte=1, step__lte=STEP_COUNT), name="steprecord_step_range"),
        ]

    def __str__(self) -> str:
        return f"{self.step}. {self.get_step_display()}"


class ObjectionStatus(models.TextChoices):
    OPEN = "open", _("待处理")
    UPHELD = "upheld", _("异议成立")
    DISMISSED = "dismissed", _("异议不成立")


class ObjectionQuerySet(ScopedQuerySet):
    region_lookup = "case__village__code"


class Objection(models.Model):
    """An objection raised during the public notice (公示期异议) and how it was resolved."""

    case = models.ForeignKey(ExitCase, verbose_name=_("退出案件"), on_delete=models.CASCADE, related_name="objections")
    raised_on = models.DateField(_("提出日期"))
    raised_by_name = models.CharField(_("异议人"), max_length=50, blank=True, help_text=_("可匿名"))
    content = models.TextField(_("异议内容"))
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("登记人"), on_delete=models.PROTECT, related_name="+"
    )
    status = models.CharField(
        _("处理结果"), max_length=10, choices=ObjectionStatus.choices, default=ObjectionStatus.OPEN
    )
    resolution = models.TextField(_("核实处理情况"), blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("处理人"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    resolved_at = models.DateTimeField(_("处理时间"), null=True, blank=True)
    created_at = models.DateTimeField(_("登记时间"), auto_now_add=True)

    history = HistoricalRecords(verbose_name=_("公示异议变更记录"))
    objects = ObjectionQuerySet.as_manager()

    class Meta:
        verbose_name = _("公示异议")
        verbose_name_plural = _("公示异议")
        ordering = ["case", "raised_on", "pk"]
        constraints = [
            models.CheckConstraint(condition=Q(status__in=ObjectionStatus.values), name="objection_status_valid"),
            models.CheckConstraint(
                condition=Q(status="open") | (~Q(resolution="") & Q(resolved_at__isnull=False)),
                name="objection_resolved_with_resolution",
            ),
        ]
        indexes = [
            # The approval queue's oldest open objections, read in order and stopped early.
            models.Index(fields=["raised_on", "id"], condition=Q(status="open"), name="objection_open_oldest"),
        ]

    def __str__(self) -> str:
        return f"{self.raised_on} {self.content[:20]}"


class SituationKind(models.TextChoices):
    LOST_CONTACT = "lost_contact", _("失联人员")
    RELEASED_PRISONER = "released_prisoner", _("刑满释放人员")


class SituationDecision(models.TextChoices):
    PROCEED = "proceed", _("正常退出")
    DEFER = "defer", _("暂缓退出")
    NOT_THIS_YEAR = "not_this_year", _("本年度不退出")


class SpecialSituationQuerySet(ScopedQuerySet):
    region_lookup = "village__code"


class SpecialSituation(models.Model):
    """A household marked 失联 or 刑满释放 in a campaign: it is not enrolled, and an
    enrolled case does not proceed to approval, until the village has recorded the
    investigation and a county official has decided to proceed (DOMAIN.md §3)."""

    campaign = models.ForeignKey(
        Campaign, verbose_name=_("退出批次"), on_delete=models.PROTECT, related_name="special_situations"
    )
    household = models.ForeignKey(
        "households.Household", verbose_name=_("贫困户"), on_delete=models.PROTECT, related_name="special_situations"
    )
    village = models.ForeignKey("regions.Region", verbose_name=_("所属村"), on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(_("特殊情况"), max_length=20, choices=SituationKind.choices)
    investigation = models.TextField(_("调查核实情况"), blank=True)
    investigated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("调查人"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    decision = models.CharField(_("处理决定"), max_length=14, choices=SituationDecision.choices, blank=True)
    decision_note = models.TextField(_("决定说明"), blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("决定人"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    decided_at = models.DateTimeField(_("决定时间"), null=True, blank=True)
    created_at = models.DateTimeField(_("登记时间"), auto_now_add=True)

    history = HistoricalRecords(verbose_name=_("特殊情况变更记录"))
    objects = SpecialSituationQuerySet.as_manager()

    class Meta:
        verbose_name = _("特殊情况处理")
        verbose_name_plural = _("特殊情况处理")
        ordering = ["campaign", "household", "kind"]
        constraints = [
            models.UniqueConstraint(fields=["campaign", "household", "kind"], name="situation_once_per_kind"),
            models.CheckConstraint(condition=Q(kind__in=SituationKind.values), name="situation_kind_valid"),
            models.CheckConstraint(
                condition=Q(decision__in=[*SituationDecision.values, ""]), name="situation_decision_valid"
            ),
            models.CheckConstraint(
                condition=Q(decision="") | (Q(decided_at__isnull=False) & ~Q(investigation="")),
                name="situation_decided_after_investigation",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.household} {self.get_kind_display()}"

    @property
    def allows_exit(self) -> bool:
        return self.decision == SituationDecision.PROCEED


def _attachment_path(attachment: Attachment, filename: str) -> str:
    suffix = filename.rsplit(".", 1)[-1].lower()
    return f"exits/{attachment.case_id}/{attachment.token}.{suffix}"


class AttachmentQuerySet(ScopedQuerySet):
    region_lookup = "case__village__code"


class Attachment(models.Model):
    """Evidence for a step or a criterion: a PDF, JPG or PNG (type-checked, size-limited)."""

    case = models.ForeignKey(ExitCase, verbose_name=_("退出案件"), on_delete=models.CASCADE, related_name="attachments")
    step = models.PositiveSmallIntegerField(_("步骤"), choices=Step.choices, null=True, blank=True)
    criterion = models.CharField(_("标准"), max_length=10, choices=Criterion.choices, blank=True)
    token = models.CharField(max_length=32, unique=True, editable=False)
    file = models.FileField(_("文件"), upload_to=_attachment_path, max_length=255)
    original_name = models.CharField(_("文件名"), max_length=255)
    content_type = models.CharField(_("类型"), max_length=40)
    size = models.PositiveIntegerField(_("大小"))
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("上传人"), on_delete=models.PROTECT, related_name="+"
    )
    uploaded_at = models.DateTimeField(_("上传时间"), auto_now_add=True)

    objects = AttachmentQuerySet.as_manager()

    class Meta:
        verbose_name = _("附件")
        verbose_name_plural = _("附件")
        ordering = ["case", "uploaded_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(step__isnull=False) | ~Q(criterion=""), name="attachment_belongs_to_step_or_criterion"
            ),
        ]

    def __str__(self) -> str:
        return self.original_name


class PriorExitQuerySet(ScopedQuerySet):
    region_lookup = "household__village__code"


class PriorExit(models.Model):
    """An exit from before the system was in use (历史脱贫登记): a county loading its
    registry records, per household, the year and the document it exited under. Next
    to step 8 and the confirmed relapse it is the only path that writes 脱贫状态
    (DOMAIN.md §4: the outcome belongs to the workflow, not to the registry form)."""

    household = models.OneToOneField(
        "households.Household", verbose_name=_("贫困户"), on_delete=models.PROTECT, related_name="prior_exit"
    )
    year = models.PositiveSmallIntegerField(_("脱贫年度"))
    document = models.CharField(_("依据文件"), max_length=200, help_text=_("批准退出的文件名称及文号"))
    note = models.TextField(_("说明"), blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("登记人"), on_delete=models.PROTECT, related_name="+"
    )
    recorded_at = models.DateTimeField(_("登记时间"), auto_now_add=True)

    history = HistoricalRecords(verbose_name=_("历史脱贫登记变更记录"))
    objects = PriorExitQuerySet.as_manager()

    class Meta:
        verbose_name = _("历史脱贫登记")
        verbose_name_plural = _("历史脱贫登记")
        ordering = ["-recorded_at"]
        constraints = [
            models.CheckConstraint(condition=Q(year__gte=2014), name="prior_exit_year_from_2014"),
            models.CheckConstraint(condition=~Q(document=""), name="prior_exit_document_required"),
        ]

    def __str__(self) -> str:
        return f"{self.household} {self.year}"
