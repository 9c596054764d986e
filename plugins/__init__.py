"""Guichet plugins: packages with ``init_app(app, appbuilder)``, listed in config ``PLUGINS``."""
