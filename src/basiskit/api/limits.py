"""Request-body size limit (ASGI middleware): a body above ``max_bytes`` is answered 413 (API-007)
before the application reads it -- at once from ``Content-Length``, or while a chunked body arrives."""

from __future__ import annotations

from basiskit.errors.exceptions import StopRun


class RequestTooLarge(StopRun):
    code = "API-007"


def _too_large(max_bytes: int):
    from basiskit.api.errors import error_json  # noqa: PLC0415 - errors imports the schemas

    return error_json(413, "API-007", f"request body larger than {max_bytes:,} bytes", "body",
                      headers={"Connection": "close"})


class BodyLimit:
    def __init__(self, app, max_bytes: int) -> None:  # noqa: ANN001
        self.app = app
        self.max_bytes = int(max_bytes)

    async def __call__(self, scope, receive, send) -> None:  # noqa: ANN001
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or ())
        length = headers.get(b"content-length")
        if length is not None:
            try:
                declared = int(length)
            except ValueError:
                declared = None  # the server rejects a malformed length itself
            if declared is not None and declared > self.max_bytes:
                await _too_large(self.max_bytes)(scope, receive, send)
                return
            await self.app(scope, receive, send)
            return
        if b"chunked" not in headers.get(b"transfer-encoding", b"").lower():
            await self.app(scope, receive, send)
            return
        body, more = bytearray(), True  # chunked: read it here, at most max_bytes, then hand it on
        while more:
            message = await receive()
            if message["type"] != "http.request":
                return  # the client went away
            body += message.get("body", b"")
            more = message.get("more_body", False)
            if len(body) > self.max_bytes:
                await _too_large(self.max_bytes)(scope, receive, send)
                return
        replayed = False

        async def replay():  # noqa: ANN202
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": bytes(body), "more_body": False}
            return await receive()

        await self.app(scope, replay, send)
