"""The contract of a storage backend: where the bytes of attachments live.

Writing is two steps so that nothing half-written is ever referenced by the database:
``receive`` streams the upload to a temporary place while hashing it, then ``commit``
moves it atomically to its key, which is derived from the SHA-256 of the content and never
from user input. When that key already exists the temporary copy is dropped: the same file
uploaded twice is stored once. A crash during ``receive`` leaves only a temporary object,
which ``purge_incoming`` removes later.
"""

from __future__ import annotations

import hashlib
import re
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import BinaryIO

CHUNK_SIZE = 1024 * 1024
"""Bytes read or written at once: memory per transfer stays around this size."""

_KEY = re.compile(r"^sha256/[0-9a-f]{2}/[0-9a-f]{2}/[0-9a-f]{64}$")


class StorageError(RuntimeError):
    """The backend could not store, find or read an object."""


def key_for(sha256: str) -> str:
    """The storage key of a content: ``sha256/ab/cd/abcd…`` (fans out directories)."""
    key = f"sha256/{sha256[:2]}/{sha256[2:4]}/{sha256}"
    check_key(key)
    return key


def check_key(key: str) -> str:
    """Refuse anything that is not a content key (a tampered row must not reach the disk)."""
    if not _KEY.match(key):
        raise StorageError(f"not a content key: {key!r}")
    return key


@dataclass(frozen=True)
class Received:
    """An upload written to a temporary place, hashed, not yet visible under its key."""

    sha256: str
    size: int
    temporary: str

    @property
    def key(self) -> str:
        return key_for(self.sha256)


class Hasher:
    """Hashes and counts the chunks that go through it."""

    def __init__(self) -> None:
        self._hash = hashlib.sha256()
        self.size = 0

    def feed(self, chunks: Iterable[bytes]) -> Iterator[bytes]:
        for chunk in chunks:
            if chunk:
                self._hash.update(chunk)
                self.size += len(chunk)
                yield chunk

    @property
    def hexdigest(self) -> str:
        return self._hash.hexdigest()


def read_chunks(stream: BinaryIO, chunk_size: int = CHUNK_SIZE) -> Iterator[bytes]:
    """The chunks of a readable binary stream, until it ends."""
    while chunk := stream.read(chunk_size):
        yield chunk


class Storage(ABC):
    """A place for attachment bytes. Implementations must be safe to share across threads."""

    name: str = ""

    @abstractmethod
    def receive(self, chunks: Iterable[bytes]) -> Received:
        """Write ``chunks`` to a temporary place while hashing them. If iterating the chunks
        raises (a size limit, a refused type, a dropped connection), the temporary object is
        removed and the exception propagates."""

    @abstractmethod
    def commit(self, received: Received) -> str:
        """Make a received upload visible under its content key, atomically; drop the
        temporary copy when the key already exists. Returns the key."""

    @abstractmethod
    def discard(self, received: Received) -> None:
        """Remove a received upload that will not be committed."""

    @abstractmethod
    def open(self, key: str) -> BinaryIO:
        """A readable binary stream of an object (the caller closes it)."""

    @abstractmethod
    def exists(self, key: str) -> bool:
        """Whether an object is stored under ``key``."""

    @abstractmethod
    def size(self, key: str) -> int:
        """The size in bytes of a stored object."""

    @abstractmethod
    def delete(self, key: str) -> None:
        """Remove an object; removing a missing object is not an error."""

    @abstractmethod
    def purge_incoming(self, older_than: timedelta) -> int:
        """Remove temporary objects older than ``older_than`` (left by crashes or aborted
        uploads). Returns how many were removed."""

    def iter_chunks(self, key: str, chunk_size: int = 64 * 1024) -> Iterator[bytes]:
        """The content of an object as chunks, closing it at the end (for streamed responses)."""
        with self.open(key) as stream:
            yield from read_chunks(stream, chunk_size)
