"""proud gateway: the daemon, its bus, store, process runtime, HTTP and CLI."""

from gateway.compiled import install_guard

__version__ = "0.1.0"
#: Whether the billing modules run compiled (``current``) or from source (``gateway.compiled``).
COMPILED = install_guard()
