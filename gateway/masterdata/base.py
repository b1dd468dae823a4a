"""The error every identifier validator raises, and the small parsing steps they share."""

from __future__ import annotations

from gateway.errors import ProudError

_ASCII_DIGITS = frozenset("0123456789")
# A pasted document must not turn one error message into megabytes of log; the attribute keeps it whole.
_SHOWN_CHARS_MAX = 64


def _shown(value: object) -> str:
    if isinstance(value, str) and len(value) > _SHOWN_CHARS_MAX:
        return f"{value[:_SHOWN_CHARS_MAX]!r}… ({len(value)} characters)"
    return repr(value)


class InvalidIdentifier(ProudError):
    """A value is not a valid identifier of its kind. Repeating the call cannot help.

    ``kind`` is the key of ``KIND_VALIDATORS`` (``ean_opm``, ``iban``, …), ``value`` the input exactly as
    given and ``reason`` what is wrong with it, e.g.
    ``ean_opm: '859182400000000000' fails the check digit (expected 3, got 0)``.
    """

    retryable = False

    def __init__(self, kind: str, value: object, reason: str) -> None:
        super().__init__(f"{kind}: {_shown(value)} {reason}")
        self.kind = kind
        self.value = value
        self.reason = reason


def compact(kind: str, value: str) -> str:
    """``value`` without any whitespace (people group long numbers with spaces, NBSP from office tools)."""
    if not isinstance(value, str):
        # The signature says str, but values arrive from decoded JSON and CSV: fail as an identifier error,
        # not as an AttributeError the consumer runtime would treat as a bug.
        raise InvalidIdentifier(kind, value, f"is a {type(value).__name__}, not a string")
    text = "".join(value.split())
    if not text:
        raise InvalidIdentifier(kind, value, "is empty")
    return text


def is_ascii_digits(text: str) -> bool:
    """True for a non-empty run of 0-9 (``str.isdigit`` also accepts '²' and Arabic-Indic digits)."""
    return bool(text) and all(c in _ASCII_DIGITS for c in text)


def require_digits(kind: str, value: str, text: str, part: str = "") -> None:
    """Raise unless ``text`` is ASCII digits only; ``part`` names the component in the reason."""
    for char in text:
        if char not in _ASCII_DIGITS:
            where = f" in the {part}" if part else ""
            raise InvalidIdentifier(kind, value, f"contains {char!r}{where}, only digits 0-9 are allowed")
    if not text:
        raise InvalidIdentifier(kind, value, f"has an empty {part or 'value'}")


def require_length(kind: str, value: str, text: str, shortest: int, longest: int, part: str = "") -> None:
    """Raise unless ``shortest <= len(text) <= longest``. Call after ``require_digits``."""
    if shortest <= len(text) <= longest:
        return
    expected = str(shortest) if shortest == longest else f"{shortest} to {longest}"
    whose = f"the {part} " if part else ""
    raise InvalidIdentifier(kind, value, f"{whose}has {len(text)} digits, expected {expected}")


def check_digit_reason(expected: str, got: str) -> str:
    return f"fails the check digit (expected {expected}, got {got})"
