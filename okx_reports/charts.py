"""Charts for the run reports, as PNG bytes ready to embed in a markdown artifact.

Prefect's UI renders ``![alt](data:image/png;base64,...)`` in markdown artifacts, so a report is
one self-contained artifact: no file store, no second request, nothing to expire. The charts are
small (7 x 3 in at 100 dpi, 15-40 kB) because every artifact lives in Prefect's database.

matplotlib runs on the Agg backend (no display, thread-safe per figure) and is imported on the
first chart only. Each function draws exactly what its name says and takes plain numbers, so the
reports decide what to show and these functions only decide how.
"""

from __future__ import annotations

import base64
import io
import threading
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

Number = Decimal | float | int

_BEFORE, _AFTER, _TARGET = "#9aa5b1", "#2f6fde", "#e8a317"
_BUY, _SELL, _MID = "#1f9d55", "#cc3d3d", "#6b7280"
_lock = threading.Lock()  # pyplot's figure registry is global; Agg drawing itself is per figure


def warm() -> None:
    """Import matplotlib now (about a second, once per process), e.g. in a thread while a run
    waits on the network, so that its report does not pay for it at the end."""
    fig, ax = _figure(1.0, 1.0)
    ax.set_title("warm", fontsize=8)  # loads the font cache and the text engine too
    _png(fig)


def _figure(width: float = 7.0, height: float = 3.0) -> tuple[Any, Any]:
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=100, layout="constrained")
    return fig, fig.add_subplot()


def _png(fig: Any) -> bytes:
    buffer = io.BytesIO()
    with _lock:
        fig.savefig(buffer, format="png", metadata={"Software": None})
    return buffer.getvalue()


def _style(ax: Any, title: str, ylabel: str) -> None:
    ax.set_title(title, fontsize=10, loc="left")
    ax.set_ylabel(ylabel, fontsize=8)
    ax.tick_params(labelsize=8)
    ax.grid(axis="y", alpha=0.3)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)


def weights(labels: Sequence[str], before: Sequence[Number], after: Sequence[Number],
            target: Sequence[Number], *, title: str = "Weights", after_label: str = "after") -> bytes:
    """Bars of each asset's weight before and after the run, with the target marked.

    Weights are shares (0.459 for 45.9 %). ``after_label`` names the second bar ("projected" on a
    dry run, where nothing moved).
    """
    fig, ax = _figure(max(4.0, min(12.0, 1.0 + 0.6 * len(labels))))
    positions = range(len(labels))
    width = 0.38
    ax.bar([p - width / 2 for p in positions], [float(v) * 100 for v in before], width, label="before",
           color=_BEFORE)
    ax.bar([p + width / 2 for p in positions], [float(v) * 100 for v in after], width, label=after_label,
           color=_AFTER)
    ax.scatter(list(positions), [float(v) * 100 for v in target], marker="_", s=600, linewidths=2.5,
               color=_TARGET, label="target", zorder=3)
    ax.set_xticks(list(positions), labels, rotation=45 if len(labels) > 8 else 0, ha="right" if len(labels) > 8
                  else "center")
    _style(ax, title, "% of equity")
    ax.legend(fontsize=8, frameon=False, ncols=3)
    return _png(fig)


def nav(times: Sequence[datetime], values: Sequence[Number], *, quote: str,
        held: Sequence[Number] | None = None, title: str = "Value over time") -> bytes:
    """The strategy's value after each run, against holding its starting portfolio if given."""
    fig, ax = _figure()
    ax.plot(list(times), [float(v) for v in values], marker="o", markersize=3, color=_AFTER, label="strategy")
    if held is not None:
        ax.plot(list(times), [float(v) for v in held], linestyle="--", color=_BEFORE, label="held")
        ax.legend(fontsize=8, frameon=False)
    _style(ax, title, quote)
    _dates(ax)
    return _png(fig)


def fills_against_mid(fill_times: Sequence[datetime], fill_prices: Sequence[Number], fill_sides: Sequence[str],
                      mid_times: Sequence[datetime], mids: Sequence[Number], *, inst_id: str,
                      title: str | None = None) -> bytes:
    """Each fill's price against the mid the plan used at the time (TWAP slices)."""
    fig, ax = _figure()
    ax.step(list(mid_times), [float(m) for m in mids], where="post", color=_MID, label="mid")
    for side, color in (("buy", _BUY), ("sell", _SELL)):
        points = [(t, float(p)) for t, p, s in zip(fill_times, fill_prices, fill_sides, strict=True) if s == side]
        if points:
            ax.scatter([t for t, _ in points], [p for _, p in points], color=color, s=18, label=f"{side} fill",
                       zorder=3)
    _style(ax, title or f"{inst_id}: fills against mid", "price")
    ax.legend(fontsize=8, frameon=False)
    _dates(ax)
    return _png(fig)


def rungs_against_mid(prices: Sequence[Number], sizes: Sequence[Number], sides: Sequence[str],
                      mid: Number, *, inst_id: str, title: str | None = None) -> bytes:
    """A ladder's rungs as horizontal bars at their prices, with the mid drawn across."""
    fig, ax = _figure()
    colors = [_BUY if s == "buy" else _SELL for s in sides]
    ax.barh([float(p) for p in prices], [float(s) for s in sizes], height=_rung_height(prices), color=colors)
    ax.axhline(float(mid), color=_MID, linestyle="--", label="mid")
    _style(ax, title or f"{inst_id}: ladder against mid", "price")
    ax.set_xlabel("size", fontsize=8)
    ax.legend(fontsize=8, frameon=False)
    return _png(fig)


def _rung_height(prices: Sequence[Number]) -> float:
    ordered = sorted(float(p) for p in prices)
    gaps = [b - a for a, b in zip(ordered, ordered[1:], strict=False) if b > a]
    return (min(gaps) if gaps else max(abs(ordered[0]) * 0.001, 1e-9) if ordered else 1.0) * 0.6


def _dates(ax: Any) -> None:
    from matplotlib import dates

    locator = dates.AutoDateLocator()
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(dates.ConciseDateFormatter(locator))


def markdown_image(alt: str, png: bytes) -> str:
    """The chart as a markdown image Prefect's UI renders inline."""
    safe_alt = alt.replace("[", "(").replace("]", ")")
    return f"![{safe_alt}](data:image/png;base64,{base64.b64encode(png).decode('ascii')})"
