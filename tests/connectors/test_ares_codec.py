"""ARES codec and IČO check: golden ARES bodies in, normalised structs out; no I/O."""

from __future__ import annotations

import datetime as dt

import pytest

from connectors.ares.client import AresInvalidIco, _ico_checked
from connectors.ares.codec import AresMalformed, AresSubject, decode_error, decode_subject

#: A full answer as ARES v3 shapes it, with fields proud ignores (they must not break decoding).
GOLDEN_FULL = """{
  "ico": "28741137",
  "obchodniJmeno": "Vltavská energie s.r.o.",
  "sidlo": {
    "kodStatu": "CZ", "nazevStatu": "Česká republika", "kodKraje": 19, "nazevKraje": "Hlavní město Praha",
    "kodOkresu": 3100, "kodObce": 554782, "nazevObce": "Praha", "kodMestskehoObvodu": 500089,
    "nazevCastiObce": "Strašnice", "kodUlice": 459577, "nazevUlice": "Vinohradská", "cisloDomovni": 1511,
    "cisloOrientacni": 230, "cisloOrientacniPismeno": "a", "psc": 10000, "kodAdresnihoMista": 21747091,
    "textovaAdresa": "Vinohradská 1511/230a, Strašnice, 10000 Praha 10", "standardizaceAdresy": true
  },
  "pravniForma": "112",
  "financniUrad": "451",
  "datumVzniku": "2009-04-14",
  "datumAktualizace": "2024-11-05",
  "dic": "CZ28741137",
  "icoId": "28741137",
  "adresaDorucovaci": {"radekAdresy1": "Vinohradská 1511/230a", "radekAdresy2": "10000 Praha 10"},
  "seznamRegistraci": {"stavZdrojeVr": "AKTIVNI", "stavZdrojeDph": "AKTIVNI", "stavZdrojeRes": "AKTIVNI"},
  "primarniZdroj": "vr",
  "czNace": ["35140", "35230", "4321"],
  "dalsiUdaje": [
    {"obchodniJmeno": [{"obchodniJmeno": "Vltavská energie s.r.o."}], "spisovaZnacka": "C 152123/MSPH"}
  ]
}""".encode()

#: A dissolved sole trader without DIČ, village address without a street, no ``cisloOrientacni``.
GOLDEN_DISSOLVED = """{
  "ico": "07162804", "obchodniJmeno": "Jana Dvořáková", "pravniForma": "101",
  "sidlo": {"kodStatu": "CZ", "nazevObce": "Stará Ves nad Ondřejnicí", "nazevCastiObce": "Košatka",
            "cisloDomovni": 57, "psc": 73923},
  "datumVzniku": "2018-06-01", "datumZaniku": "2023-12-31"
}""".encode()

#: Only the one-line address; an IČO below 10 000 000 sent unpadded (padding is ours to do).
GOLDEN_TEXT_ADDRESS = b'{"ico": "6947", "obchodniJmeno": "Ministerstvo financi", "pravniForma": 325,' \
    b' "sidlo": {"textovaAdresa": "Letensk\\u00e1 525/15, Mal\\u00e1 Strana, 11800 Praha 1"}}'


def test_full_answer_maps_every_field_and_ignores_the_rest() -> None:
    assert decode_subject(GOLDEN_FULL) == AresSubject(
        ico="28741137",
        name="Vltavská energie s.r.o.",
        dic="CZ28741137",
        legal_form="112",
        address_lines=("Vinohradská 1511/230a", "100 00 Praha"),
        postal_code="10000",
        country_code="CZ",
        founded_on=dt.date(2009, 4, 14),
        dissolved_on=None,
    )


def test_dissolved_sole_trader_without_dic_and_street() -> None:
    subject = decode_subject(GOLDEN_DISSOLVED)
    assert subject.dic is None
    assert subject.legal_form == "101"
    assert subject.dissolved_on == dt.date(2023, 12, 31)
    assert subject.address_lines == ("Košatka 57", "739 23 Stará Ves nad Ondřejnicí")
    assert subject.postal_code == "73923"


def test_text_address_only_and_short_ico_are_normalised() -> None:
    subject = decode_subject(GOLDEN_TEXT_ADDRESS)
    assert subject.ico == "00006947"
    assert subject.legal_form == "325"
    assert subject.address_lines == ("Letenská 525/15", "Malá Strana", "11800 Praha 1")
    assert subject.postal_code is None
    assert subject.country_code is None


def test_postal_code_given_as_string_with_space() -> None:
    body = b'{"ico": "28741137", "obchodniJmeno": "X", "sidlo": {"nazevObce": "Brno", "psc": "602 00"}}'
    subject = decode_subject(body)
    assert subject.postal_code == "60200"
    assert subject.address_lines == ("Brno", "602 00 Brno")


@pytest.mark.parametrize(
    ("body", "named"),
    [
        (b'{"ico": "2874', "truncated"),
        (b"<html>502 Bad Gateway</html>", "malformed"),
        (b'{"ico": "28741137"}', "obchodniJmeno"),
        (b'{"ico": 28741137, "obchodniJmeno": "X"}', "$.ico"),
        (b'{"ico": "2874113A", "obchodniJmeno": "X"}', "`ico`"),
        (b'{"ico": "287411370", "obchodniJmeno": "X"}', "`ico`"),
        (b'{"ico": "28741137", "obchodniJmeno": "  "}', "obchodniJmeno"),
        (b'{"ico": "28741137", "obchodniJmeno": "X", "pravniForma": "1120"}', "pravniForma"),
        (b'{"ico": "28741137", "obchodniJmeno": "X", "sidlo": {"psc": 1100}}', "sidlo.psc"),
        (b'{"ico": "28741137", "obchodniJmeno": "X", "datumZaniku": "31.12.2023"}', "datumZaniku"),
        (b'[{"ico": "28741137", "obchodniJmeno": "X"}]', "object"),
    ],
)
def test_malformed_answers_name_what_is_wrong(body: bytes, named: str) -> None:
    with pytest.raises(AresMalformed) as caught:
        decode_subject(body)
    assert named in caught.value.message
    assert not caught.value.retryable


def test_error_body_of_ares_is_decoded() -> None:
    body = '{"kod":"NENALEZENO","popis":"Ekonomický subjekt nenalezen.","subKod":"VYSTUP_SUBJEKT_NENALEZEN"}'
    error = decode_error(body.encode())
    assert error is not None
    assert (error.kod, error.sub_kod) == ("NENALEZENO", "VYSTUP_SUBJEKT_NENALEZEN")
    assert error.popis == "Ekonomický subjekt nenalezen."


@pytest.mark.parametrize("body", [b"", b"<html>Not Found</html>", b'{"status": 404, "error": "Not Found"}'])
def test_other_bodies_are_not_ares_errors(body: bytes) -> None:
    assert decode_error(body) is None


@pytest.mark.parametrize(
    "ico", ["25097563", "00006947", "47114983", "61858374", "45317054", "6947", " 25097563 ", "02345676"]
)
def test_ico_check_accepts_valid_numbers_and_pads_them(ico: str) -> None:
    checked = _ico_checked(ico)
    assert len(checked) == 8
    assert checked.lstrip("0") == ico.strip().lstrip("0")


@pytest.mark.parametrize(
    "ico", ["25097564", "00000000", "", "123456789", "2509756x", "CZ25097563", "２５０９７５６３", "-6947"]
)
def test_ico_check_rejects_wrong_digit_length_and_characters(ico: str) -> None:
    with pytest.raises(AresInvalidIco):
        _ico_checked(ico)


def test_ico_check_digit_edge_remainders() -> None:
    # Remainder 0 gives check digit 1 and remainder 1 gives 0: the two cases the plain (11 - r) gets wrong.
    assert _ico_checked("00000019") == "00000019"  # weighted sum 0 → remainder 0 → check 1
    assert _ico_checked("00000060") == "00000060"  # weighted sum 12 → remainder 1 → check 0
