"""Pages of accounts: the user and team settings, and the password reset form (Django's
other auth pages come from `django.contrib.auth.urls` under /accounts/)."""

from django.urls import path

from accounts import sign_in, two_factor_views, views

urlpatterns = [
    path("settings/users/", views.users, name="user-settings"),
    path("settings/users/invite/", views.invite_user, name="user-invite"),
    path("settings/users/<int:user_id>/edit/", views.edit_user, name="user-edit"),
    path("settings/users/<int:user_id>/deactivate/", views.deactivate_user, name="user-deactivate"),
    path("settings/users/<int:user_id>/reactivate/", views.reactivate_user, name="user-reactivate"),
    path(
        "settings/users/<int:user_id>/resend-invitation/",
        views.resend_invitation,
        name="user-resend-invitation",
    ),
    path("settings/me/api-token/", views.api_token, name="my-api-token"),
    path("settings/me/api-token/revoke/", views.revoke_api_token, name="my-api-token-revoke"),
    path("settings/me/two-factor/", two_factor_views.two_factor_page, name="my-two-factor"),
    path("settings/me/two-factor/confirm/", two_factor_views.confirm, name="my-two-factor-confirm"),
    path(
        "settings/me/two-factor/recovery-codes/",
        two_factor_views.regenerate,
        name="my-two-factor-recovery-codes",
    ),
    path("settings/me/two-factor/disable/", two_factor_views.disable, name="my-two-factor-disable"),
    path("settings/teams/", views.teams, name="team-settings"),
    path("settings/teams/new/", views.create_team, name="team-create"),
    path("settings/teams/<int:team_id>/edit/", views.edit_team, name="team-edit"),
    path("settings/teams/<int:team_id>/delete/", views.delete_team, name="team-delete"),
    # Before django.contrib.auth.urls: the same address, with the form that also serves
    # invited users who have no password yet.
    path("accounts/password_reset/", views.password_reset, name="password_reset"),
    # Two-step sign-in: the password, then (for users with two-factor sign-in) the code.
    path("accounts/login/", sign_in.login_view, name="login"),
    path("accounts/login/code/", sign_in.login_code, name="login-code"),
]
