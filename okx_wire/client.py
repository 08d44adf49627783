"""The OKX V5 REST client: one pooled session, signing, rate budgets, envelope checks, models.

Every request goes through ``_call``: the query string and the JSON body are serialized once,
and exactly those bytes are both signed and sent (the request is prepared by hand so that
nothing re-encodes it on the way). Every answer's envelope ``code`` is checked, not only the
HTTP status, because OKX reports most errors with HTTP 200.

The client does not retry, with one exception: a timestamp refusal (50102) is answered by
re-syncing with the server clock and sending the same request once more, which is safe because
OKX refused it before applying anything. Every other retry belongs to the caller (Prefect), who
knows whether repeating is safe.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import logging
import os
import re
import socket
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Any, Final, NoReturn
from urllib.parse import quote, urlencode, urljoin, urlsplit

import requests
import urllib3
from pydantic import ValidationError
from requests.cookies import RequestsCookieJar
from requests.structures import CaseInsensitiveDict
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

from okx_wire.algo_orders import AlgoOrdersApi
from okx_wire.auth import ApiCredentials, Clock, Signer, mask_headers, system_clock
from okx_wire.endpoints import (
    BOOK_DEPTH,
    BY_KEY,
    CANCEL_ALL_AFTER_S,
    MAX_BALANCE_CCYS,
    MAX_BATCH_ORDERS,
    MAX_SIZE_INSTS,
    PAGE_LIMIT,
    E,
    Endpoint,
)
from okx_wire.errors import (
    AmbiguousReply,
    ConfigurationError,
    ConnectionFailed,
    ErrorContext,
    ExchangeUnavailable,
    NetworkError,
    OkxError,
    OrderNotFound,
    RequestTimeout,
    UnexpectedReply,
    from_code,
    hint_for,
)
from okx_wire.hosts import is_global_host, resolve_base_url
from okx_wire.limits import Limiter, SlidingWindowLimiter, demands
from okx_wire.market_data import MarketDataApi
from okx_wire.models import (
    AccountConfig,
    Balance,
    Bill,
    DeadManTimer,
    Fill,
    Instrument,
    MaxAvailSize,
    MaxSize,
    Order,
    OrderAck,
    OrderBook,
    ServerTime,
    Ticker,
    TradeFee,
)
from okx_wire.orders import Amend, OrderRequest, spot_td_mode
from okx_wire.precision import format_decimal
from okx_wire.runtime import RUNTIME, Registry

log = logging.getLogger(__name__)

DEFAULT_CONNECT_TIMEOUT: Final = 3.05
DEFAULT_READ_TIMEOUT: Final = 10.0
#: Bound on a whole call: connect, send, headers and body. The read timeout is per socket read,
#: so a server trickling one byte at a time would never trip it.
DEFAULT_TOTAL_TIMEOUT: Final = 30.0
#: The largest answer read; OKX's biggest pages are a few hundred KiB.
MAX_BODY_BYTES: Final = 32 * 1024 * 1024
#: How often the client re-learns the exchange clock even without a timestamp refusal.
TIME_SYNC_INTERVAL_S: Final = 600.0
#: Extra width of each rate window the client honours. Requests are stamped when their answer
#: arrives (``SlidingWindowLimiter.hold``), which already covers network delay; this only absorbs
#: clock granularity.
DEFAULT_RATE_SLACK: Final = 0.005
_NO_LIMIT: Final = contextlib.nullcontext()
#: OKX's page size on the order and fill listings.
FILLS_PAGE: Final = PAGE_LIMIT
_EMPTY_HOOKS: Final[dict[str, list[Any]]] = {"response": []}

_LIMITERS: Final[Registry[str, SlidingWindowLimiter]] = RUNTIME.registry("in-process limiters")


def shared_limiter(base_url: str, slack: float = DEFAULT_RATE_SLACK) -> SlidingWindowLimiter:
    """One limiter per venue per process, so every client of a key draws from one budget."""
    return _LIMITERS.get(base_url, lambda: SlidingWindowLimiter(slack=slack))


class _Unlisted:
    """An endpoint outside the table, sent through ``OkxClient.request``: no budget."""

    __slots__ = ("method", "path", "private")

    def __init__(self, method: str, path: str, private: bool) -> None:
        self.method, self.path, self.private = method, path, private


# -- the total deadline ------------------------------------------------------------------------


#: The real monotonic clock, held where freezegun (which swaps module attributes that are the
#: time functions) does not reach: deadlines and sync ages must not jump when a test freezes
#: the wall clock around a running client.
_REAL_CLOCKS: Final = {"monotonic": time.monotonic}


def _monotonic() -> float:
    return _REAL_CLOCKS["monotonic"]()


class _Watch:
    """One call's deadline and the socket it currently uses."""

    __slots__ = ("deadline", "sock", "fired")

    def __init__(self, deadline: float) -> None:
        self.deadline = deadline
        self.sock: socket.socket | None = None
        self.fired = False

    def attach(self, sock: socket.socket | None) -> None:
        if sock is None or sock is self.sock:
            return
        self.sock = sock
        if self.fired:  # the deadline passed while the connection was being made
            _shut(sock)


def _shut(sock: socket.socket) -> None:
    # The plain-socket shutdown, also for a TLS socket: it wakes a blocked read (which then
    # fails) without touching the TLS object another thread is using.
    with contextlib.suppress(OSError):
        socket.socket.shutdown(sock, socket.SHUT_RDWR)


class _Watchdog:
    """One thread per process that shuts down the socket of every call past its deadline.

    Arming and disarming a call take one lock each and wake the thread only when the new
    deadline is the earliest; the thread sleeps until the earliest deadline it knows of, so a
    process making back-to-back calls wakes it about once per ``total_timeout``. Calls in flight
    are few (one per thread), so finding the earliest is a scan, not a heap.
    """

    def __init__(self) -> None:
        self.local = threading.local()
        self._reset()

    def _reset(self) -> None:
        """Fresh state (also in a forked child: the parent's thread and lock do not come along)."""
        self._lock = threading.Lock()
        self._wake = threading.Condition(self._lock)
        self._active: dict[int, _Watch] = {}
        self._next_wake = float("inf")
        self._thread: threading.Thread | None = None
        self._pid = 0

    def arm(self, timeout: float) -> _Watch:
        watch = _Watch(_monotonic() + timeout)
        with self._lock:
            if self._thread is None or self._pid != os.getpid():  # first use, or a forked child
                self._pid = os.getpid()
                self._thread = threading.Thread(target=self._run, name="okx-deadline", daemon=True)
                self._thread.start()
            self._active[id(watch)] = watch
            if watch.deadline < self._next_wake:
                self._next_wake = watch.deadline
                self._wake.notify()
        self.local.watch = watch
        return watch

    def disarm(self, watch: _Watch) -> None:
        self.local.watch = None
        with self._lock:
            # Under the lock: once this returns, the thread never touches the socket again
            # (the pool may hand it to the next call).
            self._active.pop(id(watch), None)

    def _run(self) -> None:
        with self._lock:
            while True:
                now = _monotonic()
                earliest = float("inf")
                for key, watch in list(self._active.items()):
                    if watch.deadline <= now:
                        watch.fired = True
                        del self._active[key]
                        if watch.sock is not None:
                            _shut(watch.sock)
                    elif watch.deadline < earliest:
                        earliest = watch.deadline
                self._next_wake = earliest
                self._wake.wait(None if earliest == float("inf") else earliest - now)


_WATCHDOG: Final = _Watchdog()
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_WATCHDOG._reset)


def _attach_current(sock: socket.socket | None) -> None:
    watch = getattr(_WATCHDOG.local, "watch", None)
    if watch is not None:
        watch.attach(sock)


class _Watched:
    """Mixed into urllib3's connections: hands the socket to the current call's deadline, on
    connect and on every reuse."""

    sock: socket.socket | None

    def connect(self) -> None:
        super().connect()  # type: ignore[misc]
        _attach_current(self.sock)

    def request(self, *args: Any, **kwargs: Any) -> None:
        _attach_current(self.sock)
        super().request(*args, **kwargs)  # type: ignore[misc]


class _WatchedHTTPConnection(_Watched, HTTPConnection):
    pass


class _WatchedHTTPSConnection(_Watched, HTTPSConnection):
    pass


class _WatchedHTTPPool(HTTPConnectionPool):
    ConnectionCls = _WatchedHTTPConnection


class _WatchedHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _WatchedHTTPSConnection


_WATCHED_POOLS: Final = {"http": _WatchedHTTPPool, "https": _WatchedHTTPSPool}


class DeadlineAdapter(requests.adapters.HTTPAdapter):
    """An HTTPAdapter whose connections report their sockets to the client's total deadline.

    Mount it on a session you pass to ``OkxClient(session=...)`` to keep the deadline: without
    it only the per-read timeout applies.
    """

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = dict(_WATCHED_POOLS)

    def proxy_manager_for(self, proxy: str, **proxy_kwargs: Any) -> urllib3.PoolManager:
        manager = super().proxy_manager_for(proxy, **proxy_kwargs)
        manager.pool_classes_by_scheme = dict(_WATCHED_POOLS)
        return manager


def encode_query(params: Mapping[str, object] | None) -> str:
    """The query string, encoded once; empty and None values are left out, as OKX ignores them."""
    if not params:
        return ""
    items = [(k, _param(v)) for k, v in params.items() if v is not None and v != ""]
    return urlencode(items, quote_via=quote, safe=",")


def encode_body(payload: object) -> str:
    """Compact JSON (no spaces): the exact text that is signed and sent."""
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False)


def _param(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        return format_decimal(value)
    return str(value)


class OkxClient(MarketDataApi, AlgoOrdersApi):
    """A synchronous OKX V5 client for one API key on one venue.

    ``credentials`` may be omitted for public market data. ``limiter`` defaults to the shared
    Redis budget when the settings name one (``RUNTIME.settings.rate_limit_url``, from
    ``OKX_RATE_LIMIT_URL``; see docs/rate-limits.md), else to the process-wide limiter of the
    venue; pass ``rate_limit=False`` only when something else throttles. Every request draws
    from the budget its row in ``okx_wire.endpoints`` names.

    ``total_timeout`` bounds every call from connect to the last body byte (``read_timeout``
    only bounds each socket read). With ``time_sync`` (the default) the client learns the
    exchange clock before its first private call and every ``TIME_SYNC_INTERVAL_S`` after, so
    timestamps and ``now_ms()`` (hence every ``expTime``) are exchange time, not local time.
    """

    def __init__(
        self,
        credentials: ApiCredentials | None = None,
        *,
        base_url: str | None = None,
        region: str | None = None,
        demo: bool = False,
        connect_timeout: float = DEFAULT_CONNECT_TIMEOUT,
        read_timeout: float = DEFAULT_READ_TIMEOUT,
        total_timeout: float = DEFAULT_TOTAL_TIMEOUT,
        time_sync: bool = True,
        clock: Clock = system_clock,
        limiter: Limiter | None = None,
        rate_limit: bool = True,
        session: requests.Session | None = None,
        pool_size: int = 16,
    ) -> None:
        self.base_url = resolve_base_url(base_url, region)
        self.demo = demo
        self._signer = Signer(credentials, clock=clock, demo=demo) if credentials else None
        self._user = credentials.api_key if credentials else ""
        self._clock = clock
        self._timeout = (connect_timeout, read_timeout)
        if not total_timeout > 0:
            raise ConfigurationError(f"total_timeout must be positive, got {total_timeout!r}")
        self._total_timeout = float(total_timeout)
        self._time_sync = time_sync
        #: _monotonic() of the last clock sync, None before the first.
        self._synced_at: float | None = None
        self._sync_lock = threading.Lock()
        self._acct_lv: str | None = None
        self._offset_ms = 0
        if limiter is None and rate_limit:
            settings = RUNTIME.settings
            if settings.rate_limit_url:
                # Several workers on one key: draw from the budget they share (imported lazily,
                # redis costs ~70 ms to import).
                from okx_wire.shared_limits import limiter_for

                limiter = limiter_for(settings)
        self._limiter = (limiter or shared_limiter(self.base_url)) if rate_limit else None
        self._ip_key = urlsplit(self.base_url).netloc
        self._session = session or requests.Session()
        #: Our own adapter is called directly (Session.send's hooks, cookies and redirect
        #: bookkeeping are all unused here); a caller's session goes through Session.send.
        self._adapter: requests.adapters.HTTPAdapter | None = None
        if session is None:
            self._adapter = DeadlineAdapter(pool_connections=1, pool_maxsize=pool_size, max_retries=0)
            self._session.mount("http://", self._adapter)
            self._session.mount("https://", self._adapter)
        # Proxy settings are read once: per-request environment lookups cost more than signing.
        self._proxies = requests.utils.get_environ_proxies(self.base_url) if self._session.trust_env else {}
        self._public_headers = {"Content-Type": "application/json"}
        if demo:
            self._public_headers["x-simulated-trading"] = "1"
        self._error_context = ErrorContext(base_url=self.base_url, demo=demo,
                                           global_host=is_global_host(self.base_url))

    def __repr__(self) -> str:
        return f"OkxClient(base_url={self.base_url!r}, demo={self.demo}, api_key={self._user or None!r})"

    def __enter__(self) -> OkxClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._session.close()

    @property
    def signer(self) -> Signer:
        """The request signer (for signing a request this client does not send itself)."""
        if self._signer is None:
            raise ConfigurationError("this client has no credentials to sign with")
        return self._signer

    @property
    def clock_offset_ms(self) -> int:
        """Server clock minus local clock, as learned by the last sync (0 before any)."""
        return self._signer.offset_ms if self._signer else self._offset_ms

    def hold_budget(self, endpoint: Endpoint, inst_ids: Sequence[str] = ()) -> contextlib.AbstractContextManager[None]:
        """Hold the rate budget one request of ``endpoint`` draws from, around sending it another
        way (an order op over WebSocket draws from its REST twin's budget, keyed as OKX keys it).

        Blocks until the request fits; the request counts as in flight until the block exits.
        """
        wanted = demands(endpoint.method, endpoint.path, ip=self._ip_key, user=self._user, inst_ids=inst_ids)
        return self._limiter.hold(wanted) if self._limiter is not None and wanted else _NO_LIMIT

    # -- the one request path -------------------------------------------------------------

    def _call(
        self,
        endpoint: Endpoint | _Unlisted,
        *,
        params: Mapping[str, object] | None = None,
        payload: object = None,
        inst_ids: Sequence[str] = (),
        inst_type: str = "",
        headers: Mapping[str, str] | None = None,
    ) -> dict[str, Any]:
        method, path, private = endpoint.method, endpoint.path, endpoint.private
        if private and self._signer is None:
            raise ConfigurationError(
                f"{method} {path} needs API credentials: set OKX_API_KEY, OKX_SECRET_KEY and "
                "OKX_PASSPHRASE, or pass credentials to the client"
            )
        if private and self._time_sync:
            self._sync_if_due()
        query = encode_query(params)
        request_path = f"{path}?{query}" if query else path
        body = "" if payload is None else encode_body(payload)
        wanted = demands(method, path, ip=self._ip_key, user=self._user, inst_type=inst_type, inst_ids=inst_ids)
        envelope, status = self._send(method, request_path, body, private, wanted, headers)
        if envelope.get("code") == "50102" and private:
            # The timestamp was refused before anything was applied: learn the server clock, resend once.
            self.sync_time()
            envelope, status = self._send(method, request_path, body, private, wanted, headers)
        return self._check(envelope, status, method, path)

    def _send(
        self,
        method: str,
        request_path: str,
        body: str,
        private: bool,
        wanted: list[Any],
        extra: Mapping[str, str] | None,
    ) -> tuple[dict[str, Any], int]:
        # The budget is held around signing and sending: the timestamp is taken after any wait,
        # and the request counts as in flight until its answer is in.
        with self._limiter.hold(wanted) if self._limiter is not None and wanted else _NO_LIMIT:
            prepared = self._prepare(method, request_path, body, private, extra)
            status, content, headers = self._exchange(prepared, method, request_path)
        return self._envelope(status, content, headers, method, request_path), status

    def _exchange(self, prepared: requests.PreparedRequest, method: str,
                  request_path: str) -> tuple[int, bytes, Mapping[str, str]]:
        """Send and read the whole answer within ``total_timeout``; never follows a redirect."""
        what = f"{method} {_path_only(request_path)}"
        watch = _WATCHDOG.arm(self._total_timeout)
        try:
            try:
                if self._adapter is not None:
                    response = self._adapter.send(prepared, stream=True, timeout=self._timeout,
                                                  verify=True if self._session.verify is None else self._session.verify,
                                                  cert=self._session.cert,
                                                  proxies=self._proxies)
                else:
                    # Session.send looks for a redirect target even when not following it,
                    # which needs the cookie jar a hand-prepared request lacks.
                    prepared._cookies = RequestsCookieJar()  # type: ignore[attr-defined]
                    response = self._session.send(prepared, stream=True, timeout=self._timeout,
                                                  allow_redirects=False, proxies=self._proxies)
                content = _read_capped(response, what)
            except (requests.exceptions.RequestException, urllib3.exceptions.HTTPError,
                    http.client.HTTPException, OSError, ValueError) as exc:
                if watch.fired:
                    raise RequestTimeout(f"no complete answer from {self.base_url} within the total timeout of "
                                         f"{self._total_timeout:g} s; the request may or may not have been applied",
                                         request=what) from None
                self._raise_transport(exc, what)
        finally:
            _WATCHDOG.disarm(watch)
        return response.status_code, content, response.headers

    def _raise_transport(self, exc: BaseException, what: str) -> NoReturn:
        if isinstance(exc, requests.exceptions.ConnectTimeout):
            raise ConnectionFailed(f"could not connect to {self.base_url} in time ({exc.__class__.__name__})",
                                   request=what) from None
        if isinstance(exc, requests.exceptions.Timeout):
            raise RequestTimeout(f"no answer from {self.base_url} within {self._timeout[1]} s; "
                                 "the request may or may not have been applied", request=what) from None
        if isinstance(exc, requests.exceptions.ConnectionError):
            cls = ConnectionFailed if _never_connected(exc) else NetworkError
            raise cls(f"connection to {self.base_url} failed: {_reason(exc)}", request=what) from None
        if isinstance(exc, ValueError):
            # http.client and requests refuse a header or URL they cannot send with an error
            # that quotes it; a header may hold the passphrase, so that text is not passed on.
            raise ConfigurationError(
                "the request could not be sent: a header or the URL holds characters HTTP does not allow "
                "-- check the credentials and base_url for stray characters", request=what) from None
        raise NetworkError(f"connection to {self.base_url} failed: {_reason(exc)}", request=what) from None

    def _envelope(self, status: int, content: bytes, headers: Mapping[str, str], method: str,
                  request_path: str) -> dict[str, Any]:
        """The OKX envelope of an answer, or one clear error for anything else."""
        what = f"{method} {_path_only(request_path)}"
        if 300 <= status < 400:
            location = headers.get("Location") or ""
            target = urljoin(self.base_url + request_path, location) if location else ""
            parts = urlsplit(target)
            final = f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else "the host it names"
            raise UnexpectedReply(
                f"HTTP {status}: the venue redirected to {_printable(location, 160) or '(no Location)'}; "
                "signed requests are not followed", http_status=status, request=what,
                hint=f"set base_url to the final host ({_printable(final, 120)})")
        try:
            envelope = json.loads(content)
        except ValueError:
            envelope = None
        if isinstance(envelope, dict) and "code" in envelope:
            return envelope
        shape = "JSON that is not an OKX envelope" if envelope is not None else "a body that is not OKX JSON"
        text = f"HTTP {status} with {shape} ({self._excerpt(content, headers)})"
        if status >= 500 or status == 429:
            raise ExchangeUnavailable(text, http_status=status, request=what)
        if _is_trade_write(method, request_path):
            raise AmbiguousReply(text + "; the request may or may not have been applied", http_status=status,
                                 request=what, hint="look the order up by its clOrdId")
        raise UnexpectedReply(text, http_status=status, request=what)

    def _excerpt(self, content: bytes, headers: Mapping[str, str]) -> str:
        """A short, printable, secret-free excerpt of an answer for an error message."""
        kind = (headers.get("Content-Type") or "no content type").split(";", 1)[0].strip()
        text = content[:4096].decode("utf-8", "replace")
        title = _TITLE.search(text)
        shown = f"title {_printable(title.group(1), 80)!r}" if title else (
            repr(_printable(text, 80)) if text.strip() else "empty")
        if self._signer is not None:
            shown = self._signer.redact(shown)
        return f"{_printable(kind, 40)}, {len(content)} bytes: {shown}"

    def _prepare(self, method: str, request_path: str, body: str, private: bool,
                 extra: Mapping[str, str] | None) -> requests.PreparedRequest:
        """The request exactly as it goes on the wire: built by hand, so nothing re-encodes the
        path or body that was signed."""
        if private:
            assert self._signer is not None
            headers = self._signer.headers(method, request_path, body)
        elif body:
            headers = dict(self._public_headers)
        else:
            headers = {}
        if extra:
            headers.update(extra)
        prepared = requests.PreparedRequest()
        prepared.method = method
        prepared.url = self.base_url + request_path
        prepared.headers = CaseInsensitiveDict(headers)
        if body:
            prepared.body = body.encode()
            prepared.headers["Content-Length"] = str(len(prepared.body))
        else:
            prepared.body = None
            if method != "GET":
                prepared.headers["Content-Length"] = "0"
        prepared.hooks = _EMPTY_HOOKS
        if log.isEnabledFor(logging.DEBUG):
            log.debug("OKX %s %s headers=%s", method, request_path, mask_headers(headers))
        return prepared

    def _check(self, envelope: dict[str, Any], status: int, method: str, path: str) -> dict[str, Any]:
        code = str(envelope.get("code", ""))
        data = envelope.get("data")
        if code == "0" and status < 400:
            if not isinstance(data, list):
                # Every V5 answer carries a data list; without one the endpoint methods cannot
                # read it, and for an order it cannot say what happened.
                text = f"HTTP {status} OKX answer with code 0 but no data list"
                if _is_trade_write(method, path):
                    raise AmbiguousReply(text + "; the request may or may not have been applied",
                                         http_status=status, request=f"{method} {path}",
                                         hint="look the order up by its clOrdId")
                raise UnexpectedReply(text, http_status=status, request=f"{method} {path}")
            return envelope
        if code in ("1", "2") and isinstance(data, list) and data and isinstance(data[0], dict) and "sCode" in data[0]:
            return envelope  # per-item outcomes: the endpoint method decides
        context = self._error_context
        if code == "50102":
            context = ErrorContext(base_url=context.base_url, demo=context.demo, global_host=context.global_host,
                                   clock_offset_ms=self.clock_offset_ms)
        if not code:
            code = "50026" if status >= 500 else ""
        raise from_code(code, _printable(str(envelope.get("msg", "")).strip(), 300), http_status=status,
                        hint=hint_for(code, context), request=f"{method} {path}")

    def item_error(self, ack: OrderAck, method: str, path: str) -> OkxError | None:
        """The exception an item's sCode stands for, or None when the item succeeded.

        An item with sCode "0" but no ``ordId`` did not prove anything was placed: it gets an
        ``AmbiguousReply`` (``outcome_unknown``), so the caller looks the order up by clOrdId.
        """
        if ack.ok:
            return None
        request = f"{method} {path}" + (f" clOrdId={ack.cl_ord_id}" if ack.cl_ord_id else "")
        if ack.s_code == "0":
            return AmbiguousReply("the answer says success but carries no ordId; the request may or may not "
                                  "have been applied", code="0", request=request,
                                  hint="look the order up by its clOrdId")
        return from_code(ack.s_code, ack.s_msg.strip(), hint=hint_for(ack.s_code, self._error_context),
                         request=request)

    def _single_ack(self, envelope: dict[str, Any], method: str, path: str) -> OrderAck:
        data = envelope["data"]
        item = data[0] if data else None
        if not isinstance(item, dict):
            raise AmbiguousReply("the answer carries no order item; the request may or may not have been applied",
                                 code=str(envelope.get("code", "")), request=f"{method} {path}",
                                 hint="look the order up by its clOrdId")
        ack = OrderAck.model_validate(item)
        error = self.item_error(ack, method, path)
        if error is not None:
            raise error
        return ack

    # -- public ---------------------------------------------------------------------------------

    def server_time(self) -> ServerTime:
        """OKX's clock.

        Returns:
            The server time (``ts``, Unix ms).

        Raises:
            OkxError: the venue refused or could not be reached (as for every method below).
        """
        data = self._call(E.public_time)["data"]
        return ServerTime.model_validate(data[0])

    def sync_time(self) -> int:
        """Learn the server clock; every later timestamp carries the offset.

        The client calls this itself before its first private call, every
        ``TIME_SYNC_INTERVAL_S`` after, and after a timestamp refusal (50102).

        Returns:
            Server clock minus local clock, in ms.

        Raises:
            UnexpectedReply: the answer carried no ``ts``.
        """
        before = self._clock()
        server = self.server_time().ts
        after = self._clock()
        if server is None:
            raise UnexpectedReply("GET /api/v5/public/time answered without a ts", request="GET /api/v5/public/time")
        offset = server - (before + after) // 2
        if self._signer is not None:
            self._signer.offset_ms = offset
        self._offset_ms = offset
        self._synced_at = _monotonic()
        log.info("OKX clock offset %+d ms (round trip %d ms)", offset, after - before)
        return offset

    def _sync_if_due(self) -> None:
        """Sync the clock when never synced or when the last sync is too old (one thread does it)."""
        synced = self._synced_at
        if synced is not None and 0 <= _monotonic() - synced < TIME_SYNC_INTERVAL_S:
            return
        with self._sync_lock:
            synced = self._synced_at
            if synced is None or not 0 <= _monotonic() - synced < TIME_SYNC_INTERVAL_S:
                self.sync_time()

    def instruments(self, inst_type: str = "SPOT", inst_id: str | None = None) -> list[Instrument]:
        """Instruments of one type, with the tick, lot and minimum sizes orders must respect.

        Args:
            inst_type: OKX's ``instType`` (its budget is counted per type).
            inst_id: only this instrument.

        Returns:
            The instruments; an unknown ``inst_id`` raises (51001) rather than returning none.
        """
        data = self._call(E.instruments, params={"instType": inst_type, "instId": inst_id},
                          inst_type=inst_type)["data"]
        return [Instrument.model_validate(item) for item in data]

    def order_book(self, inst_id: str, depth: int = 1) -> OrderBook:
        """The order book of one instrument.

        Args:
            inst_id: e.g. ``BTC-USDT``.
            depth: levels per side, 1..400 (OKX's range).

        Returns:
            Bids and asks, best first.

        Raises:
            ConfigurationError: ``depth`` outside 1..400 (refused before sending).
            OrderNotFound: the venue answered with no book.
        """
        if depth not in BOOK_DEPTH:
            raise ConfigurationError(f"order book depth must be {BOOK_DEPTH.start}..{BOOK_DEPTH.stop - 1}, got {depth}")
        data = self._call(E.books, params={"instId": inst_id, "sz": depth})["data"]
        if not data:
            raise OrderNotFound(f"no order book for {inst_id}")
        return OrderBook.model_validate({**data[0], "instId": inst_id})

    def ticker(self, inst_id: str) -> Ticker:
        """The latest trade price, best bid and ask and 24 h figures of one instrument."""
        data = self._call(E.ticker, params={"instId": inst_id})["data"]
        return Ticker.model_validate(data[0])

    def tickers(self, inst_type: str = "SPOT") -> list[Ticker]:
        """Every instrument's ticker in one request (cheaper than one ``ticker`` call each)."""
        data = self._call(E.tickers, params={"instType": inst_type})["data"]
        return [Ticker.model_validate(item) for item in data]

    # -- account --------------------------------------------------------------------------------

    def balance(self, ccys: Iterable[str] | None = None) -> Balance:
        """The trading account's balances, optionally of some currencies only.

        Args:
            ccys: the currencies wanted. OKX takes at most 20 in its filter; for more, the whole
                account is fetched (one request either way) and filtered here.

        Returns:
            The balance; OKX lists only currencies with a non-zero balance.
        """
        wanted = list(dict.fromkeys(ccys)) if ccys else []
        ccy = ",".join(wanted) if 0 < len(wanted) <= MAX_BALANCE_CCYS else None
        data = self._call(E.balance, params={"ccy": ccy})["data"]
        balance = Balance.model_validate(data[0]) if data else Balance()
        if len(wanted) > MAX_BALANCE_CCYS:
            keep = set(wanted)
            balance = balance.model_copy(update={"details": [d for d in balance.details if d.ccy in keep]})
        return balance

    def account_config(self) -> AccountConfig:
        """The key's account settings, including its permissions (``perm``), bound IPs and account
        mode (``acct_lv``, which this client remembers: it sets the ``tdMode`` of spot orders)."""
        data = self._call(E.account_config)["data"]
        try:
            config = AccountConfig.model_validate(data[0])
        except (IndexError, KeyError, TypeError, ValidationError):
            raise UnexpectedReply("the account configuration is missing or not OKX's shape",
                                  request=f"GET {E.account_config.path}") from None
        self._acct_lv = config.acct_lv or "1"
        return config

    def spot_td_mode(self) -> str:
        """The ``tdMode`` spot orders need on this account: ``cash`` in Spot and Futures mode,
        ``cross`` in Multi-currency and Portfolio margin (which refuse ``cash``). The account mode
        is read once (``account/config``) and kept: OKX only lets it change with no open orders or
        positions, from its web or app, so a long-lived process re-reads it with ``forget_account_mode``."""
        if self._acct_lv is None:
            self.account_config()
        return spot_td_mode(self._acct_lv)

    def forget_account_mode(self) -> None:
        self._acct_lv = None

    def trade_fee(self, inst_type: str = "SPOT", inst_id: str | None = None) -> TradeFee:
        """The account's fee rates, as its fee tier sets them.

        Args:
            inst_type: OKX's ``instType`` (required by OKX).
            inst_id: a SPOT or MARGIN instrument; with it OKX answers that instrument's rates
                (maker-programme rates included), without it the base rates of the tier.

        Returns:
            The rates; ``taker_rate`` and ``maker_rate`` are the cost per unit of notional
            (positive when a fee is paid, negative for a rebate).

        Raises:
            UnknownInstrument: ``inst_id`` does not exist (51001).
            InvalidRequest: ``inst_type`` is not one of OKX's types (51000).
            UnexpectedReply: the answer carried no rates.
        """
        data = self._call(E.trade_fee, params={"instType": inst_type, "instId": inst_id})["data"]
        if not data:
            raise UnexpectedReply(f"no fee rates for instType {inst_type}", request=f"GET {E.trade_fee.path}")
        return TradeFee.model_validate(data[0])

    def _size_params(self, inst_ids: Sequence[str], td_mode: str | None) -> dict[str, object]:
        ids = list(dict.fromkeys(inst_ids))
        if not 1 <= len(ids) <= MAX_SIZE_INSTS:
            raise ConfigurationError(f"max-size takes 1 to {MAX_SIZE_INSTS} instruments, got {len(ids)}")
        return {"instId": ",".join(ids), "tdMode": td_mode or self.spot_td_mode()}

    def max_size(self, inst_ids: Sequence[str], *, td_mode: str | None = None,
                 px: Decimal | None = None) -> list[MaxSize]:
        """The largest spot order the account could place now, per instrument (at most five).

        Args:
            inst_ids: the instruments.
            td_mode: the order's tdMode; by default the one the account's mode needs.
            px: the price to size a buy at (one instrument only; OKX ignores it for several and
                uses each last price).
        """
        params = {**self._size_params(inst_ids, td_mode), "px": px}
        return [MaxSize.model_validate(item) for item in self._call(E.max_size, params=params)["data"]]

    def max_avail_size(self, inst_ids: Sequence[str], *, td_mode: str | None = None) -> list[MaxAvailSize]:
        """What is available to trade now per instrument: quote to buy with, base to sell."""
        params = self._size_params(inst_ids, td_mode)
        return [MaxAvailSize.model_validate(item) for item in self._call(E.max_avail_size, params=params)["data"]]

    def bills(self, *, ccy: str | None = None, inst_id: str | None = None, inst_type: str | None = None,
              bill_type: str | None = None, after: str | None = None, begin_ms: int | None = None,
              end_ms: int | None = None, limit: int = PAGE_LIMIT, archive: bool = False) -> list[Bill]:
        """One page of the account's bills, newest first: 7 days, or 3 months with ``archive``
        (``bills-archive``, half the budget).

        Args:
            ccy, inst_id, inst_type, bill_type: OKX's filters (``bill_type`` is its ``type``:
                "2" trade, "1" transfer...).
            after: a ``bill_id``: the page of bills older than it (the next page).
            begin_ms, end_ms: on the bill's ``ts``.
            limit: page size, 1..100.
        """
        if not 1 <= limit <= PAGE_LIMIT:
            raise ConfigurationError(f"bills limit must be 1..{PAGE_LIMIT}, got {limit}")
        params = {"ccy": ccy, "instId": inst_id, "instType": inst_type, "type": bill_type, "after": after,
                  "begin": begin_ms, "end": end_ms, "limit": limit}
        data = self._call(E.bills_archive if archive else E.bills, params=params)["data"]
        return [Bill.model_validate(item) for item in data]

    def bills_archive(self, **filters: Any) -> list[Bill]:
        """``bills`` over the last 3 months (the same filters)."""
        return self.bills(**filters, archive=True)

    # -- trade ----------------------------------------------------------------------------------

    def _td_mode_for(self, orders: Sequence[OrderRequest]) -> str:
        """The account's spot tdMode, read only when an order leaves it to the account."""
        return self.spot_td_mode() if any(o.td_mode is None for o in orders) else "cash"

    @staticmethod
    def _exp_header(exp_time_ms: int | None) -> dict[str, str] | None:
        return {"expTime": str(exp_time_ms)} if exp_time_ms is not None else None

    def place_order(self, order: OrderRequest, *, exp_time_ms: int | None = None) -> OrderAck:
        """Place one order. The client never resends it: see ``okx_wire.placement`` for that.

        Args:
            order: the order; give it a clOrdId so a lost answer can be looked up.
            exp_time_ms: exchange time after which OKX must discard the request (50037), so a
                delayed send cannot execute after the caller has given up on it.

        Returns:
            The acknowledgement, with the ``ordId``.

        Raises:
            OkxError: the item's refusal (insufficient balance, duplicate clOrdId...), or an
                error with ``outcome_unknown`` when the order may or may not exist.
        """
        endpoint = E.place_order
        envelope = self._call(endpoint, payload=order.payload(self._td_mode_for([order])), inst_ids=(order.inst_id,),
                              headers=self._exp_header(exp_time_ms))
        return self._single_ack(envelope, endpoint.method, endpoint.path)

    def place_batch_orders(self, orders: Sequence[OrderRequest], *, exp_time_ms: int | None = None) -> list[OrderAck]:
        """Place up to 20 orders in one request.

        Args:
            orders: 1..20 orders.
            exp_time_ms: as for ``place_order``, for the whole batch.

        Returns:
            Every item's outcome, in order (check ``ack.ok``, or ``item_error``). An item's
            refusal is never raised, so a partial success is never lost.

        Raises:
            ConfigurationError: no orders or more than 20 (refused before sending).
            OkxError: the whole request was refused or its outcome is unknown.
        """
        if not 1 <= len(orders) <= MAX_BATCH_ORDERS:
            raise ConfigurationError(f"a batch holds 1..{MAX_BATCH_ORDERS} orders, got {len(orders)}")
        td_mode = self._td_mode_for(orders)
        envelope = self._call(E.batch_orders, payload=[o.payload(td_mode) for o in orders],
                              inst_ids=[o.inst_id for o in orders], headers=self._exp_header(exp_time_ms))
        return [OrderAck.model_validate(item) for item in envelope["data"]]

    def cancel_order(self, inst_id: str, *, ord_id: str | None = None, cl_ord_id: str | None = None) -> OrderAck:
        """Cancel one order, named by ``ord_id`` or ``cl_ord_id`` (OKX prefers ``ord_id``).

        Returns:
            The acknowledgement.

        Raises:
            ConfigurationError: neither id given.
            OrderNotFound: already filled, canceled or unknown (51400): look the order up to tell.
        """
        endpoint = E.cancel_order
        envelope = self._call(endpoint, payload=_order_ref(inst_id, ord_id, cl_ord_id), inst_ids=(inst_id,))
        return self._single_ack(envelope, endpoint.method, endpoint.path)

    def amend_order(
        self,
        inst_id: str,
        *,
        ord_id: str | None = None,
        cl_ord_id: str | None = None,
        new_sz: Decimal | None = None,
        new_px: Decimal | None = None,
        req_id: str | None = None,
        cancel_on_fail: bool = False,
        exp_time_ms: int | None = None,
    ) -> OrderAck:
        """Amend an order's size and/or price; both are absolute, so a resend is idempotent.

        Args:
            inst_id, ord_id, cl_ord_id: the order (one of the two ids).
            new_sz: the new total size (filled part included, as OKX counts it).
            new_px: the new price.
            req_id: the caller's id of this amendment, echoed in the answer.
            cancel_on_fail: have OKX cancel the order when the amendment fails.
            exp_time_ms: as for ``place_order``.

        Returns:
            The acknowledgement.

        Raises:
            ConfigurationError: no id, or neither ``new_sz`` nor ``new_px``.
            OkxError: the item's refusal.
        """
        if new_sz is None and new_px is None:
            raise ConfigurationError("amend needs new_sz or new_px")
        payload = _order_ref(inst_id, ord_id, cl_ord_id)
        if new_sz is not None:
            payload["newSz"] = _param(new_sz)
        if new_px is not None:
            payload["newPx"] = _param(new_px)
        if req_id is not None:
            payload["reqId"] = req_id
        if cancel_on_fail:
            payload["cxlOnFail"] = True
        endpoint = E.amend_order
        envelope = self._call(endpoint, payload=payload, inst_ids=(inst_id,), headers=self._exp_header(exp_time_ms))
        return self._single_ack(envelope, endpoint.method, endpoint.path)

    def amend_batch_orders(self, amends: Sequence[Amend], *, exp_time_ms: int | None = None) -> list[OrderAck]:
        """Amend up to 20 orders in one request (sizes and prices absolute, so a resend is harmless).

        Args:
            amends: 1..20 amendments.
            exp_time_ms: as for ``place_order``, for the whole batch.

        Returns:
            Every item's outcome, in order; an item's refusal is never raised.

        Raises:
            ConfigurationError: no amendment or more than 20 (refused before sending).
            OkxError: the whole request was refused or its outcome is unknown.
        """
        if not 1 <= len(amends) <= MAX_BATCH_ORDERS:
            raise ConfigurationError(f"a batch holds 1..{MAX_BATCH_ORDERS} amendments, got {len(amends)}")
        envelope = self._call(E.amend_batch, payload=[a.payload() for a in amends],
                              inst_ids=[a.inst_id for a in amends], headers=self._exp_header(exp_time_ms))
        return [OrderAck.model_validate(item) for item in envelope["data"]]

    def order(self, inst_id: str, *, ord_id: str | None = None, cl_ord_id: str | None = None) -> Order:
        """One order by ordId or clOrdId (for a reused clOrdId, OKX returns the latest order).

        Raises:
            ConfigurationError: neither id given.
            OrderNotFound: OKX has no such order (51603).
        """
        data = self._call(E.get_order, params=_order_ref(inst_id, ord_id, cl_ord_id), inst_ids=(inst_id,))["data"]
        if not data:
            raise OrderNotFound("Order does not exist", code="51603", request=f"GET /api/v5/trade/order {inst_id}")
        return Order.model_validate(data[0])

    def find_order(self, inst_id: str, cl_ord_id: str) -> Order | None:
        """The latest order with this clOrdId, or None when OKX has none (51603): the question a
        retry asks before resending."""
        try:
            return self.order(inst_id, cl_ord_id=cl_ord_id)
        except OrderNotFound:
            return None

    def pending_orders(self, inst_id: str | None = None, inst_type: str = "SPOT",
                       limit: int = PAGE_LIMIT) -> list[Order]:
        """One page of the account's live and partially filled orders, newest first.

        Args:
            inst_id: only this instrument.
            inst_type: OKX's ``instType``.
            limit: page size, at most 100.
        """
        data = self._call(E.orders_pending, params={"instType": inst_type, "instId": inst_id, "limit": limit})["data"]
        return [Order.model_validate(item) for item in data]

    def order_history(self, inst_type: str = "SPOT", inst_id: str | None = None,
                      limit: int = PAGE_LIMIT) -> list[Order]:
        """One page of final orders of the last 7 days, newest first (``limit`` at most 100)."""
        data = self._call(E.orders_history, params={"instType": inst_type, "instId": inst_id, "limit": limit})["data"]
        return [Order.model_validate(item) for item in data]

    def order_history_archive(self, inst_type: str = "SPOT", *, inst_id: str | None = None,
                              ord_types: Sequence[str] = (), state: str | None = None, after: str | None = None,
                              begin_ms: int | None = None, end_ms: int | None = None,
                              limit: int = PAGE_LIMIT) -> list[Order]:
        """One page of final orders of the last 3 months, newest first.

        Args:
            ord_types: OKX's ``ordType`` filter (several are sent as its comma list).
            state: ``filled``, ``canceled`` or ``mmp_canceled``.
            after: an ``ord_id``: the page of orders older than it.
            begin_ms, end_ms: on the order's creation time.
        """
        params = {"instType": inst_type, "instId": inst_id, "ordType": ",".join(ord_types) or None, "state": state,
                  "after": after, "begin": begin_ms, "end": end_ms, "limit": limit}
        data = self._call(E.orders_history_archive, params=params)["data"]
        return [Order.model_validate(item) for item in data]

    def cancel_all_after(self, timeout_s: int, *, tag: str | None = None) -> DeadManTimer:
        """Arm (or re-arm: the heartbeat) OKX's dead-man switch: unless called again within
        ``timeout_s`` seconds, the venue cancels every pending order of the account, or only
        those carrying ``tag``. ``timeout_s`` 0 disarms it.

        Raises:
            ConfigurationError: ``timeout_s`` is not 0 or 10..120 (refused before sending).
        """
        if timeout_s != 0 and timeout_s not in CANCEL_ALL_AFTER_S:
            raise ConfigurationError(f"cancel-all-after timeout must be 0 (off) or {CANCEL_ALL_AFTER_S.start}.."
                                     f"{CANCEL_ALL_AFTER_S.stop - 1} s, got {timeout_s}")
        payload: dict[str, str] = {"timeOut": str(timeout_s)}
        if tag:
            payload["tag"] = tag
        data = self._call(E.cancel_all_after, payload=payload)["data"]
        if not data:
            raise UnexpectedReply("cancel-all-after answered no timer", request=f"POST {E.cancel_all_after.path}")
        return DeadManTimer.model_validate(data[0])

    def fills(self, inst_id: str | None = None, ord_id: str | None = None, inst_type: str = "SPOT",
              limit: int = PAGE_LIMIT) -> list[Fill]:
        """One page of the account's fills of the last 3 days, newest first.

        Args:
            inst_id: only this instrument.
            ord_id: only this order's fills.
            inst_type: OKX's ``instType``.
            limit: page size, at most 100; ``fills_since`` follows every page.
        """
        data = self._call(E.fills, params={"instType": inst_type, "instId": inst_id, "ordId": ord_id,
                                           "limit": limit})["data"]
        return [Fill.model_validate(item) for item in data]

    def fills_since(self, begin_ms: int, inst_type: str = "SPOT") -> list[Fill]:
        """Every fill of the account since ``begin_ms``, newest first.

        Follows the ``billId`` cursor page by page: one request per 100 fills, however many
        instruments they are spread over. OKX keeps three days on this endpoint.

        Args:
            begin_ms: exchange time (Unix ms) of the oldest fill wanted.
            inst_type: OKX's ``instType``.
        """
        found: list[Fill] = []
        after: str | None = None
        while True:
            page = self._call(E.fills, params={"instType": inst_type, "begin": begin_ms, "after": after,
                                               "limit": FILLS_PAGE})["data"]
            found += [Fill.model_validate(item) for item in page]
            if len(page) < FILLS_PAGE:
                return found
            after = page[-1]["billId"]

    # -- escape hatch ---------------------------------------------------------------------------

    def request(self, method: str, path: str, *, params: Mapping[str, object] | None = None,
                payload: object = None, private: bool = True) -> list[Any]:
        """Any OKX endpoint this class does not wrap: signed and checked like the rest.

        An endpoint of ``okx_wire.endpoints`` draws from its row's budget; one outside the table
        has no budget to draw from (add a row for it to be throttled).

        Args:
            method, path: e.g. ``"GET"``, ``"/api/v5/asset/currencies"`` (no query string).
            params: the query, encoded as the wrapped methods encode it.
            payload: the JSON body of a POST.
            private: sign the request.

        Returns:
            The answer's ``data`` list.
        """
        method = method.upper()
        row = BY_KEY.get((method, path))
        endpoint = row if row is not None and row.private == private else _Unlisted(method, path, private)
        return list(self._call(endpoint, params=params, payload=payload).get("data") or [])

    def now_ms(self) -> int:
        """The venue's clock: local clock plus the learned offset.

        For a client with credentials this syncs first when due (see ``time_sync``), so an
        ``expTime`` computed from it before the first private call is already exchange time.
        """
        if self._signer is not None and self._time_sync:
            self._sync_if_due()
        return self._clock() + self.clock_offset_ms


def _order_ref(inst_id: str, ord_id: str | None, cl_ord_id: str | None) -> dict[str, Any]:
    if not ord_id and not cl_ord_id:
        raise ConfigurationError("name the order by ord_id or cl_ord_id")
    ref: dict[str, Any] = {"instId": inst_id}
    if ord_id:
        ref["ordId"] = ord_id
    if cl_ord_id:
        ref["clOrdId"] = cl_ord_id
    return ref


def _path_only(request_path: str) -> str:
    return request_path.split("?", 1)[0]


def _never_connected(exc: requests.exceptions.ConnectionError) -> bool:
    """True when the TCP connection itself failed, so the request cannot have reached OKX."""
    text = repr(exc)
    return any(marker in text for marker in ("NewConnectionError", "Connection refused", "NameResolutionError",
                                             "Failed to resolve", "ConnectTimeout"))


def _reason(exc: BaseException) -> str:
    return _printable(str(exc), 200)


_TITLE: Final = re.compile(r"<title[^>]*>(.*?)</title", re.IGNORECASE | re.DOTALL)
_UNPRINTABLE: Final = re.compile(r"[^\x20-\x7e]")


def _printable(text: str, limit: int) -> str:
    """``text`` on one line, printable ASCII only, at most ``limit`` characters (for messages)."""
    flat = _UNPRINTABLE.sub("?", " ".join(text.split()))
    return flat if len(flat) <= limit else flat[:limit] + "..."


def _is_trade_write(method: str, path: str) -> bool:
    """A request that may change orders: an unreadable answer leaves its outcome unknown."""
    return method != "GET" and path.startswith("/api/v5/trade/")


def _read_capped(response: requests.Response, what: str) -> bytes:
    """The whole body, refusing one over ``MAX_BODY_BYTES`` (also when decompressed)."""
    declared = response.headers.get("Content-Length")
    if declared is not None and declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        response.close()
        raise _too_large(what, f"{int(declared)} bytes declared")
    chunks = []
    size = 0
    for chunk in response.iter_content(65536):
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            response.close()
            raise _too_large(what, "more than that sent")
        chunks.append(chunk)
    return chunks[0] if len(chunks) == 1 else b"".join(chunks)


def _too_large(what: str, detail: str) -> UnexpectedReply:
    return UnexpectedReply(f"the answer is over the {MAX_BODY_BYTES // (1024 * 1024)} MiB limit ({detail}); "
                           "not read", request=what, hint="check base_url points at the OKX REST API")

