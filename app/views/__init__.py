"""FAB views: admin screens and the agent workspace."""

from __future__ import annotations

from flask_appbuilder import AppBuilder


def register(appbuilder: AppBuilder) -> None:
    """Register Guichet's core views on one app's AppBuilder."""
