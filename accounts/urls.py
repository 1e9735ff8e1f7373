"""Pages of accounts: the user and team settings, and the password reset form (Django's
other auth pages come from `django.contrib.auth.urls` under /accounts/)."""

from django.urls import path

from accounts import views

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
    path("settings/teams/", views.teams, name="team-settings"),
    path("settings/teams/new/", views.create_team, name="team-create"),
    path("settings/teams/<int:team_id>/edit/", views.edit_team, name="team-edit"),
    path("settings/teams/<int:team_id>/delete/", views.delete_team, name="team-delete"),
    # Before django.contrib.auth.urls: the same address, with the form that also serves
    # invited users who have no password yet.
    path("accounts/password_reset/", views.password_reset, name="password_reset"),
]
