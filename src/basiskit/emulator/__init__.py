"""A local exchange emulator: the Binance, Bybit and OKX APIs that ccxt calls, on 127.0.0.1, backed by the
simulators and replaying recorded data.

Public interface (stable; the live runner and the tests use it):

* ``replay.Replay(catalog, start, end, step_s=3600, capital=None, layout=None, bars="1h")`` -- the
  emulated venues' state: market replay on a grid (hourly bars, or ``bars="1m"`` the 1-minute perp
  bars), accounts ``binance.spot``, ``binance.perp``, ``bybit.spot``, ``bybit.perp`` (with
  ``layout={**DEFAULT_LAYOUT, **OKX_LAYOUT}`` also ``okx.spot``, ``okx.perp`` and the funding account
  ``okx.funding``; OKX's prices are Bybit's recording: ``price_sources``) kept by ``CexSpot`` /
  ``CexPerp`` (Bybit's and OKX's spot and perp are ONE unified account with one USDT balance:
  ``venue_balances(venue)``, ``UNIFIED``); ``t`` (ns), ``advance_to(t_ns)``, ``balances(acc)``, ``positions(acc)``, ``all_orders(acc)``,
  ``find(acc, order_id=, client_id=)``, ``fills[acc]``, ``funding_paid[acc]``, ``movements_of(venue, kind)``.
* ``ticks.TickReplay(load_tick_streams(source_dir, {("binance.perp", "LUNC"): "ticks.gateio.perp.LUNCUSDT"}),
  start_ns=None)`` -- recorded book-ticker streams replayed tick by tick (real gaps kept).
* ``server.EmulatorServer(replay, {key: secret}, speed=None, port=0, ticks=None, passphrase=None)`` -- the HTTP/websocket
  server on a thread of its own (``start()``/``stop()`` or ``with``); ``url``; ``advance(to_ns=|steps=)``,
  ``advance_ticks(to_ns)``, ``deposit(...)``, ``fault(path, kind, method, count)``. ``speed=None``:
  manual clock (deterministic tests); ``speed=x``: x replay seconds per wall second.
* ``server.ccxt_config(venue, url)`` -- ``{"urls": {"api": ...}, "options": ..., "ccxt": ...}``: what
  points ccxt's own ``binance`` / ``bybit`` (REST and ccxt.pro) at the emulator; for the live adapters,
  pass ``{"urls": cfg["urls"]["api"], "options": cfg["options"], "ccxt": cfg["ccxt"]}`` as the venue
  overrides (``venues.live.build_live_accounts``).
* ``basiskit emulator`` (``cli/emulator.py``) serves it from the command line.

The dialects: ``binance_api`` (spot ``/api/v3``, USDT-M ``/fapi`` incl. algo orders, wallet ``/sapi``,
market streams), ``bybit_api`` (v5 spot + linear on a unified trading account, public streams) and
``okx_api`` (v5 spot + USDT swaps, trigger orders, funding account; served when the layout has ``okx``);
``auth`` checks the signatures as each venue does. Read ``replay`` for what is replayed and the rules
that keep the emulator from inventing market data.
"""
