from conftest import TEST_REDIS_URL


def test_healthz_reports_database_and_broker(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json["database"] == "ok"
    assert response.json["broker"] == ("ok" if TEST_REDIS_URL else "eager")
    assert response.json["status"] == "ok"


def test_healthz_says_degraded_when_the_broker_is_unreachable(make_app):
    app = make_app(CELERY_BROKER_URL="redis://127.0.0.1:1/0")
    response = app.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.json == {"database": "ok", "broker": "unavailable", "status": "degraded"}


def test_healthz_says_degraded_when_the_database_is_unreachable(make_app, tmp_path):
    app = make_app(SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path}/missing/dir/x.db")
    response = app.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.json["database"] == "unavailable"
