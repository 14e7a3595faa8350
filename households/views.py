"""Registry pages for cadres. Each view starts from a guard that fetches the household
*for this user* (404 otherwise) and hands writes to households.services."""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import BadRequest, PermissionDenied
from django.db import transaction
from django.db.models import Q, QuerySet
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone, translation
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from core.exports import xlsx_streaming_response
from core.paging import CappedPaginator
from core.permissions import write_required
from households import exports, selectors, services
from households.excel import HOUSEHOLD_SHEET, MEMBER_SHEET
from households.forms import (
    HouseholdForm,
    HousingAppraisalForm,
    IncomeRecordForm,
    MemberFormSet,
    MemberTransferForm,
    WaterAssessmentForm,
    member_rows,
)
from households.models import Household, Member, MemberTransfer
from households.search import search_redirect

PAGE_SIZE = 20


def _get_household_for_user(request, pk) -> Household:
    try:
        return selectors.household_get(user=request.user, pk=pk)
    except Household.DoesNotExist:
        raise Http404(_("户不存在或不在您的管辖范围内。")) from None


def _get_member_for_user(request, pk) -> Member:
    try:
        return selectors.member_list(user=request.user).get(pk=pk)
    except Member.DoesNotExist:
        raise Http404(_("成员不存在或不在您的管辖范围内。")) from None


@login_required
def household_list(request):
    # The filter form POSTs: a full ID number goes to the session, not the URL.
    if redirect_to_list := search_redirect(request):
        return redirect_to_list
    filterset = selectors.HouseholdFilter(
        request.GET or None, queryset=selectors.household_list(user=request.user), request=request
    )
    page = CappedPaginator(filterset.qs, PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    context = {"filter": filterset, "page": page, "query": query.urlencode()}
    if not request.htmx:
        context["region_choices"] = selectors.region_filter_choices(user=request.user)
    template = "households/_list_results.html" if request.htmx else "households/list.html"
    return render(request, template, context)


@login_required
def household_detail(request, pk):
    household = _get_household_for_user(request, pk)
    members = list(household.members.all())
    context = {
        "household": household,
        "members": members,
        "incomes": list(household.incomes.all()),
        "housing": list(household.housing_appraisals.all()),
        "water": list(household.water_assessments.all()),
        "transfers": MemberTransfer.objects.filter(Q(from_household=household) | Q(to_household=household))
        .select_related("member", "from_household", "to_household", "transferred_by")
        .order_by("-transferred_at"),
        # An open exit case: every edit here re-measures it (issue 14), so say so.
        "open_case": household.exit_cases.filter(status="in_progress").select_related("campaign").first(),
        "income_form": IncomeRecordForm(initial={"population": len(members)}),
        "housing_form": HousingAppraisalForm(),
        "water_form": WaterAssessmentForm(),
    }
    return render(request, "households/detail.html", context)


def _apply_registry_errors(error: services.RegistryError, form, formset, row_forms) -> None:
    """Put each service message next to its input; the rest at the top of the form."""
    for field, msgs in error.household.items():
        for message in msgs:
            form.add_error(field if field in form.fields else None, message)
    for index, fields in error.members.items():
        member_form = row_forms[index] if index < len(row_forms) else None
        for field, msgs in fields.items():
            for message in msgs:
                if member_form is not None:
                    member_form.add_error(field if field in member_form.fields else None, message)
                else:
                    form.add_error(None, message)
    for message in error.general:
        form.add_error(None, message)


def _household_form_page(request, household: Household | None):
    queryset = household.members.all() if household else Member.objects.none()
    if request.method == "POST":
        form = HouseholdForm(request.POST, instance=household, user=request.user)
        formset = MemberFormSet(request.POST, queryset=queryset, prefix="members")
        if form.is_valid() and formset.is_valid():
            rows = member_rows(formset)
            row_forms = [f for f in formset.forms if f.cleaned_data]
            data = {k: v for k, v in form.cleaned_data.items() if k != "version"}
            try:
                if household is None:
                    household = services.household_create(by=request.user, data=data, members=rows)
                    messages.success(request, _("已登记户 %(n)s。") % {"n": household.number})
                else:
                    services.household_update(
                        by=request.user,
                        household=household,
                        data=data,
                        members=rows,
                        version=form.cleaned_data.get("version") or 0,
                    )
                    messages.success(request, _("已保存户 %(n)s 的修改。") % {"n": household.number})
                return redirect("households:detail", pk=household.pk)
            except services.RegistryError as error:
                form.add_error(None, _("未保存：请按标红处的提示修改后再保存。"))
                _apply_registry_errors(error, form, formset, row_forms)
            except services.ConcurrentEditError as error:
                form.add_error(None, str(error))
    else:
        form = HouseholdForm(instance=household, user=request.user)
        # A new household starts with one row, for its 户主.
        initial = [{"relationship": "head", "ethnicity": "汉族"}] if household is None else None
        formset = MemberFormSet(queryset=queryset, prefix="members", initial=initial)
        if household is None:
            formset.extra = 1
    return render(
        request,
        "households/form.html",
        {"form": form, "formset": formset, "household": household},
        status=400 if request.method == "POST" else 200,
    )


@login_required
@write_required
def household_create(request):
    return _household_form_page(request, None)


@login_required
@write_required
def household_edit(request, pk):
    return _household_form_page(request, _get_household_for_user(request, pk))


@login_required
@write_required
def member_row(request):
    """htmx: one blank member row for the create/edit page, numbered ``index``."""
    try:
        index = int(request.GET.get("index", "0"))
    except ValueError:
        index = 0
    formset = MemberFormSet(queryset=Member.objects.none(), prefix="members")
    form = formset.empty_form
    form.prefix = f"members-{index}"
    return render(request, "households/_member_form.html", {"member_form": form, "number": index + 1})


@login_required
def household_card(request, pk):
    """明白卡: the household's wall card, printed from the record (DOMAIN.md §7)."""
    household = _get_household_for_user(request, pk)
    return render(
        request,
        "households/card.html",
        {
            "household": household,
            "members": list(household.members.all()),
            "income": household.incomes.first(),
            "housing": household.housing_appraisals.first(),
            "water": household.water_assessments.first(),
        },
    )


def _reveal(request, **target) -> HttpResponse:
    """htmx: the full number in place of the masked one, logged by the service."""
    try:
        number = services.personal_data_reveal(by=request.user, **target)
    except PermissionError as exc:
        raise PermissionDenied(str(exc)) from exc
    except services.PersonalDataLimit as refusal:
        # htmx swaps only 2xx answers: the reason goes where the number would have.
        status = 200 if request.htmx else 429
        return HttpResponse(
            format_html('<span class="text-danger small" role="alert">{}</span>', refusal.messages[0]), status=status
        )
    return HttpResponse(format_html('<span class="font-monospace">{}</span>', number))


@login_required
@require_POST
def member_reveal(request, pk):
    return _reveal(request, member=_get_member_for_user(request, pk))


@login_required
@require_POST
def household_reveal_phone(request, pk):
    return _reveal(request, household=_get_household_for_user(request, pk))


def _ledger_form_post(request, pk, form_class, save, success):
    household = _get_household_for_user(request, pk)
    form = form_class(request.POST)
    if form.is_valid():
        try:
            save(household, form.cleaned_data)
            messages.success(request, success)
        except services.RegistryError as error:
            for message in error.messages():
                messages.error(request, message)
    else:
        for field, errs in form.errors.items():
            label = form.fields[field].label if field in form.fields else ""
            for message in errs:
                messages.error(request, f"{label}：{message}" if label else message)
    return redirect("households:detail", pk=household.pk)


@login_required
@write_required
@require_POST
def income_add(request, pk):
    def save(household, data):
        year = data.pop("year")
        services.income_record_save(by=request.user, household=household, year=year, data=data)

    return _ledger_form_post(request, pk, IncomeRecordForm, save, _("已保存年度收入。"))


@login_required
@write_required
@require_POST
def housing_add(request, pk):
    return _ledger_form_post(
        request,
        pk,
        HousingAppraisalForm,
        lambda household, data: services.housing_appraisal_add(by=request.user, household=household, data=data),
        _("已添加住房安全鉴定。"),
    )


@login_required
@write_required
@require_POST
def water_add(request, pk):
    return _ledger_form_post(
        request,
        pk,
        WaterAssessmentForm,
        lambda household, data: services.water_assessment_add(by=request.user, household=household, data=data),
        _("已添加饮水安全评估。"),
    )


@login_required
@write_required
def member_transfer(request, pk):
    member = _get_member_for_user(request, pk)
    form = MemberTransferForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        target = selectors.household_list(user=request.user).filter(number=form.cleaned_data["to_household"]).first()
        if target is None:
            form.add_error("to_household", _("迁入户不存在或不在您的管辖范围内。"))
        else:
            try:
                with transaction.atomic():
                    services.member_transfer(
                        by=request.user,
                        member=member,
                        to_household=target,
                        relationship=form.cleaned_data["relationship"],
                        reason=form.cleaned_data["reason"],
                    )
                messages.success(request, _("已将 %(m)s 转入户 %(n)s。") % {"m": member.name, "n": target.number})
                return redirect("households:detail", pk=target.pk)
            except services.RegistryError as error:
                for field, msgs in error.household.items():
                    for message in msgs:
                        form.add_error(field if field in form.fields else None, message)
                for message in error.general:
                    form.add_error(None, message)
    return render(request, "households/transfer.html", {"member": member, "form": form})


# --- ledgers (台账导出) -----------------------------------------------------------------


def _ledger_households(request) -> tuple[QuerySet[Household], bool, str]:
    """The households of the list page's filter (same query string, same filter, same
    scope), whether full numbers were asked for, and the filter as the user chose it."""
    full = request.GET.get("full") == "1"
    if full and not request.user.can_reveal_personal_data:
        raise PermissionDenied(_("您的角色不能导出完整的证件号码和电话号码。"))
    params = request.GET.copy()
    for name in ("full", "page"):
        params.pop(name, None)
    filterset = selectors.HouseholdFilter(
        params or None, queryset=selectors.household_list(user=request.user), request=request
    )
    # The list page shows a bad filter next to its field and lists the rest; a ledger
    # would silently export more than the user chose, so it refuses instead.
    if filterset.is_bound and not filterset.is_valid():
        raise BadRequest(_("筛选条件有误，请返回列表页修改后再导出。"))
    # Readable in the access record (not percent-encoded).
    query = "&".join(f"{name}={value}" for name, values in params.lists() for value in values if value)
    return filterset.qs, full, query


def _ledger_response(
    request, *, title: str, slug: str, sheet: str, columns, rows, full: bool, query: str, recorded: str
):
    """The workbook as an attachment named like "户台账-2020-10-20.xlsx", its sheet named
    as the import template's (``sheet``) so that it imports back; a full-number export
    writes one access row with the number of rows it held (DOMAIN.md §9)."""
    day = timezone.localdate().isoformat()

    def record(count: int) -> None:
        exports.ledger_export_record(by=request.user, what=recorded, count=count, query=query)

    return xlsx_streaming_response(
        filename=f"{title}-{day}.xlsx",
        fallback_filename=f"{slug}-{day}.xlsx",
        sheet_title=sheet,
        columns=columns,
        rows=rows,
        on_complete=record if full else None,
    )


def _in_template_language(build, *args, **kwargs):
    with translation.override(settings.LANGUAGE_CODE):
        return build(*args, **kwargs)


@login_required
def household_ledger_export(request):
    """户台账: the households of the current list filter, one row each."""
    households, full, query = _ledger_households(request)
    return _ledger_response(
        request,
        title=_("户台账"),
        slug="households",
        sheet=HOUSEHOLD_SHEET,
        # The template's headers and labels, whatever the page's language: it imports back.
        columns=_in_template_language(
            exports.household_ledger_columns, full, region_names=exports.ledger_region_names(user=request.user)
        ),
        rows=exports.household_ledger_rows(households),
        full=full,
        query=query,
        recorded=_("户台账导出完整号码 %(n)s 户"),
    )


@login_required
def member_ledger_export(request):
    """成员台账: every member of the households of the current list filter."""
    households, full, query = _ledger_households(request)
    return _ledger_response(
        request,
        title=_("成员台账"),
        slug="members",
        sheet=MEMBER_SHEET,
        columns=_in_template_language(exports.member_ledger_columns, full),
        rows=selectors.member_list(user=request.user).filter(household__in=households.values("pk")),
        full=full,
        query=query,
        recorded=_("成员台账导出完整号码 %(n)s 人"),
    )


@login_required
@write_required
def import_template(request):
    """The blank .xlsx a cadre fills in to register households in bulk (the same file as
    the import page's template link)."""
    from imports.views import import_template

    return import_template(request, "households")
