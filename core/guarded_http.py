"""The guarded HTTP client of ``core.netguard``: httpx connecting only to vetted addresses.

Apart from ``core.netguard`` so that what only checks URLs and hosts (the crawl
process, the settings) does not import httpx.
"""

from __future__ import annotations

import socket
import ssl
import time
from typing import Any

import httpcore
import httpx

from core.errors import BlockedURLError
from core.netguard import AddressPolicy, Resolve, vet_host


def _time_left(
    deadline: float | None, timeout: float | None, error: type[Exception]
) -> float | None:
    if deadline is None:
        return timeout
    left = deadline - time.monotonic()
    if left <= 0:
        raise error("the time budget for this fetch is used up")
    return left if timeout is None else min(timeout, left)


class _DeadlineStream(httpcore.NetworkStream):
    """Clamps every socket wait to what is left of the whole fetch's time budget.

    httpx's timeouts apply per read, so a server trickling a byte every few
    seconds would never time out; the deadline makes the budget total.
    """

    def __init__(self, inner: httpcore.NetworkStream, deadline: float | None) -> None:
        self._inner = inner
        self._deadline = deadline

    def _budget(self, timeout: float | None, error: type[Exception]) -> float | None:
        return _time_left(self._deadline, timeout, error)

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._inner.read(max_bytes, self._budget(timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._inner.write(buffer, self._budget(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self._inner.close()

    def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.NetworkStream:
        budget = self._budget(timeout, httpcore.ConnectTimeout)
        return _DeadlineStream(
            self._inner.start_tls(ssl_context, server_hostname, budget), self._deadline
        )

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)


class GuardedBackend(httpcore.NetworkBackend):
    """Resolves and vets the host itself, then connects to a vetted address.

    TLS still verifies the certificate against the host name, because httpcore
    passes the URL's host (not our address) as the server name.
    """

    def __init__(
        self,
        policy: AddressPolicy,
        resolve: Resolve | None = None,
        deadline: float | None = None,
    ) -> None:
        self._policy = policy
        self._resolve = resolve
        self._deadline = deadline
        self._inner = httpcore.SyncBackend()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Any = None,
    ) -> httpcore.NetworkStream:
        try:
            addresses = vet_host(host, self._policy, port=port, resolve=self._resolve)
        except socket.gaierror as exc:
            raise httpcore.ConnectError(f"cannot resolve {host!r}: {exc}") from exc
        last_error: Exception | None = None
        for ip in addresses:
            budget = _time_left(self._deadline, timeout, httpcore.ConnectTimeout)
            try:
                stream = self._inner.connect_tcp(
                    str(ip), port, budget, local_address, socket_options
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                last_error = exc
                continue
            return _DeadlineStream(stream, self._deadline)
        assert last_error is not None
        raise last_error

    def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Any = None
    ) -> httpcore.NetworkStream:
        raise BlockedURLError(path, "unix sockets are never fetched")

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)


class GuardedTransport(httpx.HTTPTransport):
    """An httpx transport whose every connection goes through `GuardedBackend`.

    No proxy support: a proxy would resolve the host on its side of the guard.
    """

    def __init__(
        self,
        policy: AddressPolicy,
        *,
        resolve: Resolve | None = None,
        deadline: float | None = None,
    ) -> None:
        super().__init__(trust_env=False)
        self._pool = httpcore.ConnectionPool(
            ssl_context=httpx.create_ssl_context(trust_env=False),
            max_connections=4,
            network_backend=GuardedBackend(policy, resolve, deadline),
        )


def guarded_client(
    policy: AddressPolicy,
    *,
    timeout: float = 30.0,
    resolve: Resolve | None = None,
    deadline: float | None = None,
) -> httpx.Client:
    """An httpx client that cannot reach blocked addresses; it does not follow redirects.

    It does not cap body sizes: stream responses and stop at a limit of your own.
    """
    return httpx.Client(
        transport=GuardedTransport(policy, resolve=resolve, deadline=deadline),
        timeout=httpx.Timeout(timeout),
        follow_redirects=False,
        trust_env=False,
    )
