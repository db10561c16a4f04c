"""Bearer-token check for ``/api/v1/*`` (only installed when a token is configured)."""

from __future__ import annotations

import hmac

from fastapi import Depends
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from basiskit.errors.exceptions import BasiskitError

_bearer = HTTPBearer(auto_error=False, description="the server's BASISKIT_API_TOKEN")


class Unauthorized(BasiskitError):
    code = "API-002"


def token_dependency(token: str):
    """A FastAPI dependency accepting only ``Authorization: Bearer <token>``; raises Unauthorized (401)."""
    expected = token.encode()

    async def check(creds: HTTPAuthorizationCredentials | None = Depends(_bearer)) -> None:
        given = (creds.credentials if creds is not None else "").encode()
        if not hmac.compare_digest(given, expected):
            raise Unauthorized("missing or wrong API token" if given else "missing API token: send Authorization: Bearer <token>")

    return check
