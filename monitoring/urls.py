from django.urls import path

from monitoring import views

app_name = "monitoring"
urlpatterns = [
    path("", views.case_list, name="list"),
    path("report/", views.case_report, name="report"),
    path("export/cases.xlsx", views.case_ledger_export, name="export_cases"),
    path("<int:pk>/", views.case_detail, name="detail"),
    path("<int:pk>/submit/", views.case_submit, name="submit"),
    path("<int:pk>/decide/", views.case_decide, name="decide"),
    path("<int:pk>/units/", views.units_set, name="units"),
    path("<int:pk>/measures/", views.measure_add, name="measure_add"),
    path("<int:pk>/close/", views.case_close, name="close"),
    path("<int:pk>/relapse/", views.relapse_confirm, name="relapse"),
    path("measures/<int:pk>/done/", views.measure_done, name="measure_done"),
]
