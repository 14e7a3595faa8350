from django.urls import path

from dashboards import views

app_name = "dashboards"
urlpatterns = [
    path("deadlines/", views.deadlines, name="deadlines"),
    path("deadlines/export.xlsx", views.deadlines_export, name="deadlines_export"),
    path("monitoring/", views.monitoring, name="monitoring"),
    path("monitoring/export.xlsx", views.monitoring_export, name="monitoring_export"),
]
