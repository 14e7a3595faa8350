"""The user's own account page: who they are, their API tokens, log out everywhere."""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.services import (
    TokenError,
    api_token_create,
    api_token_revoke,
    user_logout_everywhere,
    user_tokens,
)


def _account_page(request, *, new_token=None, status=200):
    return render(
        request,
        "accounts/account.html",
        {
            "tokens": user_tokens(user=request.user),
            "new_token": new_token,
            "token_ttl_days": settings.REST_KNOX["TOKEN_TTL"].days,
        },
        status=status,
    )


@login_required
def account(request):
    return _account_page(request)


@login_required
@require_POST
def token_create(request):
    try:
        _instance, token = api_token_create(user=request.user)
    except TokenError as error:
        messages.error(request, "；".join(error.all_messages))
        return redirect("account")
    # Shown on this answer only (no-store, never in a URL); the database keeps a digest.
    return _account_page(request, new_token=token, status=201)


@login_required
@require_POST
def token_revoke(request):
    try:
        api_token_revoke(user=request.user, token_key=request.POST.get("token_key", ""))
    except TokenError as error:
        messages.error(request, "；".join(error.all_messages))
    else:
        messages.success(request, _("令牌已撤销，使用它的程序将无法再访问系统。"))
    return redirect("account")


@login_required
@require_POST
def logout_everywhere(request):
    user_logout_everywhere(user=request.user)
    logout(request)
    messages.success(request, _("已退出所有设备：全部登录会话和 API 令牌均已失效，请重新登录。"))
    return redirect("login")
