"""``/api/billing/quote``: the price calculator over HTTP (the contract: schemas/billing/settlement.py)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Final

from aiohttp import web

from gateway.billing.quote import QUOTE_BYTES_MAX, decode_quote, quote
from gateway.http.keys import DAEMON
from gateway.http.openapi import ApiRoutes
from schemas.billing.settlement import QuoteRequest, Settlement

#: The price lists' directory under the rules directory (``rules_dir`` setting).
PRICES_SUBDIRECTORY: Final = "prices"

api = ApiRoutes(tag="billing", description="Billing: the price calculator.")


@api.post(
    "/api/billing/quote", summary="The settlement of a consumption or of readings with a price list",
    request=QuoteRequest, response=Settlement, errors=[413], changes_nothing=True,
)
async def quote_settlement(request: web.Request) -> Settlement:
    """Rates the request with the price list it names (an id under the rules directory's ``prices/``; paths
    are for the command line only) or the default list. Nothing is stored. Amounts and quantities are
    decimal strings; a JSON number where a decimal belongs is refused (422 naming the field)."""
    declared = request.content_length
    if declared is not None and declared > QUOTE_BYTES_MAX:
        raise web.HTTPRequestEntityTooLarge(max_size=QUOTE_BYTES_MAX, actual_size=declared)
    body = await request.read()
    root = Path(request.app[DAEMON].settings.rules_dir) / PRICES_SUBDIRECTORY
    # Reading the price files (on a change) and rating take milliseconds; off the loop all the same.
    return await asyncio.to_thread(lambda: quote(decode_quote(body), root, paths_allowed=False))
