from django.urls import path

from exits import views

app_name = "exits"
urlpatterns = [
    path("", views.case_list, name="list"),
    path("batch/", views.case_batch, name="batch"),
    path("certify/", views.case_certify_batch, name="certify_batch"),
    path("enrol/", views.case_enrol, name="enrol"),
    path("approvals/", views.approval_queue, name="approvals"),
    path("situations/", views.situation_list, name="situations"),
    path("situations/<int:household_pk>/investigate/", views.situation_investigate, name="situation_investigate"),
    path("situations/<int:pk>/decide/", views.situation_decide, name="situation_decide"),
    path("notice-list/", views.notice_list, name="notice_list"),
    path("notice-list/print/", views.notice_print, name="notice_print"),
    path("prior-exits/", views.prior_exit_list, name="prior_exits"),
    path("export/cases.xlsx", views.case_ledger_export, name="export_cases"),
    path("<int:pk>/", views.case_detail, name="detail"),
    path("<int:pk>/advance/", views.case_advance, name="advance"),
    path("<int:pk>/return/", views.case_return, name="return"),
    path("<int:pk>/notice/", views.notice_open, name="notice_open"),
    path("<int:pk>/objections/", views.objection_add, name="objection_add"),
    path("<int:pk>/criteria/refresh/", views.criteria_refresh, name="criteria_refresh"),
    path("<int:pk>/attachments/", views.attachment_add, name="attachment_add"),
    path("objections/<int:pk>/resolve/", views.objection_resolve, name="objection_resolve"),
    path("criteria/<int:pk>/certify/", views.criterion_certify, name="criterion_certify"),
    path("criteria/<int:pk>/assess/", views.criterion_assess, name="criterion_assess"),
    path("attachments/<int:pk>/", views.attachment_download, name="attachment"),
]
