"""An AAVE v3 account on chain (web3.py): supply, withdraw, borrow, repay, E-mode, and a group of legs
(the flash-loan leverage loop of eth_leveraged) as ONE transaction through the account's own
``LoopExecutor`` contract (``contracts/BasiskitChain.sol``).

Transactions are signed locally with the account's key (``keys.Signer``), nonces come from a
``NonceManager`` (safe for concurrent submissions from several threads), and every transaction is
mined even when it reverts (no gas estimate first: the limit is ``TX_GAS_LIMIT``; a reverted
transaction pays the gas it used, as a real submission would). ``TxResult`` carries the receipt's gas used, effective
gas price and fee (wei), and for a revert AAVE's error (``Errors.sol`` code and name, read from the
npm package).

Units: amounts in token units (float) at the interface, wei on chain (``Market.wei``); account data
(``account_data``) in USD with AAVE's 8 decimals converted to float USD, the health factor as a float
(AAVE's wad / 1e18), LTV and liquidation threshold as fractions (AAVE's bps / 1e4).

Legs of a group (``Leg``): ``supply`` / ``withdraw`` / ``borrow`` / ``repay`` of ``token``
``amount``; ``flash_borrow`` (the loan wrapping the group; its repayment is the pool's pull at the end
of the transaction, amount + premium = ``amount x (1 + flash_loan_fee_bps)``); ``convert``
(``token`` ``amount`` -> ``out_token`` ``out_amount``: a staking or DEX leg, settled by ``Settlement``
at exactly that rate, i.e. at the simulator's quote). A consuming leg (supply, repay, convert) takes
the balance the transaction holds when that is short of the leg's amount by wei rounding only (at most
1e-9 relative + 1000 wei, as the simulator trims a fill to what the wallet holds); a borrow leg is
rounded up by 1e-15 relative + ``BORROW_ROUNDING_WEI`` (a float64 amount is exact to ~1.1e-16 only) so
that float -> wei rounding never leaves the loan short; the extra debt is below 1e-14 relative.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from web3.exceptions import ContractLogicError

from basiskit.domain.orders import Order
from basiskit.domain.trades import Trade, TradeStatus
from basiskit.venues.onchain.keys import NonceManager, Signer
from basiskit.venues.onchain.market import EMODE_ID, POLL_S, Market

MAX_UINT = 2**256 - 1
TX_GAS_LIMIT = 3_000_000  # gas limit of every transaction (a loop entry uses ~450,000)
MAX_FEE_WEI = 100 * 10**9  # EIP-1559 max fee per gas (anvil's base fee stays near 1 gwei)
PRIORITY_FEE_WEI = 10**9
BORROW_ROUNDING_WEI = 2  # a group's borrow is rounded up by 1e-15 relative + 2 wei: a float64 amount is exact to
                         # ~1.1e-16 relative only, and float -> wei must never leave the flash loan short
STEP = {"supply": 1, "withdraw": 2, "borrow": 3, "repay": 4, "convert": 5}


def aave_error_names(aave_dir: Path) -> dict[str, str]:
    """AAVE's error code -> constant name, from ``Errors.sol`` of the npm package (e.g. '36' ->
    'COLLATERAL_CANNOT_COVER_NEW_BORROW')."""
    src = next(Path(aave_dir).rglob("Errors.sol")).read_text()
    return {code: name for name, code in re.findall(r"string public constant (\w+) = '(\d+)'", src)}


# AAVE v3 error names -> basiskit's error codes (errors/codes: the simulator's codes for the same refusal)
ERROR_CODES = {"COLLATERAL_CANNOT_COVER_NEW_BORROW": "VENUE-004",
               "HEALTH_FACTOR_LOWER_THAN_LIQUIDATION_THRESHOLD": "VENUE-005",
               "NOT_ENOUGH_AVAILABLE_USER_BALANCE": "VENUE-002", "LTV_VALIDATION_FAILED": "VENUE-004"}


def error_code(reason: str) -> str:
    """basiskit's error code of a revert reason (``TxResult.error``): VENUE-004 max LTV, VENUE-005 health
    factor, VENUE-002 balance, EXEC-001 anything else."""
    name = reason.split(" ", 1)[1] if " " in reason and reason.split(" ", 1)[0].isdigit() else ""
    if name in ERROR_CODES:
        return ERROR_CODES[name]
    return "VENUE-002" if "exceeds balance" in reason or "balance short" in reason else "EXEC-001"


@dataclass(frozen=True)
class TxResult:
    """A mined transaction: ``ok`` (receipt status 1), ``gas_used`` (units), ``gas_price_wei`` (the
    effective price), ``fee_wei`` (gas_used x price, paid in the chain's native ETH), ``error`` (the
    revert reason: AAVE code and name when it is AAVE's), ``tx_hash``."""

    ok: bool
    gas_used: int
    gas_price_wei: int
    fee_wei: int
    tx_hash: str
    error: str = ""


@dataclass(frozen=True)
class Leg:
    op: str
    token: str
    amount: float
    out_token: str | None = None
    out_amount: float | None = None


class OnchainAave:
    """The account of ``signer`` on ``market``. Call ``setup()`` once (deploys its ``LoopExecutor``,
    approvals, credit delegation to it, E-mode when ``emode``)."""

    def __init__(self, market: Market, signer: Signer, aave_dir: Path, emode: bool = False, name: str = "aave_v3") -> None:
        self.market = market
        self.w3 = market.w3
        self.signer = signer
        self.address = signer.address
        self.name = name
        self.emode = emode
        self.nonces = NonceManager(self.w3, self.address)
        self.errors = aave_error_names(aave_dir)
        self.executor = None
        self.chain_id = self.w3.eth.chain_id

    # -- transactions ----------------------------------------------------------------------------
    def _reason(self, tx: dict, block: int) -> str:
        """The revert reason of ``tx``: the same call replayed on the state it ran on (``block``)."""
        call = {k: tx[k] for k in ("from", "to", "data", "value") if k in tx}
        try:
            self.w3.eth.call({**call, "gas": tx["gas"]}, block_identifier=block)
        except ContractLogicError as exc:
            msg = str(exc.message or exc).replace("execution reverted: ", "").strip().strip("'")
            return f"{msg} {self.errors[msg]}" if msg in self.errors else msg
        except Exception as exc:  # noqa: BLE001 -- the reason is informative only
            return f"reverted ({type(exc).__name__})"
        return "reverted"

    def send(self, fn, value: int = 0, gas: int = TX_GAS_LIMIT) -> TxResult:
        """Sign and send ``fn`` (a contract function) from the account with gas limit ``gas``; wait for
        its receipt. No estimate first: a transaction that reverts is mined and pays the gas it used
        (EIP-1559: used x effective price, not the limit); its reason is read by replaying the call on
        the block before it."""
        tx = fn.build_transaction({"from": self.address, "value": value, "chainId": self.chain_id, "gas": gas,
                                   "nonce": self.nonces.next(), "maxFeePerGas": MAX_FEE_WEI,
                                   "maxPriorityFeePerGas": PRIORITY_FEE_WEI})
        try:
            h = self.w3.eth.send_raw_transaction(self.signer.sign(tx))
        except Exception:
            self.nonces.reset()
            raise
        rec = self.w3.eth.wait_for_transaction_receipt(h, timeout=120, poll_latency=POLL_S)
        ok = rec["status"] == 1
        price = int(rec["effectiveGasPrice"])
        reason = "" if ok else self._reason(tx, int(rec["blockNumber"]) - 1)
        return TxResult(ok, int(rec["gasUsed"]), price, int(rec["gasUsed"]) * price, h.hex(), reason)

    def _ok(self, r: TxResult, what: str) -> TxResult:
        if not r.ok:
            raise RuntimeError(f"{what} reverted: {r.error}")
        return r

    def setup(self) -> None:
        m = self.market
        own = m.abis
        c = self.w3.eth.contract(abi=own["LoopExecutor"], bytecode=m.bytecodes["LoopExecutor"])
        tx = c.constructor(m.pool.address, m.contracts["settlement"].address).build_transaction(
            {"from": self.address, "nonce": self.nonces.next(), "chainId": self.chain_id, "gas": TX_GAS_LIMIT,
             "maxFeePerGas": MAX_FEE_WEI, "maxPriorityFeePerGas": PRIORITY_FEE_WEI})
        rec = self.w3.eth.wait_for_transaction_receipt(self.w3.eth.send_raw_transaction(self.signer.sign(tx)), poll_latency=POLL_S)
        if rec["status"] != 1:
            raise RuntimeError("deploying the LoopExecutor reverted")
        self.executor = self.w3.eth.contract(address=rec["contractAddress"], abi=own["LoopExecutor"])
        for sym, tok in m.tokens.items():
            self._ok(self.send(tok.functions.approve(m.pool.address, MAX_UINT)), f"approve {sym}")
            self._ok(self.send(tok.functions.approve(self.executor.address, MAX_UINT)), f"approve {sym}")
            self._ok(self.send(m.atokens[sym].functions.approve(self.executor.address, MAX_UINT)), f"approve a{sym}")
            self._ok(self.send(m.vtokens[sym].functions.approveDelegation(self.executor.address, MAX_UINT)),
                     f"delegate {sym} credit")
        if self.emode:
            self.set_emode(EMODE_ID)

    # -- single operations (each its own transaction) ---------------------------------------------
    def set_emode(self, category: int) -> TxResult:
        return self.send(self.market.pool.functions.setUserEMode(category))

    def supply(self, token: str, amount: float) -> TxResult:
        m = self.market
        return self.send(m.pool.functions.supply(m.tokens[token].address, m.wei(token, amount), self.address, 0))

    def withdraw(self, token: str, amount: float | None) -> TxResult:
        """``amount`` None: the whole aToken balance (AAVE's type(uint256).max)."""
        m = self.market
        wei = MAX_UINT if amount is None else m.wei(token, amount)
        return self.send(m.pool.functions.withdraw(m.tokens[token].address, wei, self.address))

    def borrow(self, token: str, amount: float) -> TxResult:
        m = self.market
        return self.send(m.pool.functions.borrow(m.tokens[token].address, m.wei(token, amount), 2, 0, self.address))

    def repay(self, token: str, amount: float | None) -> TxResult:
        """``amount`` None: the whole variable debt."""
        m = self.market
        wei = MAX_UINT if amount is None else m.wei(token, amount)
        return self.send(m.pool.functions.repay(m.tokens[token].address, wei, 2, self.address))

    # -- a group of legs as one transaction ---------------------------------------------------------
    def run_group(self, legs: list[Leg]) -> TxResult:
        """Send ``legs`` as one transaction (module docstring); the conversion legs' rates are quoted
        to the Settlement by the market's keeper first (``Market.set_quote``)."""
        m = self.market
        flash = [leg for leg in legs if leg.op == "flash_borrow"]
        if len(flash) > 1:
            raise ValueError("one flash loan per group")
        steps, tokens = [], set()
        for leg in legs:
            if leg.op == "flash_borrow":
                tokens.add(leg.token)
                continue
            if leg.op not in STEP:
                raise ValueError(f"leg {leg.op!r} cannot run on chain (known: flash_borrow, {', '.join(STEP)})")
            addr = m.tokens[leg.token].address
            wei = m.wei(leg.token, leg.amount)
            if leg.op == "borrow":
                wei += wei // 10**15 + BORROW_ROUNDING_WEI
            tokens.add(leg.token)
            aux = "0x" + "00" * 20
            if leg.op == "withdraw":
                aux = m.atokens[leg.token].address
            elif leg.op == "convert":
                out_wei = m.wei(leg.out_token, leg.out_amount)
                m.set_quote(addr, m.tokens[leg.out_token].address, out_wei, wei)
                aux = m.tokens[leg.out_token].address
                tokens.add(leg.out_token)
            steps.append((STEP[leg.op], addr, wei, aux))
        token_addrs = [m.tokens[t].address for t in sorted(tokens)]
        f_addr = m.tokens[flash[0].token].address if flash else "0x" + "00" * 20
        f_wei = m.wei(flash[0].token, flash[0].amount) if flash else 0
        return self.send(self.executor.functions.run(f_addr, f_wei, token_addrs, steps))

    # -- reads -----------------------------------------------------------------------------------
    def supplied(self, token: str) -> float:
        """aToken balance now (token units)."""
        m = self.market
        return m.units(token, m.atokens[token].functions.balanceOf(self.address).call())

    def borrowed(self, token: str) -> float:
        """Variable debt now (token units)."""
        m = self.market
        return m.units(token, m.vtokens[token].functions.balanceOf(self.address).call())

    def wallet(self, token: str) -> float:
        m = self.market
        return m.units(token, m.tokens[token].functions.balanceOf(self.address).call())

    def raw_balances(self) -> dict[str, int]:
        """Every balance of the account in wei: tokens, aTokens, variable debt, native ETH."""
        m = self.market
        out = {"ETH": self.w3.eth.get_balance(self.address)}
        for sym in m.tokens:
            out[sym] = m.tokens[sym].functions.balanceOf(self.address).call()
            out["a" + sym] = m.atokens[sym].functions.balanceOf(self.address).call()
            out["debt" + sym] = m.vtokens[sym].functions.balanceOf(self.address).call()
        return out

    def account_data(self) -> dict[str, float]:
        """``Pool.getUserAccountData``: collateral_usd, debt_usd, available_borrows_usd, liquidation_threshold
        and ltv (fractions: the account's weighted averages), health_factor (inf without debt)."""
        c, d, avail, lt, ltv, hf = self.market.pool.functions.getUserAccountData(self.address).call()
        return {"collateral_usd": c / 1e8, "debt_usd": d / 1e8, "available_borrows_usd": avail / 1e8,
                "liquidation_threshold": lt / 1e4, "ltv": ltv / 1e4,
                "health_factor": float("inf") if hf == MAX_UINT else hf / 1e18}


def group_trades(orders: list[Order], result: TxResult, t_ns: int, gas_usd: float = 0.0) -> list[Trade]:
    """The trades of an atomic group sent as one transaction, in the execution manager's shape
    (``engine.execution``): FILLED legs at their amounts when the transaction succeeded; when it
    reverted, every leg FAILED with the revert's error code (``error_code``) and reason
    "atomic group <id> reverted on chain: <reason>". Gas (``gas_usd``, ``result.gas_used`` units) sits
    on the first leg either way: a reverted transaction burns its gas too."""
    out = []
    for k, o in enumerate(orders):
        gas = (gas_usd, result.gas_used) if k == 0 else (0.0, 0)
        if result.ok:
            out.append(Trade(o, t_ns, TradeStatus.FILLED, executed_amount=o.amount, price=1.0, fee=0.0,
                             fee_currency=o.token, gas_usd=gas[0], gas_units=gas[1]))
        else:
            out.append(Trade(o, t_ns, TradeStatus.FAILED, error_code=error_code(result.error),
                             error=f"atomic group {o.atomic_group_id} reverted on chain: {result.error}",
                             gas_usd=gas[0], gas_units=gas[1]))
    return out
