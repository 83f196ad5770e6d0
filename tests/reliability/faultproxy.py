"""A TCP proxy in front of PostgreSQL that fails on purpose: the network of a failover, on one machine.

Why our own: the faults that matter to a ledger sit at the commit, and only
a proxy that reads the PostgreSQL protocol can place them there (cut the
connection just before a COMMIT reaches the server, or just after the
server committed and before the client hears it). Toxiproxy, the usual
tool, is not packaged by Debian and knows bytes, not commits. This one
reads the client's messages (the startup packet, then ``type, length,
body``) and passes every byte on unless told otherwise:

- ``refuse()`` / ``accept()``: stop and start listening (clients get
  "connection refused", as from a server that is down);
- ``drop_all()``: close every open connection (a restarted server);
- ``cut_commit(nth, reached_server)``: the ``nth`` COMMIT of a transaction
  that wrote to the journal is cut: before it is sent (the transaction
  never commits) or after the server answered it (it committed, and the
  acknowledgement is lost);
- ``stall(seconds)``: hold every byte that long (a server that hangs).

Runs in threads of the test process; wonledger runs in real processes
through it. Needs ``sslmode=disable`` in the URL (encrypted traffic cannot
be read).
"""

from __future__ import annotations

import socket
import struct
import threading
import time
from dataclasses import dataclass, field

#: Startup packets that ask to encrypt: the server answers them with one byte, then the real startup follows.
ENCRYPTION_REQUESTS = (80877103, 80877104)


@dataclass
class _Cut:
    nth: int
    reached_server: bool
    seen: int = 0


@dataclass
class _Link:
    client: socket.socket
    server: socket.socket
    wrote_journal: bool = False
    #: names of statements prepared on this connection that insert journal rows (psycopg prepares what it runs often)
    journal_statements: set[bytes] = field(default_factory=set)
    #: set when the server's next bytes are the answer to a COMMIT that must be lost
    lose_next_answer: bool = False
    closed: bool = False
    lock: threading.Lock = field(default_factory=threading.Lock)

    def close(self) -> None:
        with self.lock:
            if self.closed:
                return
            self.closed = True
        for s in (self.client, self.server):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()


class FaultProxy:
    """Listens on 127.0.0.1 (``port``) and forwards to ``target``; faults on demand (see the module docstring)."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self._links: list[_Link] = []
        self._lock = threading.Lock()
        self._cut: _Cut | None = None
        self._stall_until = 0.0
        self._listener: socket.socket | None = None
        #: what happened, for tests to check that the fault they asked for took place
        self.connections = 0
        self.commits_cut = 0
        self.port = self._listen(0)

    # -- control -------------------------------------------------------------
    def url(self, base: str) -> str:
        """``base`` (a postgresql URL) pointed at this proxy, unencrypted."""
        from sqlalchemy.engine import make_url

        parsed = make_url(base)
        query = {**parsed.query, "sslmode": "disable", "gssencmode": "disable"}
        return parsed.set(host="127.0.0.1", port=self.port, query=query).render_as_string(hide_password=False)

    def refuse(self) -> None:
        """Stop listening: new connections are refused; open ones are closed too (the server is down)."""
        listener, self._listener = self._listener, None
        if listener is not None:
            try:
                listener.shutdown(socket.SHUT_RDWR)  # wakes the thread blocked in accept() (close alone would not, on Linux)
            except OSError:
                pass
            listener.close()
        self.drop_all()

    def accept(self) -> None:
        """Listen again, on the same port."""
        if self._listener is None:
            self._listen(self.port)

    def drop_all(self) -> None:
        with self._lock:
            links, self._links = self._links, []
        for link in links:
            link.close()

    def cut_commit(self, nth: int = 1, reached_server: bool = True) -> None:
        """Cut the ``nth`` commit of a transaction that wrote journal entries, once."""
        self._cut = _Cut(nth, reached_server)

    def stall(self, seconds: float) -> None:
        self._stall_until = time.monotonic() + seconds

    def close(self) -> None:
        self.refuse()

    # -- the proxy -----------------------------------------------------------
    def _listen(self, port: int) -> int:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", port))
        listener.listen(64)
        self._listener = listener
        threading.Thread(target=self._accept_loop, args=(listener,), daemon=True).start()
        return listener.getsockname()[1]

    def _accept_loop(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return  # closed by refuse()
            try:
                server = socket.create_connection(self.target)
            except OSError:
                client.close()
                continue
            link = _Link(client, server)
            with self._lock:
                self._links.append(link)
                self.connections += 1
            threading.Thread(target=self._client_to_server, args=(link,), daemon=True).start()
            threading.Thread(target=self._server_to_client, args=(link,), daemon=True).start()

    def _hold(self) -> None:
        while time.monotonic() < self._stall_until:
            time.sleep(0.05)

    def _server_to_client(self, link: _Link) -> None:
        try:
            while data := link.server.recv(65536):
                self._hold()
                if link.lose_next_answer:
                    self.commits_cut += 1
                    link.close()  # the server committed; its answer is lost with the connection
                    return
                link.client.sendall(data)
        except OSError:
            pass
        link.close()

    def _client_to_server(self, link: _Link) -> None:
        buffer = b""
        started = False
        try:
            while data := link.client.recv(65536):
                buffer += data
                while True:
                    message, buffer, started = _next_message(buffer, started)
                    if message is None:
                        break
                    self._hold()
                    if not self._forward(link, message):
                        return
        except OSError:
            pass
        link.close()

    def _forward(self, link: _Link, message: bytes) -> bool:
        """Send one client message on, or cut the connection there; False once cut."""
        query = _query_of(message)
        if query is not None and query.lstrip().upper().startswith("INSERT INTO JOURNAL"):
            link.wrote_journal = True
            if message[:1] == b"P":
                link.journal_statements.add(message[5:].split(b"\0", 1)[0])
        elif message[:1] == b"B" and message[5:].split(b"\0", 2)[1:2] and message[5:].split(b"\0", 2)[1] in link.journal_statements - {b""}:
            link.wrote_journal = True  # a prepared journal insert, bound and run again
        if query is not None and query.strip().upper() == "COMMIT":
            wrote, link.wrote_journal = link.wrote_journal, False
            cut = self._cut
            if wrote and cut is not None:
                cut.seen += 1
                if cut.seen == cut.nth:
                    self._cut = None
                    if not cut.reached_server:
                        self.commits_cut += 1
                        link.close()  # the COMMIT never reaches the server: the transaction rolls back
                        return False
                    link.lose_next_answer = True
        link.server.sendall(message)
        return True


def _next_message(buffer: bytes, started: bool) -> tuple[bytes | None, bytes, bool]:
    """The first whole message of ``buffer`` (None when more bytes are needed), the rest, and whether the startup is done."""
    if not started:
        if len(buffer) < 8:
            return None, buffer, started
        length, code = struct.unpack("!ii", buffer[:8])
        if len(buffer) < length:
            return None, buffer, started
        return buffer[:length], buffer[length:], code not in ENCRYPTION_REQUESTS
    if len(buffer) < 5:
        return None, buffer, started
    length = struct.unpack("!i", buffer[1:5])[0]
    if len(buffer) < 1 + length:
        return None, buffer, started
    return buffer[: 1 + length], buffer[1 + length :], started


def _query_of(message: bytes) -> str | None:
    """The SQL of a simple query (``Q``) or of a statement being parsed (``P``), else None."""
    kind, body = message[:1], message[5:]
    if kind == b"Q":
        return body.split(b"\0", 1)[0].decode("utf-8", "replace")
    if kind == b"P":
        parts = body.split(b"\0", 2)
        return parts[1].decode("utf-8", "replace") if len(parts) > 1 else None
    return None
