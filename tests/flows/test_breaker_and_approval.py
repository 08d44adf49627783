"""The circuit breaker and the approval of large plans, in real flow runs against the simulator:
a breached spec places nothing and says why in one line; a large plan waits for a person, and
only an approval sends it (given and refused here through Prefect's API, as the UI does)."""

from __future__ import annotations

import threading
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterName, FlowRunFilterState
from prefect.client.schemas.objects import StateType
from prefect.exceptions import FlowPauseTimeout

from flows import approval, events
from flows.approval import NotApproved
from flows.common import BreakerTripped
from flows.rebalance import rebalance
from okx_sim import SimConfig
from okx_wire.ledger import open_ledger
from tests.support.breaker import raise_the_high_water_mark

BALANCES = {"USDT": Decimal("50000"), "BTC": Decimal("2"), "ETH": Decimal("10")}
ROOMY = {"max_order_notional": 50000, "max_run_notional": 250000}


@pytest.fixture
def sim_config(tmp_path: Path) -> SimConfig:
    return SimConfig(state_path=tmp_path / "sim.sqlite3", balances=BALANCES)


@pytest.fixture
def emitted(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, dict[str, Any]]]:
    sent: list[tuple[str, dict[str, Any]]] = []
    monkeypatch.setattr(events, "emit_event", lambda name, **kw: sent.append((name, kw)))
    return sent


def test_a_breached_drawdown_places_nothing_and_emits_the_breaker_event(sim, spec_file, emitted):  # type: ignore[no-untyped-def]
    path = spec_file("rebalance", risk={**ROOMY, "max_drawdown": "0.2"})
    first = rebalance(spec_path=str(path))
    assert first.placed, "the first run trades: nothing is breached yet"
    assert [name for name, _ in emitted] == [events.RUN_EVENTS[first.status]]
    spec = first.spec_name
    raise_the_high_water_mark(spec, 3)
    orders_before = len(sim.exchange.all_orders())

    with pytest.raises(BreakerTripped) as caught:
        rebalance(spec_path=str(path))
    message = str(caught.value)
    assert "circuit breaker tripped" in message and "risk.max_drawdown 20 %" in message and "\n" not in message
    assert len(sim.exchange.all_orders()) == orders_before, "a tripped breaker must send nothing"
    name, event = emitted[-1]
    assert name == events.BREAKER_EVENT
    assert event["resource"]["prefect.resource.id"] == f"okx-flows.spec.{spec}"
    assert event["payload"]["drawdown"].startswith("6") and "nothing placed" in event["payload"]["reason"]

    # A dry run says so and goes on; the breaker stays tripped for trading runs until reset.
    dry = rebalance(spec_path=str(path), dry_run=True)
    assert any("circuit breaker tripped" in n for n in dry.notes)
    with pytest.raises(BreakerTripped):
        rebalance(spec_path=str(path))
    [account] = {r.account for r in open_ledger().history(spec)}
    open_ledger().reset_breaker(spec, account)
    assert rebalance(spec_path=str(path)).status in ("completed", "nothing to do")


def test_a_daily_loss_beyond_the_limit_trips_the_breaker(sim, spec_file, emitted):  # type: ignore[no-untyped-def]
    path = spec_file("rebalance", risk={**ROOMY, "max_daily_loss": 1000})
    first = rebalance(spec_path=str(path))
    raise_the_high_water_mark(first.spec_name, 2)  # the day started twice as rich
    with pytest.raises(BreakerTripped, match="today's loss .* is beyond risk.max_daily_loss 1000 USDT"):
        rebalance(spec_path=str(path))


def _paused_run(name_like: str, timeout_s: float = 60) -> Any:
    deadline = time.monotonic() + timeout_s
    with get_client(sync_client=True) as client:
        while time.monotonic() < deadline:
            runs = client.read_flow_runs(flow_run_filter=FlowRunFilter(
                name=FlowRunFilterName(like_=name_like), state=FlowRunFilterState(type={"any_": [StateType.PAUSED]})))
            if runs:
                return runs[0]
            time.sleep(0.3)
    raise AssertionError(f"no paused run like {name_like!r}")


def _run_in_thread(path: Path) -> tuple[threading.Thread, dict[str, Any]]:
    out: dict[str, Any] = {}

    def body() -> None:
        try:
            out["result"] = rebalance(spec_path=str(path))
        except BaseException as exc:  # noqa: BLE001 - the test inspects it
            out["error"] = exc

    thread = threading.Thread(target=body, daemon=True)
    thread.start()
    return thread, out


@pytest.mark.parametrize("approve", [True, False])
def test_a_large_plan_waits_for_approval_given_through_prefects_api(sim, spec_file, approve):  # type: ignore[no-untyped-def]
    path = spec_file("rebalance", name=f"approve-{str(approve).lower()}",
                     risk={**ROOMY, "approve_above": 100, "approval_timeout_seconds": 120})
    thread, out = _run_in_thread(path)
    paused = _paused_run(f"approve-{str(approve).lower()}-%")
    assert not sim.exchange.all_orders(), "nothing is sent while the plan waits"
    with get_client(sync_client=True) as client:
        from prefect.input.run_input import keyset_from_paused_state

        description = client.read_flow_run_input(paused.id, keyset_from_paused_state(paused.state)["description"])
        assert "approve this plan?" in description and "| buy |" in description.replace("sell", "buy")
        client.resume_flow_run(paused.id, run_input={"approve": approve, "note": "checked by the desk"})
    thread.join(120)
    assert not thread.is_alive()
    if approve:
        result = out["result"]
        assert result.placed and any("approved: checked by the desk" in n for n in result.notes)
        assert sim.exchange.all_orders()
    else:
        error = out["error"]
        assert isinstance(error, NotApproved)
        assert "rejected (checked by the desk) -- nothing placed" in str(error)
        assert not sim.exchange.all_orders()


def test_an_unanswered_approval_ends_the_run_with_nothing_placed(sim, spec_file, monkeypatch):  # type: ignore[no-untyped-def]
    def nobody_answers(**_: Any) -> None:
        raise FlowPauseTimeout("Flow run was paused and never resumed.")

    monkeypatch.setattr(approval, "pause_flow_run", nobody_answers)
    path = spec_file("rebalance", risk={**ROOMY, "approve_above": 100, "approval_timeout_seconds": 30})
    with pytest.raises(NotApproved, match="not approved within 30 s -- nothing placed"):
        rebalance(spec_path=str(path))
    assert not sim.exchange.all_orders()
    # Under the threshold, nothing waits.
    small = spec_file("rebalance", risk={**ROOMY, "approve_above": 10_000_000})
    assert rebalance(spec_path=str(small)).placed


def test_without_a_reachable_server_a_large_plan_is_refused_at_once(sim, spec_file, monkeypatch):  # type: ignore[no-untyped-def]
    monkeypatch.setattr(approval, "PREFECT_API_URL", _Unset())
    path = spec_file("rebalance", risk={**ROOMY, "approve_above": 100})
    with pytest.raises(NotApproved, match="needs a Prefect server .* -- nothing placed"):
        rebalance(spec_path=str(path))
    assert not sim.exchange.all_orders()


class _Unset:
    """PREFECT_API_URL as ephemeral mode has it."""

    @staticmethod
    def value() -> None:
        return None
