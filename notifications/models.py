"""Alerts (预警提醒) raised by the background scans, and each person's copy in the inbox.

An ``Alert`` is one condition — "case 123 is overdue at step 3" — identified by its
``key``, so a scan that runs again finds it instead of raising it twice; it is
cleared when the condition goes away. A ``Notification`` is the alert in one
person's inbox, read or not.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from regions.scoping import ScopedQuerySet


class AlertKind(models.TextChoices):
    STEP_OVERDUE = "step_overdue", _("步骤逾期")
    STEP_AT_RISK = "step_at_risk", _("进度滞后")
    MONITORING_RESPONSE = "monitoring_response", _("监测响应逾期")
    CERTIFICATION_OVERDUE = "certification_overdue", _("达标认定逾期")


class AlertQuerySet(ScopedQuerySet):
    region_lookup = "region__code"


class Alert(models.Model):
    kind = models.CharField(_("类型"), max_length=24, choices=AlertKind.choices)
    key = models.CharField(_("条件标识"), max_length=120, unique=True)
    # Where the condition is (the case's village), and the level that must act.
    region = models.ForeignKey("regions.Region", verbose_name=_("区划"), on_delete=models.PROTECT, related_name="+")
    level = models.CharField(_("责任层级"), max_length=10)
    # Set when the work is one sector department's (行业部门, e.g. a certification): the
    # alert then goes to that sector's accounts of the level's region instead of the
    # level's own role. Names a value of accounts.models.Sector.
    sector = models.CharField(_("责任行业部门"), max_length=12, blank=True)
    title = models.CharField(_("标题"), max_length=200)
    body = models.TextField(_("内容"), blank=True)
    link = models.CharField(_("链接"), max_length=200, blank=True)
    due_on = models.DateField(_("时限"), null=True, blank=True)
    raised_at = models.DateTimeField(_("提醒时间"), db_index=True)
    cleared_at = models.DateTimeField(_("解除时间"), null=True, blank=True)

    objects = AlertQuerySet.as_manager()

    class Meta:
        verbose_name = _("预警提醒")
        verbose_name_plural = _("预警提醒")
        ordering = ["-raised_at", "-pk"]
        indexes = [models.Index(fields=["kind"], condition=Q(cleared_at__isnull=True), name="alert_open_by_kind")]
        constraints = [models.CheckConstraint(condition=Q(kind__in=AlertKind.values), name="alert_kind_valid")]

    def __str__(self) -> str:
        return self.title

    @property
    def is_open(self) -> bool:
        return self.cleared_at is None


class Notification(models.Model):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("接收人"), on_delete=models.CASCADE, related_name="notifications"
    )
    alert = models.ForeignKey(Alert, verbose_name=_("提醒"), on_delete=models.CASCADE, related_name="notifications")
    read_at = models.DateTimeField(_("已读时间"), null=True, blank=True)
    emailed_at = models.DateTimeField(_("邮件发送时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("站内提醒")
        verbose_name_plural = _("站内提醒")
        ordering = ["-alert__raised_at", "-pk"]
        constraints = [models.UniqueConstraint(fields=["user", "alert"], name="notification_once_per_user")]
        indexes = [models.Index(fields=["user"], condition=Q(read_at__isnull=True), name="notification_unread")]

    def __str__(self) -> str:
        return f"{self.user} {self.alert}"


class DigestDelivery(models.Model):
    """One daily digest to one person on one day. The row is written before the email
    goes out, so a second run that day (a beat tick twice, a manual run, a retry) finds
    it and sends nothing: the digest goes out at most once per person per day."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("接收人"), on_delete=models.CASCADE, related_name="+"
    )
    day = models.DateField(_("日期"))
    sent_at = models.DateTimeField(_("发送时间"))
    items = models.PositiveIntegerField(_("事项数"), default=0)

    class Meta:
        verbose_name = _("每日汇总邮件")
        verbose_name_plural = _("每日汇总邮件")
        constraints = [models.UniqueConstraint(fields=["user", "day"], name="digest_once_per_user_per_day")]

    def __str__(self) -> str:
        return f"{self.user} {self.day}"
