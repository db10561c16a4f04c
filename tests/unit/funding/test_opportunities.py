"""Opportunity ranking against hand-computed numbers."""

from __future__ import annotations

import numpy as np
import pytest

from basiskit.data.funding.feed import ClientFundingFeed, HistoricalFundingFeed
from basiskit.data.funding.opportunities import CROSS, PERP_SPOT, Costs, candidates, rank_at, rank_history
from basiskit.data.funding.table import FundingTable

H = 3_600_000_000_000
T0 = 1_714_521_600 * 10**9


def table():
    # binance BTC 8 h: 1e-4 at T0; okx BTC 4 h: 3e-4 at T0; okx ETH 8 h: -2e-4 at T0
    return FundingTable((("binance", "BTCUSDT"), ("okx", "BTC-USDT-SWAP"), ("okx", "ETH-USDT-SWAP")),
                        np.array([0, 1, 2, 3]), np.array([T0, T0, T0], dtype=np.int64),
                        np.array([1e-4, 3e-4, -2e-4]), np.array([8, 4, 8]))


COSTS = Costs(perp_taker={"binance": 6e-4, "okx": 6e-4}, spot_taker={"binance": 11e-4, "okx": 11e-4},
              transfer_fee_usd={("binance", "okx"): 1.0, ("okx", "binance"): 1.0}, notional_usd=10_000.0, hold_days=36.5)


def test_cross_venue_net_apr_by_hand():
    ops = {(o.long, o.short): o for o in rank_at(table(), COSTS, T0 + H)}
    o = ops[("binance:BTCUSDT", "okx:BTC-USDT-SWAP")]
    # gross: okx 3e-4 per 4 h x 2190 = 0.657; binance 1e-4 x 1095 = 0.1095 -> 0.5475
    assert o.gross_apr == pytest.approx(0.5475)
    # one-off: 4 legs 2 x (6e-4 + 6e-4) = 0.0024, transfers 2 x 1 / 10,000 = 0.0002 -> 0.0026 x 365 / 36.5 = 0.026
    assert o.cost_apr == pytest.approx(0.026)
    assert o.net_apr == pytest.approx(0.5215)
    assert o.kind == CROSS and o.long_interval_h == 8 and o.short_interval_h == 4


def test_perp_spot_direction_and_borrow_flag_by_hand():
    ops = {o.long if o.long_rate is not None else o.short: o for o in rank_at(table(), COSTS, T0, kinds=(PERP_SPOT,))}
    eth = ops["okx:ETH-USDT-SWAP"]
    # negative funding: long perp, short spot (needs a borrow); gross |−2e-4 x 1095| = 0.219; costs 2 x 0.0017 x 10
    assert eth.long == "okx:ETH-USDT-SWAP" and eth.short == "okx:spot" and eth.needs_borrow
    assert eth.gross_apr == pytest.approx(0.219) and eth.net_apr == pytest.approx(0.219 - 0.034)
    btc = ops["okx:BTC-USDT-SWAP"]
    assert btc.short == "okx:BTC-USDT-SWAP" and btc.long == "okx:spot" and not btc.needs_borrow


def test_rank_at_orders_by_net_apr_and_history_agrees():
    tab = table()
    ranked = rank_at(tab, COSTS, T0)
    nets = [o.net_apr for o in ranked]
    assert nets == sorted(nets, reverse=True) and [o.rank for o in ranked] == list(range(1, len(ranked) + 1))
    order, net, cands = rank_history(tab, COSTS, np.array([T0 - H, T0, T0 + 49 * H]))
    assert np.isnan(net[0]).all() and np.isnan(net[2]).all()  # before the data; older than 48 h
    best = int(order[1][0])
    assert net[1][best] == pytest.approx(ranked[0].net_apr)
    assert len(cands.kind) == 3 + 2  # three perp/spot, binance<->okx BTC both ways
    assert rank_at(tab, COSTS, T0, top=2)[1].rank == 2


def test_bad_costs_are_refused():
    with pytest.raises(ValueError, match="hold_days"):
        Costs({"okx": 1e-4}, hold_days=0)
    with pytest.raises(KeyError, match="binance"):
        candidates(table(), Costs({"okx": 1e-4}))
    with pytest.raises(ValueError, match="sorted"):
        rank_history(table(), COSTS, np.array([T0, T0 - H]))


def test_historical_feed_never_looks_ahead():
    feed = HistoricalFundingFeed(table())
    assert feed.quote("okx", "BTC-USDT-SWAP", T0 - 1) is None
    q = feed.quote("okx", "BTC-USDT-SWAP", T0 + 3 * H)
    assert (q.rate, q.interval_h, q.time_ns, q.settled) == (3e-4, 4, T0, True)


class FakeExchange:
    def __init__(self, answer):
        self.answer = answer
        self.asked = []

    def fetch_funding_rate(self, symbol):
        self.asked.append(symbol)
        return self.answer


def test_client_feed_reads_the_ccxt_answer_and_refuses_bad_ones():
    ex = FakeExchange({"fundingRate": 0.0001, "interval": "4h", "fundingTimestamp": 1_714_521_600_000})
    feed = ClientFundingFeed({"okx": ex}, {("okx", "BTC-USDT-SWAP"): "BTC/USDT:USDT"})
    q = feed.quote("okx", "BTC-USDT-SWAP")
    assert (q.rate, q.interval_h, q.time_ns, q.settled) == (0.0001, 4, T0, False) and ex.asked == ["BTC/USDT:USDT"]
    ex.answer = {"fundingRate": None}
    with pytest.raises(ValueError, match="no fundingRate"):
        feed.quote("okx", "BTC-USDT-SWAP")
    ex.answer = {"fundingRate": 1e-4, "interval": "8m"}
    with pytest.raises(ValueError, match="interval"):
        feed.quote("okx", "BTC-USDT-SWAP")
