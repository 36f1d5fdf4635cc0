"""The dashboard's HTTP server: the page, the charting library and the panels' data.

aiohttp on its own event loop, bound to 127.0.0.1. The page (page.html) is static: it asks
`/api/panels?range=1h` every few seconds and draws with Plotly, whose JavaScript is served
from the installed `plotly` package (offline: no CDN, no build step). The warehouse is read
with psycopg2 on a thread pool, so a slow query never stalls the page's other requests.
"""

from __future__ import annotations

import contextlib
import json
import logging
import socket
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from functools import cache
from importlib import resources
from typing import Any

import psycopg2
from aiohttp import web

from ecomflow.dashboard import panels
from ecomflow.served_app import ServedApp

log = logging.getLogger(__name__)

LOOPBACK = "127.0.0.1"
DEFAULT_PORT = 8050


@cache
def _plotly_js() -> bytes:
    from plotly.offline import get_plotlyjs

    return get_plotlyjs().encode("utf-8")


@cache
def _page() -> bytes:
    return resources.files("ecomflow.dashboard").joinpath("page.html").read_bytes()


class DashboardServer(ServedApp):
    """The dashboard for warehouse `dsn`, bound when built; `serve_forever()` until `stop()`
    (from another thread) or Ctrl-C."""

    def __init__(self, dsn: str, *, host: str = LOOPBACK, port: int = DEFAULT_PORT) -> None:
        self.dsn = dsn
        app = web.Application()
        app.router.add_get("/", self._index)
        app.router.add_get("/plotly.js", self._plotly)
        app.router.add_get("/api/panels", self._panels)
        super().__init__(app, socket.create_server((host, port)),
                         pool=ThreadPoolExecutor(max_workers=4, thread_name_prefix="dashboard"))

    @property
    def url(self) -> str:
        """The page's address (ends with `/`)."""
        return super().url + "/"

    async def _index(self, _: web.Request) -> web.Response:
        return web.Response(body=_page(), content_type="text/html", charset="utf-8")

    async def _plotly(self, _: web.Request) -> web.Response:
        return web.Response(body=_plotly_js(), content_type="application/javascript",
                            headers={"Cache-Control": "max-age=86400"})

    async def _panels(self, request: web.Request) -> web.Response:
        range_name = request.query.get("range", "1h")
        if range_name not in panels.RANGES:
            return _json({"error": f"unknown range {range_name!r}",
                          "ranges": list(panels.RANGES)}, status=400)
        try:
            data = await self._loop.run_in_executor(self._pool, panels.panels, self.dsn,
                                                    range_name)
        except psycopg2.Error as exc:
            # The page keeps its last figures and says the warehouse did not answer.
            log.warning("warehouse query failed: %s", exc)
            return _json({"error": f"the warehouse did not answer: {str(exc).strip()}"},
                         status=503)
        return _json(data)


def _json(data: Any, status: int = 200) -> web.Response:
    return web.Response(text=json.dumps(data), status=status, content_type="application/json",
                        headers={"Cache-Control": "no-store"})


@contextlib.contextmanager
def running_dashboard(dsn: str, *, port: int = 0) -> Iterator[DashboardServer]:
    """Serve the dashboard from a thread; stopped on exit."""
    server = DashboardServer(dsn, port=port)
    thread = threading.Thread(target=server.serve_forever, daemon=True,
                              name="ecomflow-dashboard")
    thread.start()
    try:
        yield server
    finally:
        server.stop()
        thread.join()
