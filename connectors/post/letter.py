"""A paper letter for the print shop as a pure function: a ``Letter`` in, the files to upload out.

Each letter is two files in the shop's drop directory: the PDF to print (``<letter>.pdf``) and a small JSON
manifest (``<letter>.json``) with the recipient's postal address, the sender, how to print and the PDF's
SHA-256. The manifest is written last and is the shop's "done" file: a letter whose manifest is there is
complete. The names come from the invoice number and nothing else, so the same letter uploaded twice (a
redelivered request) replaces itself instead of being printed twice.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Final

import msgspec

from schemas.masterdata.common import Address

#: The manifest's format, so that the shop can tell a later change.
MANIFEST_FORMAT: Final = "proud-letter/1"
#: Largest PDF we send to print: a household bill is a page or two (tens of KiB).
PDF_BYTES_MAX: Final = 16 * 1024 * 1024
#: A letter's name becomes two file names: letters, digits, dot, dash and underscore only.
LETTER_NAME: Final = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,79}$")


class PostalAddress(msgspec.Struct, frozen=True, kw_only=True):
    name: str
    street: str | None
    house_number: str
    city: str
    city_part: str | None
    postal_code: str
    country: str

    @classmethod
    def of(cls, name: str, address: Address) -> PostalAddress:
        return cls(name=name, street=address.street, house_number=address.house_number, city=address.city,
                   city_part=address.city_part, postal_code=address.postal_code, country=address.country)

    def lines(self) -> list[str]:
        """As the envelope's window shows it (Czech Post: street and number, then ``PSČ  CITY``)."""
        street = f"{self.street or self.city_part or self.city} {self.house_number}"
        code = self.postal_code
        code = f"{code[:3]} {code[3:]}" if len(code) == 5 else code
        lines = [self.name, street, f"{code} {self.city}"]
        return lines if self.country == "CZ" else [*lines, self.country]


class Manifest(msgspec.Struct, frozen=True, kw_only=True):
    format: str
    letter: str
    document: str  # the PDF's file name
    sha256: str
    bytes: int
    recipient: PostalAddress
    sender: PostalAddress
    #: Printed on both sides in black; the shop folds into a DL window envelope, ordinary class.
    duplex: bool = True
    colour: bool = False
    envelope: str = "DL"
    mail_class: str = "obycejne"


@dataclass(frozen=True, slots=True)
class Letter:
    """One letter: ``name`` (the invoice number), the PDF, who gets it and who sends it."""

    name: str
    pdf: bytes
    recipient: PostalAddress
    sender: PostalAddress

    def __post_init__(self) -> None:
        assert LETTER_NAME.fullmatch(self.name), self.name
        assert self.pdf.startswith(b"%PDF-"), "a letter prints a PDF"
        assert 0 < len(self.pdf) <= PDF_BYTES_MAX, len(self.pdf)


def letter_files(letter: Letter) -> list[tuple[str, bytes]]:
    """The files of ``letter`` in upload order: the PDF, then the manifest that completes it."""
    pdf_name = f"{letter.name}.pdf"
    manifest = Manifest(
        format=MANIFEST_FORMAT, letter=letter.name, document=pdf_name,
        sha256=hashlib.sha256(letter.pdf).hexdigest(), bytes=len(letter.pdf), recipient=letter.recipient,
        sender=letter.sender,
    )
    manifest_json = msgspec.json.format(msgspec.json.encode(manifest))
    return [(pdf_name, letter.pdf), (f"{letter.name}.json", manifest_json)]
