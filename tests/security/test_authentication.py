"""Signing in, through HTTP: lockout, rate limits on the back office's login, the second
factor (enrolment, codes, replay, recovery codes, the requirement for administrators, the
platform admin's reset), sessions that end ("log out everywhere", a password change, age),
and the password rules on every form that sets one.

The suite's configuration does not require a second factor (tests/conftest.py); the apps
here put the production default back: ``TWO_FACTOR_REQUIRED_ROLES = Admin, Administrator``.
"""

from __future__ import annotations

import re
import time
from datetime import timedelta

import pyotp
import pytest
import sqlalchemy as sa
from werkzeug.security import check_password_hash

import factories as make
from app.extensions import db
from app.models import AuditEvent, OutboxEvent, User, UserSecurity, utcnow
from app.security import Roles
from app.services import accounts, authentication
from config import ConfigurationError, load_config

PASSWORD = make.PASSWORD
REQUIRED = ["Admin", "Administrator"]


# ---------------------------------------------------------------------------------------
# Helpers


def secure_app(make_app, **extra):
    """An app with the production default: administrators and the platform admin must
    use a second factor."""
    return make_app(TWO_FACTOR_REQUIRED_ROLES=REQUIRED, **extra)


def person(app, *roles: str) -> str:
    with app.app_context():
        return make.user(*roles, can_log_in=True).username


def password_login(client, username: str, password: str = PASSWORD, **kwargs):
    return client.post("/login/", data={"username": username, "password": password}, **kwargs)


def english(client) -> None:
    client.get("/lang/en")


def enrol(client) -> tuple[str, list[str]]:
    """Go through the enrolment page as a person with an authenticator app would; the
    secret and the recovery codes shown."""
    page = client.get("/account/security/two-factor/enrol").get_data(as_text=True)
    secret = re.search(r'<code id="secret">([A-Z2-7 ]+)</code>', page).group(1).replace(" ", "")
    response = client.post(
        "/account/security/two-factor/enrol", data={"code": pyotp.TOTP(secret).now()}
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    codes = re.findall(r"<li><code>([0-9a-f]{5}-[0-9a-f]{5})</code></li>", page)
    assert len(codes) == 10
    return secret, codes


def code_of_next_step(secret: str) -> str:
    """A code not used yet: the enrolment used the current step's."""
    return pyotp.TOTP(secret).at(time.time() + 30)


def actions(app, action: str) -> list[AuditEvent]:
    with app.app_context():
        rows = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == action)).all()
        db.session.expunge_all()
        return rows


def mails_to(app, address: str) -> list[dict]:
    with app.app_context():
        events = db.session.scalars(
            sa.select(OutboxEvent).where(OutboxEvent.topic == "mail.send").order_by(OutboxEvent.id)
        ).all()
        return [event.payload for event in events if address in event.payload["to"]]


def lands_on(response, path: str) -> bool:
    return response.status_code == 302 and response.headers["Location"].split("?")[0].endswith(path)


# ---------------------------------------------------------------------------------------
# Configuration


def test_by_default_administrators_and_the_platform_admin_must_use_a_second_factor(
    tmp_path, monkeypatch
):
    monkeypatch.delenv("TWO_FACTOR_REQUIRED_ROLES", raising=False)
    config = load_config({"INSTANCE_DIR": str(tmp_path)})
    assert set(config["TWO_FACTOR_REQUIRED_ROLES"]) == {"Admin", "Administrator"}
    assert config["SESSION_COOKIE_HTTPONLY"] and config["SESSION_COOKIE_SAMESITE"] == "Lax"
    assert config["PERMANENT_SESSION_LIFETIME"] == timedelta(minutes=60)


def test_production_refuses_to_relax_the_second_factor_requirement(tmp_path, monkeypatch):
    monkeypatch.setenv("SECRET_KEY", "s" * 40)
    monkeypatch.setenv("DATABASE_URL", "postgresql://guichet@db/guichet")
    monkeypatch.setenv("TWO_FACTOR_REQUIRED_ROLES", "Admin")
    with pytest.raises(ConfigurationError, match="TWO_FACTOR_REQUIRED_ROLES"):
        load_config({"INSTANCE_DIR": str(tmp_path), "GUICHET_ENV": "production"})
    monkeypatch.setenv("TWO_FACTOR_REQUIRED_ROLES", "Admin,Administrator")
    config = load_config({"INSTANCE_DIR": str(tmp_path), "GUICHET_ENV": "production"})
    assert config["SESSION_COOKIE_SECURE"] is True


# ---------------------------------------------------------------------------------------
# The second factor


def test_an_administrator_without_a_second_factor_reaches_nothing_before_enrolling(make_app):
    app = secure_app(make_app)
    client = app.test_client()
    username = person(app, Roles.ADMINISTRATOR)
    assert password_login(client, username).status_code == 302
    for path in ("/", "/instruction/", "/account/security/"):
        assert lands_on(client.get(path), "/account/security/two-factor/enrol"), path

    page = client.get("/account/security/two-factor/enrol").get_data(as_text=True)
    assert 'src="data:image/svg+xml' in page  # the QR code, drawn without any script
    wrong = client.post("/account/security/two-factor/enrol", data={"code": "000000"})
    assert wrong.status_code == 422 and 'aria-invalid="true"' in wrong.get_data(as_text=True)

    secret, codes = enrol(client)
    assert client.get("/account/security/").status_code == 200
    # The codes are shown once, and stored neither in clear nor the secret either.
    assert lands_on(client.get("/account/security/two-factor/recovery-codes"), "/account/security/")
    with app.app_context():
        state = db.session.scalar(sa.select(UserSecurity))
        assert secret not in state.totp_secret
        assert not set(codes) & set(state.recovery_codes)
    assert len(actions(app, "user.two_factor_enabled")) == 1


def test_a_platform_admin_is_sent_to_enrolment_too_and_an_agent_is_not(make_app):
    app = secure_app(make_app)
    admin, agent = app.test_client(), app.test_client()
    password_login(admin, person(app, Roles.ADMIN))
    assert lands_on(admin.get("/administrationview/list/"), "/account/security/two-factor/enrol")
    password_login(agent, person(app, Roles.AGENT))
    assert agent.get("/").status_code == 200


def test_signing_in_with_a_second_factor_asks_a_code_once_and_never_accepts_it_twice(make_app):
    app = secure_app(make_app)
    username = person(app, Roles.ADMINISTRATOR)
    first = app.test_client()
    password_login(first, username)
    secret, _codes = enrol(first)
    used_at_enrolment = pyotp.TOTP(secret).now()

    client = app.test_client()
    response = password_login(client, username)
    assert lands_on(response, "/login/two-factor")
    assert lands_on(client.get("/instruction/"), "/login/two-factor")
    assert client.post("/login/two-factor", data={"code": used_at_enrolment}).status_code == 401
    code = code_of_next_step(secret)
    assert client.post("/login/two-factor", data={"code": code}).status_code == 302
    assert client.get("/instruction/").status_code == 200

    replay = app.test_client()
    password_login(replay, username)
    assert replay.post("/login/two-factor", data={"code": code}).status_code == 401
    assert lands_on(replay.get("/instruction/"), "/login/two-factor")
    assert len(actions(app, "user.two_factor_failed")) == 2


def test_a_code_of_the_previous_step_is_accepted_for_clock_skew_but_not_an_older_one(make_app):
    app = secure_app(make_app)
    username = person(app, Roles.AGENT)
    client = app.test_client()
    password_login(client, username)
    secret, _codes = enrol(client)
    with app.app_context():  # as if the enrolment had been long ago
        db.session.scalar(sa.select(UserSecurity)).totp_last_step = 0
        db.session.commit()
    totp = pyotp.TOTP(secret)
    for offset, accepted in ((-90, False), (-30, True)):
        other = app.test_client()
        password_login(other, username)
        response = other.post("/login/two-factor", data={"code": totp.at(time.time() + offset)})
        assert (response.status_code == 302) is accepted, offset


def test_a_recovery_code_opens_the_account_once(make_app):
    app = secure_app(make_app)
    username = person(app, Roles.ADMINISTRATOR)
    client = app.test_client()
    password_login(client, username)
    _secret, codes = enrol(client)
    for n, expected in ((0, 302), (1, 401)):
        other = app.test_client()
        password_login(other, username)
        response = other.post("/login/two-factor", data={"code": codes[0].upper()})
        assert response.status_code == expected, n
    assert len(actions(app, "user.recovery_code_used")) == 1


def test_the_second_factor_survives_a_new_secret_key_once_it_has_a_key_of_its_own(make_app):
    app = secure_app(make_app)
    username = person(app, Roles.ADMINISTRATOR)
    client = app.test_client()
    password_login(client, username)
    secret, codes = enrol(client)  # under SECRET_KEY: no dedicated key yet

    def signs_in(code: str) -> bool:
        with app.app_context():  # every step may be used again: only keys are tested
            db.session.scalar(sa.select(UserSecurity)).totp_last_step = 0
            db.session.commit()
        other = app.test_client()
        password_login(other, username)
        return other.post("/login/two-factor", data={"code": code}).status_code == 302

    app.config["TWO_FACTOR_KEYS"] = ["k" * 40]
    assert signs_in(codes[0])  # a recovery code keyed by SECRET_KEY still works
    assert signs_in(pyotp.TOTP(secret).now())  # … and the secret is encrypted again
    with app.app_context():
        new_codes = authentication.new_recovery_codes(accounts.find_user_by_email(username))
        db.session.commit()

    app.config["SECRET_KEY"] = "a new secret key for the platform, 40 chars"
    assert signs_in(pyotp.TOTP(secret).now())
    assert signs_in(new_codes[0])
    assert not signs_in(codes[1])  # made under the old SECRET_KEY only

    app.config["TWO_FACTOR_KEYS"] = ["n" * 40, "k" * 40]  # a newer key; the old one kept
    assert signs_in(pyotp.TOTP(secret).now())
    app.config["TWO_FACTOR_KEYS"] = ["n" * 40]  # the old one dropped: encrypted again above
    assert signs_in(pyotp.TOTP(secret).now())
    app.config["TWO_FACTOR_KEYS"] = ["z" * 40]  # a key that never saw it
    assert not signs_in(pyotp.TOTP(secret).now())


def test_production_refuses_a_short_second_factor_key(tmp_path, monkeypatch):
    monkeypatch.setenv("SECRET_KEY", "s" * 40)
    monkeypatch.setenv("DATABASE_URL", "postgresql://u@db/guichet")
    monkeypatch.setenv("TWO_FACTOR_KEYS", f"{'k' * 40}, short")
    with pytest.raises(ConfigurationError, match="TWO_FACTOR_KEYS"):
        load_config({"INSTANCE_DIR": str(tmp_path), "GUICHET_ENV": "production"})
    monkeypatch.setenv("TWO_FACTOR_KEYS", f"{'k' * 40}, {'o' * 40}")
    config = load_config({"INSTANCE_DIR": str(tmp_path), "GUICHET_ENV": "production"})
    assert config["TWO_FACTOR_KEYS"] == ["k" * 40, "o" * 40]


def test_the_portal_login_cannot_skip_the_second_factor(make_app):
    app = secure_app(make_app)
    username = person(app, Roles.AGENT)
    client = app.test_client()
    password_login(client, username)
    secret, _ = enrol(client)
    portal = app.test_client()
    portal.post("/connexion", data={"email": username, "password": PASSWORD})
    assert lands_on(portal.get("/"), "/login/two-factor")
    response = portal.post("/login/two-factor", data={"code": code_of_next_step(secret)})
    assert response.status_code == 302 and portal.get("/").status_code == 200


def test_an_agent_turns_the_second_factor_on_and_off_but_an_administrator_cannot(make_app):
    app = secure_app(make_app)
    agent = app.test_client()
    password_login(agent, person(app, Roles.AGENT))
    enrol(agent)
    refused = agent.post("/account/security/two-factor/off", data={"password": "not it"})
    assert refused.status_code == 302
    with app.app_context():
        assert db.session.scalar(sa.select(UserSecurity)).totp_enabled_at is not None
    agent.post("/account/security/two-factor/off", data={"password": PASSWORD})
    with app.app_context():
        assert db.session.scalar(sa.select(UserSecurity)).totp_enabled_at is None
    assert len(actions(app, "user.two_factor_disabled")) == 1

    administrator = app.test_client()
    password_login(administrator, person(app, Roles.ADMINISTRATOR))
    enrol(administrator)
    administrator.post("/account/security/two-factor/off", data={"password": PASSWORD})
    with app.app_context():
        states = db.session.scalars(sa.select(UserSecurity)).all()
        assert [s.totp_enabled_at is not None for s in states].count(True) == 1


def test_only_the_platform_admin_resets_a_second_factor_which_ends_its_owner_s_sessions(
    make_app,
):
    app = secure_app(make_app)
    username = person(app, Roles.ADMINISTRATOR)
    owner = app.test_client()
    password_login(owner, username)
    enrol(owner)
    with app.app_context():
        target = db.session.scalar(sa.select(User).where(User.username == username)).id
    reset = f"/account/security/people/{target}/reset-two-factor"

    agent = app.test_client()
    password_login(agent, person(app, Roles.AGENT))
    assert agent.post(reset).status_code == 404
    assert agent.get("/account/security/people").status_code == 404

    admin = app.test_client()
    admin_name = person(app, Roles.ADMIN)
    password_login(admin, admin_name)
    enrol(admin)
    assert username in admin.get("/account/security/people").get_data(as_text=True)
    assert admin.post(reset).status_code == 302
    assert admin.post(reset).status_code == 404  # nothing left to reset

    assert lands_on(owner.get("/instruction/"), "/login/")
    password_login(owner, username)
    assert lands_on(owner.get("/"), "/account/security/two-factor/enrol")
    (entry,) = actions(app, "user.two_factor_reset")
    assert entry.object_id == str(target) and entry.actor_id != target


# ---------------------------------------------------------------------------------------
# Lockout and rate limits


def test_an_account_is_locked_after_repeated_failures_and_its_owner_is_told(make_app):
    app = make_app(LOGIN_LOCKOUT_THRESHOLD=3, BACKOFFICE_LOGIN_RATE_LIMIT="100/minute")
    client = app.test_client()
    english(client)
    username = person(app, Roles.AGENT)
    for _ in range(3):
        response = password_login(client, username, "wrong password")
        assert lands_on(response, "/login/")
        assert "Too many failed attempts" not in client.get("/login/").get_data(as_text=True)
    # Locked: even the right password is refused, with words that name no account.
    password_login(client, username)
    page = client.get("/login/").get_data(as_text=True)
    assert "Too many failed attempts" in page and "If an account has this username" in page
    assert client.get("/instruction/").status_code == 302
    (mail,) = mails_to(app, username)
    assert "locked" in mail["subject"].lower() or "verrouill" in mail["subject"].lower()
    assert len(actions(app, "user.locked")) == 1
    failures = actions(app, "user.login_failed")
    assert len(failures) == 3 and {f.actor_id for f in failures} == {None}
    assert {f.actor_ip for f in failures} == {"127.0.0.1"}

    # A username nobody has gets the same answer after as many failures.
    for _ in range(4):
        password_login(client, "nobody@example.org", "wrong password")
    assert "If an account has this username" in client.get("/login/").get_data(as_text=True)

    # The lock ends; a success then resets the count.
    with app.app_context():
        db.session.scalar(sa.select(UserSecurity)).locked_until = utcnow() - timedelta(seconds=1)
        db.session.commit()
    password_login(client, username)
    assert client.get("/instruction/").status_code == 200
    with app.app_context():
        assert (
            db.session.scalar(sa.select(User).where(User.username == username)).fail_login_count
            == 0
        )


def test_the_portal_login_honours_the_lock_with_the_same_words_for_everyone(make_app):
    app = make_app(LOGIN_LOCKOUT_THRESHOLD=2, PORTAL_LOGIN_RATE_LIMIT="100/minute")
    client = app.test_client()
    client.get("/langue/en")
    username = person(app, Roles.APPLICANT)
    answers = []
    for email in (username, "nobody@example.org"):
        for _ in range(2):
            client.post("/connexion", data={"email": email, "password": "wrong password"})
        locked = client.post("/connexion", data={"email": email, "password": PASSWORD})
        assert locked.status_code == 429
        page = re.sub(r'name="csrf_token" value="[^"]*"', "", locked.get_data(as_text=True))
        answers.append(re.sub(r"\d+ more minutes", "", page))
        assert "If an account has this username" in answers[-1]
    assert answers[0].replace(username, "") == answers[1].replace("nobody@example.org", "")


def test_the_back_office_login_is_limited_per_address_and_per_typed_username(make_app):
    app = make_app(RATELIMIT_ENABLED=True)
    client = app.test_client()
    for n in range(10):
        assert password_login(client, f"x{n}@example.org", "wrong").status_code == 302
    assert password_login(client, "x99@example.org", "wrong").status_code == 429
    other = app.test_client()
    for n in range(10):
        environ = {"REMOTE_ADDR": f"10.0.0.{n}"}
        response = password_login(other, "target@example.org", "wrong", environ_base=environ)
        assert response.status_code == 302
    blocked = password_login(
        other, "TARGET@example.org", "wrong", environ_base={"REMOTE_ADDR": "10.0.0.200"}
    )
    assert blocked.status_code == 429


# ---------------------------------------------------------------------------------------
# Sessions


def test_log_out_everywhere_ends_every_session_of_the_person_only(make_app):
    app = make_app()
    username = person(app, Roles.AGENT)
    here, there, someone_else = app.test_client(), app.test_client(), app.test_client()
    for client, name in (
        (here, username),
        (there, username),
        (someone_else, person(app, Roles.AGENT)),
    ):
        password_login(client, name)
        assert client.get("/instruction/").status_code == 200
    assert lands_on(here.post("/account/security/logout-everywhere"), "/login/")
    assert lands_on(here.get("/instruction/"), "/login/")
    assert lands_on(there.get("/instruction/"), "/login/")
    assert someone_else.get("/instruction/").status_code == 200
    assert len(actions(app, "user.logged_out_everywhere")) == 1
    password_login(there, username)
    assert there.get("/instruction/").status_code == 200


def test_an_applicant_logs_out_everywhere_from_the_portal(make_app):
    app = make_app()
    username = person(app, Roles.APPLICANT)
    phone, laptop = app.test_client(), app.test_client()
    for client in (phone, laptop):
        client.post("/connexion", data={"email": username, "password": PASSWORD})
        assert client.get("/mes-dossiers").status_code == 200
    assert "logout-everywhere" in phone.get("/mes-dossiers").get_data(as_text=True)
    assert lands_on(phone.post("/account/security/logout-everywhere"), "/connexion")
    assert laptop.get("/mes-dossiers").status_code == 302


def test_a_new_password_ends_the_other_sessions_but_keeps_this_one(make_app):
    app = make_app()
    username = person(app, Roles.AGENT)
    here, there = app.test_client(), app.test_client()
    for client in (here, there):
        password_login(client, username)
    new = "a brand new passphrase here"
    response = here.post("/resetmypassword/form", data={"password": new, "conf_password": new})
    assert response.status_code == 302
    assert here.get("/instruction/").status_code == 200
    assert lands_on(there.get("/instruction/"), "/login/")


def test_a_session_ends_when_idle_and_after_its_maximum_age(make_app):
    app = make_app(PERMANENT_SESSION_LIFETIME=timedelta(seconds=1))
    client = app.test_client()
    password_login(client, person(app, Roles.AGENT))
    cookie = client.get_cookie("session")
    assert cookie.http_only and cookie.same_site == "Lax" and cookie.expires is not None
    time.sleep(2.1)
    assert lands_on(client.get("/instruction/"), "/login/")

    aged = make_app(SESSION_MAX_HOURS=1 / 3600)
    client = aged.test_client()
    password_login(client, person(aged, Roles.AGENT))
    assert client.get("/instruction/").status_code == 200
    time.sleep(1.2)
    assert lands_on(client.get("/instruction/"), "/login/")


def test_signing_in_starts_a_new_session(make_app):
    app = make_app()
    client = app.test_client()
    with client.session_transaction() as session:
        session["planted"] = "by someone else"
    password_login(client, person(app, Roles.AGENT))
    with client.session_transaction() as session:
        assert "planted" not in session


# ---------------------------------------------------------------------------------------
# Password rules


@pytest.mark.parametrize(
    "password", ["short pass", "password1234", "azertyuiop123", "aaaaaaaaaaaaaa"]
)
def test_fab_s_password_forms_refuse_weak_passwords(make_app, password):
    app = make_app()
    client = app.test_client()
    username = person(app, Roles.AGENT)
    password_login(client, username)
    english(client)
    response = client.post(
        "/resetmypassword/form", data={"password": password, "conf_password": password}
    )
    assert response.status_code == 200  # the form again, with its error
    page = response.get_data(as_text=True)
    assert "Choose a password of at least" in page or "too easy to guess" in page
    with app.app_context():
        user = db.session.scalar(sa.select(User).where(User.username == username))
        assert check_password_hash(user.password, PASSWORD)


def test_the_platform_admin_cannot_give_a_new_account_its_own_address_as_password(make_app):
    app = make_app()
    admin = app.test_client()
    password_login(admin, person(app, Roles.ADMIN))
    english(admin)
    with app.app_context():
        agent_role = app.appbuilder.sm.find_role(Roles.AGENT).id

    def add(email: str, password: str):
        data = {
            "first_name": "A",
            "last_name": "B",
            "username": email,
            "email": email,
            "active": "y",
            "roles": str(agent_role),
            "password": password,
            "conf_password": password,
        }
        return admin.post("/users/add", data=data)

    refused = add("new.agent.person@example.org", "new.agent.person@example.org")
    assert "too easy to guess" in refused.get_data(as_text=True)
    assert add("second.agent@example.org", "a sentence nobody guesses").status_code == 302
    with app.app_context():
        assert accounts.find_user_by_email("new.agent.person@example.org") is None
        assert accounts.find_user_by_email("second.agent@example.org") is not None


def test_an_invited_agent_cannot_choose_their_address_as_password(make_app):
    app = make_app()
    with app.app_context():
        user, _ = accounts.ensure_agent("invited.person.here@example.org")
        db.session.commit()
        with app.test_request_context():
            path = accounts.set_password_url(user).split("127.0.0.1:5000", 1)[-1]
    client = app.test_client()
    weak = "invited.person.here@example.org"
    response = client.post(path, data={"password": weak, "confirmation": weak})
    assert response.status_code == 422
    good = "a sentence nobody guesses"
    assert client.post(path, data={"password": good, "confirmation": good}).status_code == 302


def test_the_factories_sign_in_a_person_with_a_second_factor(make_app):
    app = secure_app(make_app)
    with app.app_context():
        user = make.user(Roles.ADMINISTRATOR, can_log_in=True)
        username, secret = user.username, make.two_factor(user)
    client = app.test_client()
    make.login(client, username, totp_secret=secret)
    assert client.get("/instruction/").status_code == 200
