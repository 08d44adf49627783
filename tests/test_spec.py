"""Spec files: the example specs load, and every bad spec gets its exact one-line message."""

from __future__ import annotations

from decimal import Decimal as D
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flows.spec import (
    Dca,
    Ladder,
    Rebalance,
    Spec,
    SpecError,
    Twap,
    base_url_problem,
    check_against_instruments,
    load_spec,
    parse_spec,
)
from okx_tasks.models import Instrument
from okx_tasks.plan import RiskLimits

ROOT = Path(__file__).resolve().parent.parent
BAD = ROOT / "tests" / "bad_specs"
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
        parse_spec(path.read_text(encoding="utf-8"), f"tests/bad_specs/{path.name}")
    message = str(info.value)
    assert message == expected
    assert "\n" not in message and "Traceback" not in message
    assert message.startswith(f"tests/bad_specs/{path.name}:") and " -- " in message
    assert message.isascii()


def test_load_spec_names_the_file_as_given(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    with pytest.raises(SpecError) as info:
        load_spec("tests/bad_specs/weights_sum.yaml")
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
    assert kinds == {"rebalance", "dca", "twap", "ladder"}


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
    from okx_tasks.models import OrderBook
    from okx_tasks.plan import PlannedOrder, plan_dca, plan_ladder, plan_rebalance, twap_slices

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
                              drift_band=strategy.drift_band, min_trade_quote=strategy.min_trade_quote, risk=risk)
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
    else:
        assert isinstance(strategy, Ladder)
        plan = plan_ladder(book=books[strategy.inst_id], instrument=instruments[strategy.inst_id], side=strategy.side,
                           levels=strategy.levels, step_bps=strategy.step_bps, total_quote=strategy.total_quote,
                           risk=risk)
        assert len(plan) == strategy.levels and not plan.skipped
        orders = list(plan)
    assert all(o.inst_id in spec.instruments() for o in orders)
    assert orders or isinstance(strategy, Twap)
