"""python-okx's WebSocket classes (0.4.4: ``WsPublicAsync``, ``WsPrivateAsync``), unmodified
except for their URL, against the simulator.

python-okx always connects with an SSL context (``WebSocketFactory``), which the ``websockets``
library refuses for a ``ws://`` URL, so the simulator serves TLS here with a certificate made
for the test. python-okx builds its context with ``ssl.create_default_context()``, which trusts
what ``SSL_CERT_FILE`` names: the test points it at that certificate, as one would install a
private CA; nothing in python-okx is touched.

A check passes when python-okx gets what OKX sends: the acks, the pushes with OKX's fields, a
``books`` snapshot whose checksum is OKX's CRC32 and increments that chain, a login answered
``code "0"``, and every order op answered ``code "0"`` with its effect visible over REST.
"""

from __future__ import annotations

import asyncio
import json
import time
import zlib
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from okx_sim import SimConfig, running_simulator
from okx_sim.embedded import SimulatorHandle
from tests.okx_sim.conftest import Client
from tests.support.tls import self_signed_certificate

ws_public = pytest.importorskip("okx.websocket.WsPublicAsync")
ws_private = pytest.importorskip("okx.websocket.WsPrivateAsync")

CHECKS = ["WsPublicAsync.subscribe tickers", "WsPublicAsync.subscribe books", "WsPublicAsync.unsubscribe",
          "WsPublicAsync.login + candle1m (business)", "WsPrivateAsync.subscribe orders + account",
          "WsPrivateAsync.place_order", "WsPrivateAsync.amend_order", "WsPrivateAsync.cancel_order",
          "WsPrivateAsync.batch_orders", "WsPrivateAsync.batch_amend_orders",
          "WsPrivateAsync.batch_cancel_orders"]


class Inbox:
    """python-okx's callback: every message as received, parsed."""

    def __init__(self) -> None:
        self.messages: list[Any] = []

    def __call__(self, text: str) -> None:
        self.messages.append(text if text == "pong" else json.loads(text))

    async def wait(self, match: Any, timeout: float = 5.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for message in self.messages:
                if isinstance(message, dict) and match(message):
                    return message
            await asyncio.sleep(0.02)
        raise AssertionError(f"no matching message in {len(self.messages)}: {self.messages[-3:]}")


class Rest:
    """What the checks read back over REST (HTTPS, trusting the test's certificate)."""

    def __init__(self, sim: SimulatorHandle, cert: Path) -> None:
        self.client = Client(sim.base_url, sim.credentials)
        self.client.session.verify = str(cert)
        self.client.session.trust_env = False  # else REQUESTS_CA_BUNDLE would win over verify

    def best_bid(self) -> Decimal:
        return Decimal(self.client.best()[0])

    def order(self, cl_ord_id: str) -> dict[str, Any]:
        status, body = self.client.get(f"/api/v5/trade/order?instId=BTC-USDT&clOrdId={cl_ord_id}")
        assert status == 200 and body["code"] == "0", body
        return dict(body["data"][0])


def _crc(bids: list[list[str]], asks: list[list[str]]) -> int:
    parts: list[str] = []
    for i in range(25):
        for side in (bids, asks):
            if i < len(side):
                parts += side[i][:2]
    crc = zlib.crc32(":".join(parts).encode())
    return crc - (1 << 32) if crc >= 1 << 31 else crc


async def _judge(sim: SimulatorHandle, rest: Rest) -> dict[str, str]:
    results: dict[str, str] = {}
    creds = sim.credentials
    key, secret, phrase = creds.api_key, creds.secret_key.get_secret_value(), creds.passphrase.get_secret_value()

    async def check(name: str, body: Any) -> None:
        try:
            await body()
            results[name] = "pass"
        except Exception as exc:  # noqa: BLE001 - the verdict is the outcome
            results[name] = f"fail: {type(exc).__name__}: {exc}"

    public = ws_public.WsPublicAsync(url=sim.ws_url("public"))
    business = ws_public.WsPublicAsync(url=sim.ws_url("business"), apiKey=key, passphrase=phrase, secretKey=secret)
    private = ws_private.WsPrivateAsync(apiKey=key, passphrase=phrase, secretKey=secret, url=sim.ws_url("private"))
    pub, biz, priv = Inbox(), Inbox(), Inbox()
    try:
        await public.start()
        await business.start()
        await private.start()
        assert public.websocket is not None, "python-okx could not connect"

        async def tickers() -> None:
            await public.subscribe([{"channel": "tickers", "instId": "BTC-USDT"}], pub)
            await pub.wait(lambda m: m.get("event") == "subscribe" and m["arg"]["channel"] == "tickers")
            push = await pub.wait(lambda m: m.get("arg", {}).get("channel") == "tickers" and "data" in m)
            assert {"instId", "last", "askPx", "bidPx", "open24h", "vol24h", "ts"} <= set(push["data"][0])

        async def books() -> None:
            await public.subscribe([{"channel": "books", "instId": "BTC-USDT"}], pub)
            snap = await pub.wait(lambda m: m.get("action") == "snapshot")
            item = snap["data"][0]
            assert item["prevSeqId"] == -1 and len(item["asks"]) == 400 and item["checksum"] == _crc(
                item["bids"], item["asks"])
            update = await pub.wait(lambda m: m.get("action") == "update")
            assert update["data"][0]["prevSeqId"] == item["seqId"]

        async def unsubscribe() -> None:
            await public.unsubscribe([{"channel": "tickers", "instId": "BTC-USDT"}], pub)
            await pub.wait(lambda m: m.get("event") == "unsubscribe")

        async def candles() -> None:
            await business.login()
            await business.subscribe([{"channel": "candle1m", "instId": "BTC-USDT"}], biz)
            await biz.wait(lambda m: m.get("event") == "login" and m["code"] == "0")
            push = await biz.wait(lambda m: m.get("arg", {}).get("channel") == "candle1m" and "data" in m)
            assert len(push["data"][0]) == 9

        await check(CHECKS[0], tickers)
        await check(CHECKS[1], books)
        await check(CHECKS[2], unsubscribe)
        await check(CHECKS[3], candles)

        async def subscribe_private() -> None:
            await private.subscribe([{"channel": "orders", "instType": "SPOT"}, {"channel": "account"}], priv)
            await priv.wait(lambda m: m.get("event") == "login" and m["code"] == "0")
            await priv.wait(lambda m: m.get("event") == "subscribe" and m["arg"]["channel"] == "orders")
            snap = await priv.wait(lambda m: m.get("eventType") == "snapshot")
            assert {d["ccy"] for d in snap["data"][0]["details"]} == {"BTC", "ETH", "USDT"}

        await check(CHECKS[4], subscribe_private)
        px = str((rest.best_bid() * 9 / 10).quantize(Decimal("0.1")))

        async def op(name: str, call: Any, args: list[dict[str, Any]], request_id: str) -> dict[str, Any]:
            await call(args, id=request_id)
            reply = await priv.wait(lambda m: m.get("id") == request_id and m.get("op") == name)
            assert reply["code"] == "0", reply
            return reply

        async def place() -> None:
            reply = await op("order", private.place_order, [{"instId": "BTC-USDT", "tdMode": "cash", "side": "buy",
                                                              "ordType": "limit", "px": px, "sz": "0.001",
                                                              "clOrdId": "pyokxws1"}], "p1")
            ord_id = reply["data"][0]["ordId"]
            push = await priv.wait(lambda m: m.get("arg", {}).get("channel") == "orders" and "data" in m
                                   and m["data"][0]["ordId"] == ord_id)
            assert push["data"][0]["state"] == "live" and push["arg"]["uid"]
            assert rest.order("pyokxws1")["state"] == "live"

        async def amend() -> None:
            await op("amend-order", private.amend_order, [{"instId": "BTC-USDT", "clOrdId": "pyokxws1",
                                                           "newSz": "0.002"}], "a1")
            assert rest.order("pyokxws1")["sz"] == "0.002"

        async def cancel() -> None:
            await op("cancel-order", private.cancel_order, [{"instId": "BTC-USDT", "clOrdId": "pyokxws1"}], "c1")
            assert rest.order("pyokxws1")["state"] == "canceled"

        batch = [{"instId": "BTC-USDT", "tdMode": "cash", "side": "buy", "ordType": "limit", "px": px, "sz": "0.001",
                  "clOrdId": f"pyokxwsb{i}"} for i in range(2)]

        async def batch_place() -> None:
            reply = await op("batch-orders", private.batch_orders, batch, "b1")
            assert [d["sCode"] for d in reply["data"]] == ["0", "0"]

        async def batch_amend() -> None:
            await op("batch-amend-orders", private.batch_amend_orders,
                     [{"instId": "BTC-USDT", "clOrdId": b["clOrdId"], "newSz": "0.003"} for b in batch], "ba1")
            assert {rest.order(b["clOrdId"])["sz"] for b in batch} == {"0.003"}

        async def batch_cancel() -> None:
            await op("batch-cancel-orders", private.batch_cancel_orders,
                     [{"instId": "BTC-USDT", "clOrdId": b["clOrdId"]} for b in batch], "bc1")
            assert {rest.order(b["clOrdId"])["state"] for b in batch} == {"canceled"}

        for name, body in zip(CHECKS[5:], (place, amend, cancel, batch_place, batch_amend, batch_cancel),
                              strict=True):
            await check(name, body)
    finally:
        for client in (public, business, private):
            await client.stop()
    return results


@pytest.fixture(scope="module")
def pyokx_ws_results(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    cert, key = self_signed_certificate(tmp_path_factory.mktemp("tls"))
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SSL_CERT_FILE", str(cert))
        config = SimConfig(rate_limits=False, seed=7, step_ms=250, tls_certfile=cert, tls_keyfile=key)
        with running_simulator(config) as sim:
            rest = Rest(sim, cert)
            try:
                results = asyncio.run(_judge(sim, rest))
            finally:
                rest.client.session.close()  # a kept-alive TLS connection would hold up the shutdown
            yield results


@pytest.mark.parametrize("check", CHECKS)
def test_python_okx_ws_check(pyokx_ws_results: dict[str, str], check: str) -> None:
    assert pyokx_ws_results.get(check) == "pass", f"{check}: {pyokx_ws_results.get(check)}"
