"""Spec files: the example specs load, and every bad spec gets its exact one-line message."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from decimal import Decimal as D
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flows.spec import (
    MAX_FILE_BYTES,
    Spec,
    SpecError,
    base_url_problem,
    check_against_instruments,
    load_spec,
    parse_spec,
)
from okx_strategies.dca import Dca
from okx_strategies.ladder import Ladder
from okx_strategies.plan import RiskLimits
from okx_strategies.rebalance import Rebalance
from okx_strategies.signal import SignalSpec
from okx_strategies.twap import Twap
from okx_wire.models import Instrument

ROOT = Path(__file__).resolve().parents[2]
BAD = ROOT / "tests" / "flows" / "bad_specs"
BAD_FILES = sorted(BAD.glob("*.yaml"))
EXAMPLES = sorted((ROOT / "specs").glob("*.yaml"))

#: Spot pairs the simulator lists (a subset is enough to check the example specs against).
SIM_INSTRUMENTS = {
    inst_id: Instrument(inst_type="SPOT", inst_id=inst_id, base_ccy=inst_id.split("-")[0], quote_ccy="USDT",
                        tick_sz=D("0.01"), lot_sz=D("0.000001"), min_sz=D("0.0001"), state=state)
    for inst_id, state in [("BTC-USDT", "live"), ("ETH-USDT", "live"), ("SOL-USDT", "live"), ("XRP-USDT", "live"),
                           ("DOGE-USDT", "live"), ("LTC-USDT", "live"), ("ADA-USDT", "suspend")]
}

VALID = """\
name: core-rebalance
strategy:
  kind: rebalance
  quote_ccy: USDT
  targets: {BTC: 0.1, ETH: 0.2, USDT: 0.7}
"""


def test_the_corpus_is_big_enough_and_complete() -> None:
    assert len(BAD_FILES) >= 15
    assert sorted(p.stem for p in BAD.glob("*.expected")) == [p.stem for p in BAD_FILES]


@pytest.mark.parametrize("path", BAD_FILES, ids=[p.stem for p in BAD_FILES])
def test_bad_spec_message(path: Path) -> None:
    expected = path.with_suffix(".expected").read_text(encoding="utf-8").strip()
    with pytest.raises(SpecError) as info:
        parse_spec(path.read_text(encoding="utf-8"), f"tests/flows/bad_specs/{path.name}")
    message = str(info.value)
    assert message == expected
    assert "\n" not in message and "Traceback" not in message
    assert message.startswith(f"tests/flows/bad_specs/{path.name}:") and " -- " in message
    assert message.isascii()


def test_load_spec_names_the_file_as_given(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    with pytest.raises(SpecError) as info:
        load_spec("tests/flows/bad_specs/weights_sum.yaml")
    assert str(info.value) == (BAD / "weights_sum.expected").read_text(encoding="utf-8").strip()


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_example_specs_are_valid_for_the_simulator(path: Path) -> None:
    spec = load_spec(path)
    assert spec.venue == "sim"
    assert spec.instruments() and spec.instruments() <= set(spec.risk.allowed_instruments or spec.instruments())
    listed = {inst_id: inst for inst_id, (inst, _) in _simulator_instruments().items()}
    assert check_against_instruments(spec, listed) == []


def test_every_strategy_kind_has_an_example() -> None:
    kinds = {load_spec(p).strategy.kind for p in EXAMPLES}
    assert kinds == {"rebalance", "dca", "twap", "ladder", "signal"}


def test_numbers_are_exact_decimals() -> None:
    spec = parse_spec(VALID, "valid.yaml")
    assert isinstance(spec.strategy, Rebalance)
    assert spec.strategy.targets == {"BTC": D("0.1"), "ETH": D("0.2"), "USDT": D("0.7")}
    assert sum(spec.strategy.targets.values()) == 1  # 0.1 + 0.2 + 0.7 would not be 1.0 in float
    assert all(isinstance(w, D) for w in spec.strategy.targets.values())


def test_quote_currency_is_implied_at_zero() -> None:
    spec = parse_spec(VALID.replace("{BTC: 0.1, ETH: 0.2, USDT: 0.7}", "{BTC: 0.6, ETH: 0.4}"), "valid.yaml")
    assert spec.strategy.targets == {"BTC": D("0.6"), "ETH": D("0.4"), "USDT": D(0)}  # type: ignore[union-attr]
    assert spec.instruments() == {"BTC-USDT", "ETH-USDT"}


def test_defaults_and_risk_limits() -> None:
    spec = parse_spec(VALID, "valid.yaml")
    assert (spec.venue, spec.base_url, spec.dry_run, spec.credentials.from_env) == ("sim", None, False, True)
    assert spec.risk_limits() == RiskLimits(max_slippage_bps=D(50))
    assert spec.strategy.drift_band == D("0.02") and spec.strategy.min_trade_quote == D(10)  # type: ignore[union-attr]


def test_yes_and_no_stay_text() -> None:
    spec = parse_spec(VALID + "credentials: {block: no}\n", "valid.yaml")
    assert spec.credentials.block == "no" and not spec.credentials.from_env


def test_each_kind_parses_into_its_model() -> None:
    assert isinstance(load_spec(ROOT / "specs" / "dca.yaml").strategy, Dca)
    twap = load_spec(ROOT / "specs" / "twap.yaml").strategy
    assert isinstance(twap, Twap) and twap.slices == 5 and twap.total_size == D("0.05")
    assert isinstance(load_spec(ROOT / "specs" / "ladder.yaml").strategy, Ladder)


def test_several_problems_give_one_line_each_in_file_order() -> None:
    text = "name: Bad Name\nvenue: prod\nstrategy:\n  kind: dca\n  inst_id: BTC-USDT\n  quote_amount: -1\n"
    with pytest.raises(SpecError) as info:
        parse_spec(text, "x.yaml")
    lines = str(info.value).splitlines()
    assert [line.split(":")[1] for line in lines] == ["1", "2", "6"]
    assert info.value.problems == lines


def test_unreadable_files() -> None:
    with pytest.raises(SpecError, match="cannot read the spec"):
        load_spec("/nonexistent/spec.yaml")


def test_non_utf8_file(tmp_path: Path) -> None:
    path = tmp_path / "latin1.yaml"
    path.write_bytes(b"name: ok\nstrategy:\n  kind: caf\xe9\n")
    with pytest.raises(SpecError) as info:
        load_spec(path)
    assert str(info.value) == f"{path}:3: the file is not UTF-8 text -- save it as UTF-8"


def _within(seconds: float, call: Callable[[], object], unblock: Callable[[], None] = lambda: None) -> object:
    """``call()``'s result or exception, failing the test (not hanging it) if it blocks."""
    outcome: list[object] = []
    thread = threading.Thread(target=lambda: outcome.append(_outcome(call)), daemon=True)
    thread.start()
    thread.join(seconds)
    if thread.is_alive():
        unblock()
        pytest.fail(f"still running after {seconds} s")
    return outcome[0]


def _outcome(call: Callable[[], object]) -> object:
    try:
        return call()
    except Exception as exc:  # handed back to the test thread
        return exc


def test_a_fifo_is_refused_without_blocking(tmp_path: Path) -> None:
    fifo = tmp_path / "spec.yaml"
    os.mkfifo(fifo)

    def unblock() -> None:  # a reader stuck in open() returns once a writer opens and closes
        os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))

    result = _within(5, lambda: load_spec(fifo), unblock)
    assert isinstance(result, SpecError)
    assert str(result) == (f"{fifo}: the spec path is a FIFO (named pipe), not a regular file -- give the path "
                           f"of a YAML spec file")


@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="needs /dev/zero")
def test_a_device_is_refused_without_reading_it() -> None:
    result = _within(5, lambda: load_spec("/dev/zero"))
    assert isinstance(result, SpecError)
    assert str(result) == ("/dev/zero: the spec path is a character device, not a regular file -- give the path "
                           "of a YAML spec file")


def test_a_symlink_to_a_device_is_refused(tmp_path: Path) -> None:
    link = tmp_path / "spec.yaml"
    link.symlink_to("/dev/zero")
    result = _within(5, lambda: load_spec(link))
    assert isinstance(result, SpecError) and "character device, not a regular file" in str(result)


def test_a_directory_is_refused(tmp_path: Path) -> None:
    with pytest.raises(SpecError) as info:
        load_spec(tmp_path)
    assert str(info.value) == (f"{tmp_path}: the spec path is a directory, not a regular file -- give the path of "
                               f"a YAML spec file")


def test_a_file_over_one_mib_is_refused_before_reading(tmp_path: Path) -> None:
    big = tmp_path / "big.yaml"
    with big.open("wb") as handle:  # sparse: the size alone must refuse it
        handle.truncate(MAX_FILE_BYTES + 1)
    with pytest.raises(SpecError) as info:
        load_spec(big)
    assert str(info.value) == (f"{big}: the file is {MAX_FILE_BYTES + 1} bytes, over the limit of {MAX_FILE_BYTES} "
                               f"(1 MiB) -- a spec is a short YAML file")
    assert info.value.problems == [str(info.value)]


def test_a_file_of_exactly_one_mib_is_read_and_then_judged_by_length(tmp_path: Path) -> None:
    path = tmp_path / "long.yaml"
    path.write_bytes(b"#" * MAX_FILE_BYTES)
    with pytest.raises(SpecError, match=r"long.yaml:1: the file is 1048576 characters, over the limit"):
        load_spec(path)


def test_a_path_with_a_nul_byte_is_a_spec_error() -> None:
    with pytest.raises(SpecError, match="cannot read the spec"):
        load_spec("spec\0.yaml")


def test_check_against_instruments_suggests_close_matches() -> None:
    spec = parse_spec(VALID.replace("ETH: 0.2", "DOGD: 0.2").replace("BTC: 0.1", "ADA: 0.1"), "valid.yaml")
    assert check_against_instruments(spec, SIM_INSTRUMENTS) == [
        "strategy.targets.ADA: ADA-USDT is suspend on this venue, not live -- wait until it trades again or stop "
        "trading it",
        "strategy.targets.DOGD: no DOGD-USDT instrument on this venue, so DOGD cannot be traded -- did you mean DOGE?",
    ]
    dca = parse_spec("name: x\nstrategy: {kind: dca, inst_id: BTC-USDC, quote_amount: 5}\n", "dca.yaml")
    assert check_against_instruments(dca, SIM_INSTRUMENTS) == [
        "strategy.inst_id: unknown instrument BTC-USDC on this venue -- did you mean BTC-USDT?"]
    usdc = parse_spec(VALID.replace("USDT", "USDC"), "valid.yaml")
    assert check_against_instruments(usdc, SIM_INSTRUMENTS) == [
        "strategy.quote_ccy: no instrument on this venue is quoted in USDC -- did you mean 'USDT'?"]


def test_base_url_rules() -> None:
    assert base_url_problem("sim", "http://127.0.0.1:8123") is None
    assert base_url_problem("live", "https://eea.okx.com") is None
    assert base_url_problem("demo", "http://www.okx.com") is not None
    spec = parse_spec(VALID + "venue: live\nbase_url: https://eea.okx.com/\nrisk: {max_run_notional: 100}\n", "v.yaml")
    assert spec.base_url == "https://eea.okx.com"


SIM_ON_OKX = ("{host} is a real OKX host, but the spec says venue: sim -- use the simulator's URL "
              "(e.g. http://127.0.0.1:8123), or venue: demo or live to trade on OKX")


@pytest.mark.parametrize(("url", "host"), [
    ("https://www.okx.com", "www.okx.com"), ("https://WWW.OKX.COM", "www.okx.com"),
    ("https://www.okx.com.", "www.okx.com"), ("https://www.okx.com:443", "www.okx.com"),
    ("https://trader:secret@www.okx.com/", "www.okx.com"), ("http://okx.com", "okx.com"),
    ("https://eea.okx.com", "eea.okx.com"), ("https://aws.okex.com", "aws.okex.com"),
    ("https://\uff57\uff57\uff57.\uff4f\uff4b\uff58.\uff43\uff4f\uff4d", "www.okx.com"),
])
def test_a_sim_spec_refuses_every_spelling_of_a_real_okx_host(url: str, host: str) -> None:
    assert base_url_problem("sim", url) == SIM_ON_OKX.format(host=host)
    with pytest.raises(SpecError) as info:
        parse_spec(VALID + f"venue: sim\nbase_url: '{url}'\n", "s.yaml")
    if url.isascii():
        assert str(info.value) == f"s.yaml:7: base_url: {SIM_ON_OKX.format(host=host)}"
    assert "secret" not in str(info.value)


@pytest.mark.parametrize("url", ["http://127.0.0.1:8123", "http://localhost:8123", "https://okx.com.example.org",
                                 "https://notokx.com", "not a url"])
def test_a_sim_spec_may_use_any_other_host(url: str) -> None:
    assert base_url_problem("sim", url) is None


def test_the_sim_host_rule_leaves_demo_and_live_alone() -> None:
    assert base_url_problem("demo", "https://www.okx.com") is None
    assert base_url_problem("live", "https://WWW.OKX.COM.") is None
    assert base_url_problem("sim", None) is None


def test_spec_round_trips_through_json() -> None:
    """Flows receive a Spec as a Prefect parameter, i.e. through JSON."""
    spec = parse_spec(VALID, "valid.yaml")
    assert Spec.model_validate_json(spec.model_dump_json()) == spec


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=300))
def test_any_text_gives_a_spec_or_a_spec_error(text: str) -> None:
    try:
        parse_spec(text, "fuzz.yaml")
    except SpecError as exc:
        assert all(line.startswith("fuzz.yaml:") for line in str(exc).splitlines())


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_corrupting_a_valid_spec_never_crashes(data: st.DataObject) -> None:
    text = (ROOT / "specs" / "rebalance.yaml").read_text(encoding="utf-8")
    start = data.draw(st.integers(0, len(text)))
    end = data.draw(st.integers(start, min(len(text), start + 20)))
    insert = data.draw(st.sampled_from(["", ":", "-", " ", "\t", "\n", "x", "0", "{", "[", "'", "é", "1e99", "~"]))
    try:
        parse_spec(text[:start] + insert + text[end:], "fuzz.yaml")
    except SpecError as exc:
        assert all(line.startswith("fuzz.yaml:") and " -- " in line for line in str(exc).splitlines())


def _simulator_instruments() -> dict[str, tuple[Instrument, D]]:
    catalogue = pytest.importorskip("okx_sim.instruments")
    try:
        return {i.inst_id: (Instrument.model_validate(i.as_okx()), i.start_px) for i in catalogue.full_catalogue()}
    except (AttributeError, TypeError) as exc:  # the simulator is developed alongside; don't couple to its shape
        pytest.skip(f"simulator catalogue not usable here: {exc}")


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_example_specs_plan_orders_at_simulator_prices(path: Path) -> None:
    """Each example passes its own risk checks against the simulator's pairs and default account."""
    from okx_strategies.plan import PlannedOrder, plan_dca, plan_ladder, plan_rebalance, twap_slices
    from okx_wire.models import OrderBook

    listed = _simulator_instruments()
    spec = load_spec(path)
    instruments = {inst_id: inst for inst_id, (inst, _) in listed.items()}
    assert check_against_instruments(spec, instruments) == []
    books = {inst_id: OrderBook(asks=[[str(px + inst.tick_sz), "10"]], bids=[[str(px), "10"]], ts=1)
             for inst_id, (inst, px) in listed.items()}
    risk, strategy = spec.risk_limits(), spec.strategy
    if isinstance(strategy, Rebalance):
        plan = plan_rebalance(balances={"USDT": D(100000), "BTC": D(1), "ETH": D(10)}, books=books,
                              instruments=instruments, targets=strategy.targets, quote_ccy=strategy.quote_ccy,
                              drift_band=strategy.drift_band, min_trade_quote=strategy.min_trade_quote, risk=risk,
                              fee_rate=D("0.001"))
        orders = list(plan.orders)
    elif isinstance(strategy, Dca):
        order = plan_dca(book=books[strategy.inst_id], instrument=instruments[strategy.inst_id],
                         quote_amount=strategy.quote_amount, max_price=strategy.max_price, risk=risk)
        assert isinstance(order, PlannedOrder), order
        orders = [order]
    elif isinstance(strategy, Twap):
        slices = twap_slices(strategy.total_size, strategy.slices, instruments[strategy.inst_id])
        assert len(slices) == strategy.slices and sum(slices) == strategy.total_size
        orders = []
    elif isinstance(strategy, SignalSpec):
        orders = []  # a signal spec places orders only when a signal arrives (tests/signals)
    else:
        assert isinstance(strategy, Ladder)
        plan = plan_ladder(book=books[strategy.inst_id], instrument=instruments[strategy.inst_id], side=strategy.side,
                           levels=strategy.levels, step_bps=strategy.step_bps, total_quote=strategy.total_quote,
                           risk=risk)
        assert len(plan) == strategy.levels and not plan.skipped
        orders = list(plan)
    assert all(o.inst_id in spec.instruments() for o in orders)
    assert orders or isinstance(strategy, (Twap, SignalSpec))
