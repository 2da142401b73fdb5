"""Sign up, log in, log out and the display name."""

from __future__ import annotations

from meetings.models import User


def test_it_signs_up_and_logs_in_the_new_user(client, db):
    response = client.post(
        "/accounts/signup/",
        {
            "username": "erin",
            "display_name": "Erin O.",
            "password1": "a-long-passphrase-9",
            "password2": "a-long-passphrase-9",
        },
    )
    assert response.status_code == 302 and response["Location"] == "/"
    user = User.objects.get(username="erin")
    assert user.name == "Erin O."
    assert client.get("/").context["user"] == user


def test_it_explains_a_mismatched_password(client, db):
    response = client.post(
        "/accounts/signup/",
        {
            "username": "erin",
            "password1": "a-long-passphrase-9",
            "password2": "another-passphrase-9",
        },
    )
    assert response.status_code == 200
    assert "didn’t match" in response.content.decode()
    assert not User.objects.filter(username="erin").exists()


def test_it_logs_in_and_out(client, cast):
    response = client.post("/accounts/login/", {"username": "alice", "password": "pw-alice"})
    assert response.status_code == 302
    assert client.get("/").status_code == 200
    client.post("/accounts/logout/")
    assert client.get("/")["Location"].startswith("/accounts/login/")


def test_it_refuses_a_wrong_password(client, cast):
    response = client.post("/accounts/login/", {"username": "alice", "password": "nope"})
    assert response.status_code == 200
    assert "enter a correct username and password" in response.content.decode()


def test_it_changes_the_display_name(client, cast):
    client.force_login(cast.alice)
    client.post("/accounts/profile/", {"display_name": "Alice A."})
    cast.alice.refresh_from_db()
    assert cast.alice.name == "Alice A."
