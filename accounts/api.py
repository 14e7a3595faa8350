from django.contrib.auth import authenticate
from django.contrib.auth.signals import user_logged_in, user_logged_out
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.utils import extend_schema, inline_serializer
from knox.auth import TokenAuthentication
from rest_framework import serializers, status
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import User
from accounts.services import api_token_create, user_logout_everywhere
from core.api import RefusalsMixin

LOCKED_OUT = gettext_lazy("登录失败次数过多，账号已被暂时锁定，请稍后再试或联系系统管理员。")
# The per-account lock (accounts/backends.py): new addresses only; the usual computer works.
ACCOUNT_LOCKED_OUT = gettext_lazy(
    "该账号近期登录失败次数过多，已暂时限制从新设备登录；请在常用电脑上获取令牌，或稍后再试，或联系系统管理员。"
)


class TokenRequestSerializer(serializers.Serializer):
    username = serializers.CharField(label=gettext_lazy("用户名"))
    password = serializers.CharField(
        label=gettext_lazy("密码"), style={"input_type": "password"}, trim_whitespace=False
    )


class ObtainTokenView(RefusalsMixin, APIView):
    """``POST {"username", "password"}`` → ``{"token", "expiry"}``; send it as ``Authorization: Token …``.

    Each call makes a new token that expires after ``POVERTYEXIT_API_TOKEN_TTL_DAYS``;
    only its digest is stored. The password check goes through the same backends as the
    login page, so failures count towards the same lockout (django-axes, accounts/backends).
    """

    authentication_classes = []
    permission_classes = [AllowAny]

    @extend_schema(
        summary="获取 API 令牌",
        request=TokenRequestSerializer,
        responses={
            200: inline_serializer(
                "TokenResponse", {"token": serializers.CharField(), "expiry": serializers.DateTimeField()}
            ),
            400: inline_serializer("TokenError", {"non_field_errors": serializers.ListField()}),
            429: inline_serializer("TokenLockedOut", {"detail": serializers.CharField()}),
        },
    )
    def post(self, request):
        serializer = TokenRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        # The DRF request, not the HttpRequest underneath: axes marks it locked out, and
        # the mark must not reach AxesMiddleware, which would answer with the HTML page.
        user = authenticate(request, **serializer.validated_data)
        if getattr(request, "axes_locked_out", False):
            message = ACCOUNT_LOCKED_OUT if getattr(request, "account_locked_out", False) else LOCKED_OUT
            return Response({"detail": message}, status=status.HTTP_429_TOO_MANY_REQUESTS)
        if user is None:
            raise serializers.ValidationError({"non_field_errors": [_("无法使用提供的认证信息登录。")]})
        instance, token = api_token_create(user=user)
        # Like a login: clears this address's failures (AXES_RESET_ON_SUCCESS), records
        # the address in the access log and sets last_login.
        user_logged_in.send(sender=User, request=request, user=user)
        return Response({"token": token, "expiry": serializers.DateTimeField().to_representation(instance.expiry)})


class LogoutView(APIView):
    """Revoke the token this request carries."""

    authentication_classes = [TokenAuthentication]
    permission_classes = [IsAuthenticated]

    @extend_schema(summary="撤销当前 API 令牌", request=None, responses={204: None})
    def post(self, request):
        request.auth.delete()
        user_logged_out.send(sender=User, request=request._request, user=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class LogoutAllView(APIView):
    """Revoke every token of the caller and end all of their browser sessions."""

    permission_classes = [IsAuthenticated]

    @extend_schema(summary="退出所有设备（撤销全部令牌和会话）", request=None, responses={204: None})
    def post(self, request):
        user_logout_everywhere(user=request.user)
        user_logged_out.send(sender=User, request=request._request, user=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class MeSerializer(serializers.ModelSerializer):
    role_display = serializers.CharField(source="get_role_display")
    sector_display = serializers.CharField(source="get_sector_display")
    can_write = serializers.BooleanField()

    class Meta:
        model = User
        fields = ["username", "full_name", "role", "role_display", "region", "sector", "sector_display", "can_write"]


class MeView(APIView):
    """The caller's own account: role, region and whether it may write."""

    permission_classes = [IsAuthenticated]

    @extend_schema(summary="当前用户", responses=MeSerializer)
    def get(self, request):
        return Response(MeSerializer(request.user).data)
