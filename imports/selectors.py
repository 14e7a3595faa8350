"""Reading import jobs: who sees which (the uploader and everyone above them)."""

from __future__ import annotations

from django.db.models import Q, QuerySet

from accounts.models import User
from imports.models import ImportJob


def import_list(*, user: User) -> QuerySet[ImportJob]:
    """Jobs uploaded within the user's region, and the user's own wherever they were."""
    visible = ImportJob.objects.visible_to(user).values("pk")
    return ImportJob.objects.filter(Q(pk__in=visible) | Q(uploaded_by=user)).select_related(
        "uploaded_by", "region", "confirmed_by"
    )


def import_get(*, user: User, pk: int) -> ImportJob:
    return import_list(user=user).get(pk=pk)


def can_download_files(user: User, job: ImportJob) -> bool:
    """The original and the error report carry full ID numbers: the uploader, and
    people above them whose role may see full numbers (DOMAIN.md §9)."""
    return job.uploaded_by_id == user.pk or user.can_reveal_personal_data
