"""Hostile or broken venues: redirects, HTML pages, odd JSON and trickled answers each end in
one clear error line of the right class, within the client's total deadline, never a hang."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from decimal import Decimal
from typing import Any

import pytest

from okx_wire import errors
from okx_wire.auth import ApiCredentials
from okx_wire.client import OkxClient
from okx_wire.orders import OrderRequest

#: A hang fails the test here, whatever pytest's own timeout settings are.
HANG = 20.0
CLOUDFLARE = (b"<!DOCTYPE html><html><head><title>Just a moment...</title></head>"
              b"<body>Checking your browser\n before accessing www.okx.com.</body></html>")
# It names its tdMode, so the client sends it without reading the account mode first: each
# hostile answer below is the answer to the order itself.
ORDER = OrderRequest(inst_id="BTC-USDT", side="buy", ord_type="limit", sz=Decimal("1"), px=Decimal("10"),
                     cl_ord_id="hostile1", td_mode="cash")


def answer(status: str, body: bytes, *, ctype: str = "application/json", extra: str = "") -> bytes:
    return (f"HTTP/1.1 {status}\r\nContent-Type: {ctype}\r\nContent-Length: {len(body)}\r\n{extra}"
            "Connection: keep-alive\r\n\r\n").encode() + body


@contextmanager
def raw_server(reply: Callable[[socket.socket], None]) -> Iterator[str]:
    """A real TCP server: after each request head (bodies here are small), ``reply`` writes."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.2)
    stop = threading.Event()

    def serve(conn: socket.socket) -> None:
        with conn:
            try:
                conn.settimeout(HANG)
                while True:  # keep-alive: one reply per request head
                    data = b""
                    while b"\r\n\r\n" not in data:
                        chunk = conn.recv(65536)
                        if not chunk:
                            return
                        data += chunk
                    reply(conn)
            except OSError:
                pass

    def accept() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            threading.Thread(target=serve, args=(conn,), daemon=True).start()

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        stop.set()
        thread.join(5)
        listener.close()


def sends(data: bytes) -> Callable[[socket.socket], None]:
    return lambda conn: conn.sendall(data)


def trickles(data: bytes, per_byte: float = 1.0) -> Callable[[socket.socket], None]:
    def reply(conn: socket.socket) -> None:
        for i in range(len(data)):
            conn.sendall(data[i:i + 1])
            time.sleep(per_byte)
    return reply


def bounded(call: Callable[[], Any]) -> BaseException | None:
    """Run ``call`` in a thread; fail the test if it does not return within HANG seconds."""
    outcome: list[BaseException | None] = []

    def run() -> None:
        try:
            call()
        except BaseException as exc:  # noqa: BLE001 - handed to the test
            outcome.append(exc)
        else:
            outcome.append(None)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(HANG)
    assert not thread.is_alive(), f"the call hung for more than {HANG} s"
    return outcome[0]


def one_line(exc: BaseException | None, cls: type[BaseException]) -> str:
    assert isinstance(exc, cls), repr(exc)
    text = str(exc)
    assert "\n" not in text and "Traceback" not in text
    return text


def client(url: str, creds: ApiCredentials | None = None, **kw: Any) -> OkxClient:
    return OkxClient(creds, base_url=url, rate_limit=False, time_sync=False, total_timeout=2.0, **kw)


def test_redirect_is_one_line_naming_the_target(creds: ApiCredentials) -> None:
    reply = answer("302 Found", b"", extra="Location: https://eea.okx.com/api/v5/account/balance\r\n")
    with raw_server(sends(reply)) as url:
        exc = bounded(lambda: client(url, creds).balance())
    text = one_line(exc, errors.UnexpectedReply)
    assert "redirected to https://eea.okx.com/api/v5/account/balance" in text
    assert "not followed" in text and "base_url" in text and "https://eea.okx.com" in text
    assert not isinstance(exc, errors.ConfigurationError) and exc.http_status == 302  # type: ignore[union-attr]


def test_redirect_through_a_callers_session(creds: ApiCredentials) -> None:
    import requests

    reply = answer("301 Moved Permanently", b"", extra="Location: /elsewhere\r\n")
    with raw_server(sends(reply)) as url, requests.Session() as session:
        exc = bounded(lambda: client(url, creds, session=session).balance())
    assert "redirected to /elsewhere" in one_line(exc, errors.UnexpectedReply)


def test_html_503_is_retriable_with_a_short_excerpt() -> None:
    with raw_server(sends(answer("503 Service Unavailable", CLOUDFLARE, ctype="text/html"))) as url:
        exc = bounded(lambda: client(url).ticker("BTC-USDT"))
    text = one_line(exc, errors.ExchangeUnavailable)
    assert exc.retriable and "503" in text and "Just a moment" in text and "text/html" in text  # type: ignore[union-attr]
    assert len(text) < 300


def test_html_200_is_one_line() -> None:
    with raw_server(sends(answer("200 OK", CLOUDFLARE, ctype="text/html"))) as url:
        exc = bounded(lambda: client(url).ticker("BTC-USDT"))
    assert "not OKX JSON" in one_line(exc, errors.UnexpectedReply)


@pytest.mark.parametrize("body", [b'[{"code": "0"}]', b'{"error": "nope"}', b'"hello"', b'{"code": "0"}',
                                  b'{"code": "0", "data": {"ts": "1"}}'])
def test_json_that_is_not_an_envelope_is_one_line(body: bytes) -> None:
    with raw_server(sends(answer("200 OK", body))) as url:
        exc = bounded(lambda: client(url).ticker("BTC-USDT"))
    one_line(exc, errors.UnexpectedReply)


def test_unreadable_answer_to_an_order_is_outcome_unknown(creds: ApiCredentials) -> None:
    with raw_server(sends(answer("200 OK", b"<html>ok</html>", ctype="text/html"))) as url:
        exc = bounded(lambda: client(url, creds).place_order(ORDER))
    one_line(exc, errors.AmbiguousReply)
    assert exc.outcome_unknown  # type: ignore[union-attr]


def test_body_trickled_one_byte_a_second_hits_the_total_deadline(creds: ApiCredentials) -> None:
    body = b'{"code":"0","msg":"","data":[' + b" " * 60 + b"]}"
    head = f"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n".encode()

    def reply(conn: socket.socket) -> None:
        conn.sendall(head)
        trickles(body)(conn)

    with raw_server(reply) as url:
        started = time.monotonic()
        exc = bounded(lambda: client(url, creds).place_order(ORDER))
        took = time.monotonic() - started
    text = one_line(exc, errors.RequestTimeout)
    assert exc.outcome_unknown and "total timeout" in text  # type: ignore[union-attr]
    assert took < HANG


def test_headers_trickled_hit_the_total_deadline() -> None:
    with raw_server(trickles(answer("200 OK", b'{"code":"0","msg":"","data":[]}'))) as url:
        exc = bounded(lambda: client(url).ticker("BTC-USDT"))
    assert "total timeout" in one_line(exc, errors.RequestTimeout)


def test_a_finished_call_keeps_its_pooled_connection_past_its_deadline() -> None:
    """Once a call is done its deadline is gone: the kept-alive socket serves later calls."""
    good = answer("200 OK", b'{"code":"0","msg":"","data":[{"ts":"1700000000000"}]}')
    peers: set[object] = set()

    def reply(conn: socket.socket) -> None:
        peers.add(conn.getpeername())
        conn.sendall(good)

    with raw_server(reply) as url:
        c = OkxClient(base_url=url, rate_limit=False, time_sync=False, total_timeout=0.3)
        for _ in range(3):
            assert c.server_time().ts == 1700000000000
            time.sleep(0.5)  # past the finished call's deadline
    assert len(peers) == 1


def test_oversized_body_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    import okx_wire.client as client_module

    monkeypatch.setattr(client_module, "MAX_BODY_BYTES", 1000)
    big = b'{"code":"0","msg":"","data":["' + b"x" * 5000 + b'"]}'
    with raw_server(sends(answer("200 OK", big))) as url:
        exc = bounded(lambda: client(url).ticker("BTC-USDT"))
    assert "limit" in one_line(exc, errors.UnexpectedReply)
    chunked = (b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
               + b"".join(b"%x\r\n%s\r\n" % (len(part), part)
                          for part in (big[i:i + 500] for i in range(0, len(big), 500)))
               + b"0\r\n\r\n")
    with raw_server(sends(chunked)) as url:
        exc = bounded(lambda: client(url).ticker("BTC-USDT"))
    assert "limit" in one_line(exc, errors.UnexpectedReply)


def test_success_without_ord_id_is_outcome_unknown(creds: ApiCredentials) -> None:
    body = b'{"code":"0","msg":"","data":[{"clOrdId":"hostile1","ordId":"","sCode":"0","sMsg":""}]}'
    with raw_server(sends(answer("200 OK", body))) as url:
        exc = bounded(lambda: client(url, creds).place_order(ORDER))
    text = one_line(exc, errors.AmbiguousReply)
    assert exc.outcome_unknown and "clOrdId" in text  # type: ignore[union-attr]


def test_empty_order_answer_is_outcome_unknown(creds: ApiCredentials) -> None:
    with raw_server(sends(answer("200 OK", b'{"code":"0","msg":"","data":[]}'))) as url:
        exc = bounded(lambda: client(url, creds).place_order(ORDER))
    assert one_line(exc, errors.AmbiguousReply) and exc.outcome_unknown  # type: ignore[union-attr]


def test_an_unreadable_account_mode_sends_no_order(creds: ApiCredentials) -> None:
    """The account mode decides the tdMode: if it cannot be read, the order is not sent at all
    (its outcome is known: it does not exist), rather than sent with a guessed mode."""
    auto = ORDER.model_copy(update={"td_mode": None})
    with raw_server(sends(answer("200 OK", b"<html>ok</html>", ctype="text/html"))) as url:
        exc = bounded(lambda: client(url, creds).place_order(auto))
    text = one_line(exc, errors.UnexpectedReply)
    assert not isinstance(exc, errors.AmbiguousReply) and not exc.outcome_unknown  # type: ignore[union-attr]
    assert "GET /api/v5/account/config" in text
