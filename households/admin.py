"""The registry in Django admin: read-only.

Households and members are written through ``households.services`` only (the registry
pages, the API and the Excel import), where the rules of DOMAIN.md §2 run and 脱贫状态
stays the exit workflow's outcome (§4). Admin would save around all of it, so here it
may look and read history, never add, change, delete or revert.
"""

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from simple_history.admin import SimpleHistoryAdmin

from households.models import Household, Member


class ReadOnlyRegistryAdmin(SimpleHistoryAdmin):
    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def history_form_view(self, request, object_id, version_id, extra_context=None):
        # simple-history's "revert to this version" saves on POST with only a view
        # permission check: the old version would come back without the service's rules.
        if request.method == "POST":
            raise PermissionDenied
        return super().history_form_view(request, object_id, version_id, extra_context)


class MemberInline(admin.TabularInline):
    model = Member
    extra = 0
    fields = ["name", "id_number", "relationship", "sex", "birth_date", "medical_insurance"]
    readonly_fields = fields
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Household)
class HouseholdAdmin(ReadOnlyRegistryAdmin):
    list_display = ["number", "village", "group_no", "attribute", "main_cause", "exit_status"]
    list_filter = ["exit_status", "attribute", "main_cause", "identification_standard"]
    search_fields = ["number"]
    raw_id_fields = ["village"]
    inlines = [MemberInline]
    list_select_related = ["village"]


@admin.register(Member)
class MemberAdmin(ReadOnlyRegistryAdmin):
    list_display = ["name", "household", "relationship", "sex", "birth_date"]
    search_fields = ["name", "id_number", "household__number"]
    raw_id_fields = ["household"]
    list_filter = ["relationship", "medical_insurance"]
