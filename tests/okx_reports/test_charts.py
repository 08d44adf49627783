"""The charts are real PNGs, small enough for Prefect's database, and embed as markdown images."""

import base64
import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from okx_reports import charts

PNG = b"\x89PNG\r\n\x1a\n"


def _size(png: bytes) -> tuple[int, int]:
    return int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")


def test_weights_chart_is_a_png_sized_to_its_assets() -> None:
    few = charts.weights(["BTC", "ETH"], [Decimal("0.6"), Decimal("0.4")], [0.5, 0.5], [0.5, 0.5])
    many = charts.weights([f"A{i}" for i in range(20)], [0.05] * 20, [0.05] * 20, [0.05] * 20)
    assert few.startswith(PNG) and many.startswith(PNG)
    assert _size(few)[1] == _size(many)[1] == 300 and _size(many)[0] > _size(few)[0]
    assert len(many) < 80_000


def test_time_charts_and_rungs() -> None:
    start = datetime(2026, 12, 1, tzinfo=UTC)
    times = [start + timedelta(minutes=i) for i in range(5)]
    nav = charts.nav(times, [100, 101, 99.5, 102, 103], quote="USDT", held=[100, 100.5, 99, 101, 101.5])
    fills = charts.fills_against_mid(times[1:], [64000, 64010, 63990, 64005], ["sell"] * 4, times,
                                     [64000, 64008, 63995, 64002, 64001], inst_id="BTC-USDT")
    rungs = charts.rungs_against_mid([Decimal("1900"), Decimal("1950")], [Decimal("0.5"), Decimal("0.25")],
                                     ["buy", "buy"], Decimal("2000"), inst_id="ETH-USDT")
    single = charts.rungs_against_mid([1900], [1], ["buy"], 2000, inst_id="ETH-USDT")
    assert all(png.startswith(PNG) for png in (nav, fills, rungs, single))


def test_markdown_image_embeds_the_bytes_and_keeps_the_alt_text_inert() -> None:
    png = charts.weights(["BTC"], [1], [1], [1])
    text = charts.markdown_image("weights [before]", png)
    match = re.fullmatch(r"!\[([^\]]*)\]\(data:image/png;base64,([A-Za-z0-9+/=]+)\)", text)
    assert match and match.group(1) == "weights (before)"
    assert base64.b64decode(match.group(2)) == png
