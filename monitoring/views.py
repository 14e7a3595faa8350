"""Monitoring pages: the case list with filters and ledger, reporting a household
(self-declaration, town/village assessment), and the case page with its findings,
stages, responsible units, measures and closing. Writes go to monitoring.services."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from core.audit import history_entries_for
from core.exports import Column, xlsx_streaming_response
from core.paging import CappedPaginator
from core.permissions import write_required
from households.exports import COUNTY_PREFIX, TOWN_PREFIX, ledger_region_names
from households.models import Household
from households.search import search_redirect
from households.selectors import region_filter_choices
from monitoring import selectors, services
from monitoring.models import Channel, Measure, MeasureType, MonitoringCase, RelapseRecord, RiskType, Stage

PAGE_SIZE = 20


def _case_for_user(request, pk) -> MonitoringCase:
    try:
        return selectors.case_get(user=request.user, pk=pk)
    except MonitoringCase.DoesNotExist:
        raise Http404(_("监测对象不存在或不在您的管辖范围内。")) from None


def _report(request, error: services.MonitoringError) -> None:
    for message in error.all_messages:
        messages.error(request, message)


@login_required
def case_list(request):
    # The filter form POSTs: a full ID number goes to the session, not the URL.
    if redirect_to_list := search_redirect(request):
        return redirect_to_list
    filterset = selectors.MonitoringCaseFilter(
        request.GET or None, queryset=selectors.case_list(user=request.user), request=request
    )
    page = CappedPaginator(filterset.qs, PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    context = {"filter": filterset, "page": page, "query": query.urlencode(), "today": timezone.localdate()}
    if request.htmx:
        return render(request, "monitoring/_case_results.html", context)
    context["region_choices"] = region_filter_choices(user=request.user)
    return render(request, "monitoring/case_list.html", context)


@login_required
@write_required
def case_report(request):
    """A cadre records a self-declaration, or the town/village its assessment."""
    households = Household.objects.visible_to(request.user).order_by("number")
    values = {"household": request.GET.get("household", ""), "channel": Channel.SELF_DECLARED}
    errors: dict[str, list[str]] = {}
    if request.method == "POST":
        values = request.POST
        household = households.filter(number=request.POST.get("household", "").strip()).first()
        if household is None:
            errors["household"] = [_("请填写本辖区内的户编号。")]
        else:
            try:
                case = services.case_report(
                    by=request.user,
                    household=household,
                    channel=request.POST.get("channel", ""),
                    risk_types=request.POST.getlist("risk_types"),
                    description=request.POST.get("description", ""),
                )
            except services.MonitoringError as error:
                errors = error.fields or {"non_field": error.messages}
            else:
                messages.success(request, _("已登记，进入“全面排查”。"))
                return redirect("monitoring:detail", pk=case.pk)
    return render(
        request,
        "monitoring/report.html",
        {
            "values": values,
            "errors": errors,
            "channels": [
                (Channel.SELF_DECLARED, Channel.SELF_DECLARED.label),
                (Channel.ASSESSMENT, Channel.ASSESSMENT.label),
            ],
            "risk_types": RiskType.choices,
            "chosen_risks": values.getlist("risk_types") if hasattr(values, "getlist") else [],
        },
        status=400 if errors else 200,
    )


@login_required
def case_detail(request, pk):
    case = _case_for_user(request, pk)
    user = request.user
    writer = user.can_write and case.is_open
    relapses = list(case.relapses.select_related("confirmed_by"))
    # The relapse is offered only to whom the service would let confirm it now; its
    # record then shows in 办理经过 and in the case's 变更记录.
    can_relapse = writer and user.role == "county_official" and not services.relapse_refusals(case)
    history = history_entries_for(
        {MonitoringCase: {case.pk}, RelapseRecord: {r.pk for r in relapses}}, labelled=frozenset({RelapseRecord})
    )
    return render(
        request,
        "monitoring/case_detail.html",
        {
            "case": case,
            "head": case.household.members.filter(relationship="head").values_list("name", flat=True).first(),
            "findings": case.findings.order_by("found_at"),
            "units": list(case.responsible_units.all()),
            "measures": list(case.measures.all()),
            "problems": services.case_problems(case),
            "close_refusals": services.close_refusals(case) if case.stage == Stage.ASSISTANCE else [],
            "can_submit": writer and case.stage == Stage.SCREENING and user.role in ("village_cadre", "town_official"),
            "can_decide": writer
            and case.stage in (Stage.SCREENING, Stage.ASSESSMENT)
            and user.role == "county_official",
            "can_assist": writer and case.stage == Stage.ASSISTANCE,
            "can_close": writer
            and case.stage == Stage.ASSISTANCE
            and user.role in ("town_official", "county_official"),
            "can_relapse": can_relapse,
            "relapse_income": services.latest_income(case.household) if can_relapse else None,
            "relapses": relapses,
            "history": history,
            "measure_types": MeasureType.choices,
            "risk_types": RiskType.choices,
            "today": timezone.localdate(),
            "response_late": case.stage in (Stage.SCREENING, Stage.ASSESSMENT)
            and case.response_due < timezone.localdate(),
        },
    )


def _action(request, pk, run, success: str):
    case = _case_for_user(request, pk)
    try:
        run(case)
    except services.MonitoringError as error:
        _report(request, error)
    else:
        messages.success(request, success)
    return redirect("monitoring:detail", pk=case.pk)


@login_required
@write_required
@require_POST
def case_submit(request, pk):
    return _action(
        request, pk, lambda c: services.case_submit(by=request.user, case=c, note=request.POST.get("note", "")),
        _("已提交县级综合研判。"),
    )  # fmt: skip


@login_required
@write_required
@require_POST
def case_decide(request, pk):
    decision = request.POST.get("decision")
    if decision not in ("confirm", "dismiss"):
        messages.error(request, _("请选择研判结论：确认为监测对象或排除。"))
        return redirect("monitoring:detail", pk=_case_for_user(request, pk).pk)
    confirm = decision == "confirm"
    return _action(
        request,
        pk,
        lambda c: services.case_decide(
            by=request.user,
            case=c,
            confirm=confirm,
            reason=request.POST.get("reason", ""),
            risk_types=request.POST.getlist("risk_types") or None,
        ),
        _("已确认为监测对象，进入精准帮扶。") if confirm else _("已研判排除。"),
    )


@login_required
@write_required
@require_POST
def units_set(request, pk):
    rows = []
    lead = request.POST.get("lead", "")
    for i, (unit, person, phone) in enumerate(
        zip(request.POST.getlist("unit"), request.POST.getlist("person"), request.POST.getlist("phone"), strict=False)
    ):
        if unit.strip() or person.strip():
            rows.append({"unit": unit, "person": person, "phone": phone, "is_lead": lead == str(i)})
    return _action(
        request, pk, lambda c: services.units_set(by=request.user, case=c, units=rows), _("责任单位已保存。")
    )


@login_required
@write_required
@require_POST
def measure_add(request, pk):
    data = {name: request.POST.get(name, "") for name in ("type", "content", "responsible_person", "due_on")}
    return _action(
        request, pk, lambda c: services.measure_add(by=request.user, case=c, data=data), _("帮扶措施已添加。")
    )


@login_required
@write_required
@require_POST
def measure_done(request, pk):
    measure = Measure.objects.visible_to(request.user).filter(pk=pk).first()
    if measure is None:
        raise Http404(_("帮扶措施不存在或不在您的管辖范围内。"))
    return _action(
        request, measure.case_id, lambda c: services.measure_done(by=request.user, measure=measure),
        _("已标记完成。"),
    )  # fmt: skip


@login_required
@write_required
@require_POST
def case_close(request, pk):
    return _action(
        request,
        pk,
        lambda c: services.case_close(
            by=request.user, case=c, closed_on=request.POST.get("closed_on", ""), method=request.POST.get("method", "")
        ),
        _("已销号。"),
    )


@login_required
@write_required
@require_POST
def relapse_confirm(request, pk):
    return _action(
        request,
        pk,
        lambda c: services.relapse_confirm(by=request.user, case=c, reason=request.POST.get("reason", "")),
        _("已认定返贫，该户脱贫状态已改为“返贫”。"),
    )


@login_required
def case_ledger_export(request):
    filterset = selectors.MonitoringCaseFilter(
        request.GET or None, queryset=selectors.case_list(user=request.user), request=request
    )
    names = ledger_region_names(user=request.user)
    columns = [
        Column(_("县区"), lambda c: names.get(c.village_id[:COUNTY_PREFIX], "")),
        Column(_("镇办"), lambda c: names.get(c.village_id[:TOWN_PREFIX], "")),
        Column(_("村"), lambda c: c.village.name),
        Column(_("户编号"), lambda c: c.household.number, text=True),
        Column(_("户主姓名"), lambda c: c.head_name or ""),
        Column(_("监测对象类别"), lambda c: c.get_category_display()),
        Column(_("发现渠道"), lambda c: c.get_channel_display()),
        Column(_("风险类型"), lambda c: "、".join(c.risk_type_labels())),
        Column(_("阶段"), lambda c: c.get_stage_display()),
        Column(_("发现日期"), lambda c: c.discovered_on),
        Column(_("响应时限"), lambda c: c.response_due),
        Column(_("研判意见"), lambda c: c.decision_reason),
        Column(_("销号日期"), lambda c: c.closed_on),
        Column(_("风险消除方式"), lambda c: c.close_method),
    ]
    return xlsx_streaming_response(
        filename=_("监测对象台账.xlsx"),
        fallback_filename="monitoring-cases.xlsx",
        sheet_title=_("监测对象台账"),
        columns=columns,
        rows=filterset.qs,
    )
