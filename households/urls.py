from django.urls import path

from households import views

app_name = "households"
urlpatterns = [
    path("", views.household_list, name="list"),
    path("new/", views.household_create, name="create"),
    path("import/template.xlsx", views.import_template, name="import_template"),
    path("export/households.xlsx", views.household_ledger_export, name="export_households"),
    path("export/members.xlsx", views.member_ledger_export, name="export_members"),
    path("member-row/", views.member_row, name="member_row"),
    path("<int:pk>/", views.household_detail, name="detail"),
    path("<int:pk>/edit/", views.household_edit, name="edit"),
    path("<int:pk>/card/", views.household_card, name="card"),
    path("<int:pk>/reveal-phone/", views.household_reveal_phone, name="reveal_phone"),
    path("<int:pk>/income/", views.income_add, name="income_add"),
    path("<int:pk>/housing/", views.housing_add, name="housing_add"),
    path("<int:pk>/water/", views.water_add, name="water_add"),
    path("members/<int:pk>/reveal/", views.member_reveal, name="member_reveal"),
    path("members/<int:pk>/transfer/", views.member_transfer, name="member_transfer"),
]
