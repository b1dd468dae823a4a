"""OTE (CS OTE / CDS) message structs, one module per message family, and our working-model XSDs.

The XSDs beside these modules (``*.xsd``) are a working model built from
``/work/shared/reference/ote-market.md``, not OTE's official D1.4.2 / D1.4.2G package; see ``README.md``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

from schemas.ote.common import Commodity, Envelope, NegotiationType, OteMessage, Party, Reason
from schemas.ote.masterdata import MasterData, MasterDataItem
from schemas.ote.metered import (
    ElectricityReading,
    GasDayValue,
    GasMeter,
    GasSegment,
    MeteredElectricity,
    MeteredGas,
    Register,
    RegisterReading,
)
from schemas.ote.registration import OpmRecord, OpmRegistration
from schemas.ote.response import Response
from schemas.ote.switch import SwitchAnswer, SwitchRequest

#: Where the XSDs live; the codec compiles each once, on first use.
XSD_DIRECTORY: Final = Path(__file__).resolve().parent

#: Every message struct; ``msgspec`` tells them apart in JSON by their ``type`` tag.
AnyOteMessage = (
    Response | MasterData | SwitchRequest | SwitchAnswer | OpmRegistration | MeteredElectricity | MeteredGas
)

__all__ = [
    "XSD_DIRECTORY",
    "AnyOteMessage",
    "Commodity",
    "ElectricityReading",
    "Envelope",
    "GasDayValue",
    "GasMeter",
    "GasSegment",
    "MasterData",
    "MasterDataItem",
    "MeteredElectricity",
    "MeteredGas",
    "NegotiationType",
    "OpmRecord",
    "OpmRegistration",
    "OteMessage",
    "Party",
    "Reason",
    "Register",
    "RegisterReading",
    "Response",
    "SwitchAnswer",
    "SwitchRequest",
]
