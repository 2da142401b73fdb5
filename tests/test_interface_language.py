"""The interface's language: the browser's Accept-Language, the switch, the account's choice."""

from __future__ import annotations

import re

from django.test import Client

from meetings.models import User

THAI_BROWSER = {"HTTP_ACCEPT_LANGUAGE": "th-TH,th;q=0.9,en;q=0.5"}
ENGLISH_BROWSER = {"HTTP_ACCEPT_LANGUAGE": "en-GB,en;q=0.9"}


def page_language(response) -> str:
    found = re.search(r'<html lang="([^"]+)"', response.content.decode())
    assert found, "the page names no language"
    return found.group(1)


def test_it_follows_the_browsers_language(client, db):
    thai = client.get("/accounts/login/", **THAI_BROWSER)
    assert page_language(thai) == "th" and thai["Content-Language"] == "th"
    english = Client().get("/accounts/login/", **ENGLISH_BROWSER)
    assert page_language(english) == "en" and english["Content-Language"] == "en"
    # a language the interface does not have: English, the default
    german = Client().get("/accounts/login/", HTTP_ACCEPT_LANGUAGE="de-DE,de;q=0.9")
    assert page_language(german) == "en"


def test_the_switch_keeps_an_anonymous_visitors_choice_in_a_cookie(client, db):
    response = client.post(
        "/accounts/language/", {"language": "th", "next": "/accounts/signup/"}, **ENGLISH_BROWSER
    )
    assert response.status_code == 302 and response["Location"] == "/accounts/signup/"
    assert response.cookies["django_language"].value == "th"
    assert page_language(client.get("/accounts/signup/", **ENGLISH_BROWSER)) == "th"


def test_the_switch_is_saved_on_the_account_and_follows_the_person(client, cast):
    client.force_login(cast.bob)
    client.post("/accounts/language/", {"language": "th", "next": "/"}, **ENGLISH_BROWSER)
    assert User.objects.get(pk=cast.bob.pk).language == "th"

    # another browser, set to English, with no cookie: the account wins once bob logs in
    laptop = Client()
    assert page_language(laptop.get("/accounts/login/", **ENGLISH_BROWSER)) == "en"
    laptop.post("/accounts/login/", {"username": "bob", "password": "pw-bob"}, **ENGLISH_BROWSER)
    response = laptop.get("/", **ENGLISH_BROWSER)
    assert page_language(response) == "th"
    # and the cookie follows it, so the page after logging out stays in Thai
    assert laptop.cookies["django_language"].value == "th"
    laptop.post("/accounts/logout/", **ENGLISH_BROWSER)
    assert page_language(laptop.get("/accounts/login/", **ENGLISH_BROWSER)) == "th"

    client.post("/accounts/language/", {"language": "en", "next": "/"}, **THAI_BROWSER)
    assert User.objects.get(pk=cast.bob.pk).language == "en"
    assert page_language(client.get("/", **THAI_BROWSER)) == "en"


def test_a_language_the_interface_does_not_have_changes_nothing(client, cast):
    client.force_login(cast.bob)
    response = client.post("/accounts/language/", {"language": "xx", "next": "/"})
    assert response.status_code == 302
    assert User.objects.get(pk=cast.bob.pk).language == ""
    assert "django_language" not in response.cookies


def test_the_switch_only_goes_back_to_this_site(client, db):
    response = client.post(
        "/accounts/language/", {"language": "th", "next": "https://evil.example/"}
    )
    assert response.status_code == 302 and response["Location"] == "/"


def test_the_switch_is_a_labelled_form_on_every_page(client, db):
    page = client.get("/accounts/login/", **THAI_BROWSER).content.decode()
    assert '<label for="language-switch">' in page
    assert '<select id="language-switch" name="language">' in page
    assert '<option value="th" lang="th" selected>ภาษาไทย</option>' in page
    assert '<option value="en" lang="en">English</option>' in page


def test_the_switch_goes_back_to_the_page_it_was_used_on(client, cast):
    # the form has no `next`: the browser's same-origin Referer says where it was used
    client.force_login(cast.bob)
    here = "http://testserver/search/?q=budget"
    response = client.post("/accounts/language/", {"language": "th"}, HTTP_REFERER=here)
    assert response.status_code == 302 and response["Location"] == here
    elsewhere = "https://evil.example/search/?q=budget"
    response = client.post("/accounts/language/", {"language": "th"}, HTTP_REFERER=elsewhere)
    assert response["Location"] == "/"
