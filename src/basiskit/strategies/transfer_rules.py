"""When moving USDT between venues is worth it: rules shared by the strategies that hold CEX margin.

A transfer between venues costs the source's withdrawal fee and takes minutes
(``venues.sim.transfer``). Two rules keep a re-target from paying for moves that achieve nothing:

* ``MAX_FEE_SHARE``: a transfer is sent only if its fee is at most 2 % of the amount;
* ``MARGIN_TOLERANCE``: within +/- 10 % of a venue's target margin a re-target leaves the margin where
  it is (the margin floor and ceiling triggers of the modes handle the large moves); without it every
  re-target at a new price would send small amounts back and forth.
"""

from __future__ import annotations

MAX_FEE_SHARE = 0.02
MARGIN_TOLERANCE = 0.10


def worth_sending(amount: float, fee: float, min_trade_usd: float) -> bool:
    """Whether a transfer of ``amount`` (USDT) with ``fee`` (USDT) is worth sending."""
    return amount > min_trade_usd and fee <= MAX_FEE_SHARE * amount


def margin_tolerance(target_margin: float, min_trade_usd: float) -> float:
    """USDT by which a venue's margin may differ from its target before a re-target moves it."""
    return max(min_trade_usd, MARGIN_TOLERANCE * target_margin)
