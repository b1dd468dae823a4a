"""Master data's DSO (a name or a 13-digit participant EAN, as the import or the clerk wrote it) → the code of
the DSO's file in a price list (``dso-<CODE>.toml``).

Names are compared without diacritics, punctuation, spaces or the legal form, so "ČEZ Distribuce, a.s.",
"CEZ distribuce" and "čez distribuce a. s." are one key. A DSO not in the table has no price: billing
reports it as the finding ``PRICE_MISSING``, never guesses.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from typing import Final

from schemas.masterdata.common import Commodity

#: [C] Participant EANs (ote-market.md §1.1): ČEZ Distribuce 8591824071502, PRE Distribuce 8591824003008,
#: E.ON Distribuce (now EG.D) 8591824048108. Names as master data and the fake data write them.
DSO_PRICE_CODES: Final[dict[tuple[Commodity, str], str]] = {
    ("electricity", "8591824071502"): "CEZ",
    ("electricity", "cezdistribuce"): "CEZ",
    ("electricity", "cez"): "CEZ",
    ("electricity", "8591824003008"): "PRE",
    ("electricity", "predistribuce"): "PRE",
    ("electricity", "pre"): "PRE",
    ("electricity", "8591824048108"): "EGD",
    ("electricity", "egd"): "EGD",
    ("electricity", "eondistribuce"): "EGD",
    ("gas", "gasnet"): "GASNET",
    ("gas", "gasnetsluzby"): "GASNET",
}
# The legal form at the end of a name: "a.s.", "a. s.", "s.r.o.", "spol. s r.o." (after the comma, if any).
_LEGAL_FORM: Final = re.compile(r"[,\s]*(a\.?\s*s\.?|s\.?\s*r\.?\s*o\.?|spol\.?\s*s\s*r\.?\s*o\.?)\s*$")


def dso_key(dso: str) -> str:
    """The comparable form of a DSO's name or EAN: lower case, ASCII letters and digits only."""
    text = unicodedata.normalize("NFKD", dso.strip().lower())
    text = "".join(char for char in text if not unicodedata.combining(char))
    text = _LEGAL_FORM.sub("", text)
    return "".join(char for char in text if char.isascii() and char.isalnum())


#: DSO names remembered with their price-list code: a book names a handful of DSOs, a mass run each of them
#: thousands of times.
DSO_NAMES_CACHED_MAX: Final = 1_024


@functools.lru_cache(maxsize=DSO_NAMES_CACHED_MAX)
def price_list_dso(commodity: Commodity, dso: str) -> str | None:
    """The price-list code of ``dso`` (master data) for ``commodity``; None when the table lacks it."""
    return DSO_PRICE_CODES.get((commodity, dso_key(dso)))
