from flask import Flask

from app import create_app


def test_each_app_gets_its_own_appbuilder_with_all_routes(make_app):
    first, second = make_app(), make_app()
    assert first.appbuilder is not second.appbuilder
    for app in (first, second):
        rules = {rule.rule for rule in app.url_map.iter_rules()}
        assert "/login/" in rules
        assert "/healthz" in rules
        assert "/lang/<string:locale>" in rules


def test_the_three_plugins_are_loaded(app: Flask):
    assert app.extensions["guichet_plugins"] == [
        "plugins.public_forms",
        "plugins.attachments",
        "plugins.messaging",
    ]
    assert {"public_forms", "attachments", "messaging"} <= set(app.blueprints)


def test_celery_is_configured_from_the_app_config(app: Flask):
    celery = app.extensions["celery"]
    assert celery.conf.task_always_eager == (app.config["CELERY_BROKER_URL"] is None)


def test_flask_discovers_the_factory_without_arguments():
    assert create_app.__code__.co_argcount == 1
    assert create_app.__defaults__ == (None,)


def test_french_is_the_default_language_and_english_available(client):
    page = client.get("/login/")
    assert page.status_code == 200
    assert "Nom d'utilisateur" in page.get_data(as_text=True)
    client.get("/lang/en")
    assert "Username" in client.get("/login/").get_data(as_text=True)


def test_every_post_needs_a_csrf_token_when_csrf_is_on(make_app):
    app = make_app(WTF_CSRF_ENABLED=True)
    client = app.test_client()
    response = client.post("/login/", data={"username": "x", "password": "y"})
    assert response.status_code == 400
    assert client.post("/procedures/1/publish").status_code == 400
