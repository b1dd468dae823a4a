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
    ├── Conflict                    an operation is not allowed in the entity's present state (HTTP 409)
    ├── InvalidField                a field of a request or record has a value we refuse (HTTP 422)
    ├── Unauthenticated             no API key, or one that is unknown or revoked (HTTP 401)
    └── Forbidden                   the API key's role is below the one the operation needs (HTTP 403)
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


class InvalidField(ProudError):
    """A field has a value we refuse: wrong type, out of range, not a valid identifier, missing.

    ``field`` is its path from the root of the document, dotted with list indices in brackets
    (``address.postal_code``, ``contacts[1].email``; empty for the document itself), ``value`` the value as
    given (None when the field is missing) and ``reason`` what is wrong with it, e.g. ``is required``.
    """

    def __init__(self, field: str, value: object, reason: str) -> None:
        super().__init__(f"{field or 'body'}: {reason}")
        self.field = field
        self.value = value
        self.reason = reason


class Unauthenticated(ProudError):
    """The request carries no API key, or one we do not accept; the message says which, never the key."""


class Forbidden(ProudError):
    """The caller is known but its role is below the one the operation needs."""

    def __init__(self, needed: str, held: str) -> None:
        super().__init__(f"this operation needs the role {needed!r}; the API key has the role {held!r}")
        self.needed = needed
        self.held = held


def is_retryable(error: BaseException) -> bool:
    """Whether a failed handler call may succeed if repeated.

    Our own errors carry the answer. A foreign exception reaching this point escaped translation at its
    boundary; it is treated as a bug in the handler (not retryable) so that it surfaces in the DLQ instead
    of looping silently.
    """
    if isinstance(error, ProudError):
        return error.retryable
    return False
