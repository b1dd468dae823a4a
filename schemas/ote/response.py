"""RESPONSE / GASRESPONSE: CS OTE's acknowledgement of a message it received (ote-market.md §3, §4)."""

from __future__ import annotations

from schemas.ote.common import Commodity, MessageId, OteMessage, Reason


class Response(OteMessage, frozen=True, kw_only=True, tag="response"):
    """[C] ``RESPONSE`` (electricity) or [C] ``GASRESPONSE`` (gas): which message it answers, and why.

    Whether it accepts or rejects is in the reason codes, whose list is not public; the process that sent the
    referenced message interprets them.
    """

    commodity: Commodity
    #: [C] ``<Reference id=…>``: the ``id`` of the message being answered.
    reference_id: MessageId
    #: [C] At least one ``Reason``; [I] several are allowed.
    reasons: tuple[Reason, ...]
