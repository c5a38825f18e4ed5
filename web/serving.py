"""``certledger serve``: uvicorn running the app factory in one or more worker processes.

Workers are separate processes started by uvicorn, each importing ``app_from_environment``: the
ledger, the signing key and ``--private`` reach them through the environment (``CERTLEDGER_DB``, the
variable every certledger command reads, ``CERTLEDGER_SIGN_KEY``, a key file's path, and
``CERTLEDGER_PRIVATE=1``).
"""

from __future__ import annotations

import os
import socket
from typing import Any

from ledger.errors import InvalidInput
from ledger.storage import describe

SIGN_KEY_VARIABLE = "CERTLEDGER_SIGN_KEY"
PRIVATE_VARIABLE = "CERTLEDGER_PRIVATE"
FACTORY = "web.serving:app_from_environment"


def serve(service: Any, *, host: str, port: int, workers: int, sign_key: str | None, private: bool = False,
          announce: Any = print) -> None:
    """Check the ledger and the key here (so a mistake is one ``Error:`` line), then run the workers."""
    try:
        import uvicorn

        import web.app  # noqa: F401 - the web extra, all of it
    except ImportError as error:
        raise InvalidInput(f"certledger serve needs the web extra (pip install 'certledger[web]'): {error}") from None
    from ledger.integrity import heads
    from web.logs import log_config

    if sign_key:
        heads.load_private_key(sign_key)
    ledger = service.ledger(must_exist=True)
    db = ledger.db
    service.close()  # each worker opens its own
    if "://" not in db:
        db = os.path.abspath(db)
    os.environ["CERTLEDGER_DB"] = db
    if sign_key:
        os.environ[SIGN_KEY_VARIABLE] = os.path.abspath(sign_key)
    else:
        os.environ.pop(SIGN_KEY_VARIABLE, None)
    if private:
        os.environ[PRIVATE_VARIABLE] = "1"
    else:
        os.environ.pop(PRIVATE_VARIABLE, None)
    sock = listening_socket(host, port)  # a port in use is refused before the server is announced
    shown = f"[{host}]" if ":" in host else host
    announce(f"Serving the registry of {describe(db)} on http://{shown}:{port}/ "
             f"({workers} worker{'s' if workers != 1 else ''}{', signed heads' if sign_key else ''}"
             f"{', private: every request needs an account' if private else ''}); Ctrl-C stops")
    config = uvicorn.Config(FACTORY, factory=True, host=host, port=port, workers=workers, proxy_headers=True,
                            http="web.wire:JsonErrorProtocol", server_header=False, timeout_keep_alive=5, log_level="info",
                            log_config=log_config())
    run_workers(config, sock)


def run_workers(config: Any, sock: socket.socket) -> None:
    """What ``uvicorn.run`` does, with the listening socket bound here.

    Bound here, a port in use or an address that is not one is one ``Error:`` line before anything
    starts (uvicorn would log its reason and exit). And uvicorn opens the workers' shared socket without
    naming TCP, so asyncio does not turn Nagle's algorithm off on the connections they accept: on a
    kept-alive connection each answer (headers and body written apart) then waits about 40 ms for the
    client's delayed acknowledgement. Connections inherit TCP_NODELAY from the listening socket, so it
    is set there.
    """
    from uvicorn import Server
    from uvicorn.supervisors import Multiprocess

    if config.workers <= 1:
        server = Server(config)
        try:
            server.run(sockets=[sock])
        except SystemExit:
            raise InvalidInput(f"cannot serve on {config.host}:{config.port} (the reason is above)") from None
        return
    try:
        Multiprocess(config, sockets=[sock]).run()
    except KeyboardInterrupt:
        pass


def listening_socket(host: str, port: int) -> socket.socket:
    """A TCP socket bound to ``host``:``port`` (an IPv6 address for a host with a colon), or InvalidInput."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
    except OSError as error:
        sock.close()
        reason = error.strerror or str(error)
        raise InvalidInput(f"cannot serve on {host}:{port}: {reason[0].lower()}{reason[1:]}") from None
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.set_inheritable(True)
    return sock


def app_from_environment() -> Any:
    from web import wire
    from web.app import create_app

    app = create_app(os.environ.get("CERTLEDGER_DB"), sign_key=os.environ.get(SIGN_KEY_VARIABLE) or None,
                     private=os.environ.get(PRIVATE_VARIABLE) == "1")
    wire.last_position = app.state.ledger.last_position  # this worker's connections answer unparsable requests
    return app
