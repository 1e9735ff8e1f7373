"""Test clients for the HTML views: signed in as someone, and posting as htmx does."""

from django.test import Client


def signed_in(user, **kwargs) -> Client:
    client = Client(**kwargs)
    client.force_login(user)
    return client


def htmx_post(client, url, data):
    return client.post(url, data, HTTP_HX_REQUEST="true")
