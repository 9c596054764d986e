"""Both storage backends keep bytes under their content hash, atomically, once."""

import hashlib
from datetime import timedelta

import pytest

from plugins.attachments.storage import StorageError, build, key_for
from plugins.attachments.storage.local import LocalStorage
from plugins.attachments.storage.s3 import PART_SIZE


@pytest.fixture(params=["local", "s3"])
def storage(request, tmp_path):
    if request.param == "local":
        return build({"STORAGE_BACKEND": "local", "STORAGE_DIR": str(tmp_path / "files")})
    return build(request.getfixturevalue("s3_config"))


def chunks(data: bytes, size: int = 1000):
    for start in range(0, len(data), size):
        yield data[start : start + size]


class Interrupted(Exception):
    pass


def interrupted(data: bytes):
    yield from chunks(data)
    raise Interrupted


def test_a_stored_content_is_found_under_the_key_of_its_hash(storage):
    data = b"Contenu de la piece" * 1000
    received = storage.receive(chunks(data))
    digest = hashlib.sha256(data).hexdigest()
    assert (received.sha256, received.size) == (digest, len(data))
    assert not storage.exists(key_for(digest))  # not visible before commit
    key = storage.commit(received)
    assert key == f"sha256/{digest[:2]}/{digest[2:4]}/{digest}"
    assert storage.exists(key) and storage.size(key) == len(data)
    with storage.open(key) as stream:
        assert stream.read() == data
    assert b"".join(storage.iter_chunks(key, 4096)) == data


def test_the_same_content_twice_is_stored_once(storage):
    first = storage.commit(storage.receive(chunks(b"same bytes")))
    second = storage.receive(chunks(b"same bytes"))
    assert storage.commit(second) == first
    assert storage.purge_incoming(timedelta(0)) == 0  # the second copy was dropped


def test_an_interrupted_upload_leaves_nothing_behind(storage):
    with pytest.raises(Interrupted):
        storage.receive(interrupted(b"x" * 5000))
    assert storage.purge_incoming(timedelta(0)) == 0


def test_a_large_upload_goes_in_parts_and_is_whole_afterwards(storage):
    data = bytes(range(256)) * (PART_SIZE // 256 * 2 + 3)  # over two parts
    key = storage.commit(storage.receive(chunks(data, 1024 * 1024)))
    assert storage.size(key) == len(data)
    assert hashlib.sha256(b"".join(storage.iter_chunks(key))).hexdigest() == key[-64:]


def test_a_discarded_upload_never_appears(storage):
    received = storage.receive(chunks(b"never committed"))
    storage.discard(received)
    assert not storage.exists(received.key)
    assert storage.purge_incoming(timedelta(0)) == 0


def test_temporary_uploads_left_by_a_crash_are_purged_once_old_enough(storage):
    received = storage.receive(chunks(b"crashed before commit"))
    assert storage.purge_incoming(timedelta(hours=1)) == 0
    assert storage.purge_incoming(timedelta(0)) == 1
    assert not storage.exists(received.key)


def test_deleting_is_idempotent(storage):
    key = storage.commit(storage.receive(chunks(b"to delete")))
    storage.delete(key)
    storage.delete(key)
    assert not storage.exists(key)
    with pytest.raises(StorageError):
        storage.open(key).read()


def test_keys_that_are_not_content_hashes_are_refused(storage):
    for key in ("../../etc/passwd", "sha256/aa/bb/" + "0" * 63 + "/", "incoming/x"):
        with pytest.raises(StorageError):
            storage.exists(key)


def test_local_writes_go_through_a_temporary_file_in_the_same_tree(tmp_path):
    storage = LocalStorage(tmp_path)
    received = storage.receive(chunks(b"abc"))
    assert (tmp_path / "incoming" / received.temporary).read_bytes() == b"abc"
    storage.commit(received)
    assert list((tmp_path / "incoming").iterdir()) == []


def test_an_unknown_backend_is_a_configuration_error():
    with pytest.raises(ValueError, match="STORAGE_BACKEND"):
        build({"STORAGE_BACKEND": "floppy"})
