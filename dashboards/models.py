from django.db import models
from django.utils.translation import gettext_lazy as _

from exits.models import Campaign
from regions.models import Region


class DashboardSnapshot(models.Model):
    """A dashboard's numbers for one region, worked out by a Celery job every minute
    (dashboards.snapshots) for the city and each county — the views whose counts run
    over tens of thousands of cases — rather than on each view. The page says when they
    were counted and counts live when the snapshot is missing or too old."""

    class Kind(models.TextChoices):
        DEADLINES = "deadlines", _("退出进度看板")
        MONITORING = "monitoring", _("防返贫监测看板")

    kind = models.CharField(_("看板"), max_length=16, choices=Kind.choices)
    region = models.ForeignKey(Region, verbose_name=_("区划"), on_delete=models.CASCADE, related_name="+")
    # The deadline dashboard's campaign; none for the monitoring dashboard.
    campaign = models.ForeignKey(
        Campaign, verbose_name=_("退出批次"), on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    counted_at = models.DateTimeField(_("统计时间"))
    data = models.JSONField(_("数据"))

    class Meta:
        verbose_name = _("看板统计")
        verbose_name_plural = _("看板统计")
        constraints = [
            # The refresh replaces every snapshot at once (a campaign-less monitoring
            # snapshot is not kept unique by this: NULLs are distinct).
            models.UniqueConstraint(fields=["kind", "region", "campaign"], name="dashboard_snapshot_unique")
        ]

    def __str__(self):
        return f"{self.kind} {self.region_id} {self.counted_at:%Y-%m-%d %H:%M}"
