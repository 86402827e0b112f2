"""The Starlette application that `provisioner serve` runs: health at /healthz, and the
phones' files at the root (every other path; see `provisioner.web.phones`).

/healthz says whether the database answers, and the latest change id. It tells the
version only to an operator: a request with ``Authorization: Bearer <token>`` where the
token is `health_token` (``serve --health-token``, PROVISIONER_HEALTH_TOKEN); without a
token configured, to no one. A version tells a scanner which known bugs to try."""

from __future__ import annotations

import asyncio
import hmac
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager

from sqlalchemy.exc import SQLAlchemyError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from provisioner import __version__
from provisioner.geoip import ZoneLocator
from provisioner.storage.database import Database
from provisioner.vendors.base import VendorProfile
from provisioner.web.phones import PhoneFiles, PhoneOptions


def default_profiles() -> tuple[VendorProfile, ...]:
    from provisioner.vendors import PROFILES

    return PROFILES


def create_app(
    database: Database,
    options: PhoneOptions | None = None,
    profiles: Sequence[VendorProfile] | None = None,
    locator: ZoneLocator | None = None,
    health_token: str | None = None,
) -> ProvisionerApp:
    """The app; `locator` chooses zones (default: the GeoIP chain without a city database,
    trusting no proxy); `health_token` lets /healthz tell the version to who presents it."""
    phones = PhoneFiles(
        database, default_profiles() if profiles is None else profiles, options, locator
    )

    async def healthz(request: Request) -> JSONResponse:
        """200 while the database answers; 503 (with the reason) when it does not."""
        try:
            change = await asyncio.to_thread(database.latest_change)
        except SQLAlchemyError as error:
            reason = type(error).__name__
            return JSONResponse({"status": "unavailable", "database": reason}, status_code=503)
        if _is_operator(request.headers.get("authorization"), health_token):
            return JSONResponse({"status": "ok", "version": __version__, "change": change})
        return JSONResponse({"status": "ok", "change": change})

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        chosen = getattr(app.state, "locator", None)  # set by `run_service`, if at all
        if chosen is not None:
            phones.use_locator(chosen)
        await phones.start()
        try:
            yield
        finally:
            await phones.stop()

    app = ProvisionerApp(routes=[Route("/healthz", healthz)], lifespan=lifespan)
    app.state.phones = app.phones = phones
    return app


def _is_operator(authorization: str | None, token: str | None) -> bool:
    """``Bearer <token>``, compared in constant time; never without a token configured."""
    if not token or not authorization:
        return False
    scheme, _, given = authorization.partition(" ")
    if scheme.lower() != "bearer":
        return False
    return hmac.compare_digest(given.strip().encode(), token.encode())


class ProvisionerApp(Starlette):
    """Starlette, with the phones' files answered before routing: they are most of the
    traffic, and a phone's path is recognised faster than the router and its middleware
    would pass it on. Every other path goes through Starlette as usual."""

    phones: PhoneFiles

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and await self.phones.handle(scope, receive, send):
            return
        await super().__call__(scope, receive, send)
