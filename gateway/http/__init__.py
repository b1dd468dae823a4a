"""The daemon's HTTP surface: liveness and readiness probes, Prometheus metrics and the operator API.

``app`` builds the aiohttp application and starts it for ``gateway.daemon``; ``ops`` holds the operator
endpoints; ``views`` the topic and dead-letter views that the HTTP API and the CLI share.
"""
