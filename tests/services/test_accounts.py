"""Invited agents' accounts and the signed, expiring, single-use set-password token."""

import time

import pytest
from itsdangerous import TimestampSigner
from werkzeug.security import check_password_hash

import factories as make
from app.extensions import db
from app.models import User
from app.security import Roles
from app.services import accounts
from app.services.accounts import AccountError, ExpiredPasswordToken, InvalidPasswordToken


@pytest.fixture
def ctx(app):
    with app.app_context():
        yield


def role_names(user):
    return {role.name for role in user.roles}


def test_an_address_is_trimmed_and_lower_cased(ctx):
    assert accounts.normalise_email("  Marie.Curie@Example.ORG ") == "marie.curie@example.org"


@pytest.mark.parametrize("email", ["", "marie", "marie@", "marie@example", "a b@example.org"])
def test_what_is_not_an_address_is_refused(ctx, email):
    with pytest.raises(AccountError):
        accounts.normalise_email(email)


def test_an_address_longer_than_a_username_is_refused(ctx):
    with pytest.raises(AccountError):
        accounts.normalise_email("a" * 120 + "@example.org")


def test_a_new_agent_gets_an_account_with_the_agent_role_and_no_usable_password(ctx):
    user, created = accounts.ensure_agent("Nouvelle.Agente@Example.org")
    db.session.commit()
    assert created
    assert user.username == user.email == "nouvelle.agente@example.org"
    assert role_names(user) == {Roles.AGENT}
    assert not accounts.has_usable_password(user)
    assert not check_password_hash(user.password, "")
    assert not check_password_hash(user.password, user.password)


def test_an_existing_person_found_by_email_in_any_case_gets_the_agent_role_added(ctx):
    applicant = make.user(Roles.APPLICANT, email="usager@example.org")
    user, created = accounts.ensure_agent("USAGER@example.org")
    db.session.commit()
    assert not created and user.id == applicant.id
    assert role_names(user) == {Roles.APPLICANT, Roles.AGENT}
    again, _ = accounts.ensure_agent("usager@example.org")
    assert [role.name for role in again.roles].count(Roles.AGENT) == 1


def test_a_token_gives_back_its_account(ctx):
    user, _ = accounts.ensure_agent("agent@example.org")
    db.session.commit()
    token = accounts.make_password_token(user)
    assert accounts.user_for_password_token(token).id == user.id


def test_a_tampered_token_is_invalid(ctx):
    user, _ = accounts.ensure_agent("agent@example.org")
    db.session.commit()
    token = accounts.make_password_token(user)
    with pytest.raises(InvalidPasswordToken) as refused:
        accounts.user_for_password_token(token[:-2] + ("AA" if token[-2:] != "AA" else "BB"))
    assert not isinstance(refused.value, ExpiredPasswordToken)


def test_a_token_signed_with_another_secret_is_invalid(make_app):
    first, second = make_app(), make_app(SECRET_KEY="another-secret-" + "y" * 32)
    with first.app_context():
        user, _ = accounts.ensure_agent("agent@example.org")
        db.session.commit()
        token = accounts.make_password_token(user)
    with second.app_context(), pytest.raises(InvalidPasswordToken):
        accounts.user_for_password_token(token)


def test_a_token_older_than_seven_days_has_expired(ctx, monkeypatch):
    user, _ = accounts.ensure_agent("agent@example.org")
    db.session.commit()
    eight_days_ago = int(time.time()) - 8 * 24 * 3600
    monkeypatch.setattr(TimestampSigner, "get_timestamp", lambda self: eight_days_ago)
    token = accounts.make_password_token(user)
    monkeypatch.undo()
    with pytest.raises(ExpiredPasswordToken):
        accounts.user_for_password_token(token)


def test_a_token_of_six_days_still_works(ctx, monkeypatch):
    user, _ = accounts.ensure_agent("agent@example.org")
    db.session.commit()
    six_days_ago = int(time.time()) - 6 * 24 * 3600
    monkeypatch.setattr(TimestampSigner, "get_timestamp", lambda self: six_days_ago)
    token = accounts.make_password_token(user)
    monkeypatch.undo()
    assert accounts.user_for_password_token(token).id == user.id


def test_a_token_works_once_setting_the_password_voids_it(ctx):
    user, _ = accounts.ensure_agent("agent@example.org")
    db.session.commit()
    token = accounts.make_password_token(user)
    accounts.set_password(accounts.user_for_password_token(token), "une phrase de passe sûre")
    db.session.commit()
    with pytest.raises(InvalidPasswordToken):
        accounts.user_for_password_token(token)


def test_a_set_password_is_usable_with_fab(ctx, app):
    user, _ = accounts.ensure_agent("agent@example.org")
    accounts.set_password(user, "une phrase de passe sûre")
    db.session.commit()
    assert accounts.has_usable_password(user)
    assert app.appbuilder.sm.auth_user_db("agent@example.org", "une phrase de passe sûre")
    assert not app.appbuilder.sm.auth_user_db("agent@example.org", "autre chose encore")


def test_a_password_under_twelve_characters_is_refused(ctx):
    assert set(accounts.password_problems("onze carac.", "onze carac.")) == {"password"}
    assert accounts.password_problems("douze carac.", "douze carac.") == {}
    user = db.session.get(User, accounts.ensure_agent("agent@example.org")[0].id)
    with pytest.raises(AccountError):
        accounts.set_password(user, "trop court")


def test_a_confirmation_that_differs_is_refused(ctx):
    problems = accounts.password_problems("une phrase de passe", "une phrase de passé")
    assert set(problems) == {"confirmation"}
