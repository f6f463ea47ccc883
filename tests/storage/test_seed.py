"""Demo avatars: one PNG per demo student, in their cohort, idempotent; --reset and dry runs."""

import pytest

from services.storage.seed import seed_demo
from services.storage.sniff import PNG, sniff
from shared.demo import cohort_of, mentor_of


def test_seed_gives_each_student_an_avatar_their_mentor_can_see(app, tokens, contents,
                                                                row_count):
    with app.app_context():
        assert str(seed_demo(30, dry_run=True)) == "storage: would create 30 avatars"
        assert row_count() == 0
        assert str(seed_demo(30)) == "storage: created 30 avatars"
        assert str(seed_demo(30)) == "storage: created 0 avatars"
        assert str(seed_demo(32)) == "storage: created 2 avatars"
    assert row_count() == 32 and len(contents()) == 32
    client = app.test_client()
    student = 27
    listed = client.get("/api/storage/files?purpose=avatar",
                        headers=tokens.user(student, cohort_id=cohort_of(student))).json
    (avatar,) = listed["items"]
    assert avatar["content_type"] == PNG and avatar["owner_id"] == student
    mentor = tokens.user(mentor_of(cohort_of(student)), "mentor", cohort_id=cohort_of(student))
    assert client.get(f"/api/storage/files/{avatar['id']}", headers=mentor).status_code == 200
    backend = app.extensions["storage.backends"][
        "s3" if app.config["FLAGS"]["USE_CLOUD_STORAGE"].percent else "local"]
    (stored,) = [o.key for o in backend.objects() if o.key.endswith(f"/{student}")]
    assert sniff(b"".join(backend.read(stored))) == PNG


def test_reset_replaces_the_demo_avatars(app, row_count, contents):
    with app.app_context():
        seed_demo(10)
        assert str(seed_demo(5, reset=True, dry_run=True)) == (
            "storage: would create 5 avatars, would delete 10")
        assert str(seed_demo(5, reset=True)) == "storage: created 5 avatars, deleted 10"
    assert row_count() == 5 and len(contents()) == 5


@pytest.mark.parametrize("store", ["local"], indirect=True)
def test_seeding_the_default_2000_students(app, contents):
    with app.app_context():
        assert seed_demo(2000).created == 2000
    assert len(contents()) == 2000
