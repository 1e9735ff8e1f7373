"""An htmx request whose session expired must send the whole page to the login form."""

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse


class HtmxLoginRedirectMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        is_htmx = request.headers.get("HX-Request") == "true"
        if (
            is_htmx
            and response.status_code == 302
            and "/accounts/login/" in response.get("Location", "")
        ):
            # htmx follows a 302 inside the swap target; HX-Redirect reloads the whole page.
            redirect = HttpResponse(status=204)
            redirect["HX-Redirect"] = response["Location"]
            return redirect
        return response
