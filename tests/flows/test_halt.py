"""``flows.halt`` on the session's Prefect server and an in-process simulator: a halt pauses the
account's deployments (not one somebody else paused), cancels exactly the orders carrying its
specs' tags (not another order of the account, not one a triggered protection placed), says
each thing in one line, and a resume undoes exactly what it paused."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from decimal import ROUND_DOWN, Decimal
from pathlib import Path
from typing import Any

import pytest

from flows import alerts, halt
from okx_strategies.pipeline import order_tag
from okx_wire.client import OkxClient
from okx_wire.orders import OrderRequest


@pytest.fixture
def venue(sim: Any) -> Iterator[OkxClient]:
    with OkxClient(sim.credentials, base_url=sim.base_url) as client:
        yield client


def rest_bid(client: OkxClient, tag: str) -> str:
    """A post-only bid far below mid, tagged as a spec's orders are."""
    book = client.order_book("ETH-USDT")
    px = (book.mid * Decimal("0.8")).quantize(Decimal("0.01"), rounding=ROUND_DOWN)
    ack = client.place_order(OrderRequest(inst_id="ETH-USDT", side="buy", ord_type="post_only", sz=Decimal("0.01"),
                                          px=px, cl_ord_id="h" + uuid.uuid4().hex[:12], tag=tag))
    return str(ack.ord_id)


@pytest.fixture
def account(spec_file: Callable[..., Path]) -> Iterator[tuple[Any, str, dict[str, Any]]]:
    """Three deployments of a fresh account on the session's server: two trading ladder specs
    (one of them already paused by somebody), one without a readable spec; removed afterwards."""
    from prefect.client.orchestration import get_client

    name = f"halt-{uuid.uuid4().hex[:6]}"
    tags = ["okx", f"okx-account:{name}"]
    ladder = spec_file("ladder", name=f"{name}-ladder")
    other = spec_file("ladder", name=f"{name}-other")
    with get_client(sync_client=True) as client:
        flow_id = client.create_flow_from_name(f"flow-{name}")
        ids = {"ladder": client.create_deployment(flow_id=flow_id, name="ladder", tags=tags,
                                                  parameters={"spec_path": str(ladder)}),
               "other": client.create_deployment(flow_id=flow_id, name="other", tags=tags, paused=True,
                                                 parameters={"spec_path": str(other)})}
        try:
            yield client, name, ids
        finally:
            for ident in ids.values():
                client.delete_deployment(ident)
            client.delete_flow(flow_id)
            if client.read_variable_by_name(halt.HALTED_VARIABLE) is not None:
                client.delete_variable_by_name(halt.HALTED_VARIABLE)


def test_halt_pauses_cancels_the_specs_orders_and_resume_undoes_only_that(
        venue: OkxClient, account: Any) -> None:
    client, name, ids = account
    ours = [rest_bid(venue, order_tag(f"{name}-ladder")) for _ in range(2)]
    theirs = rest_bid(venue, order_tag(f"{name}-other"))
    foreign = rest_bid(venue, "somebodyelse")
    said: list[str] = []

    halt.halt(client, name, said.append)
    pending = {o.ord_id for o in venue.pending_orders()}
    assert not set(ours) & pending and theirs not in pending  # both specs' orders, paused or not
    assert foreign in pending
    assert client.read_deployment(ids["ladder"]).paused and client.read_deployment(ids["other"]).paused
    assert f"paused deployment flow-{name}/ladder (its scheduled runs are deleted)" in said
    assert f"left paused: flow-{name}/other (paused before this halt, so resume leaves it paused)" in said
    assert sum(line.startswith("cancelled buy 0.01 ETH-USDT @ ") for line in said) == 3
    assert any("a halt must not leave a position unprotected" in line for line in said)
    assert said[-1].startswith(f"halted account {name}: 1 deployment(s) paused, 3 order(s) cancelled")
    assert halt.read_record(client) == {str(ids["ladder"]): f"flow-{name}/ladder"}

    said.clear()
    halt.halt(client, name, said.append)  # twice: nothing more to do, and the record is kept
    assert f"already paused by an earlier halt: flow-{name}/ladder" in said
    assert halt.read_record(client) == {str(ids["ladder"]): f"flow-{name}/ladder"}

    said.clear()
    halt.resume(client, name, said.append)
    assert not client.read_deployment(ids["ladder"]).paused and client.read_deployment(ids["other"]).paused
    assert said == [f"resumed deployment flow-{name}/ladder",
                    f"left paused: flow-{name}/other (not paused by okx-flows halt; --all-paused resumes it too)",
                    f"resumed 1 deployment(s) of account {name}"]
    assert client.read_variable_by_name(halt.HALTED_VARIABLE) is None
    said.clear()
    halt.resume(client, name, said.append, all_paused=True)
    assert not client.read_deployment(ids["other"]).paused


def test_a_spec_it_cannot_read_is_a_problem_in_its_line_and_a_failed_halt(venue: OkxClient, account: Any) -> None:
    client, name, ids = account
    client.update_deployment(ids["other"], _parameters({"spec_path": "does/not/exist.yaml"}))
    ours = rest_bid(venue, order_tag(f"{name}-ladder"))
    said: list[str] = []
    with pytest.raises(halt.HaltError, match="the halt is incomplete: 1 problem"):
        halt.halt(client, name, said.append)
    assert [line for line in said if line.startswith("problem: cannot read the spec of ")]
    assert ours not in {o.ord_id for o in venue.pending_orders()}  # the rest was still done
    assert client.read_deployment(ids["ladder"]).paused


def test_nothing_to_halt_is_one_line(account: Any) -> None:
    client, _name, _ids = account
    with pytest.raises(halt.HaltError, match="no deployment is tagged okx and okx-account:nobody"):
        halt.halt(client, "nobody", print)
    assert alerts.read_deployments(client, "nobody") == []


def _parameters(parameters: dict[str, Any]) -> Any:
    from prefect.client.schemas.actions import DeploymentUpdate

    return DeploymentUpdate(parameters=parameters)
