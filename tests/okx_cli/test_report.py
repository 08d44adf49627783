"""``okx-flows report``: a strategy's history from the ledger, as text, CSV and JSON."""

from __future__ import annotations

import csv
import io
import json
from argparse import Namespace
from decimal import Decimal

from flows.dca import dca
from flows.ladder import ladder
from okx_cli import report
from okx_cli.main import main


def run_report(spec: str, **options: object) -> str:
    out = io.StringIO()
    args = Namespace(spec=spec, since=options.get("since"), csv=bool(options.get("csv")),
                     json=bool(options.get("json")))
    assert report.invoke(args, out=out) == 0
    return out.getvalue()


def test_the_series_the_totals_and_the_reconciliation(sim, spec_file):
    path = str(spec_file("dca"))
    first = dca(spec_path=path)
    dca(spec_path=path)  # the same slot: adopts the first buy, counts its fill once
    text = run_report(path)
    assert "btc-dca on account" in text and "2 run(s)" in text
    assert "started at      3,000.00 USDT" in text
    assert "reconciled: every run's traded notional and fees match its 1 recorded fill(s)" in text
    rows = list(csv.DictReader(io.StringIO(run_report("btc-dca", csv=True))))
    assert [r["run_id"] for r in rows][0] == first.flow_run_id
    fee = sum(-(f.fee or 0) * f.fill_px for f in first.fills)  # the buy's fee is in BTC
    assert Decimal(rows[-1]["cum_fees"]) == fee.quantize(Decimal("0.01"))
    assert Decimal(rows[-1]["cum_turnover"]) == sum(f.fill_px * f.fill_sz for f in first.fills).quantize(
        Decimal("0.01"))
    data = json.loads(run_report("btc-dca", json=True))
    assert data["spec"] == "btc-dca" and data["reconciled"] and len(data["runs"]) == 2
    assert data["runs"][1]["fees"] == "0.00"  # the second run traded nothing new


def test_since_filters_and_bad_input_is_one_line(sim, spec_file, capsys):
    ladder(spec_path=str(spec_file("ladder")))
    assert "1 run(s)" in run_report("eth-ladder", since="2000-01-01")
    assert main(["report", "eth-ladder", "--since", "2999-01-01"]) == 1
    assert main(["report", "no-such-spec"]) == 1
    assert main(["report", "eth-ladder", "--since", "yesterday"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-3].startswith("okx-flows: error: no trading run of 'eth-ladder'")
    assert err[-2].startswith("okx-flows: error: no trading run of 'no-such-spec'") and "eth-ladder" in err[-2]
    assert err[-1] == "okx-flows: error: --since 'yesterday': not a date -- use YYYY-MM-DD, e.g. 2026-11-01"
