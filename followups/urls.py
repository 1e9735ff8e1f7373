"""My activities, notification pages, the user's own settings and the calendar feed."""

from django.urls import path

from followups import activity_views, views

urlpatterns = [
    path("activities/", activity_views.my_activities, name="my-activities"),
    path("activities/<int:pk>/done/", activity_views.activity_done, name="activity-done"),
    path(
        "activities/<int:pk>/reschedule/",
        activity_views.activity_reschedule,
        name="activity-reschedule",
    ),
    path("notifications/", views.notification_list, name="notifications"),
    path("notifications/bell/", views.notification_bell, name="notification-bell"),
    path("notifications/read-all/", views.notifications_read_all, name="notifications-read-all"),
    path("notifications/<int:pk>/read/", views.notification_read, name="notification-read"),
    path("notifications/<int:pk>/open/", views.notification_open, name="notification-open"),
    path("settings/me/", views.my_settings, name="my-settings"),
    path("settings/me/calendar/revoke/", views.calendar_revoke, name="calendar-revoke"),
    path("calendar/<str:token>.ics", views.calendar_feed, name="calendar-feed"),
]
