"""The codes the distributor's messages carry that no public source confirms: one module, easy to correct.

Marks as in ``/work/shared/reference/ote-market.md``: [C] confirmed there, [I] our inference. Replace each [I]
value from OTE's D1.4.2 / D1.4.2G package (the working-model XSDs in ``schemas/ote`` say the same).
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Final

from gateway.readings.codes import READING_REASON, READING_TYPE_KIND
from schemas.ote import Register
from schemas.ote.common import MESSAGE_CODE_GAS_POF, MESSAGE_CODE_OPM_REGISTRATION

#: [C] §4: the DSO registers or updates an electricity OPM's master data.
MESSAGE_CODE_REGISTRATION_ELECTRICITY: Final = MESSAGE_CODE_OPM_REGISTRATION
#: [I] Gas OPM registration (CDSGASMASTERDATA ``OPM``): the scenario is confirmed (§4), its code is not. The
#: value is the one of the codec's golden file ``opm-registration-gas.xml``.
MESSAGE_CODE_REGISTRATION_GAS: Final = "G01"
#: [I] Electricity metered data (CDSDATA): the code is not public; ``521`` is in the batch of codes whose
#: namespace changed in 2025 (§2) and is the one of the codec's golden file ``metered-electricity.xml``.
MESSAGE_CODE_METERED_ELECTRICITY: Final = "521"
#: [C] §4: CDSGASPOF, the DSO's distribution invoice basis.
MESSAGE_CODE_METERED_GAS: Final = MESSAGE_CODE_GAS_POF

#: [I] ``reading-type`` of a reading taken from the meter (real), a customer's self-reading or an estimate:
#: the codes the readings service reads (``gateway.readings.codes.READING_TYPE_KIND``, which files its
#: ``3``, a self-reading the DSO accepted, as "actual"; the store's ``customer`` kind is for readings
#: entered here).
READING_TYPE_BY_KIND: Final[Mapping[str, str]] = MappingProxyType({
    "actual": "1", "estimated": "2", "customer": "3",
})
#: [I] ``reading-reason``: why the meter was read, in our vocabulary (``schemas.readings.ReadingReason``
#: plus ``meter_change``) → the code the readings service reads (``gateway.readings.codes.READING_REASON``),
#: so that one code list serves both directions. ``MC`` (meter change) is ours alone: the readings service
#: has no meter-change reason yet.
READING_REASON_METER_CHANGE: Final = "MC"
READING_REASON_BY_CAUSE: Final[Mapping[str, str]] = MappingProxyType({
    **{reason: code for code, reason in READING_REASON.items()},
    "meter_change": READING_REASON_METER_CHANGE,
})
assert all(
    READING_TYPE_KIND[code] == ("actual" if kind == "customer" else kind)
    for kind, code in READING_TYPE_BY_KIND.items()
)
assert set(READING_REASON_BY_CAUSE) == {*READING_REASON.values(), "meter_change"}
#: [I] Master data's register codes → CDSDATA's (only VT and NT exist there): a single-tariff meter counts
#: everything on its one register, reported as VT (as the golden file's single-register reading does).
REGISTER_BY_MASTERDATA_CODE: Final[Mapping[str, Register]] = MappingProxyType({
    "VT": Register.VT, "NT": Register.NT, "SINGLE": Register.VT,
})
#: [I] ``version`` of a first CDSGASPOF for a period (a correction would send a higher one).
GAS_POF_FIRST_VERSION: Final = 1
