"""Where the bytes live: one interface, the local disk and S3 behind it.

A backend never sees a file's name or owner: it stores bytes under a key the service made.
`put` consumes an iterable of chunks and leaves nothing behind when it (or the iterable)
fails: the caller's limits and checks run inside that iterable.
"""

from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime

READ_CHUNK = 256 * 1024


class StorageUnavailable(RuntimeError):
    """The backend cannot be reached or refused the operation: the request may be retried."""


class Missing(LookupError):
    """No object is stored under the key."""


@dataclass(frozen=True)
class StoredObject:
    """An object as a listing shows it."""

    key: str
    size: int
    modified: datetime


class Backend(ABC):
    """The operations the service needs of a place that stores bytes."""

    name: str

    @abstractmethod
    def put(self, key: str, chunks: Iterable[bytes]) -> None:
        """Store the chunks under `key` (replacing any object there), or nothing at all."""

    @abstractmethod
    def size(self, key: str) -> int | None:
        """The object's size in bytes; None when there is none."""

    @abstractmethod
    def read(self, key: str, chunk_size: int = READ_CHUNK) -> Iterator[bytes]:
        """The object's bytes in chunks; Missing when there is none."""

    @abstractmethod
    def move(self, source: str, target: str) -> None:
        """Put the object at `source` under `target` (replacing any); Missing when there is
        none. What a later write to `source` stores never reaches `target`."""

    @abstractmethod
    def delete(self, key: str) -> None:
        """Remove the object; a missing one is fine."""

    @abstractmethod
    def objects(self) -> Iterator[StoredObject]:
        """Every stored object (not the unfinished uploads)."""

    @abstractmethod
    def remove_unfinished(self, older_than: datetime, dry_run: bool = False) -> int:
        """Remove uploads begun before `older_than` and never finished; how many."""

    @abstractmethod
    def check(self) -> None:
        """Raise when the backend cannot take writes (readiness)."""


def make_backends(config: dict) -> dict[str, Backend]:
    """The backends this configuration can reach: the local disk always, S3 with a bucket."""
    from services.storage.backends.local import LocalBackend

    backends: dict[str, Backend] = {"local": LocalBackend(config["STORAGE_DIR"])}
    if config["S3_BUCKET"]:
        from services.storage.backends.s3 import S3Backend

        backends["s3"] = S3Backend(config)
    return backends
