"""Local filesystem storage: one file per content under ``STORAGE_DIR``.

An upload is written to ``incoming/`` in the same directory tree (hence the same
filesystem), flushed to disk with ``fsync``, then renamed into place with ``os.replace``,
which is atomic: a reader sees the whole file or none.
"""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Iterable, Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any, BinaryIO

from .base import Hasher, Received, Storage, StorageError, check_key
from .registry import register


class LocalStorage(Storage):
    name = "local"

    def __init__(self, root: str | os.PathLike) -> None:
        self.root = Path(root).resolve()
        self.incoming = self.root / "incoming"

    def _path(self, key: str) -> Path:
        return self.root / check_key(key)

    def _temporary_path(self, received: Received) -> Path:
        path = (self.incoming / received.temporary).resolve()
        if path.parent != self.incoming:
            raise StorageError(f"not a temporary upload: {received.temporary!r}")
        return path

    def receive(self, chunks: Iterable[bytes]) -> Received:
        self.incoming.mkdir(parents=True, exist_ok=True)
        descriptor, name = tempfile.mkstemp(dir=self.incoming, prefix="upload-")
        hasher = Hasher()
        try:
            with os.fdopen(descriptor, "wb") as handle:
                for chunk in hasher.feed(chunks):
                    handle.write(chunk)
                handle.flush()
                os.fsync(handle.fileno())
        except BaseException:
            Path(name).unlink(missing_ok=True)
            raise
        return Received(sha256=hasher.hexdigest, size=hasher.size, temporary=Path(name).name)

    def commit(self, received: Received) -> str:
        temporary = self._temporary_path(received)
        final = self._path(received.key)
        if final.exists():
            temporary.unlink(missing_ok=True)  # the same content is stored already
            return received.key
        final.parent.mkdir(parents=True, exist_ok=True)
        os.replace(temporary, final)
        _fsync_directory(final.parent)
        return received.key

    def discard(self, received: Received) -> None:
        self._temporary_path(received).unlink(missing_ok=True)

    def open(self, key: str) -> BinaryIO:
        try:
            return open(self._path(key), "rb")  # noqa: SIM115  (the caller closes it)
        except FileNotFoundError as error:
            raise StorageError(f"missing object {key}") from error

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def size(self, key: str) -> int:
        try:
            return self._path(key).stat().st_size
        except FileNotFoundError as error:
            raise StorageError(f"missing object {key}") from error

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)

    def purge_incoming(self, older_than: timedelta) -> int:
        if not self.incoming.is_dir():
            return 0
        cutoff = time.time() - older_than.total_seconds()
        removed = 0
        for entry in os.scandir(self.incoming):
            if entry.is_file() and entry.stat().st_mtime < cutoff:
                Path(entry.path).unlink(missing_ok=True)
                removed += 1
        return removed


def _fsync_directory(path: Path) -> None:
    """Make a rename durable: the directory entry is flushed too."""
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


@register("local")
def from_config(config: Mapping[str, Any]) -> LocalStorage:
    return LocalStorage(config["STORAGE_DIR"])
