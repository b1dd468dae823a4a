"""Pure codec for ARES REST v3 (``GET …/ekonomicke-subjekty/{ico}``): bytes in, our structs out; no I/O.

The wire structs mirror the subset of the ARES JSON we use, with the Czech field names left untranslated and
unknown fields ignored (ARES carries many more: ``czNace``, ``financniUrad``, ``seznamRegistraci``, …).
``AresSubject`` is our own normalised view of one subject.

Error bodies: ARES answers 4xx/5xx with ``{"kod": …, "popis": …, "subKod": …}``. The reference
(czech-finance-formats.md §6) does not describe them; several independent public ARES clients agree on
``kod="NENALEZENO", subKod="VYSTUP_SUBJEKT_NENALEZEN"`` for an unknown IČO (404) and
``kod="CHYBA_VSTUPU", subKod="VSTUP_NEVALIDNI_FORMAT_ICO"`` for a malformed one (400). The server-error
codes used by the simulator (``CHYBA_SYSTEMU``/``SYSTEMOVA_CHYBA``) are modelled, not documented.
"""

from __future__ import annotations

import datetime as dt
from typing import Final

import msgspec

from gateway.errors import ProudError

#: IČO length on the wire; ARES wants it zero-padded to this many digits.
ICO_DIGITS: Final = 8
#: Czech postal codes (PSČ) have five digits.
PSC_DIGITS: Final = 5
#: Legal form codes (``pravniForma``) have three digits, e.g. 112 = s.r.o.
LEGAL_FORM_DIGITS: Final = 3

#: ``kod`` of the ARES error body that means "no such subject": an answer, not a failure.
KOD_NOT_FOUND: Final = "NENALEZENO"
#: ``kod`` of the ARES error body for a request ARES refuses (e.g. a malformed IČO).
KOD_BAD_INPUT: Final = "CHYBA_VSTUPU"


class AresMalformed(ProudError):
    """ARES answered with something we cannot read; repeating the same request would not help."""


class Sidlo(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    """Registered address (``sidlo``) as ARES sends it; every part is optional on the wire."""

    kod_statu: str | None = None
    nazev_obce: str | None = None
    nazev_casti_obce: str | None = None
    nazev_ulice: str | None = None
    cislo_domovni: int | None = None
    cislo_orientacni: int | None = None
    cislo_orientacni_pismeno: str | None = None
    #: A number in the public examples; a string is tolerated in case the schema changes.
    psc: int | str | None = None
    textova_adresa: str | None = None


class EkonomickySubjekt(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    """One subject as ARES sends it, reduced to the fields proud uses."""

    ico: str
    obchodni_jmeno: str
    sidlo: Sidlo | None = None
    dic: str | None = None
    #: A string ("112") in the public examples; an integer is tolerated and padded.
    pravni_forma: str | int | None = None
    datum_vzniku: dt.date | None = None
    datum_zaniku: dt.date | None = None


class AresError(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    """The error body of ARES (404 for an unknown subject, 400 for bad input, 5xx)."""

    kod: str
    popis: str | None = None
    sub_kod: str | None = None


class AresSubject(msgspec.Struct, frozen=True, kw_only=True):
    """One business subject, normalised for proud."""

    ico: str
    name: str
    dic: str | None
    legal_form: str | None
    address_lines: tuple[str, ...]
    postal_code: str | None
    country_code: str | None
    founded_on: dt.date | None
    dissolved_on: dt.date | None


def pad_ico(value: str) -> str:
    """``"6947"`` → ``"00006947"``; the caller has checked that ``value`` is 1 to 8 ASCII digits."""
    assert value.isascii() and value.isdigit() and 1 <= len(value) <= ICO_DIGITS, value
    return value.zfill(ICO_DIGITS)


_subject_decoder = msgspec.json.Decoder(EkonomickySubjekt)
_error_decoder = msgspec.json.Decoder(AresError)


def decode_subject(body: bytes) -> AresSubject:
    """Decode a 200 answer; raises ``AresMalformed`` naming the offending field or value."""
    try:
        wire = _subject_decoder.decode(body)
    except msgspec.DecodeError as exc:
        raise AresMalformed(f"ARES subject body: {exc}") from exc
    subject = normalise_subject(wire)
    assert len(subject.ico) == ICO_DIGITS
    return subject


def decode_error(body: bytes) -> AresError | None:
    """The ARES error body, or None when the body is not one (an HTML page from a proxy, empty, …)."""
    try:
        return _error_decoder.decode(body)
    except msgspec.DecodeError:
        return None


def normalise_subject(wire: EkonomickySubjekt) -> AresSubject:
    ico = wire.ico.strip()
    if not (ico.isascii() and ico.isdigit() and 1 <= len(ico) <= ICO_DIGITS):
        raise AresMalformed(f"ARES subject: `ico` is not 1 to {ICO_DIGITS} digits: {wire.ico!r}")
    name = wire.obchodni_jmeno.strip()
    if not name:
        raise AresMalformed(f"ARES subject {ico}: `obchodniJmeno` is empty")
    sidlo = wire.sidlo or Sidlo()
    return AresSubject(
        ico=pad_ico(ico),
        name=name,
        dic=(wire.dic or "").strip() or None,
        legal_form=_legal_form(ico, wire.pravni_forma),
        address_lines=_address_lines(sidlo),
        postal_code=_postal_code(ico, sidlo.psc),
        country_code=sidlo.kod_statu,
        founded_on=wire.datum_vzniku,
        dissolved_on=wire.datum_zaniku,
    )


def _legal_form(ico: str, value: str | int | None) -> str | None:
    if value is None:
        return None
    code = str(value).strip().zfill(LEGAL_FORM_DIGITS)
    if not (code.isascii() and code.isdigit() and len(code) == LEGAL_FORM_DIGITS):
        raise AresMalformed(f"ARES subject {ico}: `pravniForma` is not {LEGAL_FORM_DIGITS} digits: {value!r}")
    return code


def _postal_code(ico: str, value: int | str | None) -> str | None:
    if value is None:
        return None
    # ARES sends PSČ as a number; a string may carry the customary space ("110 00").
    code = str(value).replace(" ", "")
    if not (code.isascii() and code.isdigit() and len(code) == PSC_DIGITS):
        raise AresMalformed(f"ARES subject {ico}: `sidlo.psc` is not {PSC_DIGITS} digits: {value!r}")
    return code


def _address_lines(sidlo: Sidlo) -> tuple[str, ...]:
    """Postal lines in Czech order, "Ulice čp/čo" and "PSČ Obec"; else the parts of ``textovaAdresa``."""
    if sidlo.nazev_obce is None:
        # Only the one-line form is there: ARES separates its parts with ", ".
        text = sidlo.textova_adresa or ""
        return tuple(part.strip() for part in text.split(",") if part.strip())
    number = _house_number(sidlo)
    # Villages without streets are addressed by the part of the municipality (or the municipality itself).
    place = sidlo.nazev_ulice or sidlo.nazev_casti_obce or sidlo.nazev_obce
    first = f"{place} {number}" if number else place
    psc = str(sidlo.psc).replace(" ", "") if sidlo.psc is not None else ""
    second = f"{psc[:3]} {psc[3:]} {sidlo.nazev_obce}" if len(psc) == PSC_DIGITS else sidlo.nazev_obce
    return (first, second)


def _house_number(sidlo: Sidlo) -> str:
    """Czech house number: "číslo popisné/číslo orientační" with the optional letter, e.g. "1511/230a"."""
    if sidlo.cislo_domovni is None:
        return ""
    if sidlo.cislo_orientacni is None:
        return str(sidlo.cislo_domovni)
    return f"{sidlo.cislo_domovni}/{sidlo.cislo_orientacni}{sidlo.cislo_orientacni_pismeno or ''}"
