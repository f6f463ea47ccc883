"""A circuit breaker shared by every process of a service, for calls to another service.

When a call fails, the breaker opens for `open_seconds`: callers skip the call and answer
without it. The state lives in the shared cache (Redis), so one failure spares every gunicorn
worker, not only the one that paid the timeout. Once it closes again, one caller at a time
probes (an atomic add in the cache) until a call succeeds. Without a shared cache, or while
the cache is down, each process keeps the same state for itself.
"""

import time


class Breaker:
    """Whether to call a dependency now; `failed()` and `succeeded()` report how it went."""

    def __init__(self, cache, name: str, open_seconds: float, probe_seconds: float):
        self.cache, self.name = cache, name
        self.open_seconds, self.probe_seconds = open_seconds, probe_seconds
        self._open_until = 0.0  # this process's own view
        self._failing = False
        self._probing = False
        self.shared = cache.kind != "null"

    @property
    def _keys(self) -> tuple[str, str, str]:
        return (f"breaker:{self.name}:open", f"breaker:{self.name}:failing",
                f"breaker:{self.name}:probe")

    def allow(self) -> bool:
        """Whether this caller should make the call now."""
        now = time.monotonic()
        if now < self._open_until:
            return False
        if not self.shared:
            if self._failing:  # half-open: this process probes once a period
                self._open_until = now + self.open_seconds
            return True
        open_key, failing_key, probe_key = self._keys
        is_open, failing = self.cache.get_many(open_key, failing_key)
        if is_open:
            self._open_until = now + min(self.open_seconds, 1.0)  # spare the cache a while
            return False
        if failing or self._failing:
            # Half-open: exactly one caller (of every process) probes.
            self._probing = self.cache.add(probe_key, 1, max(1, round(self.probe_seconds + 1)))
            return self._probing
        return True

    def failed(self) -> None:
        """The call failed or timed out: open the breaker for everyone."""
        self._failing = True
        self._open_until = time.monotonic() + self.open_seconds
        if self.shared:
            open_key, failing_key, _ = self._keys
            seconds = max(1, round(self.open_seconds))
            self.cache.set(open_key, 1, seconds)
            self.cache.set(failing_key, 1, seconds * 10)

    def succeeded(self) -> None:
        """The call worked: close the breaker."""
        if not (self._failing or self._probing):
            return  # the usual case: nothing to close, no cache call
        self._failing = self._probing = False
        self._open_until = 0.0
        if self.shared:
            open_key, failing_key, probe_key = self._keys
            self.cache.delete_many(open_key, failing_key, probe_key)
