"""An aiohttp application served on an event loop of its own, from a socket bound by the
caller: what `ecomflow collect` and `ecomflow dashboard` share.

`serve_forever()` serves until `stop()` is called from another thread or, when it runs in the
main thread, until Ctrl-C or SIGTERM. The signals are handled by the event loop: a
KeyboardInterrupt raised inside a request's task would be raised again by every task awaiting
it, during the stop. `stop()` stops accepting, lets requests in flight finish (for at most
`shutdown_seconds`), closes the socket and then the thread pool handlers run blocking work on.
"""

from __future__ import annotations

import asyncio
import signal
import socket
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from aiohttp import web


class ServedApp:
    def __init__(self, app: web.Application, bound: socket.socket, *, pool: ThreadPoolExecutor,
                 backlog: int = 128, shutdown_seconds: float = 30.0,
                 **runner_options: Any) -> None:
        self._loop = asyncio.new_event_loop()
        self._pool = pool
        self._stopped = asyncio.Event()
        self._served = threading.Event()
        self._closed = False
        self._socket = bound
        self._address = bound.getsockname()[:2]
        self._shutdown_seconds = shutdown_seconds
        self._runner = web.AppRunner(app, handle_signals=False, access_log=None,
                                     shutdown_timeout=shutdown_seconds, **runner_options)
        self._loop.run_until_complete(self._start(backlog))

    async def _start(self, backlog: int) -> None:
        await self._runner.setup()
        await web.SockSite(self._runner, self._socket, backlog=backlog).start()

    @property
    def url(self) -> str:
        """``http://host:port`` as bound (the real port when asked for port 0)."""
        host, port = self._address
        host = f"[{host}]" if ":" in str(host) else host
        return f"http://{host}:{port}"

    def serve_forever(self) -> None:
        signals = ((signal.SIGINT, signal.SIGTERM)
                   if threading.current_thread() is threading.main_thread() else ())
        try:
            for signum in signals:
                self._loop.add_signal_handler(signum, self._stopped.set)
            if not self._closed:
                self._loop.run_until_complete(self._stopped.wait())
        finally:
            for signum in signals:
                self._loop.remove_signal_handler(signum)
            self._served.set()

    def stop(self) -> None:
        if self._closed:
            return
        if self._loop.is_running():  # serve_forever in another thread
            asyncio.run_coroutine_threadsafe(self._shutdown(), self._loop).result(
                self._shutdown_seconds + 10)
            self._served.wait(10)
        else:
            self._loop.run_until_complete(self._shutdown())
        self._closed = True
        self._loop.close()
        self._pool.shutdown(wait=True)

    async def _shutdown(self) -> None:
        await self._runner.cleanup()
        self._stopped.set()
        await asyncio.sleep(0)  # let serve_forever's wait (if Ctrl-C cut it short) finish
