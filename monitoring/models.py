"""Dynamic monitoring against relapse (防返贫动态监测, DOMAIN.md §5).

A ``MonitoringCase`` carries one household at risk from discovery to closed risk:
全面排查 → 综合研判 (the county confirms or dismisses) → 精准帮扶 → 动态销号. Each
``Finding`` is one reason it was opened — a trigger of the automatic scan, a
self-declaration, a town/village assessment, a sector's list — identified by a key so
the same finding never opens a case twice. Thresholds live in ``MonitoringSettings``
(data, editable by an administrator).
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from regions.scoping import ScopedQuerySet


class MonitoringSettings(models.Model):
    """The triggers' thresholds (DOMAIN.md §5 defaults). One row."""

    base_line = models.DecimalField(
        _("监测基准线（元/人·年）"), max_digits=8, decimal_places=2, default=Decimal("4000"),
        help_text=_("当年扶贫标准；监测线 = 基准线 × 倍数"),
    )  # fmt: skip
    line_factor = models.DecimalField(_("监测线倍数"), max_digits=4, decimal_places=2, default=Decimal("1.5"))
    income_drop_percent = models.PositiveSmallIntegerField(_("收入骤减比例（%）"), default=30)
    rigid_spending_ratio = models.DecimalField(
        _("刚性支出超过上年收入的倍数"), max_digits=4, decimal_places=2, default=Decimal("1.0")
    )
    response_days = models.PositiveSmallIntegerField(_("响应时限（天）"), default=15)

    history = HistoricalRecords(verbose_name=_("监测参数变更记录"))

    class Meta:
        verbose_name = _("监测参数")
        verbose_name_plural = _("监测参数")

    def __str__(self) -> str:
        return str(_("监测参数"))

    @property
    def monitoring_line(self) -> Decimal:
        return (self.base_line * self.line_factor).quantize(Decimal("0.01"))

    @classmethod
    def current(cls) -> MonitoringSettings:
        obj, _created = cls.objects.get_or_create(pk=1)
        return obj


class Category(models.TextChoices):
    UNSTABLE = "unstable", _("脱贫不稳定户")
    MARGINAL = "marginal", _("边缘易致贫户")
    OTHER = "other", _("其他")


class Channel(models.TextChoices):
    SELF_DECLARED = "self", _("自我申报")
    ASSESSMENT = "assessment", _("镇村研判")
    SECTOR = "sector", _("行业比对")
    SYSTEM = "system", _("系统监测")


class RiskType(models.TextChoices):
    ILLNESS = "illness", _("因病")
    DISABILITY = "disability", _("因残")
    SCHOOLING = "schooling", _("因学")
    DISASTER = "disaster", _("因灾")
    ACCIDENT = "accident", _("因意外事故")
    BUSINESS_FAILURE = "business_failure", _("因产业项目失败")
    UNSTABLE_WORK = "unstable_work", _("因务工就业不稳")
    LACK_LABOUR = "lack_labour", _("因缺劳动力")
    HOUSING = "housing", _("因安全住房")
    WATER = "water", _("因安全饮水")
    EPIDEMIC = "epidemic", _("因疫情")
    OTHER = "other", _("其他")


MAX_RISK_TYPES = 5


class Stage(models.TextChoices):
    SCREENING = "screening", _("全面排查")
    ASSESSMENT = "assessment", _("综合研判")
    ASSISTANCE = "assistance", _("精准帮扶")
    CLOSED = "closed", _("动态销号")
    DISMISSED = "dismissed", _("研判排除")


OPEN_STAGES = (Stage.SCREENING, Stage.ASSESSMENT, Stage.ASSISTANCE)


class MeasureType(models.TextChoices):
    INDUSTRY = "industry", _("产业帮扶")
    EMPLOYMENT = "employment", _("就业帮扶")
    FINANCE = "finance", _("金融帮扶")
    PUBLIC_POST = "public_post", _("公益岗位")
    HEALTH = "health", _("健康帮扶")
    EDUCATION = "education", _("义务教育保障")
    HOUSING = "housing", _("住房安全保障")
    WATER = "water", _("饮水安全保障")
    SAFETY_NET = "safety_net", _("综合保障/兜底")
    SOCIAL = "social", _("社会帮扶")
    RELOCATION = "relocation", _("搬迁后续扶持")
    MOTIVATION = "motivation", _("扶志扶智")


# Measures that build the household's own earning power (DOMAIN.md §5).
DEVELOPMENT_MEASURES = frozenset(
    {MeasureType.INDUSTRY, MeasureType.EMPLOYMENT, MeasureType.FINANCE, MeasureType.PUBLIC_POST}
)


class MonitoringCaseQuerySet(ScopedQuerySet):
    region_lookup = "village__code"


class MonitoringCase(models.Model):
    household = models.ForeignKey(
        "households.Household", verbose_name=_("户"), on_delete=models.PROTECT, related_name="monitoring_cases"
    )
    village = models.ForeignKey("regions.Region", verbose_name=_("所属村"), on_delete=models.PROTECT, related_name="+")
    category = models.CharField(_("监测对象类别"), max_length=10, choices=Category.choices)
    channel = models.CharField(_("发现渠道"), max_length=12, choices=Channel.choices)
    risk_types = models.JSONField(_("风险类型"), default=list)
    stage = models.CharField(_("阶段"), max_length=12, choices=Stage.choices, default=Stage.SCREENING)
    discovered_on = models.DateField(_("发现日期"))
    response_due = models.DateField(_("响应时限"))
    description = models.TextField(_("情况说明"), blank=True)
    screening_note = models.TextField(_("排查情况"), blank=True)
    assessed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("研判提交人"), on_delete=models.PROTECT, null=True, blank=True,
        related_name="+",
    )  # fmt: skip
    assessed_at = models.DateTimeField(_("提交研判时间"), null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("研判决定人"), on_delete=models.PROTECT, null=True, blank=True,
        related_name="+",
    )  # fmt: skip
    decided_at = models.DateTimeField(_("研判时间"), null=True, blank=True)
    decision_reason = models.TextField(_("研判意见"), blank=True)
    closed_on = models.DateField(_("销号日期"), null=True, blank=True)
    close_method = models.TextField(_("风险消除方式"), blank=True)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("销号人"), on_delete=models.PROTECT, null=True, blank=True,
        related_name="+",
    )  # fmt: skip
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("登记人"), on_delete=models.PROTECT, null=True, blank=True,
        related_name="+",
    )  # fmt: skip
    created_at = models.DateTimeField(_("登记时间"), auto_now_add=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)
    version = models.PositiveIntegerField(_("版本"), default=1)

    history = HistoricalRecords(verbose_name=_("监测对象变更记录"), excluded_fields=["version"])
    HISTORY_DISPLAY = {
        "risk_types": lambda v: "、".join(str(RiskType(t).label) if t in RiskType.values else str(t) for t in v),
    }
    objects = MonitoringCaseQuerySet.as_manager()

    class Meta:
        verbose_name = _("监测对象")
        verbose_name_plural = _("监测对象")
        ordering = ["-discovered_on", "-pk"]
        constraints = [
            models.CheckConstraint(condition=Q(category__in=Category.values), name="monitoring_category_valid"),
            models.CheckConstraint(condition=Q(channel__in=Channel.values), name="monitoring_channel_valid"),
            models.CheckConstraint(condition=Q(stage__in=Stage.values), name="monitoring_stage_valid"),
            models.CheckConstraint(
                condition=~Q(stage="closed") | (Q(closed_on__isnull=False) & ~Q(close_method="")),
                name="monitoring_closed_with_date_and_method",
            ),
            # One open case per household: new findings join it.
            models.UniqueConstraint(
                fields=["household"],
                condition=Q(stage__in=["screening", "assessment", "assistance"]),
                name="monitoring_one_open_case_per_household",
            ),
        ]
        indexes = [
            models.Index(fields=["stage", "response_due"]),
            # The list's order: a page of the newest cases is read off the index, not
            # sorted out of the whole scope (issue 17).
            models.Index(fields=["-discovered_on", "-id"], name="monitoring_case_newest"),
        ]

    def __str__(self) -> str:
        return f"{self.household} {self.get_stage_display()}"

    @property
    def is_open(self) -> bool:
        return self.stage in OPEN_STAGES

    def risk_type_labels(self) -> list[str]:
        labels = dict(RiskType.choices)
        return [str(labels.get(t, t)) for t in self.risk_types]


class FindingQuerySet(ScopedQuerySet):
    region_lookup = "case__village__code"


class Finding(models.Model):
    """One reason a household is monitored. ``key`` names the finding (e.g. the income
    of 2020 below the line), so a scan that finds it again adds nothing."""

    case = models.ForeignKey(
        MonitoringCase, verbose_name=_("监测对象"), on_delete=models.CASCADE, related_name="findings"
    )
    key = models.CharField(_("发现标识"), max_length=120, unique=True)
    channel = models.CharField(_("发现渠道"), max_length=12, choices=Channel.choices)
    risk_type = models.CharField(_("风险类型"), max_length=20, choices=RiskType.choices)
    detail = models.TextField(_("发现内容"))
    found_at = models.DateTimeField(_("发现时间"))
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("登记人"), on_delete=models.PROTECT, null=True, blank=True,
        related_name="+",
    )  # fmt: skip

    objects = FindingQuerySet.as_manager()

    class Meta:
        verbose_name = _("风险发现")
        verbose_name_plural = _("风险发现")
        ordering = ["case", "found_at"]

    def __str__(self) -> str:
        return self.detail[:40]


class ResponsibleUnit(models.Model):
    case = models.ForeignKey(
        MonitoringCase, verbose_name=_("监测对象"), on_delete=models.CASCADE, related_name="responsible_units"
    )
    unit = models.CharField(_("责任单位"), max_length=100)
    person = models.CharField(_("责任人"), max_length=50)
    phone = models.CharField(_("联系电话"), max_length=11, blank=True)
    is_lead = models.BooleanField(_("牵头单位"), default=False)

    history = HistoricalRecords(verbose_name=_("责任单位变更记录"))

    class Meta:
        verbose_name = _("责任单位")
        verbose_name_plural = _("责任单位")
        ordering = ["case", "-is_lead", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["case"], condition=Q(is_lead=True), name="monitoring_one_lead_unit"),
        ]

    def __str__(self) -> str:
        return f"{self.unit} {self.person}"


class MeasureQuerySet(ScopedQuerySet):
    region_lookup = "case__village__code"


class Measure(models.Model):
    case = models.ForeignKey(
        MonitoringCase, verbose_name=_("监测对象"), on_delete=models.CASCADE, related_name="measures"
    )
    type = models.CharField(_("帮扶措施"), max_length=12, choices=MeasureType.choices)
    content = models.TextField(_("措施内容"))
    responsible_person = models.CharField(_("责任人"), max_length=50)
    due_on = models.DateField(_("完成时限"))
    done_on = models.DateField(_("完成日期"), null=True, blank=True)
    created_at = models.DateTimeField(_("登记时间"), auto_now_add=True)

    history = HistoricalRecords(verbose_name=_("帮扶措施变更记录"))
    objects = MeasureQuerySet.as_manager()

    class Meta:
        verbose_name = _("帮扶措施")
        verbose_name_plural = _("帮扶措施")
        ordering = ["case", "due_on", "pk"]
        constraints = [models.CheckConstraint(condition=Q(type__in=MeasureType.values), name="measure_type_valid")]
        # Overdue measures (dashboards, 我的待办) are the open ones past their due date.
        indexes = [models.Index(fields=["due_on"], condition=Q(done_on__isnull=True), name="measure_open_due")]

    def __str__(self) -> str:
        return f"{self.get_type_display()} {self.content[:20]}"

    @property
    def is_development(self) -> bool:
        return self.type in DEVELOPMENT_MEASURES


class ExpenseKind(models.TextChoices):
    ILLNESS = "illness", _("疾病")
    DISABILITY = "disability", _("残疾")
    DISASTER = "disaster", _("灾害")
    EPIDEMIC = "epidemic", _("疫情")


EXPENSE_RISK = {
    ExpenseKind.ILLNESS: RiskType.ILLNESS,
    ExpenseKind.DISABILITY: RiskType.DISABILITY,
    ExpenseKind.DISASTER: RiskType.DISASTER,
    ExpenseKind.EPIDEMIC: RiskType.EPIDEMIC,
}


class RigidExpenseQuerySet(ScopedQuerySet):
    region_lookup = "household__village__code"


class RigidExpense(models.Model):
    """Rigid spending (刚性支出) a household had to bear in a year: medical bills,
    disability care, disaster or epidemic losses. The scan compares a year's total with
    the year before's net income."""

    household = models.ForeignKey(
        "households.Household", verbose_name=_("户"), on_delete=models.CASCADE, related_name="rigid_expenses"
    )
    year = models.PositiveSmallIntegerField(_("年度"))
    kind = models.CharField(_("支出类型"), max_length=12, choices=ExpenseKind.choices)
    amount = models.DecimalField(_("金额（元）"), max_digits=12, decimal_places=2)
    note = models.CharField(_("说明"), max_length=200, blank=True)
    recorded_at = models.DateTimeField(_("登记时间"), auto_now_add=True)

    history = HistoricalRecords(verbose_name=_("刚性支出变更记录"))
    objects = RigidExpenseQuerySet.as_manager()

    class Meta:
        verbose_name = _("刚性支出")
        verbose_name_plural = _("刚性支出")
        ordering = ["household", "-year", "pk"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gte=0), name="rigid_expense_not_negative"),
            models.CheckConstraint(condition=Q(kind__in=ExpenseKind.values), name="rigid_expense_kind_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.household} {self.year} {self.get_kind_display()}"


class RelapseRecordQuerySet(ScopedQuerySet):
    region_lookup = "case__village__code"


class RelapseRecord(models.Model):
    """A county's confirmation that an exited household has fallen back into poverty
    (返贫), on the monitoring case that found it. The only path that sets 脱贫状态 to
    返贫 (DOMAIN.md §4: the status is the workflow's outcome); the row is the evidence
    an assessor asks for — who decided, when, why, and the income that stood then."""

    household = models.ForeignKey(
        "households.Household", verbose_name=_("户"), on_delete=models.PROTECT, related_name="relapses"
    )
    case = models.ForeignKey(
        MonitoringCase, verbose_name=_("监测对象"), on_delete=models.PROTECT, related_name="relapses"
    )
    # The year it had exited, kept by the household too; recorded here so the ledger of
    # relapses reads without the registry.
    exit_year = models.PositiveSmallIntegerField(_("脱贫年度"))
    reason = models.TextField(_("返贫认定理由"))
    # The latest income ledger year at the moment of the decision, against the poverty
    # line of the monitoring settings; empty when the household had no income record.
    income_year = models.PositiveSmallIntegerField(_("收入年度"), null=True, blank=True)
    per_capita_income = models.DecimalField(
        _("人均纯收入（元）"), max_digits=12, decimal_places=2, null=True, blank=True
    )
    income_line = models.DecimalField(_("扶贫标准（元/人·年）"), max_digits=8, decimal_places=2, null=True, blank=True)
    confirmed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("认定人"), on_delete=models.PROTECT, related_name="+"
    )
    confirmed_at = models.DateTimeField(_("认定时间"))

    history = HistoricalRecords(verbose_name=_("返贫认定变更记录"))
    objects = RelapseRecordQuerySet.as_manager()

    class Meta:
        verbose_name = _("返贫认定")
        verbose_name_plural = _("返贫认定")
        ordering = ["-confirmed_at", "-pk"]
        constraints = [
            models.CheckConstraint(condition=~Q(reason=""), name="relapse_reason_required"),
            # The income figures come together or not at all.
            models.CheckConstraint(
                condition=Q(income_year__isnull=True, per_capita_income__isnull=True, income_line__isnull=True)
                | Q(income_year__isnull=False, per_capita_income__isnull=False, income_line__isnull=False),
                name="relapse_income_all_or_none",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.household} {self.confirmed_at:%Y-%m-%d}"

    @property
    def below_line(self) -> bool | None:
        if self.per_capita_income is None:
            return None
        return self.per_capita_income < self.income_line
