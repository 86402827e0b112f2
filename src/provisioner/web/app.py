"""The Starlette application that `provisioner serve` runs."""

from __future__ import annotations

import asyncio

from sqlalchemy.exc import SQLAlchemyError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from provisioner import __version__
from provisioner.storage.database import Database


def create_app(database: Database) -> Starlette:
    async def healthz(_request: Request) -> JSONResponse:
        """200 while the database answers; 503 (with the reason) when it does not."""
        try:
            change = await asyncio.to_thread(database.latest_change)
        except SQLAlchemyError as error:
            reason = type(error).__name__
            return JSONResponse({"status": "unavailable", "database": reason}, status_code=503)
        return JSONResponse({"status": "ok", "version": __version__, "change": change})

    return Starlette(routes=[Route("/healthz", healthz)])
