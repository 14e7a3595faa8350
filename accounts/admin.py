from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.utils.translation import gettext_lazy as _
from simple_history.admin import SimpleHistoryAdmin

from accounts.models import User


@admin.register(User)
class UserAdmin(DjangoUserAdmin, SimpleHistoryAdmin):
    list_display = ["username", "full_name", "role", "region", "sector", "is_active", "last_login"]
    # The region is a nullable FK, which the change list does not join by itself.
    list_select_related = ["region"]
    list_filter = ["role", "sector", "is_active", "region__level"]
    search_fields = ["username", "full_name", "region__name", "region__code"]
    autocomplete_fields = ["region"]
    ordering = ["username"]
    fieldsets = [
        (None, {"fields": ["username", "password"]}),
        (_("个人信息"), {"fields": ["full_name", "phone", "email"]}),
        (_("角色与管辖范围"), {"fields": ["role", "region", "sector"]}),
        (_("权限"), {"fields": ["is_active", "is_staff", "is_superuser", "groups"]}),
        (_("重要日期"), {"fields": ["last_login", "date_joined"]}),
    ]
    add_fieldsets = [
        (None, {"classes": ["wide"], "fields": ["username", "password1", "password2"]}),
        (_("角色与管辖范围"), {"fields": ["full_name", "role", "region", "sector"]}),
    ]
