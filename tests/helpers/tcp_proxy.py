"""A TCP proxy to a real server (PostgreSQL, the broker) that a test can take down and bring
back (an outage), or black-hole (a partition: connections stay open and bytes vanish)."""

from __future__ import annotations

import socket
import threading

from sqlalchemy.engine import make_url


class TcpProxy:
    def __init__(self, target_port: int, target_host: str = "127.0.0.1", target_socket: str | None = None) -> None:
        # `target_socket`: a Unix socket to forward to instead (the embedded PostgreSQL listens on one)
        self.target: tuple[str, int] | str = target_socket or (target_host, target_port)
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self._listener: socket.socket | None = None
        self._conns: list[socket.socket] = []
        self._lock = threading.Lock()
        self._black_hole = threading.Event()

    @classmethod
    def in_front_of(cls, database_url: str) -> tuple[TcpProxy, str]:
        """A proxy, up, to the server of `database_url`, and the same URL through the proxy."""
        url = make_url(database_url)
        directory = url.query.get("host")
        if isinstance(directory, str) and directory.startswith("/"):  # a Unix socket's folder, no TCP port
            port = url.query.get("port") or url.port or 5432
            proxy = cls(0, target_socket=f"{directory}/.s.PGSQL.{port}")
            url = url.difference_update_query(["host", "port"]).set(host="127.0.0.1")
        else:
            proxy = cls(url.port or 5432, url.host or "127.0.0.1")
        proxy.up()
        return proxy, url.set(port=proxy.port).render_as_string(hide_password=False)

    def up(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def down(self) -> None:
        """Refuse new connections and cut the open ones, as a crashed server would."""
        if self._listener is not None:
            try:
                self._listener.shutdown(socket.SHUT_RDWR)  # wakes the accepting thread; close() alone does not
            except OSError:
                pass
            self._listener.close()
            self._listener = None
        with self._lock:
            for conn in self._conns:
                try:
                    conn.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                conn.close()
            self._conns.clear()

    def black_hole(self) -> None:
        """A partition: connections are taken and kept, nothing passes either way, nobody is told."""
        self._black_hole.set()

    def heal(self) -> None:
        """End a partition: the connections that lost bytes are cut (their streams are broken),
        new ones pass again."""
        self._black_hole.clear()
        with self._lock:
            broken, self._conns = self._conns, []
        for conn in broken:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            conn.close()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            if self._black_hole.is_set():
                with self._lock:
                    self._conns.append(client)
                threading.Thread(target=self._pipe, args=(client, None), daemon=True).start()
                continue
            if isinstance(self.target, str):
                server = socket.socket(socket.AF_UNIX)
                server.connect(self.target)
            else:
                server = socket.create_connection(self.target)
            with self._lock:
                self._conns += [client, server]
            for a, b in ((client, server), (server, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    def _pipe(self, src: socket.socket, dst: socket.socket | None) -> None:
        try:
            while data := src.recv(65536):
                if dst is not None and not self._black_hole.is_set():
                    dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst) if dst is not None else (src,):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
