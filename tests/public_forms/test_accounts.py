"""Applicants' accounts on the portal, through HTTP: sign-up confirmed by email, log in and
out, forgotten password, change of address, rate limits and CSRF.

Mails are read from the outbox (``mail.send`` events): it holds them whether Celery runs
eagerly or on Redis. Pages are read in English when a test looks at their words.
"""

from __future__ import annotations

import re
import time
from types import SimpleNamespace

import pytest
import sqlalchemy as sa
from itsdangerous import TimestampSigner
from werkzeug.security import check_password_hash

import factories as make
from app.extensions import db, limiter
from app.models import OutboxEvent, User
from app.security import Roles
from app.services import accounts

PASSWORD = "une phrase assez longue"
NEW_PASSWORD = "un autre mot de passe bien long"


# ---------------------------------------------------------------------------------------
# Helpers


def english(client) -> None:
    client.get("/langue/en")


def person(app, *roles: str, email: str | None = None, password: str = PASSWORD, **attributes):
    """An account with a usable password; its id and address."""
    with app.app_context():
        user = make.user(*(roles or (Roles.APPLICANT,)), email=email)
        app.appbuilder.sm.reset_password(user.id, password)
        user = db.session.get(User, user.id)
        for name, value in attributes.items():
            setattr(user, name, value)
        db.session.commit()
        return SimpleNamespace(id=user.id, email=user.email)


def account(app, email: str) -> User | None:
    """The account of an address as stored now (read in its own app context)."""
    with app.app_context():
        user = accounts.find_user_by_email(email)
        if user is not None:
            db.session.expunge(user)
        return user


def mails(app, to: str | None = None) -> list[dict]:
    with app.app_context():
        events = db.session.scalars(
            sa.select(OutboxEvent).where(OutboxEvent.topic == "mail.send").order_by(OutboxEvent.id)
        ).all()
        payloads = [event.payload for event in events]
    return [mail for mail in payloads if to is None or to in mail["to"]]


def link_in(mail: dict) -> str:
    """The path of the (last) portal link of a mail."""
    paths = re.findall(r"https?://[^/\s]+(/\S+)", mail["body"])
    assert paths, mail["body"]
    return paths[-1]


def login(client, email: str, password: str = PASSWORD, **extra):
    return client.post("/connexion", data={"email": email, "password": password, **extra})


def logged_in_as(client) -> str | None:
    with client.session_transaction() as session:
        return session.get("_user_id")


def csrf_token(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def sign_up(client, email="Marie.Curie@Example.org", password=PASSWORD, **fields):
    data = {
        "first_name": "Marie",
        "last_name": "Curie",
        "email": email,
        "password": password,
        "confirmation": password,
        **fields,
    }
    return client.post("/inscription", data=data)


def expired(monkeypatch, seconds: int):
    """Make the next tokens as if signed ``seconds`` ago."""
    then = int(time.time()) - seconds
    monkeypatch.setattr(TimestampSigner, "get_timestamp", lambda self: then)


# ---------------------------------------------------------------------------------------
# Sign up and confirmation


def test_a_new_account_waits_for_its_address_to_be_confirmed(app, client):
    response = sign_up(client)
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/verifiez-votre-messagerie")
    user = account(app, "marie.curie@example.org")
    assert user.username == user.email == "marie.curie@example.org"
    assert not user.active
    assert check_password_hash(user.password, PASSWORD)
    with app.app_context():
        roles = {role.name for role in db.session.get(User, user.id).roles}
    assert roles == {Roles.APPLICANT}
    [mail] = mails(app, "marie.curie@example.org")
    assert "/confirmer/" in link_in(mail)

    english(client)
    assert "marie.curie@example.org" in client.get(response.headers["Location"]).get_data(
        as_text=True
    )
    assert login(client, "marie.curie@example.org").status_code == 403
    assert logged_in_as(client) is None


def test_opening_the_confirmation_link_asks_for_a_press_then_activates(app, client):
    sign_up(client)
    path = link_in(mails(app)[0])
    page = client.get(path)
    assert page.status_code == 200
    assert not account(app, "marie.curie@example.org").active, "a GET changes nothing"
    confirmed = client.post(path)
    assert confirmed.status_code == 302 and confirmed.headers["Location"] == "/connexion"
    user = account(app, "marie.curie@example.org")
    assert user.active and user.login_count == 0
    assert 'value="marie.curie@example.org"' in client.get("/connexion").get_data(as_text=True)
    response = login(client, "marie.curie@example.org")
    assert response.status_code == 302 and response.headers["Location"] == "/mes-dossiers"
    english(client)
    again = client.get(path, follow_redirects=True).get_data(as_text=True)
    assert "already confirmed" in again


def test_signing_up_while_starting_a_procedure_leads_back_to_it(app, client):
    start = "/demarches/permis-de-vegetaliser/commencer"
    quoted = "%2Fdemarches%2Fpermis-de-vegetaliser%2Fcommencer"
    login_page = client.get(f"/connexion?next={quoted}").get_data(as_text=True)
    assert f'href="/inscription?next={start}"' in login_page
    signup_page = client.get(f"/inscription?next={quoted}").get_data(as_text=True)
    assert f'<input type="hidden" name="next" value="{start}">' in signup_page
    assert f'href="/connexion?next={start}"' in signup_page
    sign_up(client, next=start)
    path = link_in(mails(app)[0])
    assert path.endswith(f"?next={start}")
    assert f'name="next" value="{start}"' in client.get(path).get_data(as_text=True)
    confirmed = client.post(path.split("?")[0], data={"next": start})
    assert confirmed.headers["Location"] == f"/connexion?next={start}"
    response = login(client, "marie.curie@example.org", next=start)
    assert response.status_code == 302 and response.headers["Location"] == start


def test_a_next_page_of_another_site_is_dropped_on_the_way(app, client):
    sign_up(client, next="https://evil.example/")
    path = link_in(mails(app)[0])
    assert "next" not in path
    confirmed = client.post(path, data={"next": "//evil.example/"})
    assert confirmed.headers["Location"] == "/connexion"


def test_an_expired_or_forged_confirmation_link_is_refused(app, client, monkeypatch):
    expired(monkeypatch, 3 * 24 * 3600)
    sign_up(client)
    monkeypatch.undo()
    path = link_in(mails(app)[0])
    assert client.get(path).status_code == 410
    assert client.post(path).status_code == 410
    assert not account(app, "marie.curie@example.org").active
    assert client.get(path[:-3] + "abc").status_code == 404
    assert client.get("/confirmer/nimportequoi").status_code == 404


def test_logging_in_unconfirmed_with_the_right_password_sends_a_new_link(app, client):
    sign_up(client)
    english(client)
    refused = login(client, "marie.curie@example.org")
    assert refused.status_code == 403
    assert "not confirmed yet" in refused.get_data(as_text=True)
    assert len(mails(app, "marie.curie@example.org")) == 2
    wrong = login(client, "marie.curie@example.org", "pas le bon mot de passe")
    assert wrong.status_code == 401
    assert len(mails(app, "marie.curie@example.org")) == 2


def test_signing_up_with_a_known_address_mails_its_owner_and_says_nothing_else(app, client):
    existing = person(app, email="deja@example.org")
    first = sign_up(client, email="nouvelle@example.org")
    second = sign_up(client, email="DEJA@example.org", first_name="Intrus")
    assert first.status_code == second.status_code == 302
    assert first.headers["Location"] == second.headers["Location"]
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(User.id))) == 2
        assert db.session.get(User, existing.id).first_name != "Intrus"
    [mail] = mails(app, "deja@example.org")
    assert "already have an account" in mail["body"] or "déjà" in mail["body"]
    assert "/connexion" in mail["body"]


def test_signing_up_again_while_unconfirmed_offers_to_choose_the_password(app, client):
    """Someone else may have signed up with this address: its owner activates the account
    by choosing the password (a reset), never by confirming a password they do not know."""
    sign_up(client, password="le mot de passe d'un intrus")
    sign_up(client)
    mail = mails(app, "marie.curie@example.org")[-1]
    path = link_in(mail)
    assert path.startswith("/mot-de-passe/")
    assert (
        client.post(path, data={"password": PASSWORD, "confirmation": PASSWORD}).status_code == 302
    )
    user = account(app, "marie.curie@example.org")
    assert user.active and check_password_hash(user.password, PASSWORD)


@pytest.mark.parametrize(
    ("password", "confirmation", "field"),
    [
        ("court", "court", "password"),
        ("password1234", "password1234", "password"),
        ("azertyuiop123", "azertyuiop123", "password"),
        ("aaaaaaaaaaaaaaa", "aaaaaaaaaaaaaaa", "password"),
        ("marie.curie@example.org", "marie.curie@example.org", "password"),
        (PASSWORD, PASSWORD + "!", "confirmation"),
    ],
)
def test_a_weak_or_mistyped_password_is_refused(app, client, password, confirmation, field):
    response = client.post(
        "/inscription",
        data={
            "first_name": "Marie",
            "last_name": "Curie",
            "email": "marie.curie@example.org",
            "password": password,
            "confirmation": confirmation,
        },
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert account(app, "marie.curie@example.org") is None
    assert mails(app) == []
    assert f'href="#{field}"' in html, "the summary links to the field"
    assert f'id="{field}-error"' in html
    assert re.search(rf'id="{field}"[^>]*aria-describedby="[^"]*{field}-error"', html)
    assert re.search(rf'id="{field}"[^>]*aria-invalid="true"', html)
    assert 'value="Marie"' in html and 'value="marie.curie@example.org"' in html
    assert not re.search(r'type="password"[^>]*value=', html), "passwords are never sent back"


def test_a_sign_up_form_with_missing_fields_lists_every_problem(app, client):
    english(client)
    response = client.post("/inscription", data={"email": "pas-une-adresse"})
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "There are 4 problems" in html
    for field in ("first_name", "last_name", "email", "password"):
        assert f'href="#{field}"' in html
    assert 'value="pas-une-adresse"' in html
    assert "data-error-summary" in html


# ---------------------------------------------------------------------------------------
# Log in and out


def test_a_wrong_password_or_an_unknown_address_get_the_same_answer(app, client):
    known = person(app, email="marie@example.org")
    english(client)
    wrong = login(client, known.email, "pas le bon mot de passe")
    unknown = login(client, "personne@example.org", "pas le bon mot de passe")
    assert wrong.status_code == unknown.status_code == 401
    message = "The email address or the password is not right"
    assert message in wrong.get_data(as_text=True) and message in unknown.get_data(as_text=True)
    assert 'value="marie@example.org"' in wrong.get_data(as_text=True)
    assert logged_in_as(client) is None


def test_an_account_switched_off_by_an_administrator_cannot_log_in(app, client):
    off = person(app, email="off@example.org", active=False, login_count=3)
    assert login(client, off.email).status_code == 401
    assert mails(app) == [], "no confirmation link revives it"


def test_logging_in_starts_a_new_session_and_keeps_the_language(app, client):
    known = person(app)
    english(client)
    with client.session_transaction() as session:
        session["planted"] = "by someone else"
    response = login(client, known.email.upper())
    assert response.status_code == 302
    with client.session_transaction() as session:
        assert "planted" not in session
        assert session["_user_id"] == str(known.id)
        assert session["locale"] == "en"


def test_after_logging_in_a_local_next_page_is_followed(app, client):
    known = person(app)
    response = login(client, known.email, next="/dossiers/12?onglet=1")
    assert response.headers["Location"] == "/dossiers/12?onglet=1"


@pytest.mark.parametrize(
    "target", ["https://evil.example/", "//evil.example", "/\\evil.example", "http:/evil"]
)
def test_logging_in_never_redirects_to_another_site(app, client, target):
    known = person(app)
    response = login(client, known.email, next=target)
    assert response.headers["Location"] == "/mes-dossiers"


def test_an_agent_goes_to_the_back_office_after_logging_in(app, client):
    agent = person(app, Roles.AGENT)
    response = login(client, agent.email)
    assert response.headers["Location"].startswith("/admin")


def test_a_page_for_logged_in_people_leads_through_the_login_page(app, client):
    response = client.get("/mes-dossiers?tab=decided")
    assert response.status_code == 302
    assert response.headers["Location"] == "/connexion?next=/mes-dossiers?tab%3Ddecided"
    known = person(app)
    followed = login(client, known.email, next="/mes-dossiers?tab=decided")
    assert followed.headers["Location"] == "/mes-dossiers?tab=decided"


def test_logging_out_takes_a_post(app, client):
    known = person(app)
    login(client, known.email)
    assert client.get("/deconnexion").status_code == 405
    assert logged_in_as(client) == str(known.id)
    response = client.post("/deconnexion")
    assert response.status_code == 302 and response.headers["Location"] == "/"
    assert logged_in_as(client) is None


# ---------------------------------------------------------------------------------------
# Forgotten password


def test_forgot_password_says_the_same_for_known_and_unknown_addresses(app, client):
    known = person(app, email="marie@example.org")
    for address in (known.email, "personne@example.org"):
        response = client.post("/mot-de-passe-oublie", data={"email": address})
        assert response.status_code == 302
        assert response.headers["Location"] == "/verifiez-votre-messagerie?reason=forgot"
    assert len(mails(app)) == 1
    assert mails(app)[0]["to"] == ["marie@example.org"]


def test_a_reset_link_sets_a_new_password_once(app, client):
    known = person(app)
    client.post("/mot-de-passe-oublie", data={"email": known.email})
    path = link_in(mails(app, known.email)[0])
    assert client.get(path).status_code == 200
    weak = client.post(path, data={"password": "password1234", "confirmation": "password1234"})
    assert weak.status_code == 422
    done = client.post(path, data={"password": NEW_PASSWORD, "confirmation": NEW_PASSWORD})
    assert done.status_code == 302 and done.headers["Location"] == "/connexion"
    assert login(client, known.email).status_code == 401
    assert login(client, known.email, NEW_PASSWORD).status_code == 302
    assert client.get(path).status_code == 404, "a used link is void"
    assert any("changed" in mail["subject"] or "modifié" in mail["subject"] for mail in mails(app))


def test_an_expired_or_forged_reset_link_is_refused(app, client, monkeypatch):
    known = person(app)
    with app.test_request_context():
        user = db.session.get(User, known.id)
        expired(monkeypatch, 2 * 3600)
        old = accounts.make_reset_token(user)
        monkeypatch.undo()
        fresh = accounts.make_reset_token(user)
    assert client.get(f"/mot-de-passe/{old}").status_code == 410
    data = {"password": NEW_PASSWORD, "confirmation": NEW_PASSWORD}
    assert client.post(f"/mot-de-passe/{old}", data=data).status_code == 410
    assert client.get(f"/mot-de-passe/{fresh[:-2]}xx").status_code == 404
    with app.test_request_context():
        confirmation = accounts.make_confirmation_token(db.session.get(User, known.id))
    assert client.get(f"/mot-de-passe/{confirmation}").status_code == 404, "another purpose"
    assert login(client, known.email).status_code == 302


def test_no_reset_link_for_an_account_switched_off(app, client):
    off = person(app, email="off@example.org", active=False, login_count=1)
    client.post("/mot-de-passe-oublie", data={"email": off.email})
    assert mails(app) == []


# ---------------------------------------------------------------------------------------
# Change of address


def test_changing_the_address_takes_the_password_and_a_link_sent_to_the_new_one(app, client):
    known = person(app, email="ancienne@example.org")
    assert client.get("/compte/adresse").status_code == 302
    login(client, known.email)
    english(client)
    wrong = client.post("/compte/adresse", data={"email": "nouvelle@example.org", "password": "x"})
    assert wrong.status_code == 422 and "The password is not right" in wrong.get_data(as_text=True)
    assert 'value="nouvelle@example.org"' in wrong.get_data(as_text=True)
    same = client.post("/compte/adresse", data={"email": known.email, "password": PASSWORD})
    assert same.status_code == 422
    response = client.post(
        "/compte/adresse", data={"email": "Nouvelle@Example.org", "password": PASSWORD}
    )
    assert response.headers["Location"] == "/verifiez-votre-messagerie?reason=email"
    assert account(app, "ancienne@example.org") is not None, "nothing changes yet"
    path = link_in(mails(app, "nouvelle@example.org")[0])
    assert client.get(path).status_code == 200
    assert client.post(path).status_code == 302
    moved = account(app, "nouvelle@example.org")
    assert moved.id == known.id and moved.username == "nouvelle@example.org"
    assert mails(app, "ancienne@example.org"), "the former address is told"
    assert client.get(path).status_code == 404, "a used link is void"
    client.post("/deconnexion")
    assert login(client, "nouvelle@example.org").status_code == 302


def test_an_address_used_by_another_account_is_not_revealed(app, client):
    known = person(app, email="moi@example.org")
    person(app, email="autre@example.org")
    login(client, known.email)
    response = client.post(
        "/compte/adresse", data={"email": "autre@example.org", "password": PASSWORD}
    )
    assert response.headers["Location"] == "/verifiez-votre-messagerie?reason=email"
    [mail] = mails(app, "autre@example.org")
    assert "/compte/adresse/" not in mail["body"]
    assert account(app, "moi@example.org").id == known.id


def test_an_address_taken_after_the_link_was_sent_is_refused(app, client):
    known = person(app, email="moi@example.org")
    login(client, known.email)
    client.post("/compte/adresse", data={"email": "convoitee@example.org", "password": PASSWORD})
    path = link_in(mails(app, "convoitee@example.org")[0])
    person(app, email="convoitee@example.org")
    assert client.post(path).status_code == 409
    assert account(app, "moi@example.org").id == known.id


# ---------------------------------------------------------------------------------------
# Rate limits and CSRF


def test_the_default_app_keeps_rate_limits_on(app):
    assert app.config["RATELIMIT_ENABLED"] is True
    assert limiter.enabled


def test_logging_in_is_limited_per_address_and_per_typed_address(make_app):
    app = make_app(RATELIMIT_ENABLED=True)
    client = app.test_client()
    for n in range(10):
        assert login(client, f"x{n}@example.org", "faux").status_code == 401
    assert login(client, "x99@example.org", "faux").status_code == 429
    other = app.test_client()
    for n in range(10):
        environ = {"REMOTE_ADDR": f"10.0.0.{n}"}
        assert (
            other.post(
                "/connexion",
                data={"email": "cible@example.org", "password": "faux"},
                environ_base=environ,
            ).status_code
            == 401
        )
    blocked = other.post(
        "/connexion",
        data={"email": "CIBLE@example.org", "password": "faux"},
        environ_base={"REMOTE_ADDR": "10.0.0.200"},
    )
    assert blocked.status_code == 429
    assert "usa-header" in blocked.get_data(as_text=True)


def test_sign_up_and_forgot_password_mail_one_address_five_times_an_hour(make_app):
    app = make_app(RATELIMIT_ENABLED=True)
    client = app.test_client()
    for n in range(5):
        response = client.post(
            "/mot-de-passe-oublie",
            data={"email": "cible@example.org"},
            environ_base={"REMOTE_ADDR": f"10.0.1.{n}"},
        )
        assert response.status_code == 302
    blocked = client.post(
        "/mot-de-passe-oublie",
        data={"email": "cible@example.org"},
        environ_base={"REMOTE_ADDR": "10.0.1.99"},
    )
    assert blocked.status_code == 429
    for _ in range(5):
        assert sign_up(client, email="flood@example.org").status_code in (302, 422)
    assert sign_up(client, email="flood@example.org").status_code == 429


def test_a_deployment_may_set_its_own_login_limit(make_app):
    app = make_app(RATELIMIT_ENABLED=True, PORTAL_LOGIN_RATE_LIMIT="2/minute")
    client = app.test_client()
    assert login(client, "a@example.org", "faux").status_code == 401
    assert login(client, "b@example.org", "faux").status_code == 401
    assert login(client, "c@example.org", "faux").status_code == 429


def test_reading_pages_is_not_rate_limited(make_app):
    app = make_app(RATELIMIT_ENABLED=True)
    client = app.test_client()
    for _ in range(15):
        assert client.get("/connexion").status_code == 200


def test_login_and_sign_up_need_the_csrf_token_when_csrf_is_on(make_app):
    app = make_app(WTF_CSRF_ENABLED=True)
    known = person(app)
    client = app.test_client()
    english(client)
    refused = login(client, known.email)
    assert refused.status_code == 400
    assert "Your session has expired" in refused.get_data(as_text=True)
    assert logged_in_as(client) is None
    assert sign_up(client).status_code == 400
    assert account(app, "marie.curie@example.org") is None
    token = csrf_token(client.get("/connexion").get_data(as_text=True))
    assert login(client, known.email, csrf_token=token).status_code == 302
    assert client.post("/deconnexion").status_code == 400
    token = csrf_token(client.get("/mes-dossiers").get_data(as_text=True))
    assert client.post("/deconnexion", data={"csrf_token": token}).status_code == 302
