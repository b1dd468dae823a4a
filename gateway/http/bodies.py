"""JSON bodies in and out of the API: decode a request into a msgspec Struct, encode answers and errors.

``decode_body`` turns what msgspec refuses into ``InvalidField`` (HTTP 422) naming the field by its path
(``address.postal_code``, ``contacts[1].email``) and repeating the value that was sent, so that a client
can point at the input without parsing the message.
"""

from __future__ import annotations

import re
from typing import Any, Final, TypeVar

import msgspec
from aiohttp import web

from gateway.errors import InvalidField
from gateway.http.views import BadParameter

T = TypeVar("T")

#: Characters of a body that is not JSON repeated in the 400 answer: enough to recognise it.
BODY_SHOWN_CHARS_MAX: Final = 80

_encoder = msgspec.json.Encoder()
# msgspec ends a validation message with " - at `$.address.postal_code`" (or "$[0]", "$.lines[2].amount").
_AT: Final = re.compile(r"^(?P<reason>.*?)(?: - at `\$(?P<path>[^`]*)`)?$", re.DOTALL)
_PATH_STEP: Final = re.compile(r"\.(?P<key>[^.\[]+)|\[(?P<index>\d+)\]|\[(?P<other>[^\]]*)\]")
_MISSING: Final = re.compile(r"^Object missing required field `(?P<name>[^`]+)`$")
_UNKNOWN: Final = re.compile(r"^Object contains unknown field `(?P<name>[^`]+)`$")


class ErrorBody(msgspec.Struct, kw_only=True, omit_defaults=True):
    """The body of every error answer: ``error`` always, the other fields where they apply."""

    #: What went wrong, for a person.
    error: str
    #: The offending field's path (422), e.g. ``address.postal_code``; empty for the whole body.
    field: str | msgspec.UnsetType = msgspec.UNSET
    #: The offending parameter (400), e.g. ``limit``.
    parameter: str | msgspec.UnsetType = msgspec.UNSET
    #: The value sent for ``field`` or ``parameter`` (null when the field was missing).
    value: Any = msgspec.UNSET
    #: 422: what is wrong with ``value``, on its own (``error`` repeats it after the field's path).
    reason: str | msgspec.UnsetType = msgspec.UNSET
    #: 403: the role the operation needs and the role the API key has.
    role_needed: str | msgspec.UnsetType = msgspec.UNSET
    role_held: str | msgspec.UnsetType = msgspec.UNSET
    #: 404 for a path no route has.
    path: str | msgspec.UnsetType = msgspec.UNSET
    #: 422 of a rules reload: each problem as ``file:line: message``.
    problems: list[str] | msgspec.UnsetType = msgspec.UNSET


def json_response(value: Any, status: int = 200) -> web.Response:
    """``value`` (Struct, dict, list) as JSON; Decimal amounts come out as decimal strings, never floats."""
    return web.Response(body=_encoder.encode(value), status=status, content_type="application/json")


async def decode_body(request: web.Request, kind: type[T]) -> T:
    """The request body as ``kind``: BadParameter (400) if it is not JSON, InvalidField (422) if it does
    not fit ``kind``."""
    body = await request.read()
    try:
        return msgspec.json.decode(body, type=kind)
    except msgspec.ValidationError as exc:
        raise invalid_field(str(exc), body) from exc
    except msgspec.DecodeError as exc:
        shown = body[:BODY_SHOWN_CHARS_MAX].decode("utf-8", errors="replace")
        raise BadParameter("body", shown, f"a JSON document ({exc})") from exc


def invalid_field(message: str, body: bytes) -> InvalidField:
    """``InvalidField`` for msgspec's validation ``message`` about the JSON document ``body``."""
    found = _AT.match(message)
    assert found is not None  # the pattern matches any text
    reason, steps = found["reason"], _steps(found["path"] or "")
    for pattern, what in ((_MISSING, "is required"), (_UNKNOWN, "is not a known field")):
        named = pattern.match(reason)
        if named:
            steps, reason = [*steps, named["name"]], what
            break
    else:
        reason = reason[:1].lower() + reason[1:]
    value = _value_at(msgspec.json.decode(body), steps)
    return InvalidField(_dotted(steps), value, reason)


def _steps(path: str) -> list[str | int]:
    steps: list[str | int] = []
    for step in _PATH_STEP.finditer(path):
        if step["key"] is not None:
            steps.append(step["key"])
        elif step["index"] is not None:
            steps.append(int(step["index"]))
        else:
            # A mapping's key, which msgspec shows as "[...]": kept as shown; it leads to no value.
            steps.append(f"[{step['other']}]")
    return steps


def _dotted(steps: list[str | int]) -> str:
    text = ""
    for step in steps:
        if isinstance(step, int):
            text += f"[{step}]"
        else:
            text += step if not text or step.startswith("[") else f".{step}"
    return text


def _value_at(document: Any, steps: list[str | int]) -> Any:
    """The value at ``steps`` in the decoded document; None where the path leads nowhere (a missing field)."""
    value = document
    for step in steps:
        in_list = isinstance(step, int) and isinstance(value, list) and step < len(value)
        in_object = isinstance(step, str) and isinstance(value, dict) and step in value
        if not (in_list or in_object):
            return None
        value = value[step]
    return value
