"""What Django's error pages and error mails show: secrets in URL-shaped settings masked too."""

import re
from typing import Any

from django.views.debug import SafeExceptionReporterFilter

# The password between `scheme://user:` and `@` (redis://:pw@host, postgres://u:pw@host, …).
URL_PASSWORD = re.compile(r"(?P<head>[a-z][a-z0-9+.-]*://[^:/@\s]*:)[^@\s]+(?P<tail>@)", re.I)


def mask_url_passwords(text: str, substitute: str) -> str:
    """`text` with the password of every URL in it replaced by `substitute`."""
    return URL_PASSWORD.sub(lambda match: match["head"] + substitute + match["tail"], text)


class SecretsMaskingFilter(SafeExceptionReporterFilter):
    """Django's filter, plus: settings and environment values named *URL*, *BROKER*, *DSN* or
    *LOCATION* hidden whole (REDIS_URL, DATABASE_URL, EMAIL_URL, CELERY_BROKER_URL, SENTRY_DSN,
    a cache LOCATION), and a password inside any other URL-shaped string masked, in settings,
    request META and traceback variables alike."""

    hidden_settings = re.compile(
        "API|AUTH|TOKEN|KEY|SECRET|PASS|SIGNATURE|HTTP_COOKIE|URL|BROKER|DSN|LOCATION",
        flags=re.IGNORECASE,
    )

    def cleanse_setting(self, key: Any, value: Any) -> Any:
        cleansed = super().cleanse_setting(key, value)
        if isinstance(cleansed, str):
            return mask_url_passwords(cleansed, self.cleansed_substitute)
        return cleansed

    def get_traceback_frame_variables(self, request: Any, tb_frame: Any) -> Any:
        return [
            (name, self.cleanse_setting("", value))
            for name, value in super().get_traceback_frame_variables(request, tb_frame)
        ]
