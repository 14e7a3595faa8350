from django.db import models
from django.utils.translation import gettext_lazy as _


class TaskLock(models.Model):
    """A named lock held by one running job (core/locks.py). A row exists while the job
    runs; a lock whose holder died is taken over once it has expired."""

    name = models.CharField(_("任务"), max_length=100, primary_key=True)
    holder = models.CharField(_("持有者"), max_length=100)
    acquired_at = models.DateTimeField(_("开始时间"))
    expires_at = models.DateTimeField(_("过期时间"))

    class Meta:
        verbose_name = _("任务锁")
        verbose_name_plural = _("任务锁")

    def __str__(self) -> str:
        return self.name
