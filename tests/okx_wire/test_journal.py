"""The run journal: intents and sends recorded before they leave, outcomes as they come, shared
by every process that opens the same store, and nothing secret in it."""

from __future__ import annotations

import subprocess
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from okx_wire.errors import ConfigurationError
from okx_wire.journal import Journal, account_id, open_journal
from okx_wire.orders import OrderRequest


def _order(cl_ord_id: str, sz: str = "0.01") -> OrderRequest:
    return OrderRequest(inst_id="BTC-USDT", side="buy", ord_type="limit", sz=Decimal(sz), px=Decimal("50000"),
                        cl_ord_id=cl_ord_id)


@pytest.fixture
def journal(tmp_path: Path) -> Journal:
    return Journal(f"sqlite:///{tmp_path / 'j.sqlite3'}")


def test_intent_send_and_outcome(journal: Journal) -> None:
    journal.start_run("r1", spec="s", account="a1", kind="dca")
    journal.intend("r1", [("l1", _order("c1")), ("l2", _order("c2"))])
    assert [o.state for o in journal.orders("r1")] == ["intended", "intended"]
    journal.record_sends("r1", [_order("c1")], exp_ms=1_000)
    assert journal.last_send_ms("c1") == 1_000 and journal.last_send_ms("c2") is None
    journal.record("r1", "c1", "live", ord_id="9")
    rows = {o.cl_ord_id: o for o in journal.orders("r1")}
    assert rows["c1"].state == "live" and rows["c1"].ord_id == "9" and rows["c1"].exp_ms == 1_000
    # The next run of the spec on the account sees both as open; a run of another account does not.
    assert {o.cl_ord_id for o in journal.open_orders("s", "a1", exclude_run="r2")} == {"c1", "c2"}
    assert journal.open_orders("s", "a2") == [] and journal.open_orders("s", "a1", exclude_run="r1") == []
    journal.record("r1", "c1", "filled", filled=Decimal("0.01"))
    journal.record("r1", "c2", "absent")
    assert journal.open_orders("s", "a1") == []


def test_rerun_of_a_flow_run_keeps_its_rows(journal: Journal) -> None:
    journal.start_run("r1", spec="s", account="a", kind="twap")
    journal.intend("r1", [("s1", _order("c1"))])
    journal.record_sends("r1", [_order("c1")], exp_ms=5)
    journal.finish_run("r1", "failed", "boom")
    journal.start_run("r1", spec="s", account="a", kind="twap")
    journal.intend("r1", [("s1", _order("c1"))])
    run = journal.run("r1")
    assert run is not None and run.status == "running"
    assert [(o.state, o.exp_ms) for o in journal.orders("r1")] == [("sent", 5)]


def test_a_send_recorded_by_another_process_is_seen(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'shared.sqlite3'}"
    code = ("import sys; from decimal import Decimal; from okx_wire.journal import Journal; "
            "from okx_wire.orders import OrderRequest; j = Journal(sys.argv[1]); "
            "j.start_run('p', spec='s', account='a', kind='dca'); "
            "j.record_sends('p', [OrderRequest(inst_id='BTC-USDT', side='buy', ord_type='market', sz=Decimal(1), "
            "cl_ord_id='fromOther')], exp_ms=42)")
    subprocess.run([sys.executable, "-c", code, url], check=True, timeout=60)
    assert Journal(url).last_send_ms("fromOther") == 42
    assert [o.cl_ord_id for o in Journal(url).open_orders("s", "a")] == ["fromOther"]


def test_account_id_is_a_digest_not_the_key() -> None:
    digest = account_id("www.okx.com", "123456")
    assert len(digest) == 16 and "123456" not in digest and digest != account_id("eea.okx.com", "123456")


def test_urls_show_no_password_and_bad_urls_are_one_line(tmp_path: Path) -> None:
    journal = open_journal(f"sqlite:///{tmp_path / 'x.sqlite3'}")
    assert open_journal(f"sqlite:///{tmp_path / 'x.sqlite3'}") is journal
    with pytest.raises(ConfigurationError) as bad:
        Journal("not a url at all")
    assert "\n" not in str(bad.value)
    with pytest.raises(ConfigurationError) as down:
        Journal("postgresql+psycopg://okx:hunter2secret@127.0.0.1:9/journal?connect_timeout=1")
    assert "hunter2secret" not in str(down.value) and "\n" not in str(down.value)


@pytest.mark.integration
def test_workers_opening_a_fresh_postgresql_journal_at_once_all_succeed() -> None:
    """Two workers' first runs used to race in CREATE TABLE and one failed on a unique violation."""
    import threading

    import sqlalchemy as sa

    from tests.support.services import postgres_server

    with postgres_server() as url:
        base = url.replace("postgresql+asyncpg://", "postgresql+psycopg://")
        for attempt in range(3):  # each attempt on a database no one has opened yet
            db_url = base.rsplit("/", 1)[0] + f"/fresh{attempt}"
            admin = sa.create_engine(base, isolation_level="AUTOCOMMIT")
            with admin.connect() as db:
                db.execute(sa.text(f"CREATE DATABASE fresh{attempt}"))
            admin.dispose()
            gate, errors = threading.Barrier(8), []

            def open_it(gate: threading.Barrier, db_url: str, errors: list[Exception]) -> None:
                gate.wait()
                try:
                    Journal(db_url).close()
                except Exception as exc:  # the test reports every failure
                    errors.append(exc)

            threads = [threading.Thread(target=open_it, args=(gate, db_url, errors)) for _ in range(8)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            assert not errors, errors


def _open_at_gate(url: str, gate: Any) -> None:
    gate.wait()
    Journal(url).close()


def test_processes_opening_a_fresh_sqlite_journal_at_once_all_succeed(tmp_path: Path) -> None:
    """Four CLI runs starting together used to fail in CREATE TABLE or in the switch to WAL."""
    import multiprocessing

    context = multiprocessing.get_context("spawn")
    for attempt in range(4):
        url = f"sqlite:///{tmp_path / f'fresh{attempt}.sqlite3'}"
        gate = context.Barrier(6)
        workers = [context.Process(target=_open_at_gate, args=(url, gate)) for _ in range(6)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join(60)
        assert [w.exitcode for w in workers] == [0] * 6
