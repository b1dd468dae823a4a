"""The daemon's HTTP surface: liveness and readiness probes, Prometheus metrics and the operator API.

``app`` builds the aiohttp application and starts it for ``gateway.daemon``; ``ops`` and ``processes`` hold
the operator endpoints; ``views`` the topic and dead-letter views that the HTTP API and the CLI share.
Routes under ``/api`` are declared through ``openapi.ApiRoutes`` (which also describes them in
``/api/openapi.json``), read and write JSON bodies with ``bodies``, and are guarded by ``auth`` with the API
keys of ``api_keys``.
"""
