from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from households.models import Household, Member


class MemberInline(admin.TabularInline):
    model = Member
    extra = 0
    fields = ["name", "id_number", "relationship", "sex", "birth_date", "medical_insurance"]
    readonly_fields = fields
    can_delete = False
    show_change_link = True


@admin.register(Household)
class HouseholdAdmin(SimpleHistoryAdmin):
    list_display = ["number", "village", "group_no", "attribute", "main_cause", "exit_status"]
    list_filter = ["exit_status", "attribute", "main_cause", "identification_standard"]
    search_fields = ["number"]
    raw_id_fields = ["village"]
    inlines = [MemberInline]
    list_select_related = ["village"]


@admin.register(Member)
class MemberAdmin(SimpleHistoryAdmin):
    list_display = ["name", "household", "relationship", "sex", "birth_date"]
    search_fields = ["name", "id_number", "household__number"]
    raw_id_fields = ["household"]
    list_filter = ["relationship", "medical_insurance"]
