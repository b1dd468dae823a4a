"""proud gateway: the daemon, its bus, store, process runtime, HTTP and CLI."""

__version__ = "0.1.0"
