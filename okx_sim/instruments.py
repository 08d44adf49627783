"""The spot instrument catalogue the simulator lists and trades.

The first rows are real OKX spot pairs with their real trading rules (tickSz, lotSz, minSz as
published by ``/api/v5/public/instruments``), so precision bugs in a client show up here exactly
as they would on OKX. For scale benchmarks the catalogue extends to ~250 pairs: real base
currencies against USDT whose rules are derived from a plausible price, the way OKX sizes them
(a tick of about 1/10,000 of the price, a minimum order worth roughly one dollar).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from okx_wire.precision import format_decimal


@dataclass(frozen=True, slots=True)
class SimInstrument:
    """One spot pair with the rules the matching engine enforces and the price the walk starts at."""

    inst_id: str
    base: str
    quote: str
    tick_sz: Decimal
    lot_sz: Decimal
    min_sz: Decimal
    start_px: Decimal
    inst_id_code: int
    list_time: str = "1606468572000"

    def as_okx(self) -> dict[str, Any]:
        """The field set of the 2026 docs example (samples/public_instruments_spot_docs_example_2026.json)."""
        return {
            "alias": "", "auctionEndTime": "", "baseCcy": self.base, "category": "1", "ctMult": "",
            "ctType": "", "ctVal": "", "ctValCcy": "", "contTdSwTime": "", "expTime": "",
            "futureSettlement": False, "groupId": "1", "instFamily": "", "instId": self.inst_id,
            "instType": "SPOT", "lever": "", "listTime": self.list_time, "lotSz": format_decimal(self.lot_sz),
            "maxIcebergSz": "9999999999.0000000000000000", "maxLmtAmt": "20000000",
            "maxLmtSz": "9999999999", "maxMktAmt": "1000000", "maxMktSz": "1000000", "maxStopSz": "1000000",
            "maxTriggerSz": "9999999999.0000000000000000", "maxTwapSz": "9999999999.0000000000000000",
            "minSz": format_decimal(self.min_sz), "optType": "", "openType": "", "preMktSwTime": "",
            "quoteCcy": self.quote, "tradeQuoteCcyList": [self.quote], "settleCcy": "", "state": "live",
            "ruleType": "normal", "stk": "", "tickSz": format_decimal(self.tick_sz), "uly": "",
            "instIdCode": self.inst_id_code, "instCategory": "1", "upcChg": [],
        }


# Real OKX spot pairs: (instId, tickSz, lotSz, minSz, starting price).
_REAL: tuple[tuple[str, str, str, str, str], ...] = (
    ("BTC-USDT", "0.1", "0.00000001", "0.00001", "68000"),
    ("ETH-USDT", "0.01", "0.000001", "0.0001", "3500"),
    ("SOL-USDT", "0.01", "0.000001", "0.001", "150"),
    ("XRP-USDT", "0.0001", "0.000001", "0.1", "0.6"),
    ("DOGE-USDT", "0.00001", "0.000001", "10", "0.15"),
    ("LTC-USDT", "0.01", "0.000001", "0.001", "85"),
    ("ADA-USDT", "0.0001", "0.000001", "1", "0.45"),
    ("TRX-USDT", "0.00001", "0.000001", "10", "0.12"),
    ("TON-USDT", "0.001", "0.000001", "0.1", "6"),
    ("DOT-USDT", "0.001", "0.000001", "0.1", "7"),
    ("LINK-USDT", "0.001", "0.000001", "0.1", "15"),
    ("AVAX-USDT", "0.01", "0.000001", "0.01", "35"),
    ("BCH-USDT", "0.1", "0.00000001", "0.001", "450"),
    ("UNI-USDT", "0.001", "0.000001", "0.1", "9"),
    ("ATOM-USDT", "0.001", "0.000001", "0.1", "8"),
    ("ETC-USDT", "0.01", "0.000001", "0.01", "27"),
    ("FIL-USDT", "0.001", "0.000001", "0.1", "5"),
    ("NEAR-USDT", "0.001", "0.000001", "0.1", "6"),
    ("APT-USDT", "0.001", "0.000001", "0.01", "9"),
    ("OKB-USDT", "0.01", "0.000001", "0.01", "50"),
    ("PEPE-USDT", "0.000000001", "1", "100000", "0.00001"),
    ("SHIB-USDT", "0.00000001", "1", "100000", "0.00002"),
    ("BTC-USDC", "0.1", "0.00000001", "0.00001", "68000"),
    ("ETH-USDC", "0.01", "0.000001", "0.0001", "3500"),
    ("ETH-BTC", "0.00001", "0.000001", "0.001", "0.05"),
    ("USDC-USDT", "0.0001", "0.000001", "1", "1"),
)

# Further real base currencies quoted in USDT, with a plausible price; rules are derived.
_MORE: tuple[tuple[str, str], ...] = tuple(
    (base, px) for base, px in (item.split(":") for item in ["ARB:0.8", "OP:1.8", "SUI:1.1", "SEI:0.4", "INJ:22", "TIA:8", "STX:1.8", "IMX:1.6", "RNDR:7", "GRT:0.2", "AAVE:90", "MKR:2500", "CRV:0.4", "LDO:1.8", "SNX:2.5", "COMP:55", "SUSHI:1.0", "YFI:6500", "1INCH:0.35", "BAL:3.5", "ENS:14", "APE:1.1", "SAND:0.4", "MANA:0.4", "AXS:6", "GALA:0.03", "CHZ:0.1", "FLOW:0.7", "EGLD:35", "XLM:0.1", "XTZ:0.8", "ALGO:0.15", "HBAR:0.08", "VET:0.03", "ICP:10", "THETA:1.5", "EOS:0.7", "IOTA:0.2", "NEO:13", "QTUM:3", "ZIL:0.02", "ZRX:0.4", "BAT:0.2", "KSM:25", "CELO:0.7", "ONE:0.015", "KNC:0.5", "LRC:0.2", "STORJ:0.4", "ANKR:0.03", "SKL:0.06", "CFX:0.15", "WOO:0.2", "MASK:3", "DYDX:1.5", "GMX:25", "PENDLE:5", "JUP:0.9", "PYTH:0.4", "WIF:2.2", "BONK:0.00002", "FLOKI:0.0002", "ORDI:35", "SATS:0.0000003", "JTO:2.5", "STRK:0.8", "ZK:0.15", "W:0.3", "ENA:0.6", "ETHFI:2.5", "ONDO:0.9", "BLUR:0.3", "MAGIC:0.5", "RON:2.2", "ACE:3", "BOME:0.008", "NOT:0.01", "PEOPLE:0.08", "MEME:0.02", "TRB:80", "UMA:2.5", "API3:1.8", "BAND:1.5", "RSR:0.006", "OM:1.0", "CVC:0.15", "ID:0.4", "CORE:1.0", "KDA:0.8", "MINA:0.6", "ROSE:0.08", "AR:25", "LPT:13", "GLM:0.35", "SSV:25", "RPL:15", "FXS:3", "CVX:2.5", "LQTY:1.0", "BICO:0.3", "AUCTION:20", "BNT:0.6", "CELR:0.015", "CTC:0.6", "DGB:0.008", "ELF:0.5", "GAS:4", "GMT:0.2", "ICX:0.2", "IOST:0.008", "JST:0.03", "KLAY:0.2", "LSK:1.2", "LUNA:0.5", "LUNC:0.0001", "METIS:40", "MOVR:10", "NFT:0.0000005", "OMI:0.0005", "ONT:0.2", "ORBS:0.025", "PERP:0.8", "RVN:0.025", "SC:0.006", "SLP:0.003", "SNT:0.03", "SWEAT:0.01", "T:0.025", "TRA:0.005", "ULTI:0.02", "USTC:0.02", "WAXP:0.05", "XCH:25", "XNO:1.0", "YGG:0.6", "ZEN:9", "ZETA:0.8", "BIGTIME:0.15", "CETUS:0.1", "DEGEN:0.01", "MERL:0.3", "MEW:0.005", "RAY:1.8", "SAFE:0.8", "SOLV:0.05", "TNSR:0.6", "VELO:0.01", "ZRO:3.5", "ATH:0.05", "CATI:0.4", "DOGS:0.0007", "EIGEN:3", "HMSTR:0.004", "NEIRO:0.0008", "POL:0.4", "PNUT:0.5", "ACT:0.3", "MORPHO:2", "MAJOR:0.3", "X:0.00005", "GOAT:0.5", "GRASS:2", "SCR:0.8", "UXLINK:0.5", "BADGER:3", "BONE:0.4", "DEP:0.001", "ETHW:2.5", "FLM:0.06", "GHST:1.0", "GODS:0.2", "ICE:0.005", "KISHU:0.0000000004", "LAT:0.006", "MDT:0.05", "MERLIN:0.3", "MXC:0.008", "OAS:0.05", "PRCL:0.3", "RACA:0.0002", "RDNT:0.1", "SD:0.6", "SPURS:0.02", "SWFTC:0.01", "TURBO:0.006", "VRA:0.005", "WIN:0.0001", "XAUT:2350", "XR:0.0003", "ZKJ:1.0", "ZIL2:0.02", "AIDOGE:0.0000000001"])
)


def _decimal_power(exponent: int) -> Decimal:
    return Decimal(1).scaleb(exponent)


def _derived(base: str, quote: str, px: str, code: int) -> SimInstrument:
    """Rules for a generated pair: ~5 significant price digits and a ~$1 minimum order."""
    price = Decimal(px)
    tick = _decimal_power(price.adjusted() - 4)
    lot = Decimal(1) if price < Decimal("0.001") else _decimal_power(-6)
    min_sz = max(lot, _decimal_power((Decimal(1) / price).adjusted()))
    return SimInstrument(f"{base}-{quote}", base, quote, tick, lot, min_sz, price, code)


def full_catalogue() -> list[SimInstrument]:
    """Every pair the simulator knows, real ones first, in a stable order."""
    result: list[SimInstrument] = []
    for index, (inst_id, tick, lot, minimum, px) in enumerate(_REAL):
        base, quote = inst_id.split("-")
        result.append(SimInstrument(inst_id, base, quote, Decimal(tick), Decimal(lot), Decimal(minimum),
                                 Decimal(px), 1_000_000_000 + index))
    seen = {inst.inst_id for inst in result}
    # USDT pairs for every further base, then USDC pairs for the first ones (OKX lists both).
    candidates = [(base, "USDT", px) for base, px in _MORE] + [(base, "USDC", px) for base, px in _MORE[:60]]
    for index, (base, quote, px) in enumerate(candidates):
        inst = _derived(base, quote, px, 2_000_000_000 + index)
        if inst.inst_id not in seen:
            seen.add(inst.inst_id)
            result.append(inst)
    return result


REAL_COUNT = len(_REAL)


class Catalogue:
    """The listed instruments, looked up by instId; the pre-rendered JSON rows keep listing cheap."""

    def __init__(self, count: int | None = None) -> None:
        every = full_catalogue()
        self.instruments: list[SimInstrument] = every[: (REAL_COUNT if count is None else count)]
        self.by_id: dict[str, SimInstrument] = {inst.inst_id: inst for inst in self.instruments}
        self.rows: dict[str, dict[str, Any]] = {inst.inst_id: inst.as_okx() for inst in self.instruments}

    def get(self, inst_id: str) -> SimInstrument | None:
        return self.by_id.get(inst_id)

    def currencies(self) -> list[str]:
        seen: dict[str, None] = {}
        for inst in self.instruments:
            seen.setdefault(inst.base)
            seen.setdefault(inst.quote)
        return list(seen)
