"""Storage backends: local filesystem (default) and S3-compatible object storage.

``get_storage()`` gives the current app's backend, built once per app.
"""

from __future__ import annotations

from flask import current_app

from . import local, s3  # noqa: F401  (register the backends)
from .base import CHUNK_SIZE, Received, Storage, StorageError, key_for
from .registry import BACKENDS, build, register

__all__ = [
    "BACKENDS",
    "CHUNK_SIZE",
    "Received",
    "Storage",
    "StorageError",
    "build",
    "get_storage",
    "key_for",
    "register",
]


def get_storage() -> Storage:
    """The storage backend of the current app."""
    storage = current_app.extensions.get("attachments_storage")
    if storage is None:
        storage = current_app.extensions["attachments_storage"] = build(current_app.config)
    return storage
