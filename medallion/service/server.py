"""`medallion serve`: every loaded product (or those named) on one port, bound to loopback
unless told otherwise, and then only with a token."""

from __future__ import annotations

import contextlib
import ipaddress
import os
import signal
import sys

from medallion.service.state import ALIAS_ENV, PRODUCTS_ENV, SHADOW_ENV, TOKEN_ENV


def is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


def check_exposure(host: str, environ: dict[str, str]) -> str:
    """What the service says at start about who may call it.

    Raises:
        SystemExit: when it would listen beyond loopback without a token.
    """
    token = environ.get(TOKEN_ENV)
    if not is_loopback(host) and not token:
        raise SystemExit(
            f"error: listening on {host} (beyond this machine) needs a token: set {TOKEN_ENV}; "
            "every request must then send 'Authorization: Bearer <token>'"
        )
    if token:
        return (
            f"token required on every request ('Authorization: Bearer ${TOKEN_ENV}'); "
            f"listening on {host}"
        )
    return f"no token: listening on {host} only (loopback)"


def run(
    products: list[str], host: str, port: int, *, workers: int = 1, shadow: bool = True,
    alias: str = "champion",
) -> int:  # fmt: skip
    """Serve until Ctrl-C or SIGTERM (uvicorn stops gracefully: the log is flushed)."""
    import uvicorn

    print(check_exposure(host, dict(os.environ)), file=sys.stderr)
    os.environ[PRODUCTS_ENV] = ",".join(products)
    os.environ[SHADOW_ENV] = "1" if shadow else "0"
    os.environ[ALIAS_ENV] = alias
    print(
        f"medallion service for {', '.join(products)} at http://{host}:{port} "
        f"(/products, /openapi.json, /health; Ctrl-C stops it)",
        file=sys.stderr,
    )
    config = uvicorn.Config(
        "medallion.service.state:app_from_env",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level="warning",
        access_log=False,
    )
    if workers > 1:
        uvicorn.run(config.app, factory=True, host=host, port=port, workers=workers,
                    log_level="warning", access_log=False)  # fmt: skip
        return 0
    _GracefulServer(config).run()
    return 0


class _GracefulServer:
    """uvicorn's server, stopped by SIGINT or SIGTERM with exit code 0 (uvicorn re-raises
    the signal after its graceful shutdown, which would end the process with -15)."""

    def __init__(self, config) -> None:
        import uvicorn

        class Server(uvicorn.Server):
            @contextlib.contextmanager
            def capture_signals(self):
                handled = (signal.SIGINT, signal.SIGTERM)
                previous = {sig: signal.signal(sig, self.handle_exit) for sig in handled}
                try:
                    yield
                finally:
                    for sig, handler in previous.items():
                        signal.signal(sig, handler)

        self.server = Server(config)

    def run(self) -> None:
        self.server.run()
