"""The welcome letter a new customer receives with the contract: one A4 page, in Czech, as PDF.

The page is laid out for a DL envelope with the window on the left (90 × 45 mm, 20 mm from the left edge,
15 mm above the bottom), which is what Česká pošta's hybrid mail and most print shops expect: the
correspondence address lands in the window after a Z-fold.

The wording comes from a ``LetterTemplate`` (``letter_template``; the packaged one unless the caller passes
another), which was checked when it was loaded: every placeholder it uses has a value here.

Rendering is pure and deterministic: the same ``WelcomeLetter`` and template give the same bytes (the PDF
creation date is the letter date, not the clock), so the SHA-256 under which ``filestore`` keeps the document
also identifies the letter, and re-rendering after a crash stores nothing new. It is CPU-bound (tens of
milliseconds, most of it loading the font); call it through ``asyncio.to_thread`` from async code.
"""

from __future__ import annotations

import datetime
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo

import msgspec
from fpdf import FPDF
from fpdf.enums import XPos, YPos
from fpdf.errors import FPDFException
from fpdf.fonts import TTFFont

from gateway.errors import ProudError
from gateway.masterdata.letter_template import PLACEHOLDERS, LetterTemplate, packaged_letter_template

# Czech diacritics need a Unicode TrueType font; the PDF core fonts only cover Latin-1.
FONT_DIRECTORY = Path("/usr/share/fonts/truetype/dejavu")
FONT_REGULAR_FILE = "DejaVuSans.ttf"
FONT_BOLD_FILE = "DejaVuSans-Bold.ttf"
FONT_PACKAGE = "fonts-dejavu-core"
# One field longer than this is a data error (a pasted document), not a long product name; it would also
# push the letter onto further pages.
TEXT_CHARS_MAX = 300
# The envelope window is 45 mm high: the customer's name plus this many address lines at 5 mm each, below
# the 4 mm return-address line.
CORRESPONDENCE_LINES_MAX = 5
LETTER_TIMEZONE = ZoneInfo("Europe/Prague")
NBSP = "\u00a0"

_FONT_FAMILY = "DejaVuSans"
_PAGE_MARGIN_MM = 20.0
_WINDOW_LEFT_MM = 20.0
_WINDOW_TOP_MM = 50.0
_WINDOW_WIDTH_MM = 85.0  # 90 mm window less 5 mm so the text never touches the window's edge
_INFO_LEFT_MM = 125.0
_BODY_TOP_MM = 105.0
_LABEL_WIDTH_MM = 62.0
_LINE_MM = 5.0
_FOOTER_FROM_BOTTOM_MM = 15.0
_BODY_SIZE_PT = 10.0
_SMALL_SIZE_PT = 7.5
_HEADING_SIZE_PT = 15.0
_GREY = 110

Commodity = Literal["electricity", "gas"]
_COMMODITY_NAMES: dict[str, str] = {"electricity": "elektřina", "gas": "zemní plyn"}
_COMMODITY_GENITIVES: dict[str, str] = {"electricity": "elektřiny", "gas": "zemního plynu"}


class WelcomeLetter(msgspec.Struct, frozen=True, kw_only=True):
    """Everything printed on the welcome letter, already formatted where it is free text."""

    supplier_name: str
    supplier_address: str
    customer_name: str
    correspondence_address: list[str]
    """Address lines below the customer's name, as they go on the envelope (street, PSČ and town, …)."""
    contract_number: str
    commodity: Commodity
    opm_code: str
    """EAN (electricity) or EIC (gas) of the supply point (odběrné místo)."""
    supply_address: str
    product: str
    valid_from: datetime.date
    """First day of supply."""
    valid_to: datetime.date | None = None
    """Last day of supply of a fixed-term contract; None for a contract of indefinite duration."""
    withdrawal_until: datetime.date | None = None
    """Last day of the 14-day withdrawal period of an off-premises or distance contract, else None."""
    variable_symbol: str
    payment_method_text: str
    letter_date: datetime.date


class LetterFontMissing(ProudError):
    """The font file is not installed; letters cannot be rendered on this machine until it is."""

    def __init__(self, path: Path) -> None:
        super().__init__(
            f"font file {path} does not exist: install the Debian package {FONT_PACKAGE}"
            f" (apt-get install {FONT_PACKAGE})"
        )
        self.path = path


class InvalidLetter(ProudError):
    """The letter's data cannot be printed as given (missing, too long, contradictory)."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"welcome letter {field}: {reason}")
        self.field = field
        self.reason = reason


def format_czech_date(day: datetime.date) -> str:
    """``d. m. yyyy`` (ČSN 01 6910) with non-breaking spaces, so a date never breaks across two lines."""
    return f"{day.day}.{NBSP}{day.month}.{NBSP}{day.year}"


def render_welcome_letter(letter: WelcomeLetter, template: LetterTemplate | None = None) -> bytes:
    """The welcome letter as PDF bytes, worded by ``template`` (None: the packaged one).

    The same letter and template always give the same bytes.
    """
    _check_letter(letter)
    if template is None:
        template = packaged_letter_template()
    texts = _Texts(template, placeholder_values(letter))
    pdf = _new_document(letter, texts)
    try:
        add_dejavu_fonts(pdf, _FONT_FAMILY)
        pdf.add_page()
        _render_letterhead(pdf, letter)
        _render_address_window(pdf, letter)
        _render_reference_block(pdf, letter, texts)
        _render_body(pdf, letter, texts)
        return bytes(pdf.output())
    except FPDFException as exc:
        raise InvalidLetter("layout", f"fpdf2 cannot lay the letter out: {exc}") from exc
    finally:
        # fpdf2 reads fonts lazily and closes them only in output(); a refused letter would leak the files.
        _close_fonts(pdf)


def _check_letter(letter: WelcomeLetter) -> None:
    if letter.commodity not in _COMMODITY_NAMES:
        raise InvalidLetter("commodity", f"{letter.commodity!r} is neither 'electricity' nor 'gas'")
    lines = len(letter.correspondence_address)
    if not 1 <= lines <= CORRESPONDENCE_LINES_MAX:
        raise InvalidLetter(
            "correspondence_address", f"has {lines} lines, expected 1 to {CORRESPONDENCE_LINES_MAX}"
        )
    texts = {
        "supplier_name": letter.supplier_name,
        "supplier_address": letter.supplier_address,
        "customer_name": letter.customer_name,
        "contract_number": letter.contract_number,
        "opm_code": letter.opm_code,
        "supply_address": letter.supply_address,
        "product": letter.product,
        "variable_symbol": letter.variable_symbol,
        "payment_method_text": letter.payment_method_text,
    }
    for index, line in enumerate(letter.correspondence_address):
        texts[f"correspondence_address[{index}]"] = line
    for field, text in texts.items():
        if not text.strip():
            raise InvalidLetter(field, "is empty")
        if len(text) > TEXT_CHARS_MAX:
            raise InvalidLetter(field, f"has {len(text)} characters, TEXT_CHARS_MAX is {TEXT_CHARS_MAX}")
    if letter.valid_to is not None and letter.valid_to < letter.valid_from:
        raise InvalidLetter("valid_to", f"{letter.valid_to} is before valid_from {letter.valid_from}")


def placeholder_values(letter: WelcomeLetter) -> dict[str, str]:
    """The value of each template placeholder for this letter, dates in Czech notation.

    ``valid_to`` and ``withdrawal_until`` are empty when the letter has none; the loader allows them only in
    texts printed when it has them.
    """
    values = {
        "supplier_name": letter.supplier_name,
        "supplier_address": letter.supplier_address,
        "customer_name": letter.customer_name,
        "contract_number": letter.contract_number,
        "commodity_genitive": _COMMODITY_GENITIVES[letter.commodity],
        "commodity_name": _COMMODITY_NAMES[letter.commodity],
        "opm_code": letter.opm_code,
        "supply_address": letter.supply_address,
        "product": letter.product,
        "valid_from": format_czech_date(letter.valid_from),
        "valid_to": format_czech_date(letter.valid_to) if letter.valid_to else "",
        "withdrawal_until": format_czech_date(letter.withdrawal_until) if letter.withdrawal_until else "",
        "variable_symbol": letter.variable_symbol,
        "payment_method": letter.payment_method_text,
        "letter_date": format_czech_date(letter.letter_date),
    }
    assert values.keys() == PLACEHOLDERS
    return values


class _Texts:
    """A template's texts filled in with one letter's values."""

    def __init__(self, template: LetterTemplate, values: dict[str, str]) -> None:
        self.template = template
        self.values = values

    def fill(self, text: str) -> str:
        return text.format_map(self.values)


class _LetterDocument(FPDF):
    """FPDF with the supplier's line as footer, on every page should the text ever overflow."""

    def __init__(self, footer_text: str) -> None:
        super().__init__(orientation="portrait", unit="mm", format="A4")
        self.footer_text = footer_text

    def footer(self) -> None:
        self.set_y(-_FOOTER_FROM_BOTTOM_MM)
        self.set_font(_FONT_FAMILY, size=_SMALL_SIZE_PT)
        self.set_text_color(_GREY)
        self.cell(0, _LINE_MM, self.footer_text, align="C")
        self.set_text_color(0)


def _new_document(letter: WelcomeLetter, texts: _Texts) -> _LetterDocument:
    document = texts.template.document
    pdf = _LetterDocument(texts.fill(document.footer))
    # Midnight of the letter date in Prague: the same letter gives the same bytes and so the same hash.
    pdf.set_creation_date(datetime.datetime.combine(letter.letter_date, datetime.time(), LETTER_TIMEZONE))
    pdf.set_title(texts.fill(document.title))
    pdf.set_author(letter.supplier_name)
    pdf.set_subject(texts.fill(document.subject))
    pdf.set_creator("proud")
    pdf.set_lang("cs")
    pdf.set_margins(_PAGE_MARGIN_MM, _PAGE_MARGIN_MM, _PAGE_MARGIN_MM)
    pdf.set_auto_page_break(auto=True, margin=_PAGE_MARGIN_MM + _FOOTER_FROM_BOTTOM_MM)
    return pdf


def add_dejavu_fonts(pdf: FPDF, family: str) -> None:
    """DejaVu Sans regular and bold as ``family``: Czech diacritics in every document we print (letters,
    invoices). Raises ``LetterFontMissing`` naming the file and the package that ships it."""
    for style, file_name in (("", FONT_REGULAR_FILE), ("B", FONT_BOLD_FILE)):
        path = FONT_DIRECTORY / file_name
        if not path.is_file():
            raise LetterFontMissing(path)
        pdf.add_font(family, style, path)


def _close_fonts(pdf: FPDF) -> None:
    for font in pdf.fonts.values():
        if isinstance(font, TTFFont):
            font.close()


def _render_letterhead(pdf: FPDF, letter: WelcomeLetter) -> None:
    pdf.set_xy(_PAGE_MARGIN_MM, _PAGE_MARGIN_MM)
    pdf.set_font(_FONT_FAMILY, "B", _HEADING_SIZE_PT)
    pdf.multi_cell(0, 7, letter.supplier_name, align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font(_FONT_FAMILY, "", _BODY_SIZE_PT - 1)
    pdf.set_text_color(_GREY)
    pdf.multi_cell(0, _LINE_MM, letter.supplier_address, align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_text_color(0)


def _render_address_window(pdf: FPDF, letter: WelcomeLetter) -> None:
    """Return address in small print, then the recipient; each line must fit the window unbroken."""
    pdf.set_xy(_WINDOW_LEFT_MM, _WINDOW_TOP_MM)
    pdf.set_font(_FONT_FAMILY, "", _SMALL_SIZE_PT)
    pdf.set_text_color(_GREY)
    return_address = f"{letter.supplier_name}, {letter.supplier_address}"
    _fit_window_line(pdf, "supplier_address", return_address)
    pdf.cell(_WINDOW_WIDTH_MM, 4, return_address, new_x=XPos.LEFT, new_y=YPos.NEXT)
    pdf.set_text_color(0)
    pdf.ln(1)
    pdf.set_x(_WINDOW_LEFT_MM)
    recipient = [("customer_name", letter.customer_name)]
    recipient += [
        (f"correspondence_address[{index}]", line) for index, line in enumerate(letter.correspondence_address)
    ]
    for field, line in recipient:
        pdf.set_font(_FONT_FAMILY, "B" if field == "customer_name" else "", _BODY_SIZE_PT)
        _fit_window_line(pdf, field, line)
        pdf.cell(_WINDOW_WIDTH_MM, _LINE_MM, line, new_x=XPos.LEFT, new_y=YPos.NEXT)


def _fit_window_line(pdf: FPDF, field: str, line: str) -> None:
    # A wrapped or clipped address line would be hidden by the envelope: refuse it instead.
    width_mm = pdf.get_string_width(line)
    if width_mm > _WINDOW_WIDTH_MM:
        raise InvalidLetter(
            field,
            f"{line!r} is {width_mm:.0f} mm wide, the envelope window takes {_WINDOW_WIDTH_MM:.0f} mm",
        )


def _render_reference_block(pdf: FPDF, letter: WelcomeLetter, texts: _Texts) -> None:
    labels = texts.template.reference
    pdf.set_xy(_INFO_LEFT_MM, _WINDOW_TOP_MM + 5)
    rows = (
        (texts.fill(labels.date), format_czech_date(letter.letter_date)),
        (texts.fill(labels.contract_number), letter.contract_number),
    )
    for label, value in rows:
        pdf.set_x(_INFO_LEFT_MM)
        pdf.set_font(_FONT_FAMILY, "", _BODY_SIZE_PT - 1)
        pdf.set_text_color(_GREY)
        pdf.cell(32, _LINE_MM, label)
        pdf.set_text_color(0)
        pdf.multi_cell(0, _LINE_MM, value, align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)


def _render_body(pdf: FPDF, letter: WelcomeLetter, texts: _Texts) -> None:
    body = texts.template.body
    pdf.set_xy(_PAGE_MARGIN_MM, _BODY_TOP_MM)
    pdf.set_font(_FONT_FAMILY, "B", _HEADING_SIZE_PT)
    pdf.multi_cell(0, 8, texts.fill(body.heading), align="L", new_x=XPos.LMARGIN)
    pdf.ln(4)
    _paragraph(pdf, texts.fill(body.greeting))
    for text in body.intro:
        _paragraph(pdf, texts.fill(text))
    pdf.ln(2)
    _render_contract_table(pdf, letter, texts)
    pdf.ln(4)
    if letter.withdrawal_until is not None:
        withdrawal = texts.template.withdrawal
        pdf.set_font(_FONT_FAMILY, "B", _BODY_SIZE_PT)
        pdf.multi_cell(0, _LINE_MM, texts.fill(withdrawal.heading), new_x=XPos.LMARGIN)
        for text in withdrawal.paragraphs:
            _paragraph(pdf, texts.fill(text))
    for text in body.closing:
        _paragraph(pdf, texts.fill(text))
    pdf.ln(4)
    _paragraph(pdf, texts.fill(body.sign_off))
    pdf.ln(4)
    pdf.set_font(_FONT_FAMILY, "B", _BODY_SIZE_PT)
    pdf.multi_cell(0, _LINE_MM, texts.fill(body.signatory), align="L", new_x=XPos.LMARGIN)
    _paragraph(pdf, texts.fill(body.signatory_role))


def _paragraph(pdf: FPDF, text: str) -> None:
    pdf.set_font(_FONT_FAMILY, "", _BODY_SIZE_PT)
    pdf.multi_cell(0, _LINE_MM, text, align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(2)


def _render_contract_table(pdf: FPDF, letter: WelcomeLetter, texts: _Texts) -> None:
    labels = texts.template.table
    duration = labels.duration_indefinite if letter.valid_to is None else labels.duration_fixed_term
    # The code of the supply point is an EAN for electricity and an EIC for gas (vyhláška č. 408/2015 Sb.).
    opm_code = labels.opm_code_electricity if letter.commodity == "electricity" else labels.opm_code_gas
    rows = (
        (labels.contract_number, letter.contract_number),
        (labels.commodity, _COMMODITY_NAMES[letter.commodity]),
        (labels.product, letter.product),
        (labels.supply_address, letter.supply_address),
        (opm_code, letter.opm_code),
        (labels.valid_from, format_czech_date(letter.valid_from)),
        (labels.duration, texts.fill(duration)),
        (labels.variable_symbol, letter.variable_symbol),
        (labels.payment_method, letter.payment_method_text),
    )
    pdf.set_draw_color(200)
    for label, value in rows:
        top_mm = pdf.get_y()
        pdf.set_font(_FONT_FAMILY, "B", _BODY_SIZE_PT)
        pdf.multi_cell(
            _LABEL_WIDTH_MM, _LINE_MM + 1, texts.fill(label), align="L", new_x=XPos.RIGHT, new_y=YPos.TOP
        )
        pdf.set_font(_FONT_FAMILY, "", _BODY_SIZE_PT)
        pdf.multi_cell(0, _LINE_MM + 1, value, align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        # A separating rule under each row; the value column decides the row height (labels are short).
        bottom_mm = max(pdf.get_y(), top_mm + _LINE_MM + 1)
        pdf.line(_PAGE_MARGIN_MM, bottom_mm, pdf.w - _PAGE_MARGIN_MM, bottom_mm)
        pdf.set_y(bottom_mm)
