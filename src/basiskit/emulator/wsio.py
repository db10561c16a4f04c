"""The emulator's websocket input, shared by every venue dialect."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

from aiohttp import WSMsgType, web


async def json_requests(ws: web.WebSocketResponse) -> AsyncIterator[dict]:
    """The client's text frames decoded as JSON objects, in order; other frames and text that is not
    JSON are skipped (a venue ignores them too)."""
    async for msg in ws:
        if msg.type != WSMsgType.TEXT:
            continue
        try:
            req = json.loads(msg.data)
        except ValueError:
            continue
        if isinstance(req, dict):
            yield req


async def send_current(ws: web.WebSocketResponse, makers: list) -> None:
    """Send each new subscription's current message at once (``maker()``; None: nothing yet), as a venue
    sends its first update on subscribing."""
    for maker in makers:
        text = maker()
        if text:
            await ws.send_str(text)
