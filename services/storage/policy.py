"""What each purpose accepts (types, size) and who may read or delete a file."""

from dataclasses import dataclass

from flask import current_app

from services.storage import sniff
from shared.auth import Principal
from shared.errors import Problem

MIB = 1 << 20


@dataclass(frozen=True)
class Purpose:
    """A kind of file: the types its bytes may be, and the setting holding its size limit."""

    name: str
    types: tuple[str, ...]
    limit_setting: str


PURPOSES = {p.name: p for p in (
    Purpose("avatar", (sniff.PNG, sniff.JPEG, sniff.WEBP), "STORAGE_AVATAR_MAX_BYTES"),
    Purpose("submission", (sniff.PDF, sniff.ZIP, sniff.TEXT, sniff.PNG, sniff.JPEG,
                           sniff.NOTEBOOK), "STORAGE_SUBMISSION_MAX_BYTES"),
)}


def limit_of(purpose: str) -> int:
    return current_app.config[PURPOSES[purpose].limit_setting]


def too_large(purpose: str) -> Problem:
    limit = limit_of(purpose)
    return Problem(413, f"A file for {purpose} may be at most {limit:,} bytes.",
                   title="File too large", limit=limit)


def check_type(purpose: str, content_type: str) -> None:
    """415 unless the bytes are of a type the purpose allows."""
    allowed = PURPOSES[purpose].types
    if content_type not in allowed:
        found = "of no type this service accepts" if content_type == sniff.UNKNOWN else (
            f"{content_type}")
        raise Problem(415, f"The file's bytes are {found}; a file for {purpose} must be one "
                           f"of {', '.join(allowed)}.", title="Unsupported file type",
                      content_type=content_type, allowed=list(allowed))


def may_read(principal: Principal, owner_id: int, cohort_id: int | None) -> bool:
    """The owner, a mentor of the owner's cohort (as it was when the file was stored), an
    admin."""
    if principal.role == "admin" or principal.user_id == owner_id:
        return True
    return (principal.role == "mentor" and cohort_id is not None
            and principal.cohort_id == cohort_id)


def may_delete(principal: Principal, owner_id: int) -> bool:
    return principal.role == "admin" or principal.user_id == owner_id
