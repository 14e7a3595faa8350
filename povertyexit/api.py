"""The one API router: every app's viewsets are registered here, under /api/v1/."""

from django.urls import include, path
from rest_framework.routers import DefaultRouter

from accounts.api import LogoutAllView, LogoutView, MeView, ObtainTokenView
from dashboards.api import DeadlineDashboardView, MonitoringDashboardView, TodoView
from exits.api import CampaignViewSet, ExitCaseViewSet, PriorExitViewSet
from households.api import HouseholdViewSet, MemberViewSet
from imports.api import ImportErrorReportView, ImportJobViewSet
from monitoring.api import AlertViewSet, MonitoringCaseViewSet
from regions.api import RegionViewSet

router = DefaultRouter()
router.register("regions", RegionViewSet, basename="region")
router.register("households", HouseholdViewSet, basename="household")
router.register("members", MemberViewSet, basename="member")
router.register("imports", ImportJobViewSet, basename="import")
router.register("exit-campaigns", CampaignViewSet, basename="exit-campaign")
router.register("exit-cases", ExitCaseViewSet, basename="exit-case")
router.register("prior-exits", PriorExitViewSet, basename="prior-exit")
router.register("monitoring-cases", MonitoringCaseViewSet, basename="monitoring-case")
router.register("alerts", AlertViewSet, basename="alert")

urlpatterns = [
    path("auth/token/", ObtainTokenView.as_view(), name="api-token"),
    path("auth/logout/", LogoutView.as_view(), name="api-logout"),
    path("auth/logout-all/", LogoutAllView.as_view(), name="api-logout-all"),
    path("me/", MeView.as_view(), name="api-me"),
    path("imports/<int:pk>/errors.xlsx", ImportErrorReportView.as_view(), name="import-errors"),
    path("dashboard/deadlines/", DeadlineDashboardView.as_view(), name="dashboard-deadlines"),
    path("dashboard/monitoring/", MonitoringDashboardView.as_view(), name="dashboard-monitoring"),
    path("dashboard/todo/", TodoView.as_view(), name="dashboard-todo"),
    path("", include(router.urls)),
]
