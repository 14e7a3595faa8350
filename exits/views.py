"""Exit pages: case list with batch actions, enrolment, the case page (timeline,
criteria, objections, returns, attachments), the county approval queue, special
situations and the printable notice list. Each view fetches rows *for this user*
(404 otherwise) and hands every write to exits.services."""

from __future__ import annotations

from itertools import groupby

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Prefetch, QuerySet
from django.http import FileResponse, Http404, QueryDict, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.models import Role
from core.exports import xlsx_streaming_response
from core.paging import CappedPaginator
from core.params import as_id, as_ids
from core.permissions import write_required
from exits import exports, gates, selectors, services
from exits.forms import (
    STEP_FORMS,
    AssessForm,
    AttachmentForm,
    CertifyForm,
    DecisionForm,
    ObjectionForm,
    PriorExitForm,
    ResolveForm,
    ReturnForm,
    SituationForm,
    cross_check_unit_choices,
)
from exits.models import (
    CRITERION_SECTOR,
    REVIEWS,
    SECTOR_CRITERION,
    Attachment,
    Campaign,
    Criterion,
    CriterionCheck,
    ExitCase,
    Objection,
    ObjectionStatus,
    PriorExit,
    SpecialSituation,
    Step,
    StepRecord,
)
from households.exports import ledger_region_names
from households.models import ExitStatus, Household, Relationship
from households.search import search_redirect
from households.selectors import region_filter_choices

PAGE_SIZE = 20
# 全选 in a batch action takes every case the filters match, up to this many at once.
BATCH_LIMIT = 500
# Open objections the approval queue lists; the case list filters the rest.
OBJECTIONS_SHOWN = 10
OBJECTION_COUNT_CAP = 100


def _case_for_user(request, pk) -> ExitCase:
    try:
        return selectors.case_get(user=request.user, pk=pk)
    except ExitCase.DoesNotExist:
        raise Http404(_("退出案件不存在或不在您的管辖范围内。")) from None


def _campaign_param(value, campaigns=None) -> Campaign | None:
    """The campaign a ``?campaign=`` names; anything that is not an id names none."""
    pk = as_id(value)
    if pk is None:
        return None
    return (campaigns if campaigns is not None else Campaign.objects.all()).filter(pk=pk).first()


def _local_url(request, url: str | None) -> str | None:
    """``url`` if it stays on this site (a list page with its filters), else None."""
    if url and url_has_allowed_host_and_scheme(url, allowed_hosts={request.get_host()}, require_https=False):
        return url
    return None


def _report(request, error: services.ExitError | services.ExitConflict) -> None:
    if isinstance(error, services.ExitConflict):
        messages.error(request, error.message)
        return
    for message in error.all_messages:
        messages.error(request, message)


def _attach_errors(form, error: services.ExitError) -> None:
    for name, field_messages in error.fields.items():
        for message in field_messages:
            form.add_error(name if name in form.fields else None, message)
    for message in error.messages:
        form.add_error(None, message)


# --- list and batch -------------------------------------------------------------------------


@login_required
def case_list(request):
    # The filter form POSTs: a full ID number goes to the session, not the URL.
    if redirect_to_list := search_redirect(request):
        return redirect_to_list
    data = request.GET.copy()
    campaign = selectors.current_campaign()
    if "campaign" not in data and campaign is not None:
        data["campaign"] = str(campaign.pk)
    filterset = selectors.ExitCaseFilter(data, queryset=selectors.case_list(user=request.user), request=request)
    page = CappedPaginator(filterset.qs, PAGE_SIZE).get_page(request.GET.get("page"))
    page.object_list = selectors.with_blockers(page.object_list)
    query = data.copy()
    query.pop("page", None)
    user = request.user
    can_batch = user.role in services.REVIEWING_ROLES
    certifies = SECTOR_CRITERION.get(user.sector) if user.role == Role.SECTOR else None
    context = {
        "filter": filterset,
        "page": page,
        "query": query.urlencode(),
        "can_batch": can_batch,
        "certifies": Criterion(certifies).label if certifies else None,
        "can_select": (can_batch or certifies is not None) and user.can_write,
        "batch_limit": BATCH_LIMIT,
        "batch_steps": [(s, label) for s, label in Step.choices if s >= Step.CROSS_CHECK],
        "archive_items": services.ARCHIVE_ITEMS,
    }
    if can_batch and not request.htmx and user.region_id:
        # The town official's own town cannot cross-check its households.
        own_town = user.region_id[:9] if user.role == Role.TOWN_OFFICIAL else None
        context["cross_units"] = cross_check_unit_choices(county=user.region_id[:6], own_town=own_town)
    if not request.htmx:
        context["region_choices"] = region_filter_choices(user=request.user)
    template = "exits/_case_results.html" if request.htmx and not request.htmx.boosted else "exits/case_list.html"
    return render(request, template, context)


@login_required
@write_required
@require_POST
def case_batch(request):
    """A town or county official completes one step for many selected cases at once."""
    if request.user.role not in services.REVIEWING_ROLES:
        raise PermissionDenied(_("批量办理由镇办干部或县级审批人员使用。"))
    try:
        step = int(request.POST.get("step", ""))
    except ValueError:
        step = 0
    ids = as_ids(request.POST.getlist("cases"))
    back = _local_url(request, request.POST.get("next")) or reverse("exits:list")
    if step not in Step.values:
        messages.error(request, _("请勾选案件并选择要办理的步骤。"))
        return redirect(back)
    cases, refusal = _batch_cases(request, ids, none_ticked=_("请勾选案件并选择要办理的步骤。"))
    if refusal:
        messages.error(request, refusal)
        return redirect(back)
    data = {
        "opinion": request.POST.get("opinion", ""),
        "findings": request.POST.get("findings", ""),
        "checking_unit": request.POST.get("checking_unit", ""),
        "note": request.POST.get("note", ""),
        "checklist": request.POST.getlist("checklist"),
        "marked_on": request.POST.get("marked_on", ""),
        "operator": request.POST.get("operator", ""),
    }
    outcomes = services.steps_complete(by=request.user, cases=cases, step=step, data=data)
    return _batch_result(request, outcomes, label=Step(step).label, back=back)


def _batch_result(request, outcomes: list[services.BatchOutcome], *, label: str, back: str):
    """The result table of a batch action: each case or household, 户主, done or why not."""
    context = {
        "outcomes": outcomes,
        "step_label": label,
        "succeeded": sum(1 for o in outcomes if o.ok),
        "failed": sum(1 for o in outcomes if not o.ok),
        "back": back,
    }
    return render(request, "exits/batch_result.html", context)


def _batch_cases(request, ids: list[int], *, none_ticked: str) -> tuple[QuerySet | None, str]:
    """The cases a batch action is for: the ticked ones, or with 全选 every case the
    list's filters match (``filter_query``, read as the list reads it), at most
    ``BATCH_LIMIT``. Always within the user's scope."""
    cases = selectors.case_list(user=request.user)
    if request.POST.get("all_matching") == "1":
        data = QueryDict(request.POST.get("filter_query", ""), mutable=True)
        campaign = selectors.current_campaign()
        if "campaign" not in data and campaign is not None:
            data["campaign"] = str(campaign.pk)
        matching = selectors.ExitCaseFilter(data, queryset=cases, request=request).qs
        count = matching.count()
        if count > BATCH_LIMIT:
            return None, _("符合条件的案件有 %(n)s 个，一次最多办理 %(max)s 个，请缩小筛选范围后再办理。") % {
                "n": count,
                "max": BATCH_LIMIT,
            }
        if not count:
            return None, _("没有符合条件的退出案件。")
        return matching, ""
    if not ids:
        return None, none_ticked
    return cases.filter(pk__in=ids), ""


@login_required
@write_required
@require_POST
def case_certify_batch(request):
    """A sector department certifies its criterion (达标认定) for many cases at once."""
    if request.user.role != Role.SECTOR:
        raise PermissionDenied(_("批量认定由行业部门使用，每个部门认定本部门负责的标准。"))
    back = _local_url(request, request.POST.get("next")) or reverse("exits:list")
    cases, refusal = _batch_cases(request, as_ids(request.POST.getlist("cases")), none_ticked=_("请勾选要认定的案件。"))
    if refusal:
        messages.error(request, refusal)
        return redirect(back)
    form = CertifyForm(request.POST)
    form.is_valid()
    outcomes = services.criteria_certify(by=request.user, cases=cases, note=form.cleaned_data.get("note", ""))
    criterion = Criterion(SECTOR_CRITERION[request.user.sector])
    return _batch_result(request, outcomes, label=_("认定“%(c)s”达标") % {"c": criterion.label}, back=back)


# --- enrolment ------------------------------------------------------------------------------


@login_required
@write_required
def case_enrol(request):
    """A village cadre enrols households of the village into the campaign, one or many."""
    if request.user.role != Role.VILLAGE_CADRE:
        raise PermissionDenied(_("只有村级录入员可以纳入退出户。"))
    campaigns = Campaign.objects.filter(is_active=True)
    campaign = _campaign_param(request.POST.get("campaign") or request.GET.get("campaign"), campaigns)
    campaign = campaign or campaigns.first()
    if campaign is None:
        messages.error(request, _("没有进行中的退出批次，请联系系统管理员创建。"))
        return redirect("exits:list")
    if request.method == "POST":
        ids = as_ids(request.POST.getlist("households"))
        households = Household.objects.visible_to(request.user).filter(pk__in=ids).order_by("number")
        if not ids:
            messages.error(request, _("请勾选要纳入退出的户。"))
        else:
            outcomes = services.cases_enrol(by=request.user, campaign=campaign, households=households)
            label = _("纳入“%(c)s”") % {"c": campaign.name}
            return _batch_result(request, outcomes, label=label, back=reverse("exits:list"))
    enrolled = ExitCase.objects.filter(campaign=campaign).values("household_id")
    candidates = (
        Household.objects.visible_to(request.user)
        .exclude(pk__in=enrolled)
        .exclude(exit_status=ExitStatus.EXITED)
        .select_related("village")
        .prefetch_related("special_situations")
        .order_by("number")
    )
    rows = [
        {
            "household": household,
            "head_name": household.head_name or "",
            "refusals": services.enrolment_refusals(campaign, household, enrolled=False)
            if household.identification_year == campaign.year or household.lost_contact or household.released_prisoner
            else [],
        }
        for household in candidates
    ]
    context = {
        "campaign": campaign,
        "campaigns": campaigns,
        "rows": rows,
        "selectable": sum(1 for row in rows if not row["refusals"]),
    }
    return render(request, "exits/enrol.html", context)


# --- the case page --------------------------------------------------------------------------


def _can_act(user, case: ExitCase) -> bool:
    return user.can_write and not case.is_done and user.role == case.campaign.role_for(case.current_step)


def _case_context(request, case: ExitCase, *, step_form=None, forms: dict | None = None) -> dict:
    forms = forms or {}
    criteria = list(case.criteria.select_related("assessed_by", "certified_by"))
    attachments = list(case.attachments.select_related("uploaded_by"))
    for check in criteria:
        check.attachments = [a for a in attachments if a.criterion == check.criterion]
        check.can_certify = (
            request.user.role == Role.SECTOR
            and request.user.sector == CRITERION_SECTOR[Criterion(check.criterion)]
            and not case.is_done
        )
        check.can_assess = request.user.role == Role.VILLAGE_CADRE and not case.is_done
    can_act = _can_act(request.user, case)
    if step_form is None and can_act:
        step_form = STEP_FORMS[case.current_step](case=case, prefix="step")
    refusals = services.step_refusals(case, case.current_step, by=request.user, refresh=False) if can_act else []
    step = case.current_step
    gate_rows = []
    if not case.is_done:
        failing = {b.gate: b for b in gates.blockers(case, step)}
        gate_rows = [
            {"label": gates.Gate(g).label, "reasons": failing[g].reasons if g in failing else ()}
            for g in case.campaign.gates_for(step)
        ]
    members = list(case.household.members.order_by("pk"))
    head = next((m for m in members if m.relationship == Relationship.HEAD), None)
    return {
        "case": case,
        "head": head,
        "members": members,
        "timeline": selectors.case_timeline(case),
        "criteria": criteria,
        "objections": list(case.objections.select_related("recorded_by", "resolved_by")),
        "situations": list(
            SpecialSituation.objects.filter(campaign=case.campaign, household=case.household).select_related(
                "decided_by", "investigated_by"
            )
        ),
        "can_act": can_act,
        "step_form": step_form,
        "refusals": refusals,
        "gate_rows": gate_rows,
        "barred": [] if case.is_done else services.separation_excluded(case, step),
        "checked_steps": [(s, Step(s).label) for s in REVIEWS.get(step, ())] if not case.is_done else [],
        "can_review": request.user.role in services.REVIEWING_ROLES and request.user.can_write and not case.is_done,
        "return_form": forms.get("return") or ReturnForm(case=case),
        "objection_form": forms.get("objection") or ObjectionForm(),
        "resolve_form": ResolveForm(),
        "assess_form": AssessForm(),
        "certify_form": CertifyForm(),
        "attachment_form": AttachmentForm(),
        "notice_ends_on": services.notice_ends_on(case),
        "in_notice": case.current_step == Step.NOTICE and case.notice_started_on is not None,
        "deadline": None if case.is_done else selectors.deadline_status(case.campaign.deadline_for(case.current_step)),
        "Step": Step,
    }


@login_required
def case_detail(request, pk):
    case = _case_for_user(request, pk)
    return render(request, "exits/case_detail.html", _case_context(request, case))


@login_required
@write_required
@require_POST
def case_advance(request, pk):
    case = _case_for_user(request, pk)
    if case.is_done:
        raise Http404(_("该户已完成全部退出程序。"))
    form = STEP_FORMS[case.current_step](request.POST, case=case, prefix="step")
    if form.is_valid():
        try:
            services.step_complete(by=request.user, case=case, step=case.current_step, data=form.record())
        except services.ExitError as error:
            _attach_errors(form, error)
        except services.ExitConflict as conflict:
            messages.error(request, conflict.message)
            return redirect("exits:detail", pk=case.pk)
        else:
            messages.success(
                request, _("已完成第%(n)d步“%(label)s”。") % {"n": case.current_step, "label": case.current_step_label}
            )
            return redirect("exits:detail", pk=case.pk)
    return render(request, "exits/case_detail.html", _case_context(request, case, step_form=form), status=400)


@login_required
@write_required
@require_POST
def case_return(request, pk):
    case = _case_for_user(request, pk)
    form = ReturnForm(request.POST, case=case)
    if form.is_valid():
        try:
            services.case_return(
                by=request.user, case=case, to_step=form.cleaned_data["to_step"], reason=form.cleaned_data["reason"]
            )
        except services.ExitError as error:
            _attach_errors(form, error)
        else:
            messages.success(request, _("案件已退回。"))
            return redirect("exits:detail", pk=case.pk)
    return render(request, "exits/case_detail.html", _case_context(request, case, forms={"return": form}), status=400)


@login_required
@write_required
@require_POST
def notice_open(request, pk):
    case = _case_for_user(request, pk)
    try:
        services.notice_open(by=request.user, case=case, start=request.POST.get("start") or None)
    except services.ExitError as error:
        _report(request, error)
    else:
        messages.success(request, _("公示已发布。"))
    return redirect("exits:detail", pk=case.pk)


@login_required
@write_required
@require_POST
def objection_add(request, pk):
    case = _case_for_user(request, pk)
    form = ObjectionForm(request.POST)
    if form.is_valid():
        try:
            services.objection_add(
                by=request.user,
                case=case,
                content=form.cleaned_data["content"],
                raised_on=form.cleaned_data["raised_on"],
                raised_by_name=form.cleaned_data["raised_by_name"],
            )
        except services.ExitError as error:
            _attach_errors(form, error)
        else:
            messages.success(request, _("异议已登记。"))
            return redirect("exits:detail", pk=case.pk)
    context = _case_context(request, case, forms={"objection": form})
    return render(request, "exits/case_detail.html", context, status=400)


@login_required
@write_required
@require_POST
def objection_resolve(request, pk):
    objection = Objection.objects.visible_to(request.user).select_related("case").filter(pk=pk).first()
    if objection is None:
        raise Http404(_("异议不存在或不在您的管辖范围内。"))
    form = ResolveForm(request.POST)
    form.is_valid()
    try:
        services.objection_resolve(
            by=request.user,
            objection=objection,
            upheld=bool(form.cleaned_data.get("upheld")),
            resolution=form.cleaned_data.get("resolution", ""),
        )
    except services.ExitError as error:
        _report(request, error)
    else:
        messages.success(request, _("异议已处理。"))
    return redirect("exits:detail", pk=objection.case_id)


def _check_for_user(request, pk) -> CriterionCheck:
    check = CriterionCheck.objects.visible_to(request.user).select_related("case__campaign").filter(pk=pk).first()
    if check is None:
        raise Http404(_("退出标准不存在或不在您的管辖范围内。"))
    return check


@login_required
@write_required
@require_POST
def criterion_certify(request, pk):
    check = _check_for_user(request, pk)
    form = CertifyForm(request.POST)
    form.is_valid()
    try:
        services.criterion_certify(by=request.user, check=check, note=form.cleaned_data.get("note", ""))
    except services.ExitError as error:
        _report(request, error)
    else:
        messages.success(request, _("“%(c)s”已认定达标。") % {"c": check.get_criterion_display()})
    return redirect("exits:detail", pk=check.case_id)


@login_required
@write_required
@require_POST
def criterion_assess(request, pk):
    check = _check_for_user(request, pk)
    form = AssessForm(request.POST)
    form.is_valid()
    home_taught = as_ids(request.POST.getlist("home_taught"))
    try:
        services.criterion_assess(
            by=request.user,
            check=check,
            assessment=form.cleaned_data.get("assessment", ""),
            note=form.cleaned_data.get("note", ""),
            home_taught=home_taught if check.criterion == Criterion.EDUCATION else None,
        )
    except services.ExitError as error:
        _report(request, error)
    else:
        messages.success(request, _("“%(c)s”的村级评定已保存。") % {"c": check.get_criterion_display()})
    return redirect("exits:detail", pk=check.case_id)


@login_required
@write_required
@require_POST
def criteria_refresh(request, pk):
    case = _case_for_user(request, pk)
    services.criteria_refresh([case])
    messages.success(request, _("已按最新的建档立卡数据重新测算五项标准。"))
    return redirect("exits:detail", pk=case.pk)


@login_required
@write_required
@require_POST
def attachment_add(request, pk):
    case = _case_for_user(request, pk)
    form = AttachmentForm(request.POST, request.FILES)
    if not form.is_valid():
        messages.error(request, _("请选择要上传的附件。"))
        return redirect("exits:detail", pk=case.pk)
    try:
        services.attachment_add(by=request.user, case=case, upload=form.cleaned_data["file"], **form.target_kwargs())
    except services.ExitError as error:
        _report(request, error)
    else:
        messages.success(request, _("附件已上传。"))
    return redirect("exits:detail", pk=case.pk)


@login_required
def attachment_download(request, pk):
    attachment = Attachment.objects.visible_to(request.user).filter(pk=pk).first()
    if attachment is None:
        raise Http404(_("附件不存在或不在您的管辖范围内。"))
    return FileResponse(
        attachment.file.open("rb"), filename=attachment.original_name, content_type=attachment.content_type
    )


# --- queues ---------------------------------------------------------------------------------


@login_required
def approval_queue(request):
    """The county's queue: cases waiting for approval, with what still blocks each."""
    campaign = selectors.current_campaign()
    cases = (
        selectors.case_list(user=request.user)
        .filter(current_step=Step.APPROVE)
        .prefetch_related(
            "criteria",
            # What the approval gates and the separation of duties read: the standing step
            # records and the open objections (exits.gates), not every record since enrolment.
            Prefetch("steps", queryset=StepRecord.objects.filter(is_reset=False)),
            Prefetch("objections", queryset=Objection.objects.filter(status=ObjectionStatus.OPEN)),
            "household__special_situations",
        )
    )
    if campaign:
        cases = cases.filter(campaign=campaign)
    page = Paginator(cases, PAGE_SIZE).get_page(request.GET.get("page"))
    # What blocks each case, from its last measurement (the approval re-measures), and
    # whether this official may approve it at all (separation of duties).
    rows = [
        {
            "case": case,
            "blockers": services.separation_refusals(case, Step.APPROVE, by=request.user)
            + services.approval_refusals(case, refresh=False),
        }
        for case in page.object_list
    ]
    # The oldest open objections, with how many there are: the rest are one click away
    # on the case list (公示: 有待处理的异议), never all on this page.
    objections = Objection.objects.visible_to(request.user).filter(status=ObjectionStatus.OPEN)
    open_objections = objections.select_related("case__household", "case__village").order_by("raised_on", "pk")
    return render(
        request,
        "exits/approval_queue.html",
        {
            "page": page,
            "rows": rows,
            "campaign": campaign,
            "open_objections": open_objections[:OBJECTIONS_SHOWN],
            # Counted up to the cap (the index stops there): "100+" says enough.
            "open_objection_count": objections.order_by()[: OBJECTION_COUNT_CAP + 1].count(),
            "objection_count_cap": OBJECTION_COUNT_CAP,
        },
    )


@login_required
def situation_list(request):
    """Households marked 失联 / 刑满释放: the village records the investigation, the
    county decides."""
    campaign = selectors.current_campaign()
    situations = SpecialSituation.objects.visible_to(request.user).select_related(
        "household", "village", "investigated_by", "decided_by", "campaign"
    )
    missing = [
        {"household": household, "kind": kind}
        for kind, households in selectors.situations_to_investigate(user=request.user, campaign=campaign).items()
        for household in households
    ]
    missing.sort(key=lambda row: (row["household"].village_id, row["household"].number))
    return render(
        request,
        "exits/situations.html",
        {
            "campaign": campaign,
            "situations": situations.filter(campaign=campaign) if campaign else situations.none(),
            "missing": missing,
            "decision_form": DecisionForm(),
            "is_county": request.user.role == Role.COUNTY_OFFICIAL,
        },
    )


@login_required
@write_required
@require_POST
def situation_investigate(request, household_pk):
    campaign = selectors.current_campaign()
    household = Household.objects.visible_to(request.user).filter(pk=household_pk).first()
    if household is None or campaign is None:
        raise Http404(_("户不存在或不在您的管辖范围内。"))
    form = SituationForm(request.POST)
    form.is_valid()
    try:
        services.situation_investigate(
            by=request.user,
            campaign=campaign,
            household=household,
            kind=form.cleaned_data.get("kind", ""),
            investigation=form.cleaned_data.get("investigation", ""),
        )
    except services.ExitError as error:
        _report(request, error)
    else:
        messages.success(request, _("调查核实情况已登记。"))
    return redirect("exits:situations")


@login_required
@write_required
@require_POST
def situation_decide(request, pk):
    situation = SpecialSituation.objects.visible_to(request.user).filter(pk=pk).first()
    if situation is None:
        raise Http404(_("记录不存在或不在您的管辖范围内。"))
    form = DecisionForm(request.POST)
    form.is_valid()
    try:
        services.situation_decide(
            by=request.user,
            situation=situation,
            decision=form.cleaned_data.get("decision", ""),
            note=form.cleaned_data.get("note", ""),
        )
    except services.ExitError as error:
        _report(request, error)
    else:
        messages.success(request, _("处理决定已保存。"))
    return redirect("exits:situations")


def _notice_scope(request) -> tuple[Campaign | None, str, QuerySet[ExitCase]]:
    """The notice's campaign, village (``""`` for every village) and listed cases."""
    campaign = _campaign_param(request.GET.get("campaign")) or selectors.current_campaign()
    village = request.GET.get("village", "")
    listed = selectors.notice_list_cases(user=request.user, campaign=campaign) if campaign else ExitCase.objects.none()
    return campaign, village, listed


@login_required
def notice_list(request):
    """The public notice (公示名单) of a village: names, 组 and household size — never ID,
    phone, bank or health data (DOMAIN.md §4). A notice is a village's: it is posted in
    the village, and this page shows one village at a time — the one asked for, else
    the first (by code) with a listed household — so an official of a county with
    thousands of households in the notice reads one village's list, not the county's
    gates worked out on every view. Every village on one sheet each is printed from
    ``notice_print``, which streams it."""
    campaign, village, listed = _notice_scope(request)
    # The villages with households in or past the notice, to choose from: read from the
    # cases' own columns (an index), whether a gate holds one back or not.
    villages = (
        list(
            selectors.case_list(user=request.user)
            .filter(campaign=campaign, current_step__gte=Step.NOTICE)
            .exclude(notice_started_on__isnull=True, current_step=Step.NOTICE)
            .order_by("village_id")
            .values_list("village_id", "village__name")
            .distinct()
        )
        if campaign
        else []
    )
    if not village:
        village = listed.order_by("village_id").values_list("village_id", flat=True).first() or (
            villages[0][0] if villages else ""
        )
    cases = list(listed.filter(village_id=village)) if village else []
    # Cases in or past the notice that fail a notice gate now: the officials see how
    # many are held back (never who, on a page meant for printing).
    in_notice = selectors.case_list(user=request.user).filter(
        campaign=campaign, current_step__gte=Step.NOTICE, village_id=village
    )
    in_notice = in_notice.exclude(notice_started_on__isnull=True, current_step=Step.NOTICE)
    withheld = in_notice.count() - len(cases) if campaign and village else 0
    return render(
        request,
        "exits/notice_list.html",
        {
            "campaign": campaign,
            "cases": cases,
            "villages": villages,
            "village": village,
            "withheld": withheld,
        },
    )


@login_required
def notice_print(request):
    """The whole notice for printing, one table per village (each on its own sheet),
    streamed: the rows are read and sent a thousand at a time, so a county of 20,000
    listed households costs neither the server's memory nor a long wait for the first byte."""
    campaign, village, listed = _notice_scope(request)
    cases = listed.filter(village_id=village) if village else listed
    context = {"campaign": campaign}

    def sections():
        yield render_to_string("exits/notice_print_head.html", context, request=request)
        listed = 0
        for village_cases in _by_village(cases.iterator(chunk_size=1000)):
            listed += len(village_cases)
            yield render_to_string("exits/_notice_village.html", {**context, "cases": village_cases})
        if not listed:
            yield render_to_string("exits/_notice_village.html", {**context, "cases": []})
        yield render_to_string("exits/notice_print_foot.html", context, request=request)

    return StreamingHttpResponse(sections(), content_type="text/html; charset=utf-8")


def _by_village(cases):
    """Consecutive cases of one village as one list (cases come ordered by village)."""
    for _village, group in groupby(cases, key=lambda case: case.village_id):
        yield list(group)


@login_required
def case_ledger_export(request):
    filterset = selectors.ExitCaseFilter(
        request.GET or None, queryset=selectors.case_list(user=request.user), request=request
    )
    return xlsx_streaming_response(
        filename=_("退出案件台账.xlsx"),
        fallback_filename="exit-cases.xlsx",
        sheet_title=_("退出案件台账"),
        columns=exports.case_ledger_columns(region_names=ledger_region_names(user=request.user)),
        rows=filterset.qs,
    )


# --- exits from before the system (历史脱贫登记) ---------------------------------------------


@login_required
def prior_exit_list(request):
    """The county's record of exits from before the system was in use, and the form
    that adds households of one approval document (DOMAIN.md §4: 脱贫状态 comes from a
    recorded path, never from the registry's editable fields)."""
    can_record = request.user.role == Role.COUNTY_OFFICIAL and request.user.can_write
    form = PriorExitForm(request.POST or None) if can_record else None
    outcomes = None
    if request.method == "POST":
        if not can_record:
            raise PermissionDenied(_("历史脱贫由县级审批人员登记。"))
        if form.is_valid():
            outcomes = services.prior_exits_record(
                by=request.user,
                numbers=form.cleaned_data["numbers"],
                year=form.cleaned_data["year"],
                document=form.cleaned_data["document"],
                note=form.cleaned_data["note"],
            )
    records = PriorExit.objects.visible_to(request.user).select_related("household__village", "recorded_by")
    q = request.GET.get("q", "").strip()
    if q:
        records = records.filter(household__number__startswith=q)
    page = Paginator(records, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "exits/prior_exits.html",
        {
            "form": form,
            "page": page,
            "q": q,
            "outcomes": outcomes,
            "succeeded": sum(1 for o in outcomes or [] if o.ok),
            "failed": sum(1 for o in outcomes or [] if not o.ok),
        },
        status=400 if outcomes is not None and not any(o.ok for o in outcomes) else 200,
    )
