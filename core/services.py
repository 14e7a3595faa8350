"""Cross-app maintenance services."""

from datetime import timedelta

from axes.models import AccessAttempt, AccessLog
from django.conf import settings
from django.contrib.sessions.models import Session
from django.db import transaction
from django.utils import timezone
from knox.models import AuthToken


@transaction.atomic
def housekeeping_run(*, now=None) -> dict[str, int]:
    """Delete expired sessions and API tokens, login logs older than the retention period
    and lockout counters whose cool-off has passed. Running it twice deletes nothing the second time."""
    now = now or timezone.now()
    sessions, _ = Session.objects.filter(expire_date__lt=now).delete()
    tokens, _ = AuthToken.objects.filter(expiry__lt=now).delete()
    logs, _ = AccessLog.objects.filter(
        attempt_time__lt=now - timedelta(days=settings.ACCESS_LOG_RETENTION_DAYS)
    ).delete()
    attempts, _ = AccessAttempt.objects.filter(attempt_time__lt=now - settings.AXES_COOLOFF_TIME).delete()
    return {"sessions": sessions, "api_tokens": tokens, "access_logs": logs, "expired_lockouts": attempts}
