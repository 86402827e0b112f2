"""The Starlette application that `provisioner serve` runs: health at /healthz, and the
phones' files at the root (every other path; see `provisioner.web.phones`)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager

from sqlalchemy.exc import SQLAlchemyError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from provisioner import __version__
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
) -> Starlette:
    phones = PhoneFiles(database, default_profiles() if profiles is None else profiles, options)

    async def healthz(_request: Request) -> JSONResponse:
        """200 while the database answers; 503 (with the reason) when it does not."""
        try:
            change = await asyncio.to_thread(database.latest_change)
        except SQLAlchemyError as error:
            reason = type(error).__name__
            return JSONResponse({"status": "unavailable", "database": reason}, status_code=503)
        return JSONResponse({"status": "ok", "version": __version__, "change": change})

    @asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        await phones.start()
        try:
            yield
        finally:
            await phones.stop()

    app = Starlette(
        routes=[Route("/healthz", healthz), Route("/{path:path}", phones)],
        lifespan=lifespan,
    )
    app.state.phones = phones
    return app
