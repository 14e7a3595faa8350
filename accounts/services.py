"""Writes on accounts: API tokens and ending a user's sessions.

Tokens are django-rest-knox ``AuthToken`` rows: only a SHA-512 digest and the first
characters of the token are stored, so the token itself is shown once, when it is made.
"""

from __future__ import annotations

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from knox.models import AuthToken

from accounts.models import User
from core.errors import Refusal


class TokenError(Refusal):
    """A token that cannot be made or revoked."""


def user_tokens(*, user: User) -> QuerySet[AuthToken]:
    """The user's tokens that still work, newest first."""
    now = timezone.now()
    return AuthToken.objects.filter(Q(expiry__isnull=True) | Q(expiry__gt=now), user=user).order_by("-created")


@transaction.atomic
def api_token_create(*, user: User) -> tuple[AuthToken, str]:
    """A new token for ``user``; returns the row and the token, which is never stored."""
    # Lock the user row so two requests at once cannot both pass the limit.
    User.objects.select_for_update().filter(pk=user.pk).first()
    AuthToken.objects.filter(user=user, expiry__lte=timezone.now()).delete()
    limit = settings.REST_KNOX.get("TOKEN_LIMIT_PER_USER")
    if limit is not None and user_tokens(user=user).count() >= limit:
        raise TokenError(
            _("您已有 %(count)d 个有效的 API 令牌，达到上限；请先在“我的账号”页面撤销不再使用的令牌。")
            % {"count": limit}
        )
    return AuthToken.objects.create(user=user)


def api_token_revoke(*, user: User, token_key: str) -> int:
    """Revoke the user's tokens that start with ``token_key``; only their own."""
    deleted, _rows = AuthToken.objects.filter(user=user, token_key=token_key).delete()
    if not deleted:
        raise TokenError(_("找不到该令牌，它可能已过期或已被撤销。"))
    return deleted


@transaction.atomic
def user_logout_everywhere(*, user: User) -> int:
    """End every session and revoke every API token of ``user``; returns the tokens revoked."""
    tokens, _rows = AuthToken.objects.filter(user=user).delete()
    User.objects.filter(pk=user.pk).update(session_generation=F("session_generation") + 1)
    user.refresh_from_db(fields=["session_generation"])
    return tokens
