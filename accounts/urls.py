from django.contrib.auth import views as auth_views
from django.urls import path

from accounts import views

urlpatterns = [
    path("login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("password/", auth_views.PasswordChangeView.as_view(), name="password_change"),
    path("password/done/", auth_views.PasswordChangeDoneView.as_view(), name="password_change_done"),
    path("", views.account, name="account"),
    path("tokens/", views.token_create, name="account-token-create"),
    path("tokens/revoke/", views.token_revoke, name="account-token-revoke"),
    path("logout-everywhere/", views.logout_everywhere, name="account-logout-everywhere"),
]
