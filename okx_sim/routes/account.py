"""OKX's account endpoints: balances, configuration (account mode), fee tier, currencies."""

from __future__ import annotations

from typing import Any

from okx_sim.matching import param
from okx_sim.protocol import SimError, param_error
from okx_sim.routes.base import Request, Routes, ok, required
from okx_wire.endpoints import INST_TYPES, MAX_BALANCE_CCYS
from okx_wire.precision import format_decimal


class AccountRoutes(Routes):
    def balance(self, req: Request) -> tuple[int, dict[str, Any]]:
        ccy = param(req.query, "ccy")
        ccys = [c.strip() for c in ccy.split(",") if c.strip()] if ccy else None
        if ccys is not None and len(ccys) > MAX_BALANCE_CCYS:
            raise param_error("ccy")
        return ok([self.exchange.balance(ccys, req.now_ms)])

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

    def currencies(self, req: Request) -> tuple[int, dict[str, Any]]:
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

