"""The codes the simulator puts on the wire, and the market periods it applies. All are [I]: OTE's code lists
and most message codes are not public (ote-market.md §9), so these are ours, named, in one place, to be
replaced from D1.4.2 / D1.4.2G together with the codec.

Two ways of saying no, on purpose:

- a **negative RESPONSE** (HTTP 200, ``Reason type=A02``) refuses a *message*: unreadable, badly signed,
  from a participant the simulator does not know, or a master-data notice (END, CUS, OBJ, CAN) that cannot be
  applied (those have no answer message of their own in our model, so the RESPONSE is the answer);
- a **SwitchAnswer** with ``accepted=false`` and a ``REJECT_*`` code refuses a well-formed *switch request*:
  the message was received (positive RESPONSE), the market said no. That is what CS OTE's switch result is
  for, and the requesting supplier's process handles both outcomes of its request in one place.

A body that is not a SOAP 1.1 envelope at all is answered with a SOAP Fault (``soap:Client``): there is no
message a RESPONSE could refer to. Only the simulator's own trouble answers ``soap:Server`` (HTTP 503),
which a sender retries.
"""

from __future__ import annotations

import datetime as dt
from typing import Final

from gateway.readings.codes import READING_REASON, READING_TYPE_KIND
from schemas.ote.common import REJECTION_REASON_WITHDRAWAL

# --- SwitchAnswer rejection reasons (ShortCode: 1–3 of A–Z, 0–9) ---------------------------------------
#: The request reached CS OTE after its deadline (10:00 of the n-th working day before the date).
REJECT_LATE: Final = "LAT"
#: The request reached CS OTE more than three months before the date.
REJECT_EARLY: Final = "ERL"
#: CS OTE has no such OPM.
REJECT_UNKNOWN_OPM: Final = "OPM"
#: The request names an OPM of the other commodity (a gas message for an electricity OPM, or back).
REJECT_COMMODITY: Final = "COM"
#: The same supplier already asked for the same OPM and date, under another message id.
REJECT_DUPLICATE: Final = "DUP"
#: Another switch of the OPM is in progress.
REJECT_PENDING: Final = "PEN"
#: The requester already supplies the OPM.
REJECT_ALREADY_SUPPLIER: Final = "SUP"
#: A move-in (R1) for an OPM that has a supplier.
REJECT_OCCUPIED: Final = "OCC"
#: [C] The losing supplier objected: withdrawal or notice, it keeps supplying (gas §4; [I] electricity).
REJECT_OBJECTION: Final = REJECTION_REASON_WITHDRAWAL

# --- negative RESPONSE reason codes (beside connectors.ote.inbound's E01–E04, E99) -----------------------
#: The sender's EAN is not a participant the simulator knows.
REASON_UNKNOWN_SENDER: Final = "E10"
#: The request names another supplier than its sender.
REASON_NOT_SENDER: Final = "E11"
#: The message is addressed to someone other than CS OTE.
REASON_WRONG_RECEIVER: Final = "E12"
#: A family CS OTE does not take from participants here (switch answers, metered data).
REASON_NOT_ACCEPTED: Final = "E13"
#: A master-data notice that cannot be applied; the text says why, the code is one of ``NOTICE_*``.
NOTICE_UNKNOWN_OPM: Final = REJECT_UNKNOWN_OPM
NOTICE_LATE: Final = REJECT_LATE
#: The sender does not supply the OPM (END, CUS) or is not the switch's losing side (OBJ).
NOTICE_NOT_SUPPLIER: Final = "NSP"
#: No switch the notice could object to or cancel.
NOTICE_NO_SWITCH: Final = "NSW"
#: A date is missing or in the past.
NOTICE_DATE: Final = "DAT"
#: A change reason the simulator does not take from a supplier (None, SWI, DPI).
NOTICE_CHANGE_REASON: Final = "CHR"

# --- reading codes of CDSDATA (``reading-type``, ``reading-reason``) ----------------------------------
#: The codes of our readings service's tables (``gateway.readings.codes``), so that what the simulator sends
#: is filed under the reason it means; checked below.
#: ``reading-type``: an actual reading.
READING_TYPE_ACTUAL: Final = "1"
READING_REASON_PERIODIC: Final = "PE"
READING_REASON_SWITCH: Final = "SW"  # final for the old supplier, opening for the new one
READING_REASON_FINAL: Final = "FI"  # end of supply
READING_REASON_CUSTOMER: Final = "MO"  # change of customer at the OPM (přepis)

assert READING_TYPE_KIND[READING_TYPE_ACTUAL] == "actual"
assert [READING_REASON[code] for code in (
    READING_REASON_PERIODIC, READING_REASON_SWITCH, READING_REASON_FINAL, READING_REASON_CUSTOMER,
)] == ["periodic", "switch", "final", "move"]

# --- message codes of what the simulator sends -----------------------------------------------------------
#: As in our golden samples: 150/G11 switch request, 151/G12 its result, 158/G21 master data, 521 metered.
CODE_SWITCH_REQUEST: Final = {"electricity": "150", "gas": "G11"}
CODE_SWITCH_ANSWER: Final = {"electricity": "151", "gas": "G12"}
CODE_MASTERDATA: Final = {"electricity": "158", "gas": "G21"}
CODE_METERED_ELECTRICITY: Final = "521"

# --- periods ------------------------------------------------------------------------------------------
#: The losing supplier may object until 10:00 of this many working days before the switch date; the
#: requester is answered then. Shorter when leaving the supplier of last resort (its lead is 5 days).
OBJECTION_WORKING_DAYS: Final = 5
OBJECTION_WORKING_DAYS_FROM_LAST_RESORT: Final = 3
OBJECTION_CUTOFF: Final = dt.time(10, 0)
#: 24-hour profile: the request is due by 10:00 of the working day before; objections until 18:00 that day.
OBJECTION_WORKING_DAYS_24H: Final = 1
OBJECTION_CUTOFF_24H: Final = dt.time(18, 0)
