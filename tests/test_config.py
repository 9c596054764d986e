import pytest

from config import ConfigurationError, load_config


def test_defaults_are_sqlite_in_instance_eager_celery_and_outbox_mail(tmp_path, monkeypatch):
    for name in ("DATABASE_URL", "CELERY_BROKER_URL", "MAIL_SERVER", "SECRET_KEY", "CLAMD_URL"):
        monkeypatch.delenv(name, raising=False)
    config = load_config({"INSTANCE_DIR": str(tmp_path)})
    assert config["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{tmp_path / 'guichet.db'}"
    assert config["CELERY"]["task_always_eager"] is True
    assert config["MAIL_SERVER"] is None
    assert config["MAIL_OUTBOX_DIR"] == str(tmp_path / "outbox")
    assert config["STORAGE_DIR"] == str(tmp_path / "files")
    assert config["CLAMD_URL"] is None
    assert config["BABEL_DEFAULT_LOCALE"] == "fr"


def test_secret_key_is_generated_once_into_the_instance_folder(tmp_path, monkeypatch):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    first = load_config({"INSTANCE_DIR": str(tmp_path)})["SECRET_KEY"]
    second = load_config({"INSTANCE_DIR": str(tmp_path)})["SECRET_KEY"]
    assert first == second == (tmp_path / "secret_key").read_text()
    assert len(first) == 64
    assert (tmp_path / "secret_key").stat().st_mode & 0o777 == 0o600


def test_postgres_urls_use_psycopg_3_without_jit(tmp_path, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "postgres://u@db/guichet")
    config = load_config({"INSTANCE_DIR": str(tmp_path)})
    assert config["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://u@db/guichet"
    options = config["SQLALCHEMY_ENGINE_OPTIONS"]["connect_args"]["options"]
    assert "jit=off" in options
    assert "plan_cache_mode=force_custom_plan" in options  # never a plan blind to the values


def test_a_broker_url_turns_eager_mode_off(tmp_path, monkeypatch):
    monkeypatch.setenv("CELERY_BROKER_URL", "redis://127.0.0.1:6379/0")
    celery = load_config({"INSTANCE_DIR": str(tmp_path)})["CELERY"]
    assert celery["task_always_eager"] is False
    assert celery["broker_url"] == "redis://127.0.0.1:6379/0"


def test_production_refuses_a_generated_secret(tmp_path, monkeypatch):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    monkeypatch.setenv("DATABASE_URL", "postgresql://u@db/guichet")
    with pytest.raises(ConfigurationError, match="SECRET_KEY"):
        load_config({"INSTANCE_DIR": str(tmp_path), "GUICHET_ENV": "production"})


def test_production_refuses_sqlite(tmp_path, monkeypatch):
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.setenv("SECRET_KEY", "s" * 40)
    with pytest.raises(ConfigurationError, match="PostgreSQL"):
        load_config({"INSTANCE_DIR": str(tmp_path), "GUICHET_ENV": "production"})


def test_production_starts_with_postgresql_and_a_real_secret(tmp_path, monkeypatch):
    monkeypatch.setenv("SECRET_KEY", "s" * 40)
    monkeypatch.setenv("DATABASE_URL", "postgresql://u@db/guichet")
    config = load_config({"INSTANCE_DIR": str(tmp_path), "GUICHET_ENV": "production"})
    assert config["SESSION_COOKIE_SECURE"] is True
