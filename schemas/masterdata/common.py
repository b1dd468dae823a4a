"""Value types every master-data object shares: addresses, contacts and the closed vocabularies.

Input structs refuse unknown fields (a misspelt key is an error naming it, not silently ignored). Text
limits are named, so the API, the import and the database agree on them.
"""

from __future__ import annotations

from typing import Annotated, Final, Literal

import msgspec

#: Longest free text (names, streets, products) anywhere in master data; the columns are this wide.
TEXT_CHARS_MAX: Final = 200
#: Longest note or activity description.
NOTE_CHARS_MAX: Final = 4000

Text = Annotated[str, msgspec.Meta(min_length=1, max_length=TEXT_CHARS_MAX)]
Note = Annotated[str, msgspec.Meta(max_length=NOTE_CHARS_MAX)]
Email = Annotated[str, msgspec.Meta(pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$", max_length=254)]
Phone = Annotated[str, msgspec.Meta(pattern=r"^\+?[0-9 ]{9,20}$")]

#: číslo popisné (or "č. ev." evidenční), optionally "/číslo orientační" with a letter: "1234/5a".
HouseNumber = Annotated[
    str, msgspec.Meta(pattern=r"^(č\. ?ev\. ?)?[0-9]{1,5}[a-zA-Z]?(/[0-9]{1,4}[a-zA-Z]?)?$", max_length=20)
]

Commodity = Literal["electricity", "gas"]
Segment = Literal["household", "small_business", "business", "vulnerable"]
AddressKind = Literal["permanent", "registered", "billing", "correspondence", "supply"]
#: ``actor`` of a change: "key:<api key name>", "import:<file>", "system:<component>".
Actor = str


class Address(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A Czech postal address. ``house_number`` is číslo popisné/evidenční, optionally "/orientační"."""

    street: Text | None = None  # villages without street names address by house number only
    house_number: HouseNumber
    city: Text
    city_part: Text | None = None
    postal_code: str  # PSČ, checked by gateway.masterdata.identifiers.validate_postal_code
    country: Annotated[str, msgspec.Meta(pattern=r"^[A-Z]{2}$")] = "CZ"


class TypedAddress(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    kind: AddressKind
    address: Address


class Contact(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    kind: Literal["email", "phone"]
    value: str  # checked against Email / Phone by kind
    label: Text | None = None
    primary: bool = False
