"""The master-data REST API under ``/api``: customers, accounts, OPMs, contracts, activities, documents,
search and the customer-360 view. One module per object, each declaring its routes on an ``ApiRoutes``."""

from __future__ import annotations

from typing import Final

from gateway.http.masterdata import (
    accounts,
    activities,
    contracts,
    customers,
    documents,
    history,
    opm,
    readings,
    search,
)
from gateway.http.openapi import ApiRoutes

#: Every master-data route module, for ``gateway.http.app.API_ROUTES``.
MASTERDATA_ROUTES: Final[tuple[ApiRoutes, ...]] = (
    customers.api, search.api, accounts.api, opm.api, readings.api, contracts.api, activities.api,
    documents.api, history.api,
)
