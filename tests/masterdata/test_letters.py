"""The welcome letter: a real one-page PDF with Czech text, the same bytes for the same letter.

Text is read back with pypdf (poppler's pdftotext is not installed on the machines); whitespace is
normalised because the letter binds dates with non-breaking spaces and pypdf may split lines anywhere.
"""

from __future__ import annotations

import datetime
import fnmatch
import hashlib
import io
import tomllib
from pathlib import Path

import msgspec
import pytest
from pypdf import PdfReader

from gateway.errors import ConfigError, ProudError, is_retryable
from gateway.masterdata import letters
from gateway.masterdata.filestore import LocalFileStore
from gateway.masterdata.letter_template import (
    PLACEHOLDERS,
    TEMPLATE_BYTES_MAX,
    TEMPLATE_PARAGRAPHS_MAX,
    InvalidLetterTemplate,
    load_letter_template,
    template_texts,
)
from gateway.masterdata.letters import (
    CORRESPONDENCE_LINES_MAX,
    FONT_PACKAGE,
    TEXT_CHARS_MAX,
    InvalidLetter,
    LetterFontMissing,
    WelcomeLetter,
    format_czech_date,
    placeholder_values,
    render_welcome_letter,
)
from tests.masterdata.letter_support import PACKAGED_TEMPLATE, write_template

EAN = "859182400100000015"
EIC = "27ZG100Z0000001A"

LETTER = WelcomeLetter(
    supplier_name="Moravská energie s.r.o.",
    supplier_address="Údolní 567/33, 602 00 Brno",
    customer_name="Jiří Dvořák",
    correspondence_address=["Žižkova 1234/5", "130 00 Praha 3"],
    contract_number="SML-2025-000123",
    commodity="electricity",
    opm_code=EAN,
    supply_address="Chaloupky 12, 582 91 Světlá nad Sázavou",
    product="Elektřina Standard 12M",
    valid_from=datetime.date(2025, 3, 1),
    valid_to=None,
    withdrawal_until=None,
    variable_symbol="2500012345",
    payment_method_text="Bankovním převodem",
    letter_date=datetime.date(2025, 2, 3),
)


def pdf_text(document: bytes) -> str:
    reader = PdfReader(io.BytesIO(document))
    return " ".join(" ".join(page.extract_text().split()) for page in reader.pages)


def test_format_czech_date_binds_day_month_and_year() -> None:
    assert format_czech_date(datetime.date(2025, 2, 3)) == "3.\u00a02.\u00a02025"
    assert format_czech_date(datetime.date(2026, 12, 31)).split() == ["31.", "12.", "2026"]


def test_letter_is_a_one_page_pdf() -> None:
    document = render_welcome_letter(LETTER)

    assert document.startswith(b"%PDF-")
    assert document.rstrip().endswith(b"%%EOF")
    reader = PdfReader(io.BytesIO(document))
    assert len(reader.pages) == 1
    assert reader.metadata is not None
    assert reader.metadata.title == "Vítejte u Moravská energie s.r.o."


def test_letter_text_is_czech_with_diacritics() -> None:
    text = pdf_text(render_welcome_letter(LETTER))

    for expected in (
        "Vítejte u Moravská energie s.r.o.",
        "Jiří Dvořák",
        "Žižkova 1234/5",
        "130 00 Praha 3",
        "Smlouva č. SML-2025-000123",
        "Odběrné místo Chaloupky 12, 582 91 Světlá nad Sázavou",
        f"EAN odběrného místa {EAN}",
        "Komodita elektřina",
        "Produkt Elektřina Standard 12M",
        "Datum zahájení dodávky 1. 3. 2025",
        "Na dobu neurčitou",
        "Variabilní symbol 2500012345",
        "Způsob platby Bankovním převodem",
        "3. 2. 2025",
    ):
        assert expected in text


def test_withdrawal_sentence_only_when_a_withdrawal_date_is_given() -> None:
    without = pdf_text(render_welcome_letter(LETTER))
    with_withdrawal = pdf_text(
        render_welcome_letter(msgspec.structs.replace(LETTER, withdrawal_until=datetime.date(2025, 2, 17)))
    )

    assert "Odstoupení" not in without
    assert "Odstoupení od smlouvy do 17. 2. 2025" in with_withdrawal
    assert "bez udání důvodu" in with_withdrawal


def test_fixed_term_contract_shows_its_end() -> None:
    letter = msgspec.structs.replace(LETTER, valid_to=datetime.date(2026, 12, 31))

    text = pdf_text(render_welcome_letter(letter))

    assert "Na dobu určitou do 31. 12. 2026" in text
    assert "neurčitou" not in text


def test_gas_letter_names_the_eic() -> None:
    letter = msgspec.structs.replace(LETTER, commodity="gas", opm_code=EIC, product="Plyn Klasik")

    text = pdf_text(render_welcome_letter(letter))

    assert f"EIC odběrného místa {EIC}" in text
    assert "Komodita zemní plyn" in text
    assert "dodavatele zemního plynu" in text
    assert "EAN" not in text


def test_same_letter_gives_the_same_bytes() -> None:
    first = render_welcome_letter(LETTER)
    second = render_welcome_letter(msgspec.structs.replace(LETTER))

    assert first == second
    assert hashlib.sha256(first).hexdigest() == hashlib.sha256(second).hexdigest()


def test_creation_date_is_the_letter_date_not_the_clock() -> None:
    reader = PdfReader(io.BytesIO(render_welcome_letter(LETTER)))

    assert reader.metadata is not None
    created = reader.metadata.creation_date
    assert created is not None
    assert created.date() == LETTER.letter_date
    assert created.utcoffset() == datetime.timedelta(hours=1)  # CET on 3 February


def test_different_letters_give_different_bytes() -> None:
    later = msgspec.structs.replace(LETTER, letter_date=datetime.date(2025, 2, 4))
    other_customer = msgspec.structs.replace(LETTER, customer_name="Jana Dvořáková")

    documents = {render_welcome_letter(letter) for letter in (LETTER, later, other_customer)}

    assert len(documents) == 3


async def test_stored_letter_keeps_its_hash(tmp_path: Path) -> None:
    store = LocalFileStore(tmp_path / "documents")

    first = await store.put(render_welcome_letter(LETTER))
    again = await store.put(render_welcome_letter(LETTER))

    assert again == first
    assert pdf_text(await store.get(first.sha256)).count("Jiří Dvořák") == 1


def test_missing_font_names_the_path_and_the_package(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(letters, "FONT_DIRECTORY", tmp_path / "no-fonts")

    with pytest.raises(LetterFontMissing) as caught:
        render_welcome_letter(LETTER)

    assert str(tmp_path / "no-fonts" / letters.FONT_REGULAR_FILE) in caught.value.message
    assert FONT_PACKAGE in caught.value.message
    assert isinstance(caught.value, ProudError)
    assert not is_retryable(caught.value)


@pytest.mark.parametrize(
    ("changes", "field", "reason"),
    [
        ({"customer_name": "  "}, "customer_name", "is empty"),
        ({"correspondence_address": []}, "correspondence_address", "has 0 lines"),
        (
            {"correspondence_address": ["řádek"] * (CORRESPONDENCE_LINES_MAX + 1)},
            "correspondence_address",
            f"has {CORRESPONDENCE_LINES_MAX + 1} lines",
        ),
        ({"correspondence_address": ["Žižkova 1", ""]}, "correspondence_address[1]", "is empty"),
        ({"product": "x" * (TEXT_CHARS_MAX + 1)}, "product", f"has {TEXT_CHARS_MAX + 1} characters"),
        ({"valid_to": datetime.date(2025, 2, 28)}, "valid_to", "is before valid_from"),
        ({"commodity": "heat"}, "commodity", "neither 'electricity' nor 'gas'"),
        (
            {"correspondence_address": ["Nábřeží Kapitána Jaroše a Generála Svobody 1000/12, vchod B"]},
            "correspondence_address[0]",
            "envelope window",
        ),
    ],
)
def test_unprintable_letter_is_refused_naming_the_field(
    changes: dict[str, object], field: str, reason: str
) -> None:
    letter = msgspec.structs.replace(LETTER, **changes)

    with pytest.raises(InvalidLetter) as caught:
        render_welcome_letter(letter)

    assert caught.value.field == field
    assert reason in caught.value.reason
    assert not is_retryable(caught.value)


def test_longest_allowed_fields_still_render() -> None:
    long_text = ("Dlouhý text s diakritikou ěščřžýáíé " * 20)[:TEXT_CHARS_MAX]
    letter = msgspec.structs.replace(
        LETTER,
        product=long_text,
        supply_address=long_text,
        payment_method_text=long_text,
        correspondence_address=[f"Řádek {index}" for index in range(CORRESPONDENCE_LINES_MAX)],
        withdrawal_until=datetime.date(2025, 2, 17),
        valid_to=datetime.date(2026, 2, 28),
    )

    document = render_welcome_letter(letter)

    assert document.startswith(b"%PDF-")
    assert "Řádek 4" in pdf_text(document)


# --- The template: the back office's wording, checked when it is loaded -------------------------------------

def test_packaged_template_is_the_default_and_shipped_as_package_data() -> None:
    assert render_welcome_letter(LETTER) == render_welcome_letter(LETTER, load_letter_template(None))
    pyproject = tomllib.loads((Path(__file__).parents[2] / "pyproject.toml").read_text(encoding="utf-8"))
    globs = pyproject["tool"]["setuptools"]["package-data"]["gateway.masterdata"]
    relative = PACKAGED_TEMPLATE.relative_to(PACKAGED_TEMPLATE.parents[1]).as_posix()
    assert any(fnmatch.fnmatch(relative, pattern) for pattern in globs)


def test_custom_template_changes_the_wording(tmp_path: Path) -> None:
    path = write_template(
        tmp_path,
        ('title = "Vítejte u {supplier_name}"', 'title = "Uvítací dopis pro {customer_name}"'),
        ('greeting = "Dobrý den,"', 'greeting = "Vážený zákazníku {customer_name},"'),
        ("intro = [\n", 'intro = [\n    "Od {valid_from} Vám dodáváme {commodity_name} ({product}).",\n'),
        ('commodity = "Komodita"', 'commodity = "Druh energie"'),
        ('sign_off = "S pozdravem"', 'sign_off = "Srdečně zdraví"'),
        ("paragraphs = [\n", 'paragraphs = [\n    "Lhůta do {withdrawal_until}, dopis {letter_date}.",\n'),
        ("closing = [\n", 'closing = [\n    "Platíte: {payment_method}; {{VS}} {variable_symbol}.",\n'),
    )
    template = load_letter_template(path)
    letter = msgspec.structs.replace(LETTER, withdrawal_until=datetime.date(2025, 2, 17))

    document = render_welcome_letter(letter, template)
    text = pdf_text(document)

    for expected in (
        "Vážený zákazníku Jiří Dvořák,",
        "Od 1. 3. 2025 Vám dodáváme elektřina (Elektřina Standard 12M).",
        "Druh energie elektřina",
        "Srdečně zdraví",
        "Lhůta do 17. 2. 2025, dopis 3. 2. 2025.",
        "Platíte: Bankovním převodem; {VS} 2500012345.",
        "děkujeme, že jste si nás vybrali",  # the paragraphs left as they were are still there
    ):
        assert expected in text
    assert "Dobrý den" not in text and "Komodita" not in text and "S pozdravem" not in text
    reader = PdfReader(io.BytesIO(document))
    assert reader.metadata is not None and reader.metadata.title == "Uvítací dopis pro Jiří Dvořák"
    assert render_welcome_letter(letter, load_letter_template(path)) == document  # still deterministic
    assert render_welcome_letter(letter) != document


@pytest.mark.parametrize(
    ("replacement", "field", "problem"),
    [
        (('greeting = "Dobrý den,"', 'greeting = "Dobrý den, {customr_name},"'), "body.greeting",
         "unknown placeholder {customr_name} (did you mean {customer_name}?)"),
        (('greeting = "Dobrý den,"\n', ""), "body.greeting", "is missing"),
        (('greeting = "Dobrý den,"', 'greeting = "Dobrý den,"\ngreetings = "Ahoj"'), "body.greetings",
         "is not a key of the template"),
        (("[table]", "[tabulka]\nx = 1\n[table]"), "tabulka", "is not a key of the template"),
        (('sign_off = "S pozdravem"', 'sign_off = "S pozdravem {"'), "body.sign_off", "unbalanced braces"),
        (('commodity = "Komodita"', 'commodity = "Komodita}"'), "table.commodity", "unbalanced braces"),
        (("intro = [\n", 'intro = [\n    "{0}",\n'), "body.intro[0]", "unknown placeholder {0}"),
        (("intro = [\n", 'intro = [\n    "{product.upper}",\n'), "body.intro[0]",
         "unknown placeholder {product.upper}"),
        (('signatory = "{supplier_name}"', 'signatory = "{supplier_name!r}"'), "body.signatory",
         "placeholder {supplier_name!r} has a format spec or conversion"),
        (('greeting = "Dobrý den,"', 'greeting = "Platí do {valid_to}"'), "body.greeting",
         "placeholder {valid_to} may be used only in table.duration_fixed_term"),
        (('greeting = "Dobrý den,"', "greeting = 5"), "body.greeting", "expected `str`, got `int`"),
        (("intro = [\n", "intro = [\n" + '    "x",\n' * TEMPLATE_PARAGRAPHS_MAX), "body.intro",
         f"of length <= {TEMPLATE_PARAGRAPHS_MAX}"),
    ],
)
def test_bad_template_is_refused_naming_file_key_and_problem(
    tmp_path: Path, replacement: tuple[str, str], field: str, problem: str
) -> None:
    path = write_template(tmp_path, replacement)

    with pytest.raises(InvalidLetterTemplate) as caught:
        load_letter_template(path)

    assert (caught.value.path, caught.value.field) == (str(path), field)
    assert problem in caught.value.problem
    assert caught.value.message.startswith(f"welcome letter template {path}: {field}: ")
    assert isinstance(caught.value, ConfigError)  # start-up stops with exit 2, as for any bad setting
    assert not is_retryable(caught.value)


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (None, "cannot read file"),
        (b"[body\n", "not valid TOML"),
        (b"\xff\xfe", "not valid TOML"),
        (b"# " + b"x" * TEMPLATE_BYTES_MAX, f"over TEMPLATE_BYTES_MAX ({TEMPLATE_BYTES_MAX} bytes)"),
    ],
)
def test_unusable_template_file_is_refused_naming_it(
    tmp_path: Path, content: bytes | None, problem: str
) -> None:
    path = tmp_path / "dopis.toml"
    if content is not None:
        path.write_bytes(content)

    with pytest.raises(InvalidLetterTemplate) as caught:
        load_letter_template(path)

    assert caught.value.path == str(path) and caught.value.field is None
    assert problem in caught.value.problem and str(path) in caught.value.message


def test_every_placeholder_has_a_value_in_every_text_that_may_use_it() -> None:
    values = placeholder_values(LETTER)
    assert values.keys() == PLACEHOLDERS
    assert values["valid_to"] == "" and values["withdrawal_until"] == ""  # hence the loader's restriction
    for _key, text in template_texts(load_letter_template(None)):
        text.format_map(values)
