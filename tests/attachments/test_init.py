"""The plugin's settings: defaults, environment, and the app's own overrides."""

from plugins.attachments import configure


class FakeApp:
    def __init__(self, **config) -> None:
        self.config = dict(config)


def test_defaults_are_local_storage_and_the_documented_limits(monkeypatch):
    for name in ("STORAGE_BACKEND", "ATTACHMENT_LIMIT_MESSAGE_MB", "S3_BUCKET"):
        monkeypatch.delenv(name, raising=False)
    app = FakeApp()
    configure(app)
    assert app.config["STORAGE_BACKEND"] == "local" and app.config["S3_BUCKET"] is None
    assert app.config["ATTACHMENT_LIMITS"]["form_field"] == 200 * 1024 * 1024
    assert app.config["ATTACHMENT_ORPHAN_AGE_HOURS"] == 24


def test_the_environment_sets_backends_and_limits_in_megabytes(monkeypatch):
    monkeypatch.setenv("STORAGE_BACKEND", "s3")
    monkeypatch.setenv("S3_BUCKET", "guichet-files")
    monkeypatch.setenv("ATTACHMENT_LIMIT_MESSAGE_MB", "50")
    app = FakeApp()
    configure(app)
    assert (app.config["STORAGE_BACKEND"], app.config["S3_BUCKET"]) == ("s3", "guichet-files")
    assert app.config["ATTACHMENT_LIMITS"]["message"] == 50 * 1024 * 1024


def test_the_apps_own_settings_win(monkeypatch):
    monkeypatch.setenv("ATTACHMENT_LIMIT_LOGO_MB", "50")
    app = FakeApp(ATTACHMENT_LIMITS={"logo": 1000}, STORAGE_BACKEND="s3")
    configure(app)
    assert app.config["ATTACHMENT_LIMITS"]["logo"] == 1000
    assert app.config["STORAGE_BACKEND"] == "s3"
