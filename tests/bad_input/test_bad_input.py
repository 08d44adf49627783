"""Bad input, table-driven, each with the EXACT message a user sees: one line naming the problem
and the fix, a non-zero exit, and nothing sent to the exchange that should not be.

* the spec corpus (``tests/flows/bad_specs/*.yaml`` with its ``.expected`` lines) through ``okx-flows
  validate`` -- malformed YAML, unknown keys, wrong types, weights not summing to 1, negative or
  zero amounts, non-ASCII and oversized values, live over plain HTTP...;
* runtime input through ``okx-flows`` subprocesses against ``okx-flows sim`` processes: unknown
  instruments (at run start), empty / wrong / non-ASCII / oversized passphrases, unknown key,
  wrong secret, a read-only key asked to trade, live over plain HTTP, live unconfirmed;
* client-side order checks (``OrderRequest.check``): size under the minimum, off the lot, price
  off the tick -- refused before sending;
* a key that can withdraw: ``okx-flows check-key`` warns (exit 0, it is advice, not an error).

``run`` prints Prefect's run log on stderr too; the CLI's own error is the one line that starts
with ``okx-flows:`` (or a spec path), and no traceback may appear anywhere.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from okx_cli.main import main
from okx_sim import ApiKeySpec, SimConfig, running_simulator
from okx_tasks import tasks
from okx_tasks.blocks import OkxCredentials
from okx_wire.errors import InvalidOrder
from okx_wire.orders import OrderRequest
from tests.reliability.simproc import (
    SimProcess,
    dca_spec,
    key_env,
    sim_process,
    write_spec,
)
from tests.support.services import BIN

ROOT = Path(__file__).resolve().parents[2]
BAD_SPECS = sorted((ROOT / "tests" / "flows" / "bad_specs").glob("*.yaml"))

E = "okx-flows: error: "
PASSPHRASE_WRONG = (E + '[OKX 50105 GET /api/v5/account/{endpoint}] Request header "OK-ACCESS-PASSPHRASE" incorrect. '
                    "-- OKX_PASSPHRASE must be the passphrase you set when you created this API key "
                    "(not your login or fund password)")
NON_ASCII = (E + "{var} contains non-ASCII characters -- copy it exactly as OKX showed it "
             "(OKX keys, secrets and passphrases are plain ASCII)")
CONTROL = (E + "OKX_PASSPHRASE contains a control character (newline, carriage return, tab, NUL...) -- copy it "
           "exactly as OKX showed it (OKX keys, secrets and passphrases are plain ASCII)")
UNKNOWN_INST = "{unknown}: {where}: unknown instrument NOPE-USDT on this venue -- did you mean PEPE-USDT?"

#: (case id, argv, env overrides, the exact error lines). {placeholders} are filled per run.
RUNTIME_CASES: list[tuple[str, list[str], dict[str, str], list[str]]] = [
    ("unknown_instrument_plan", ["plan", "{unknown}"], {},
     [UNKNOWN_INST.replace("{where}", "strategy.inst_id"),
      UNKNOWN_INST.replace("{where}", "risk.allowed_instruments")]),
    ("unknown_instrument_run", ["run", "{unknown}"], {},
     [UNKNOWN_INST.replace("{where}", "strategy.inst_id"),
      UNKNOWN_INST.replace("{where}", "risk.allowed_instruments")]),
    ("empty_passphrase", ["run", "{dca}"], {"OKX_PASSPHRASE": ""},
     [E + "missing OKX credentials: set the environment variable OKX_PASSPHRASE (or pass the credentials "
      "explicitly, or use an OkxCredentials block)"]),
    ("blank_secret_and_key", ["check-key", "--base-url", "{url}"], {"OKX_API_KEY": " ", "OKX_SECRET_KEY": ""},
     [E + "missing OKX credentials: set the environment variables OKX_API_KEY, OKX_SECRET_KEY (or pass the "
      "credentials explicitly, or use an OkxCredentials block)"]),
    ("wrong_passphrase_run", ["run", "{dca}"], {"OKX_PASSPHRASE": "Wrong-passphrase-1"},
     [PASSPHRASE_WRONG.replace("{endpoint}", "config")]),
    ("wrong_passphrase_check_key", ["check-key", "--base-url", "{url}"], {"OKX_PASSPHRASE": "Wrong-passphrase-1"},
     [PASSPHRASE_WRONG.replace("{endpoint}", "config")]),
    ("oversized_passphrase", ["check-key", "--base-url", "{url}"], {"OKX_PASSPHRASE": "x" * 20000},
     [PASSPHRASE_WRONG.replace("{endpoint}", "config")]),
    ("wrong_secret", ["check-key", "--base-url", "{url}"], {"OKX_SECRET_KEY": "NOT-THE-SECRET"},
     [E + "[OKX 50113 GET /api/v5/account/config] Invalid Sign -- check OKX_SECRET_KEY: it must be the secret "
      "shown when this API key was created (this client signs exactly the bytes it sends)"]),
    ("unknown_api_key", ["check-key", "--base-url", "{url}"], {"OKX_API_KEY": "no-such-key"},
     [E + "[OKX 50111 GET /api/v5/account/config] Invalid OK-ACCESS-KEY. -- check OKX_API_KEY: this key is "
      "unknown to {url}"]),
    ("non_ascii_api_key", ["check-key", "--base-url", "{url}"], {"OKX_API_KEY": "ключ-1"},
     [NON_ASCII.replace("{var}", "OKX_API_KEY")]),
    ("non_ascii_passphrase_run", ["run", "{dca}"], {"OKX_PASSPHRASE": "pässwort-1"},
     [NON_ASCII.replace("{var}", "OKX_PASSPHRASE")]),
    ("newline_passphrase_run", ["run", "{dca}"], {"OKX_PASSPHRASE": "Pass\nphrase-77"}, [CONTROL]),
    ("cr_passphrase_check_key", ["check-key", "--base-url", "{url}"], {"OKX_PASSPHRASE": "Pass\rphrase-77"},
     [CONTROL]),
    ("euro_passphrase_run", ["run", "{dca}"], {"OKX_PASSPHRASE": "Pass€phrase-77"},
     [NON_ASCII.replace("{var}", "OKX_PASSPHRASE")]),
    ("read_only_key_trades", ["run", "{readonly}"], {},
     [E + "[OKX 50120 POST /api/v5/trade/order] API key doesn't have permission for this function -- this key "
      "lacks the permission for this call: create a key with 'Trade' permission"]),
    ("live_over_plain_http", ["run", "{live}", "--confirm-live"], {"OKX_BASE_URL": "{url}"},
     [E + "live venue needs an https base_url, got '{url}' -- use https:// (credentials and real money go over "
      "this connection)"]),
    ("live_not_confirmed", ["run", "{live}"], {"OKX_BASE_URL": "{url}"},
     [E + "spec 'bad-live' trades real money on OKX live: rerun with --confirm-live (flow parameter "
      "confirm_live=true) if that is what you want"]),
    ("demo_over_plain_http", ["check-key", "--demo", "--base-url", "http://www.okx.com"], {},
     [E + "demo venue needs an https base_url, got 'http://www.okx.com' -- use https:// (credentials go over "
      "this connection)"]),
    ("unknown_command_option", ["run", "{dca}", "--force"], {},
     [E + "unrecognized arguments: --force (see okx-flows run --help)"]),
]


@pytest.fixture(scope="module")
def venue(tmp_path_factory: pytest.TempPathFactory, prefect_db: Path) -> Iterator[dict[str, Any]]:
    """Two simulator processes (a trade key, a read-only key) and the specs aimed at them."""
    from prefect.settings import PREFECT_API_URL

    root = tmp_path_factory.mktemp("bad-input")
    with sim_process(root / "sim", "--no-rate-limits") as sim, \
            sim_process(root / "ro", "--no-rate-limits", "--read-only") as ro:
        unknown = dca_spec("bad-unknown", sim.url)
        unknown["risk"]["allowed_instruments"] = ["NOPE-USDT"]
        unknown["strategy"]["inst_id"] = "NOPE-USDT"
        live = dca_spec("bad-live", sim.url)
        live["venue"] = "live"
        del live["base_url"]
        yield {"sim": sim, "ro": ro, "url": sim.url, "api": str(PREFECT_API_URL.value()),
               "dca": str(write_spec(root / "dca.yaml", dca_spec("bad-dca", sim.url))),
               "readonly": str(write_spec(root / "ro.yaml", dca_spec("bad-ro", ro.url))),
               "unknown": str(write_spec(root / "unknown.yaml", unknown)),
               "live": str(write_spec(root / "live.yaml", live)), "home": root / "prefect-home"}


def fill(text: str, venue: dict[str, Any]) -> str:
    for name in ("url", "dca", "readonly", "unknown", "live"):
        text = text.replace("{" + name + "}", venue[name])
    return text


def exchange_snapshot(*sims: SimProcess) -> list[Any]:
    return [(s.orders(), s.state()["balances"]) for s in sims]


def okx_flows(argv: list[str], env_overrides: dict[str, str],
              venue: dict[str, Any]) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OKX_", "PREFECT_"))}
    env.update(key_env(), PREFECT_API_URL=venue["api"], PREFECT_HOME=str(venue["home"]),
               PREFECT_SERVER_ANALYTICS_ENABLED="false", OKX_FLOWS_JOURNAL_URL=os.environ["OKX_FLOWS_JOURNAL_URL"])
    env.update(env_overrides)
    return subprocess.run([str(BIN / "okx-flows"), *argv], check=False, env=env, cwd=ROOT, capture_output=True,
                          text=True, timeout=120)


def error_lines(stderr: str, venue: dict[str, Any]) -> list[str]:
    starts = ("okx-flows:", venue["unknown"], venue["dca"], venue["live"], venue["readonly"])
    return [line for line in stderr.splitlines() if line.startswith(starts) and " running " not in line]


@pytest.mark.parametrize("case, argv, env, expected", RUNTIME_CASES, ids=[c[0] for c in RUNTIME_CASES])
def test_runtime_bad_input(venue: dict[str, Any], case: str, argv: list[str], env: dict[str, str],
                           expected: list[str]) -> None:
    before = exchange_snapshot(venue["sim"], venue["ro"])
    done = okx_flows([fill(a, venue) for a in argv], {k: fill(v, venue) for k, v in env.items()}, venue)
    assert done.returncode != 0, done.stdout
    assert "Traceback" not in done.stderr, done.stderr[-4000:]
    assert error_lines(done.stderr, venue) == [fill(e, venue) for e in expected], done.stderr[-4000:]
    if argv[0] != "run":  # the other commands print nothing else on stderr
        assert done.stderr.strip().splitlines() == [fill(e, venue) for e in expected]
    assert exchange_snapshot(venue["sim"], venue["ro"]) == before, "something reached the exchange"
    for name in ("OKX_PASSPHRASE", "OKX_SECRET_KEY"):
        secret = fill(env.get(name, ""), venue).strip()
        if len(secret) >= 6:  # a bad secret is named, never shown (nor any line of it)
            for piece in [secret, *secret.splitlines(), *secret.split("\r")]:
                assert len(piece) < 4 or piece not in done.stderr + done.stdout, (name, piece)


@pytest.mark.parametrize("path", BAD_SPECS, ids=[p.stem for p in BAD_SPECS])
def test_bad_spec_through_the_cli(path: Path, capsys: pytest.CaptureFixture[str],
                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """The spec corpus of tests/test_spec.py, as ``okx-flows validate`` prints it (exit 1)."""
    monkeypatch.chdir(ROOT)
    assert main(["validate", f"tests/flows/bad_specs/{path.name}"]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.splitlines() == [path.with_suffix(".expected").read_text(encoding="utf-8").strip()]


# -- client-side order checks: refused before anything is sent ---------------------------------

ORDER_CASES = [
    ("size_under_minimum", {"sz": Decimal("0.000001"), "px": Decimal(50000)},
     "[OKX 51020] BTC-USDT: order size 0.000001 is under the minimum size 0.00001; raise the size to at least 0.00001"),
    ("size_off_lot", {"sz": Decimal("0.000123456789"), "px": Decimal(50000)},
     "[OKX 51121] BTC-USDT: order size 0.000123456789 is not a multiple of the lot size 0.00000001; use 0.00012345"),
    ("price_off_tick", {"sz": Decimal("0.001"), "px": Decimal("50000.05")},
     "[OKX 51000] BTC-USDT: price 50000.05 is not a multiple of the tick size 0.1; use 50000 or 50000.1"),
]


@pytest.mark.parametrize("case, fields, expected", ORDER_CASES, ids=[c[0] for c in ORDER_CASES])
def test_order_refused_client_side(venue: dict[str, Any], case: str, fields: dict[str, Decimal],
                                   expected: str) -> None:
    sim: SimProcess = venue["sim"]
    env = key_env()
    creds = OkxCredentials(api_key=env["OKX_API_KEY"], secret_key=env["OKX_SECRET_KEY"],
                           passphrase=env["OKX_PASSPHRASE"], base_url=sim.url)
    instrument = creds.get_client().instruments("SPOT", "BTC-USDT")[0]
    order = OrderRequest(inst_id="BTC-USDT", side="buy", ord_type="limit", cl_ord_id=f"bad{case.replace('_', '')}",
                         **fields)
    before = exchange_snapshot(sim)
    with pytest.raises(InvalidOrder) as info:
        tasks.place_order.fn(creds, order, instrument)
    assert str(info.value) == expected and "\n" not in str(info.value)
    assert exchange_snapshot(sim) == before


def test_key_that_can_withdraw_gets_a_warning(monkeypatch: pytest.MonkeyPatch,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    key = ApiKeySpec(permissions=frozenset({"read_only", "trade", "withdraw"}), ip="127.0.0.1")
    with running_simulator(SimConfig(keys=[key], rate_limits=False)) as sim:
        monkeypatch.setenv("OKX_API_KEY", key.api_key)
        monkeypatch.setenv("OKX_SECRET_KEY", key.secret_key.get_secret_value())
        monkeypatch.setenv("OKX_PASSPHRASE", key.passphrase.get_secret_value())
        assert main(["check-key", "--base-url", sim.base_url]) == 0
        assert sim.exchange.all_orders() == []
    out = capsys.readouterr().out.splitlines()
    assert "permissions: read_only, trade, withdraw" in out
    assert [line for line in out if line.startswith("WARNING")] == [
        ("WARNING: this key can WITHDRAW funds: a leaked key could empty the account -- make a key with read and "
         "trade permissions only for okx-flows")]
