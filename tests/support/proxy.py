"""A real TCP proxy in front of PostgreSQL or Redis, for tests that count round trips or fault
the network: freeze it (the server seems to hang: nothing passes, nothing is refused), thaw
it, or cut every connection (as a restart of the server would)."""

import select
import socket
import threading
from contextlib import contextmanager, suppress
from urllib.parse import urlsplit, urlunsplit


class Proxy:
    """Forwards 127.0.0.1:<port> to `target`, on one thread.

    `round_trips` counts the times a client sent after the server last answered (or first):
    one request and its answer, however many packets either took. A pipeline long enough
    for the server to answer its start before the rest arrives counts more than once.
    """

    def __init__(self, target: tuple[str, int]):
        self.target = target
        self.round_trips = 0
        self.connections = 0
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._wake_r, self._wake_w = socket.socketpair()
        self._peer: dict[socket.socket, socket.socket] = {}  # each side to the other
        self._clients: set[socket.socket] = set()
        self._pending: dict[socket.socket, bytearray] = {}  # bytes waiting to go to a socket
        self._client_spoke_last: dict[socket.socket, bool] = {}
        self._draining: set[socket.socket] = set()  # to close once their bytes are out
        self._lock = threading.Lock()
        self._frozen = False
        self._stopping = False
        self._requests: list[threading.Event] = []  # cuts the proxy's thread is to make
        self._thread = threading.Thread(target=self._run, daemon=True, name="proxy")
        self._thread.start()

    def url_for(self, url: str) -> str:
        """`url` (postgresql://... or redis://...) pointed at the proxy instead."""
        parts = urlsplit(url)
        userinfo = parts.netloc.rpartition("@")[0]
        netloc = f"{userinfo}@127.0.0.1:{self.port}" if userinfo else f"127.0.0.1:{self.port}"
        return urlunsplit(parts._replace(netloc=netloc))

    def freeze(self) -> None:
        """Nothing passes either way and new connections get no answer, as if the server's
        packets were dropped."""
        with self._lock:
            self._frozen = True
        self._wake()

    def thaw(self) -> None:
        """Let everything held pass, as retransmission would once the network is back."""
        with self._lock:
            self._frozen = False
        self._wake()

    def cut(self) -> None:
        """Close every connection, as a restart of the server does; returns once the clients
        have been told (a socket closed while the proxy's thread waits on it would only
        really close when that wait ends)."""
        done = threading.Event()
        with self._lock:
            self._requests.append(done)
        self._wake()
        done.wait(5)

    @contextmanager
    def counting(self):
        """Round trips made inside the block: `with proxy.counting() as trips:`, then
        `trips()`."""
        start = self.round_trips
        yield lambda: self.round_trips - start

    def close(self) -> None:
        self.cut()
        self._stopping = True
        self._wake()
        self._thread.join(5)
        for sock in (self._listener, self._wake_r, self._wake_w):
            sock.close()

    def _wake(self) -> None:
        with suppress(OSError):
            self._wake_w.send(b"x")

    def _run(self) -> None:
        while not self._stopping:
            with self._lock:
                readers, writers = [self._wake_r], []
                if not self._frozen:
                    readers += [self._listener,
                                *(s for s in self._peer if self._peer[s] not in self._draining)]
                    writers = [s for s, data in self._pending.items() if data]
            readable, writable, _ = select.select(readers, writers, [], 0.5)
            with self._lock:
                if self._requests:
                    for sock in list(self._clients):
                        self._close(sock)
                    readable, writable = [s for s in readable if s in (
                        self._wake_r, self._listener)], []
                    for done in self._requests:
                        done.set()
                    self._requests.clear()
                for sock in readable:
                    if sock is self._wake_r:
                        self._wake_r.recv(4096)
                    elif sock is self._listener:
                        self._accept()
                    elif sock in self._peer:
                        self._read(sock)
                for sock in writable:
                    if sock in self._peer:
                        self._write(sock)

    def _accept(self) -> None:
        client, _ = self._listener.accept()
        try:
            server = socket.create_connection(self.target, timeout=5)
        except OSError:
            client.close()
            return
        for sock in (client, server):
            sock.setblocking(False)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self._pending[sock] = bytearray()
        self._peer[client], self._peer[server] = server, client
        self._clients.add(client)
        self._client_spoke_last[client] = False
        self.connections += 1

    def _read(self, sock: socket.socket) -> None:
        try:
            data = sock.recv(65536)
        except OSError:
            data = b""
        if not data:
            peer = self._peer[sock]
            if self._pending[peer]:  # an answer followed by a close: deliver it, then close
                self._draining.add(peer)
            else:
                self._close(sock)
            return
        client = sock if sock in self._clients else self._peer[sock]
        if sock is client and not self._client_spoke_last[client]:
            self.round_trips += 1
        self._client_spoke_last[client] = sock is client
        self._pending[self._peer[sock]] += data

    def _write(self, sock: socket.socket) -> None:
        try:
            sent = sock.send(self._pending[sock])
        except BlockingIOError:
            return
        except OSError:
            self._close(sock)
            return
        del self._pending[sock][:sent]
        if sock in self._draining and not self._pending[sock]:
            self._close(sock)

    def _close(self, sock: socket.socket) -> None:
        for side in (sock, self._peer.get(sock)):
            if side is None:
                continue
            self._peer.pop(side, None)
            self._pending.pop(side, None)
            self._clients.discard(side)
            self._client_spoke_last.pop(side, None)
            self._draining.discard(side)
            side.close()


@contextmanager
def proxy_to(url: str):
    """A Proxy in front of the server of `url`; yields (proxy, the URL through it)."""
    parts = urlsplit(url)
    proxy = Proxy((parts.hostname, parts.port))
    try:
        yield proxy, proxy.url_for(url)
    finally:
        proxy.close()
