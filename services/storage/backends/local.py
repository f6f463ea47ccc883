"""The local disk: objects are files under STORAGE_DIR, written whole or not at all."""

import contextlib
import os
import re
import tempfile
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path

from services.storage.backends import (
    READ_CHUNK,
    Backend,
    Missing,
    StorageUnavailable,
    StoredObject,
)

PARTIAL = ".partial"  # uploads in progress, on the same file system so a rename completes them
# Keys are made by the service; checked anyway, so no key can name a path outside the root.
KEY = re.compile(r"^[a-z0-9_-]+(/[a-z0-9_-]+)*$")


def _file_mode() -> int:
    """What open() would give a new file (0666 less the umask): mkstemp's 0600 would keep
    an nginx running as another user of the group from sending the file."""
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def _mtime(path: Path) -> datetime:
    return datetime.fromtimestamp(path.stat().st_mtime, UTC)


class LocalBackend(Backend):
    """Each object is the file root/<key>; nginx serves it through X-Accel-Redirect."""

    name = "local"

    def __init__(self, root: str | Path):
        self.root = Path(root).resolve()
        self.partial = self.root / PARTIAL
        self.mode = _file_mode()

    def path(self, key: str) -> Path:
        if not KEY.match(key):
            raise ValueError(f"not a storage key: {key!r}")
        return self.root / key

    def put(self, key: str, chunks: Iterable[bytes]) -> None:
        """Write a temp file beside the objects, fsync it, then rename it into place: a
        reader sees the whole object or none, and a crash leaves only a temp file."""
        final = self.path(key)
        try:
            self.partial.mkdir(parents=True, exist_ok=True)
            fd, temp = tempfile.mkstemp(dir=self.partial, prefix="upload-")
        except OSError as exc:
            raise StorageUnavailable(f"cannot write under {self.root}: {exc}") from exc
        try:
            with os.fdopen(fd, "wb", buffering=0) as out:
                os.fchmod(fd, self.mode)
                for chunk in chunks:
                    _write(out, chunk)
                os.fsync(out.fileno())
            final.parent.mkdir(parents=True, exist_ok=True)
            os.replace(temp, final)
        except OSError as exc:
            _remove(temp)
            raise StorageUnavailable(f"cannot write {key}: {exc}") from exc
        except BaseException:
            _remove(temp)
            raise

    def size(self, key: str) -> int | None:
        try:
            return self.path(key).stat().st_size
        except FileNotFoundError:
            return None

    def read(self, key: str, chunk_size: int = READ_CHUNK) -> Iterator[bytes]:
        try:
            handle = self.path(key).open("rb")
        except FileNotFoundError:
            raise Missing(key) from None
        with handle:
            while chunk := handle.read(chunk_size):
                yield chunk

    def move(self, source: str, target: str) -> None:
        destination = self.path(target)
        try:
            destination.parent.mkdir(parents=True, exist_ok=True)
            os.replace(self.path(source), destination)
        except FileNotFoundError:
            raise Missing(source) from None
        except OSError as exc:
            raise StorageUnavailable(f"cannot move {source}: {exc}") from exc

    def delete(self, key: str) -> None:
        path = self.path(key)
        try:
            path.unlink(missing_ok=True)
        except OSError as exc:
            raise StorageUnavailable(f"cannot delete {key}: {exc}") from exc

    def objects(self) -> Iterator[StoredObject]:
        if not self.root.is_dir():
            return
        for directory, subdirectories, files in os.walk(self.root):
            if Path(directory) == self.root and PARTIAL in subdirectories:
                subdirectories.remove(PARTIAL)
            for name in files:
                path = Path(directory, name)
                key = path.relative_to(self.root).as_posix()
                if KEY.match(key):
                    stat = path.stat()
                    modified = datetime.fromtimestamp(stat.st_mtime, UTC)
                    yield StoredObject(key, stat.st_size, modified)

    def remove_unfinished(self, older_than: datetime, dry_run: bool = False) -> int:
        if not self.partial.is_dir():
            return 0
        removed = 0
        for path in self.partial.iterdir():
            if _mtime(path) < older_than:
                if not dry_run:
                    path.unlink(missing_ok=True)
                removed += 1
        return removed

    def check(self) -> None:
        """The directory exists and takes a file (a read-only mount fails here)."""
        self.partial.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=self.partial, prefix="ready-"):
            pass


def _write(out, chunk: bytes) -> None:
    view = memoryview(chunk)
    while view:
        written = out.write(view)
        view = view[written:]


def _remove(path: str) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)
