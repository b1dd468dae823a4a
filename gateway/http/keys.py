"""Typed application state. A module of its own so that ``app`` and ``ops`` share the key without a cycle."""

from __future__ import annotations

from aiohttp import web

from gateway.daemon import Daemon

#: The running daemon whose engine, bus, relay and metrics the handlers read.
DAEMON = web.AppKey("daemon", Daemon)
