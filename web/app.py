"""The app factory: one FastAPI app over one ledger.

    create_app("fairmined.db")                       # or a postgresql:// URL
    create_app(db, sign_key="scheme-private.pem")    # /api/head signed

The routers (``web.api``, ``web.pages``, and ``web.commands`` for recording) ask the worker's
``SharedLedger`` (``web.shared``); ``web.errors`` maps refusals to answers once; ``web.auth`` knows
accounts (and, on a private server, lets no request through without one); ``web.guard`` wraps
everything.
"""

from __future__ import annotations

from contextlib import asynccontextmanager
from importlib import resources
from importlib.metadata import PackageNotFoundError, version
from typing import Any, AsyncIterator

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi import FastAPI, Request
from fastapi.staticfiles import StaticFiles
from starlette.responses import Response

from ledger.integrity import heads
from web import api, auth, commands, errors, pages
from web.guard import Guard
from web.shared import SharedLedger
from web.templating import HERE, render

DOCS_POLICY = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
               "frame-ancestors 'none'; base-uri 'none'; form-action 'none'")
DESCRIPTION = """The public registry of a certledger ledger. Reading needs no account (unless the server was
started with `--private`); recording (`POST /api/commands`) needs a bearer token (`Authorization: Bearer
TOKEN`, from `certledger accounts add`).

Every answer reflects every event committed before the request arrived and carries the ledger
position it used in the `X-Ledger-Position` header. Objects have the shapes of the command line's
`--json` output; lists come in an envelope `{items, total, as_of, known_at, position}`. A refusal
is `{"error": "<message>"}` with status 400 (bad input) or 404 (unknown organization or path); 401 without
a valid token where one is needed, 403 for a command the account may not record, 429 after too many failed
authentications.
"""


def create_app(db: str | None = None, *, sign_key: str | Ed25519PrivateKey | None = None,
               private: bool = False) -> FastAPI:
    """The registry over the ledger at ``db``; ``/api/head`` is signed with ``sign_key`` (a PEM file or a key);
    ``private``: every request needs an account (``web.auth``)."""
    key = heads.load_private_key(sign_key) if isinstance(sign_key, str) else sign_key
    ledger = SharedLedger(db, key)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        ledger.close()

    app = FastAPI(title="certledger public registry", version=package_version(), description=DESCRIPTION,
                  openapi_url="/api/openapi.json", docs_url=None, redoc_url=None, lifespan=lifespan)
    app.state.ledger = ledger
    # A path with a slash too many is an unknown path (404), not a redirect built from the request's Host header.
    app.router.redirect_slashes = False
    app.state.authenticator = auth.Authenticator(ledger)
    app.include_router(api.router)
    app.include_router(commands.router)
    app.add_api_route("/api/docs", api_docs, include_in_schema=False)
    app.include_router(pages.router)
    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")
    app.mount("/api/docs/assets", StaticFiles(directory=str(swagger_assets())), name="docs-assets")
    errors.install(app)
    if private:
        app.add_middleware(auth.Gate, authenticator=app.state.authenticator)
    app.add_middleware(Guard, ledger=ledger)
    app.openapi = lambda: openapi_of(app)  # type: ignore[method-assign]
    return app


def api_docs(request: Request) -> Response:
    """Interactive API documentation (Swagger UI, served from here: no third-party script)."""
    return render(request, "api_docs.html", {}, headers={"Content-Security-Policy": DOCS_POLICY})


def openapi_of(app: FastAPI) -> dict[str, Any]:
    """The generated description, with refusals as this API makes them: 400 with ``{"error"}``, never 422."""
    if app.openapi_schema is None:
        from fastapi.openapi.utils import get_openapi

        schema = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
        for operations in schema.get("paths", {}).values():
            for operation in operations.values():
                operation.get("responses", {}).pop("422", None)
        components = schema.get("components", {}).get("schemas", {})
        for unused in ("HTTPValidationError", "ValidationError"):
            components.pop(unused, None)
        app.openapi_schema = schema
    return app.openapi_schema


def swagger_assets() -> Any:
    return resources.files("fastapi_offline") / "static"


def package_version() -> str:
    try:
        return version("certledger")
    except PackageNotFoundError:
        return "0"
