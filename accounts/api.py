from axes.handlers.proxy import AxesProxyHandler
from axes.helpers import get_client_ip_address
from axes.utils import reset
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.authtoken.views import ObtainAuthToken
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import User


class ObtainTokenView(ObtainAuthToken):
    """``POST {"username", "password"}`` → ``{"token"}``; send it as ``Authorization: Token …``.

    Failed attempts count towards the same lockout as the login page (django-axes).
    """

    @extend_schema(
        summary="获取 API 令牌",
        request=inline_serializer(
            "TokenRequest", {"username": serializers.CharField(), "password": serializers.CharField()}
        ),
        responses={
            200: inline_serializer("TokenResponse", {"token": serializers.CharField()}),
            400: inline_serializer("TokenError", {"non_field_errors": serializers.ListField()}),
            429: inline_serializer("TokenLockedOut", {"detail": serializers.CharField()}),
        },
    )
    def post(self, request, *args, **kwargs):
        credentials = {"username": request.data.get("username", "")}
        if AxesProxyHandler.is_locked(request._request, credentials):
            return Response(
                {"detail": _("登录失败次数过多，账号已被暂时锁定，请稍后再试或联系系统管理员。")},
                status=status.HTTP_429_TOO_MANY_REQUESTS,
            )
        response = super().post(request, *args, **kwargs)
        if response.status_code == status.HTTP_200_OK:
            # A token is not a session login, so axes' reset-on-login never fires:
            # clear this user's failures from this address here (AXES_RESET_ON_SUCCESS).
            reset(ip=get_client_ip_address(request._request), username=credentials["username"])
        return response


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
