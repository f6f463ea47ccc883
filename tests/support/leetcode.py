"""A stand-in for LeetCode's GraphQL endpoint, for the sync's tests and its benchmark.

A real HTTP server on loopback that answers the queries the sync sends — aliases of
`recentAcSubmissionList` and `matchedUser { userCalendar { submissionCalendar } }` — from
the users given to it, after an optional delay. Scripted answers come first: a 429 with
Retry-After, a 500, a 403 or a 200 with an HTML challenge page. Unknown users get
`matchedUser: null` and an error, as LeetCode answers. It records when every request
arrived, so a test can show the rate limit held in every window.
"""

import bisect
import json
import re
import threading
import time
from collections import deque
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ALIAS = re.compile(r"(\w+)\s*:\s*(recentAcSubmissionList|matchedUser)\s*\(\s*username\s*:\s*"
                   r"\$(\w+)")
CHALLENGE = "<!DOCTYPE html><html><head><title>Just a moment...</title></head></html>"


def calendar_of(timestamps) -> str:
    """submissionCalendar for these unix times: counts by UTC midnight, as a JSON string."""
    counts: dict[str, int] = {}
    for stamp in timestamps:
        day = datetime.fromtimestamp(stamp, UTC).replace(hour=0, minute=0, second=0)
        key = str(int(day.timestamp()))
        counts[key] = counts.get(key, 0) + 1
    return json.dumps(counts)


class StandIn:
    """The server; `users` maps a username to its accepted submissions and calendar."""

    def __init__(self, delay: float = 0.0):
        self.delay = delay
        self.users: dict[str, dict] = {}
        self.script: deque = deque()
        self.arrivals: list[float] = []
        self.asked: list[list[str]] = []  # usernames of each request, in arrival order
        self.lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/graphql"

    def add_user(self, name: str, solved: list[int] = (), calendar: str | None = None,
                 first_id: int = 1) -> None:
        """A user with accepted submissions at these unix times (newest first on the wire)."""
        submissions = [{"id": str(first_id + i), "title": f"Problem {i}",
                        "titleSlug": f"problem-{i}", "timestamp": str(stamp)}
                       for i, stamp in enumerate(solved)]
        submissions.sort(key=lambda s: -int(s["timestamp"]))
        self.users[name] = {"submissions": submissions,
                            "calendar": calendar if calendar is not None else calendar_of(solved)}

    def then(self, status: int, body: str = "{}", content_type: str = "application/json",
             headers: dict | None = None, times: int = 1) -> None:
        """Answer the next `times` requests like this instead of from the users."""
        for _ in range(times):
            self.script.append((status, body, content_type, headers or {}))

    def max_in_window(self, seconds: float = 1.0) -> int:
        """The most requests that arrived within any `seconds`-long window."""
        times = sorted(self.arrivals)
        return max((bisect.bisect_left(times, t + seconds) - i for i, t in enumerate(times)),
                   default=0)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def answer(self, query: str, variables: dict) -> dict:
        data, errors = {}, []
        limit = int(variables.get("limit", 20))
        for alias, fieldname, variable in ALIAS.findall(query):
            user = self.users.get(variables.get(variable))
            if fieldname == "recentAcSubmissionList":
                data[alias] = user["submissions"][:limit] if user else []
            elif user is None:
                data[alias] = None
                errors.append({"message": "That user does not exist.", "path": [alias]})
            else:
                data[alias] = {"userCalendar": {"submissionCalendar": user["calendar"]}}
        return {"data": data, **({"errors": errors} if errors else {})}

    def _handler(self):
        stand_in = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # quiet
                pass

            def do_POST(self):
                arrived = time.monotonic()
                raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                try:
                    request = json.loads(raw)
                except ValueError:
                    request = {}
                variables = request.get("variables") or {}
                with stand_in.lock:
                    stand_in.arrivals.append(arrived)
                    stand_in.asked.append([v for k, v in sorted(variables.items())
                                           if k.startswith("u")])
                    scripted = stand_in.script.popleft() if stand_in.script else None
                if stand_in.delay:
                    time.sleep(stand_in.delay)
                if scripted is None:
                    status, content_type, headers = 200, "application/json", {}
                    body = json.dumps(stand_in.answer(request.get("query", ""), variables))
                else:
                    status, body, content_type, headers = scripted
                payload = body.encode()
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(payload)))
                for name, value in headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(payload)

        return Handler
