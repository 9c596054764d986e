"""Storage backends by name (``STORAGE_BACKEND``), registered with a decorator."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from .base import Storage

Factory = Callable[[Mapping[str, Any]], Storage]
BACKENDS: dict[str, Factory] = {}


def register(name: str) -> Callable[[Factory], Factory]:
    """Register the factory that builds backend ``name`` from an app's configuration."""

    def decorator(factory: Factory) -> Factory:
        BACKENDS[name] = factory
        return factory

    return decorator


def build(config: Mapping[str, Any]) -> Storage:
    """The backend named by ``STORAGE_BACKEND`` (default ``local``), built from ``config``."""
    name = config.get("STORAGE_BACKEND") or "local"
    if name not in BACKENDS:
        raise ValueError(f"Unknown STORAGE_BACKEND {name!r}; known: {', '.join(sorted(BACKENDS))}")
    return BACKENDS[name](config)
