from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.templatetags.static import static
from django.utils.translation import gettext_lazy as _

from accounts.models import Role
from dashboards.snapshots import deadline_total
from dashboards.todo import todo_for
from exits.selectors import current_campaign
from regions.selectors import region_children_with_counts, region_root_for, region_summary

# What each role does in the exit campaign (DOMAIN.md §1), shown on its home page.
ROLE_DUTIES = {
    Role.VILLAGE_CADRE: [
        _("录入和维护本村贫困户、家庭成员信息"),
        _("入户核实五项退出标准，收集佐证材料"),
        _("办理村级退出步骤：信息核实、民主评议"),
    ],
    Role.TOWN_OFFICIAL: [
        _("组织交叉检查与镇级审核审查"),
        _("指导村内公示，处理群众异议"),
        _("研判本镇防返贫监测对象"),
    ],
    Role.SECTOR: [
        _("对本行业负责的退出标准进行达标认定"),
        _("上传行业比对名单，发现风险人员"),
    ],
    Role.COUNTY_OFFICIAL: [
        _("核查批准贫困户退出"),
        _("决定监测对象的认定与销号"),
        _("资料备案与全国系统标注"),
    ],
    Role.CITY_SUPERVISOR: [
        _("查看全市各级退出进度与时限"),
        _("督查整改台账，导出报表（只读）"),
    ],
    Role.ADMIN: [
        _("管理用户、角色与所属区划"),
        _("维护行政区划与退出批次设置"),
    ],
}


@login_required
def home(request):
    """Each role's home page: its duties, its region and what lies below it."""
    user = request.user
    root = region_root_for(user)
    context = {"root": root, "duties": ROLE_DUTIES.get(user.role, []), "path": root.path() if root else []}
    if root is not None:
        context["summary"] = region_summary(user=user, region=root)
        context["children"] = region_children_with_counts(user=user, region=root)
    campaign = current_campaign()
    if campaign is not None and root is not None and user.role in (Role.CITY_SUPERVISOR, Role.ADMIN):
        # Those who watch rather than do: the campaign's progress at each level.
        context["progress"], context["progress_counted_at"] = deadline_total(user=user, campaign=campaign, region=root)
    groups = todo_for(user=user, campaign=campaign)
    context.update(
        campaign=campaign,
        todo=[g for g in groups if g.count],
        todo_clear=[g for g in groups if not g.count],
        todo_role=bool(groups),
    )
    return render(request, "core/home.html", context)


def favicon(request):
    """``/favicon.ico``, which browsers ask for where a page names no icon (the admin, the
    API's pages, a downloaded file): the app's own icon, served with the static files."""
    return redirect(static("img/favicon.svg"), permanent=True)
