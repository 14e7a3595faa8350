from django.urls import path

from imports import views

app_name = "imports"
urlpatterns = [
    path("", views.import_list, name="list"),
    path("<str:kind>/new/", views.import_upload, name="upload"),
    path("<str:kind>/template.xlsx", views.import_template, name="template"),
    path("<int:pk>/", views.import_detail, name="detail"),
    path("<int:pk>/progress/", views.import_progress, name="progress"),
    path("<int:pk>/confirm/", views.import_confirm, name="confirm"),
    path("<int:pk>/retry/", views.import_retry, name="retry"),
    path("<int:pk>/original.xlsx", views.import_original, name="original"),
    path("<int:pk>/errors.xlsx", views.import_error_report, name="errors"),
]
