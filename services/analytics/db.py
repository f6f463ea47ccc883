"""The analytics service's own database extension."""

from shared.db import make_db

db = make_db()
