"""OKX's account endpoints: balances, configuration (account mode), fee tier, maximum order
sizes, bills, currencies."""

from __future__ import annotations

from decimal import ROUND_DOWN, Decimal
from typing import Any

from okx_sim.bills import bills
from okx_sim.instruments import SimInstrument
from okx_sim.matching import TD_MODES, _page, param
from okx_sim.protocol import SimError, param_error
from okx_sim.routes.base import Reply, Request, Routes, ms_param, ok, required
from okx_wire.endpoints import INST_TYPES, MAX_BALANCE_CCYS, MAX_SIZE_INSTS
from okx_wire.orders import spot_td_mode
from okx_wire.precision import format_decimal

_DAY_MS = 86_400_000
#: How far back each bills endpoint reaches: 7 days, and 3 months for the archive.
BILLS_REACH_MS = 7 * _DAY_MS
BILLS_ARCHIVE_REACH_MS = 92 * _DAY_MS
#: Bill ``type`` codes OKX documents (``account/bills``); the simulated account only ever has
#: trade bills (2), so a filter on another known type answers an empty page.
BILL_TYPES = frozenset({str(n) for n in range(1, 17)} | {"22", "24", "26", "27", "28", "29", "30", "32", "33",
                                                          "34", "250", "251"})
_USD_PLACES = Decimal("0.00000001")

# Which ``account/balance`` fields each account mode fills in (API-FACTS-2 section 9.5): the rest
# are "" (never absent). acctLv: 1 Spot, 2 Futures, 3 Multi-currency margin, 4 Portfolio margin.
_TOP_SPOT = ("adjEq", "ordFroz", "imr", "mmr", "borrowFroz", "notionalUsd", "notionalUsdForBorrow",
             "notionalUsdForOption")
_TOP_BY_MODE: dict[str, tuple[str, ...]] = {
    "1": _TOP_SPOT, "2": ("isoEq",),
    "3": (*_TOP_SPOT, "availEq", "upl", "notionalUsdForSwap", "notionalUsdForFutures"),
}
_TOP_BY_MODE["4"] = _TOP_BY_MODE["3"]
_CCY_BORROW = ("disEq", "liab", "crossLiab", "interest", "twap", "maxLoan", "borrowFroz")
_CCY_MARGIN = ("isoEq", "availEq", "upl", "isoUpl")
_CCY_BY_MODE: dict[str, tuple[str, ...]] = {
    "1": (*_CCY_BORROW, "spotIsoBal"),
    "2": (*_CCY_MARGIN, "mgnRatio", "notionalLever", "imr", "mmr", "spotIsoBal"),
    "3": (*_CCY_BORROW, *_CCY_MARGIN, "uplLiab", "isoLiab"),
    "4": (*_CCY_BORROW, *_CCY_MARGIN, "uplLiab", "isoLiab", "spotInUseAmt", "clSpotInUseAmt", "maxSpotInUse"),
}
_CCY_MODE_FIELDS = frozenset(f for fields in _CCY_BY_MODE.values() for f in fields)
_TOP_MODE_FIELDS = frozenset(f for fields in _TOP_BY_MODE.values() for f in fields) | {"mgnRatio"}


def _for_mode(sheet: dict[str, Any], acct_lv: str) -> dict[str, Any]:
    """The balance as an account of mode ``acct_lv`` shows it. Nothing is borrowed and no
    position is open in the simulator, so every filled-in margin figure is the plain one: no
    liability, no unrealised P&L, equity available as held, margin requirements zero."""
    total = Decimal(sheet["totalEq"] or "0")
    frozen_usd = Decimal(0)
    details = []
    for row in sheet["details"]:
        eq_usd = Decimal(row["eqUsd"] or "0")
        cash = Decimal(row["cashBal"] or "0")
        share = (Decimal(row["frozenBal"] or "0") / cash) if cash else Decimal(0)
        frozen_usd += eq_usd * share
        value = {"disEq": row["eqUsd"], "isoEq": "0", "availEq": row["availBal"], "upl": "0", "isoUpl": "0",
                 "spotIsoBal": "0", "twap": "0", "maxSpotInUse": "0", "spotInUseAmt": "", "clSpotInUseAmt": "",
                 "mgnRatio": "", "notionalLever": "0"}
        wanted = _CCY_BY_MODE[acct_lv]
        details.append({**row, **{f: (value.get(f, "0") if f in wanted else "") for f in _CCY_MODE_FIELDS},
                        "collateralEnabled": acct_lv == "3"})
    top_values = {"adjEq": sheet["totalEq"], "availEq": format_decimal((total - frozen_usd).quantize(_USD_PLACES)),
                  "ordFroz": format_decimal(frozen_usd.quantize(_USD_PLACES)), "mgnRatio": ""}
    wanted_top = _TOP_BY_MODE[acct_lv]
    return {**sheet, **{f: (top_values.get(f, "0") if f in wanted_top else "") for f in _TOP_MODE_FIELDS},
            "details": details}


class AccountRoutes(Routes):
    def balance(self, req: Request) -> Reply:
        ccy = param(req.query, "ccy")
        ccys = [c.strip() for c in ccy.split(",") if c.strip()] if ccy else None
        if ccys is not None and len(ccys) > MAX_BALANCE_CCYS:
            raise param_error("ccy")
        return ok([_for_mode(self.exchange.balance(ccys, req.now_ms), self.exchange.acct_lv)])

    # -- maximum order sizes -----------------------------------------------------------------
    def _size_query(self, req: Request) -> list[SimInstrument]:
        """The instruments of a max-size query, after OKX's checks: at most five, all known,
        and the tdMode the account's mode takes for spot."""
        ids = [i.strip() for i in required(req.query, "instId").split(",") if i.strip()]
        td_mode = required(req.query, "tdMode")
        if not ids or len(ids) > MAX_SIZE_INSTS:
            raise param_error("instId")
        if td_mode not in TD_MODES:
            raise param_error("tdMode")
        insts = []
        for inst_id in ids:
            inst = self.exchange.catalogue.get(inst_id)
            if inst is None:
                raise SimError("51001")
            insts.append(inst)
        if td_mode != spot_td_mode(self.exchange.acct_lv):
            # The order would be refused for its tdMode, so is the question of its size, and
            # with the order's code: a margin account answers cash with 51000, the rest 51010.
            raise param_error("tdMode") if td_mode == "cash" else SimError("51010")
        return insts

    def _price(self, req: Request, inst: SimInstrument, several: bool) -> Decimal:
        """``px`` when given for one instrument (OKX ignores it for several), else the last price."""
        text = param(req.query, "px")
        if text is not None and not several:
            try:
                px = Decimal(text)
            except ArithmeticError:
                raise param_error("px") from None
            if not px.is_finite() or px <= 0:
                raise param_error("px")
            return px
        market = self.exchange.market
        return Decimal(market.ticker(inst, market.step_at(req.now_ms))["last"])

    def max_size(self, req: Request) -> Reply:
        """Spot maxBuy in base (what the available quote buys at ``px``), maxSell in base (the
        available base). The docs call spot maxSell "in quote currency"; no capture confirms
        it, and base is what the account can actually sell (docs/simulator.md)."""
        insts = self._size_query(req)
        rows = []
        for inst in insts:
            px = self._price(req, inst, len(insts) > 1)
            quote = self.exchange.balance_of(inst.quote).available
            base = self.exchange.balance_of(inst.base).available
            rows.append({"ccy": inst.base, "instId": inst.inst_id,
                         "maxBuy": format_decimal((quote / px).quantize(inst.lot_sz, rounding=ROUND_DOWN)),
                         "maxSell": format_decimal(base.quantize(inst.lot_sz, rounding=ROUND_DOWN))})
        return ok(rows)

    def max_avail_size(self, req: Request) -> Reply:
        """What can be traded now: availBuy in quote, availSell in base (OKX's spot units)."""
        rows = []
        for inst in self._size_query(req):
            rows.append({"instId": inst.inst_id,
                         "availBuy": format_decimal(self.exchange.balance_of(inst.quote).available),
                         "availSell": format_decimal(self.exchange.balance_of(inst.base).available)})
        return ok(rows)

    # -- bills -------------------------------------------------------------------------------
    def _bills(self, req: Request, reach_ms: int) -> Reply:
        q = req.query
        inst_type, inst_id, ccy = param(q, "instType"), param(q, "instId"), param(q, "ccy")
        bill_type, sub_type, mgn_mode = param(q, "type"), param(q, "subType"), param(q, "mgnMode")
        if inst_type is not None and inst_type not in INST_TYPES:
            raise param_error("instType")
        if bill_type is not None and bill_type not in BILL_TYPES:
            raise param_error("type")
        if mgn_mode is not None and mgn_mode not in ("isolated", "cross"):
            raise param_error("mgnMode")
        begin, end = ms_param(q, "begin"), ms_param(q, "end")
        oldest = req.now_ms - reach_ms
        mode = "cash" if spot_td_mode(self.exchange.acct_lv) == "cash" else "cross"
        if (inst_type not in (None, "SPOT") or bill_type not in (None, "2")
                or (mgn_mode is not None and mgn_mode != mode)):
            return ok([])
        self.exchange.tick(req.now_ms)
        rows = [b for b in bills(self.exchange.fills, self.exchange.balances)
                if b.fill.ts >= oldest and (inst_id is None or b.fill.inst_id == inst_id)
                and (ccy is None or b.ccy == ccy) and (sub_type is None or b.sub_type == sub_type)
                and (begin is None or b.fill.ts >= begin) and (end is None or b.fill.ts <= end)]
        return ok([b.to_okx(mode) for b in _page(rows, q, lambda b: b.bill_id)])

    def bills(self, req: Request) -> Reply:
        return self._bills(req, BILLS_REACH_MS)

    def bills_archive(self, req: Request) -> Reply:
        return self._bills(req, BILLS_ARCHIVE_REACH_MS)

    def account_config(self, req: Request) -> tuple[int, dict[str, Any]]:
        key = req.key
        assert key is not None
        perm = ",".join(p for p in ("read_only", "trade", "withdraw") if p in key.permissions)
        uid = self.exchange.uid
        return ok([{
            "acctLv": self.exchange.acct_lv, "acctStpMode": "cancel_maker", "autoLoan": False, "ctIsoMode": "automatic",
            "enableSpotBorrow": False, "greeksType": "PA", "ip": key.ip, "kycLv": "2", "label": key.label,
            "level": self.exchange.fee_tier.level, "levelTmp": "", "liquidationGear": "-1", "mainUid": uid,
            "mgnIsoMode": "automatic",
            "opAuth": "0", "perm": perm, "posMode": "net_mode", "roleType": "0", "spotBorrowAutoRepay": False,
            "spotOffsetType": "", "spotRoleType": "0", "spotTraderInsts": [], "traderInsts": [],
            "type": "0", "uid": uid,
        }])

    def trade_fee(self, req: Request) -> tuple[int, dict[str, Any]]:
        """The fee tier the engine charges, in OKX's field set (deprecated fields included)."""
        inst_type = required(req.query, "instType")
        if inst_type not in INST_TYPES:
            raise param_error("instType")
        if inst_type != "SPOT":
            return ok([])
        inst_id = param(req.query, "instId")
        if inst_id is not None and self.exchange.catalogue.get(inst_id) is None:
            raise SimError("51001")
        tier = self.exchange.fee_tier
        maker, taker = format_decimal(tier.maker), format_decimal(tier.taker)
        return ok([{
            "category": "1", "delivery": "", "exercise": "",
            # elpMaker is "" where ELP does not apply; the simulator takes no elp orders.
            "feeGroup": [{"elpMaker": "", "groupId": "1", "maker": maker, "taker": taker}],
            "fiat": [], "instType": "SPOT", "level": tier.level, "maker": maker, "makerU": "", "makerUSDC": "",
            "ruleType": "normal", "taker": taker, "takerU": "", "takerUSDC": "", "ts": str(req.now_ms),
        }])

    def currencies(self, req: Request) -> Reply:
        ccy = param(req.query, "ccy")
        wanted = set(ccy.split(",")) if ccy else None
        rows = []
        for code in self.exchange.catalogue.currencies():
            if wanted is not None and code not in wanted:
                continue
            rows.append({
                "canDep": True, "canInternal": True, "canWd": True, "ccy": code, "chain": f"{code}-{code}",
                "ctAddr": "", "depEstOpenTime": "", "depQuotaFixed": "", "depQuoteDailyLayer2": "",
                "logoLink": "", "mainNet": True, "maxFee": "0.001", "maxFeeForCtAddr": "", "maxWd": "1000000",
                "minDep": "0.00000001", "minDepArrivalConfirm": "1", "minFee": "0.0001", "minFeeForCtAddr": "",
                "minWd": "0.001", "minWdUnlockConfirm": "1", "name": code, "needTag": False,
                "usedDepQuotaFixed": "", "usedWdQuota": "0", "wdEstOpenTime": "", "wdQuota": "10000000",
                "wdTickSz": "8",
            })
        return ok(rows)
