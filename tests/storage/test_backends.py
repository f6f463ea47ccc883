"""One suite, both backends: the local disk and S3 (moto's server) behave alike."""

import hashlib
from datetime import UTC, datetime, timedelta

import pytest

from services.storage import SETTINGS
from services.storage.backends import Missing, StorageUnavailable, make_backends
from services.storage.backends.local import LocalBackend
from shared.config import load_settings
from tests.storage.s3 import client, s3_settings
from tests.support.servers import closed_port

MIB = 1 << 20


def config_of(settings: dict[str, str]) -> dict:
    return load_settings(SETTINGS, settings)


@pytest.fixture
def backend(store, store_settings):
    return make_backends(config_of(store_settings))[store]


def chunks(total: int, size: int = MIB):
    """`total` bytes of a repeating pattern, in chunks of `size`."""
    pattern = bytes(range(256)) * (size // 256 + 1)
    sent = 0
    while sent < total:
        step = min(size, total - sent)
        yield pattern[:step]
        sent += step


def content(backend, key) -> bytes:
    return b"".join(backend.read(key))


def unfinished(backend) -> int:
    """Uploads begun and not finished (temp files; S3's open multipart uploads)."""
    future = datetime.now(UTC) + timedelta(days=1)
    return backend.remove_unfinished(future, dry_run=True)


def test_put_read_size_delete(backend):
    backend.put("submission/ab/one", [b"hello ", b"world"])
    assert backend.size("submission/ab/one") == 11
    assert content(backend, "submission/ab/one") == b"hello world"
    backend.put("submission/ab/one", [b"replaced"])
    assert content(backend, "submission/ab/one") == b"replaced"
    backend.delete("submission/ab/one")
    assert backend.size("submission/ab/one") is None
    backend.delete("submission/ab/one")  # again: fine


def test_a_large_object_goes_up_in_parts_and_comes_back_whole(backend):
    total = 11 * MIB + 123  # three parts of the 8 MiB default... and a tail
    backend.put("submission/cd/big", chunks(total, 256 * 1024))
    assert backend.size("submission/cd/big") == total
    digest = hashlib.sha256()
    for chunk in backend.read("submission/cd/big"):
        digest.update(chunk)
    assert digest.hexdigest() == hashlib.sha256(b"".join(chunks(total))).hexdigest()
    assert unfinished(backend) == 0


@pytest.mark.parametrize("total", [100, 9 * MIB])
def test_a_failure_halfway_leaves_nothing(backend, total):
    def failing():
        yield from chunks(total)
        raise RuntimeError("the client went away")

    with pytest.raises(RuntimeError):
        backend.put("submission/ef/broken", failing())
    assert backend.size("submission/ef/broken") is None
    assert unfinished(backend) == 0
    assert [o.key for o in backend.objects()] == []


def test_missing_objects(backend):
    assert backend.size("avatar/00/none") is None
    with pytest.raises(Missing):
        content(backend, "avatar/00/none")
    with pytest.raises(Missing):
        backend.move("avatar/00/none", "avatar/00/other")


def test_move_takes_the_object_away_from_its_source(backend):
    backend.put("incoming/avatar/aa/x", [b"\x89PNG"])
    backend.move("incoming/avatar/aa/x", "avatar/aa/x")
    assert backend.size("incoming/avatar/aa/x") is None
    assert content(backend, "avatar/aa/x") == b"\x89PNG"
    backend.put("incoming/avatar/aa/x", [b"later"])  # a later write to the source
    assert content(backend, "avatar/aa/x") == b"\x89PNG"


def test_objects_lists_every_stored_object(backend):
    backend.put("avatar/01/a", [b"a"])
    backend.put("submission/02/b", [b"bb"])
    listed = {o.key: o for o in backend.objects()}
    assert set(listed) == {"avatar/01/a", "submission/02/b"}
    assert listed["submission/02/b"].size == 2
    assert abs(listed["avatar/01/a"].modified - datetime.now(UTC)) < timedelta(minutes=5)


def test_remove_unfinished_takes_only_old_ones(backend, store, store_settings):
    if store == "s3":
        s3 = client(store_settings["S3_ENDPOINT_URL"])
        s3.create_multipart_upload(Bucket=store_settings["S3_BUCKET"], Key="submission/03/c")
    else:
        backend.partial.mkdir(parents=True)
        (backend.partial / "upload-abc").write_bytes(b"half")
    if store == "local":  # moto reports every multipart upload as begun in 2010
        past = datetime.now(UTC) - timedelta(hours=1)
        assert backend.remove_unfinished(past) == 0
    assert unfinished(backend) == 1
    future = datetime.now(UTC) + timedelta(hours=1)
    assert backend.remove_unfinished(future, dry_run=True) == 1
    assert backend.remove_unfinished(future) == 1
    assert unfinished(backend) == 0


def test_check_passes_on_a_usable_backend(backend):
    backend.check()


def test_keys_never_name_a_path_outside_the_root(tmp_path):
    backend = LocalBackend(tmp_path / "files")
    for key in ("../escape", "/etc/passwd", "a/../../b", "a//b", "A/B", "a/b.txt", ""):
        with pytest.raises(ValueError):
            backend.put(key, [b"x"])
    assert not (tmp_path / "escape").exists()


def test_local_check_fails_when_the_directory_cannot_be_made(tmp_path):
    (tmp_path / "taken").write_text("a file where the directory should be")
    with pytest.raises(OSError):
        LocalBackend(tmp_path / "taken").check()


def test_local_write_failure_is_unavailable_and_leaves_no_temp_file(tmp_path):
    backend = LocalBackend(tmp_path / "files")
    backend.put("avatar/aa", [b"a file where a directory of keys would go"])
    with pytest.raises(StorageUnavailable):
        backend.put("avatar/aa/two", [b"y"])
    assert list(backend.partial.iterdir()) == []


def test_s3_unreachable_is_unavailable_fast():
    settings = s3_settings(f"http://127.0.0.1:{closed_port()}", "nowhere")
    backend = make_backends(config_of(settings))["s3"]
    started = datetime.now(UTC)
    for call in (backend.check, lambda: backend.size("a/b"), lambda: backend.put("a/b", [b"x"]),
                 lambda: backend.delete("a/b"), lambda: list(backend.objects())):
        with pytest.raises(StorageUnavailable):
            call()
    assert datetime.now(UTC) - started < timedelta(seconds=10)


def test_s3_missing_bucket_is_unavailable(s3_endpoint):
    backend = make_backends(config_of(s3_settings(s3_endpoint, "no-such-bucket")))["s3"]
    with pytest.raises(StorageUnavailable):
        backend.check()
    with pytest.raises(StorageUnavailable):
        backend.put("a/b", [b"x"])
