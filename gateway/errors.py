"""One error tree for proud.

Every error says whether trying again may help (``retryable``). Foreign exceptions (SQLAlchemy, aiokafka,
msgspec, OS errors) are translated into this tree at the boundary that meets them, with ``raise … from exc``,
so that the consumer runtime can decide between retry and dead-letter without knowing any library.

    ProudError
    ├── ConfigError                 bad setting: names the key and the value
    ├── MessageError                the message itself is unusable: never retried, dead-lettered
    │   ├── MalformedMessage        not JSON, missing or mistyped field
    │   ├── UnknownMessageType      no payload struct is registered for the type
    │   ├── UnsupportedSchemaVersion the type is known, the version is not
    │   └── MessageTooLarge         over ``Limits.message_bytes_max``
    ├── HandlerRejected             a handler refuses a well-formed message (business rule): not retried
    ├── TransientError              retryable: the same call may succeed later
    │   ├── BusUnavailable          broker or SQL log not reachable
    │   └── StoreUnavailable        database not reachable, serialization failure, lock timeout
    ├── NotFound                    an entity asked for does not exist (HTTP 404, CLI exit 1)
    └── Conflict                    an operation is not allowed in the entity's present state (HTTP 409)
"""

from __future__ import annotations

import re


class ProudError(Exception):
    """Root of every error proud raises on purpose."""

    retryable: bool = False

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


_URL_PASSWORD = re.compile(r"(?P<head>[a-z][a-z0-9+.-]*://[^:/@\s]+):[^@\s]*@")


def redact(value: object) -> object:
    """Hide the password of a URL-like value (``postgresql://user:secret@host`` → ``user:***@host``)."""
    if isinstance(value, str):
        return _URL_PASSWORD.sub(r"\g<head>:***@", value)
    return value


class ConfigError(ProudError):
    """A setting has a value proud cannot use; start-up stops. Passwords in URLs are not repeated."""

    def __init__(self, key: str, value: object, reason: str) -> None:
        value = redact(value)
        super().__init__(f"setting {key}={value!r}: {reason}")
        self.key = key
        self.value = value
        self.reason = reason


class MessageError(ProudError):
    """The message cannot be processed whatever we do; it belongs in the dead-letter topic."""


class MalformedMessage(MessageError):
    pass


class UnknownMessageType(MessageError):
    pass


class UnsupportedSchemaVersion(MessageError):
    pass


class MessageTooLarge(MessageError):
    pass


class HandlerRejected(ProudError):
    """A handler decided, deterministically, that it cannot apply this message."""


class TransientError(ProudError):
    retryable = True


class BusUnavailable(TransientError):
    pass


class StoreUnavailable(TransientError):
    pass


class NotFound(ProudError):
    pass


class Conflict(ProudError):
    pass


def is_retryable(error: BaseException) -> bool:
    """Whether a failed handler call may succeed if repeated.

    Our own errors carry the answer. A foreign exception reaching this point escaped translation at its
    boundary; it is treated as a bug in the handler (not retryable) so that it surfaces in the DLQ instead
    of looping silently.
    """
    if isinstance(error, ProudError):
        return error.retryable
    return False
