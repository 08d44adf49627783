"""The ledger: per-run figures, fills counted once, sleeves, and fills that arrive after their run."""

from __future__ import annotations

from decimal import Decimal as D
from pathlib import Path

from okx_wire.journal import Journal
from okx_wire.ledger import Ledger, LedgerRow
from okx_wire.models import Fill, Order
from okx_wire.orders import OrderRequest


def row(run_id: str, ended: int, traded: str = "100", fees: str = "0.1", value_after: str = "1000") -> LedgerRow:
    return LedgerRow(run_id=run_id, spec="s", account="acct", kind="dca", quote_ccy="USDT", status="completed",
                     started_ms=ended - 10, ended_ms=ended, equity_before=D(5000), equity_after=D(5001),
                     value_before=D(1000), value_after=D(value_after), traded_notional=D(traded), fees=D(fees),
                     shortfall_bps=D("1.5"), drift_before=None, drift_after=None, intended=1, placed=1, filled=1,
                     holdings_before={"USDT": D(1000)}, holdings_after={"USDT": D(900), "BTC": D("0.001")},
                     prices_after={"USDT": D(1), "BTC": D(100_000)})


def fill(tid: str, ord_id: str = "o1", sz: str = "0.001") -> Fill:
    return Fill(inst_id="BTC-USDT", trade_id=tid, ord_id=ord_id, side="buy", fill_px=D(100_000), fill_sz=D(sz),
                fee=D("-0.000001"), fee_ccy="BTC", ts=1)


def ledger(tmp_path: Path) -> Ledger:
    return Ledger(Journal(f"sqlite:///{tmp_path / 'j.sqlite3'}"))


def test_rows_round_trip_exactly_and_in_order(tmp_path: Path) -> None:
    book = ledger(tmp_path)
    book.record_run(row("r2", 2000, value_after="1000.123456789"), [fill("t2", "o2")], ("quote=1000", {"USDT": D(1)}))
    book.record_run(row("r1", 1000), [fill("t1")], None)
    history = book.history("s")
    assert [r.run_id for r in history] == ["r1", "r2"]
    assert history[1].value_after == D("1000.123456789")  # decimal text, never a float
    assert history[1].holdings_after == {"USDT": D(900), "BTC": D("0.001")}
    assert book.first("s", "acct").run_id == "r1"  # type: ignore[union-attr]
    assert book.sleeves("acct")[0].holdings == {"USDT": D(1)}
    assert book.history("s", since_ms=1500)[0].run_id == "r2"


def test_a_fill_is_counted_once_across_reruns_and_slot_runs(tmp_path: Path) -> None:
    book = ledger(tmp_path)
    book.record_run(row("r1", 1000), [fill("t1")], None)
    assert book.unrecorded([fill("t1"), fill("t9")]) == [fill("t9")]
    # a rerun of the same flow run keeps the first attempt's start and adds both attempts' costs
    again = row("r1", 3000, traded="50", fees="0.05")
    book.record_run(again, [fill("t1"), fill("t9")], None)
    (merged,) = book.history("s")
    assert merged.traded_notional == 150 and merged.fees == D("0.15") and merged.started_ms == 990
    assert [f.trade_id for f in book.fills_by_run(["r1"])["r1"]] == ["t1", "t9"]


def test_orders_that_filled_after_their_run_are_found(tmp_path: Path) -> None:
    journal = Journal(f"sqlite:///{tmp_path / 'j.sqlite3'}")
    book = Ledger(journal)
    journal.start_run("r1", spec="s", account="acct", kind="ladder")
    journal.intend("r1", [("L1", OrderRequest(inst_id="BTC-USDT", side="buy", ord_type="post_only", sz=D("0.002"),
                                             px=D(90_000), cl_ord_id="c1"))])
    book.record_run(row("r1", 1000), [fill("t1", "o1")], None)  # 0.001 filled while the run watched
    order = Order.model_validate({"instId": "BTC-USDT", "ordId": "o1", "clOrdId": "c1", "side": "buy",
                                  "ordType": "post_only", "sz": "0.002", "px": "90000", "state": "filled",
                                  "accFillSz": "0.002", "avgPx": "90000"})
    journal.record_orders("r1", [order])  # the next run's settlement saw it fill completely
    missing = book.unrecorded_fills("s", "acct", since_ms=0)
    assert list(missing) == ["o1"] and missing["o1"][0] == "r1"
    book.add_fills("s", "acct", [("r1", fill("t2", "o1"))])
    assert book.unrecorded_fills("s", "acct", since_ms=0) == {}
