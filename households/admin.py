"""The registry in Django admin: read-only.

Households and members are written through ``households.services`` only (the registry
pages, the API and the Excel import), where the rules of DOMAIN.md §2 run and 脱贫状态
stays the exit workflow's outcome (§4). Admin would save around all of it, so here it
may look and read history, never add, change, delete or revert.

ID and phone numbers are masked here as everywhere else (DOMAIN.md §9); 显示完整号码
opens a page whose button asks ``personal_data_reveal`` for the number, which records
the view and applies the same per-user limits as the registry pages and the API.
"""

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from simple_history.admin import SimpleHistoryAdmin

from households import services
from households.idnumbers import mask_id_number, mask_phone
from households.models import Household, Member

# Model field → (masked stand-in shown by admin, mask, reveal label).
PERSONAL_FIELDS = {
    "id_number": ("id_number_masked", mask_id_number),
    "phone": ("phone_masked", mask_phone),
}


def _masked(value: str, mask, reveal_url: str) -> str:
    if not value:
        return "—"
    return format_html(
        '<span class="font-monospace">{}</span> <a href="{}">{}</a>', mask(value), reveal_url, _("显示完整号码")
    )


class ReadOnlyRegistryAdmin(SimpleHistoryAdmin):
    # The field this admin can reveal, and which keyword personal_data_reveal takes.
    personal_field: str = ""
    reveal_target: str = ""

    def get_fields(self, request, obj=None):
        # Every page that shows the row (change, history version) shows the mask instead.
        fields = super().get_fields(request, obj)
        return list(dict.fromkeys(PERSONAL_FIELDS[f][0] if f in PERSONAL_FIELDS else f for f in fields))

    def get_readonly_fields(self, request, obj=None):
        return [*super().get_readonly_fields(request, obj), PERSONAL_FIELDS[self.personal_field][0]]

    def get_urls(self):
        info = self.opts.app_label, self.opts.model_name
        reveal = path(
            "<path:object_id>/reveal/", self.admin_site.admin_view(self.reveal_view), name="{}_{}_reveal".format(*info)
        )
        return [reveal, *super().get_urls()]

    def reveal_url(self, obj) -> str:
        return reverse(f"admin:{self.opts.app_label}_{self.opts.model_name}_reveal", args=[obj.pk])

    def reveal_view(self, request, object_id):
        """GET asks (and changes nothing); POST shows the number and records that it was seen."""
        obj = self.get_object(request, object_id)
        if obj is None or not self.has_view_permission(request, obj):
            raise Http404
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "object": obj,
            "title": _("查看完整号码"),
            "label": self.opts.get_field(self.personal_field).verbose_name,
            "masked": PERSONAL_FIELDS[self.personal_field][1](getattr(obj, self.personal_field)),
        }
        if request.method == "POST":
            try:
                context["number"] = services.personal_data_reveal(by=request.user, **{self.reveal_target: obj})
            except PermissionError as exc:
                raise PermissionDenied(str(exc)) from exc
            except services.PersonalDataLimit as refusal:
                context["refusal"] = refusal.messages[0]
                return TemplateResponse(request, "admin/households/reveal.html", context, status=429)
        return TemplateResponse(request, "admin/households/reveal.html", context)

    @admin.display(description=gettext_lazy("证件号码"))
    def id_number_masked(self, obj):
        return _masked(obj.id_number, mask_id_number, self.reveal_url(obj))

    @admin.display(description=gettext_lazy("联系电话"))
    def phone_masked(self, obj):
        return _masked(obj.phone, mask_phone, self.reveal_url(obj))

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
    fields = ["name", "id_number_masked", "relationship", "sex", "birth_date", "medical_insurance"]
    readonly_fields = fields
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    @admin.display(description=gettext_lazy("证件号码"))
    def id_number_masked(self, obj):
        return _masked(obj.id_number, mask_id_number, reverse("admin:households_member_reveal", args=[obj.pk]))


@admin.register(Household)
class HouseholdAdmin(ReadOnlyRegistryAdmin):
    personal_field, reveal_target = "phone", "household"
    list_display = ["number", "village", "group_no", "attribute", "main_cause", "exit_status"]
    list_filter = ["exit_status", "attribute", "main_cause", "identification_standard"]
    search_fields = ["number"]
    raw_id_fields = ["village"]
    inlines = [MemberInline]
    list_select_related = ["village"]


@admin.register(Member)
class MemberAdmin(ReadOnlyRegistryAdmin):
    personal_field, reveal_target = "id_number", "member"
    list_display = ["name", "household", "relationship", "sex", "birth_date"]
    # Not by ID number: admin's search is a GET, and a full number would sit in the URL,
    # the access log and the browser history (the registry's search POSTs it).
    search_fields = ["name", "household__number"]
    raw_id_fields = ["household"]
    list_filter = ["relationship", "medical_insurance"]
