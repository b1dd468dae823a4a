"""The wording of the welcome letter: a TOML file the back office edits, checked completely when it is loaded.

The packaged ``templates/welcome_letter.toml`` is the default; the setting ``welcome_letter_template`` names
another file. Texts are ``str.format`` strings whose placeholders come from a fixed set (``PLACEHOLDERS``).
Everything that could go wrong when a letter is rendered is checked here instead — a missing or unknown key,
an unknown placeholder, an unbalanced brace — because a template error found per letter would dead-letter
every contract signed until someone noticed. Loading once at start-up turns it into a refused start naming
the file, the key and the problem.
"""

from __future__ import annotations

import difflib
import functools
import re
import string
from collections.abc import Iterator
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Annotated, Final

import msgspec

from gateway.errors import ConfigError, ProudError

TEMPLATE_FILE_NAME: Final = "welcome_letter.toml"
#: The packaged template is a few kilobytes; anything far bigger is the wrong file, not a longer letter.
TEMPLATE_BYTES_MAX: Final = 64 * 1024
#: One text (a paragraph): a longer one would fill most of the page on its own.
TEMPLATE_TEXT_CHARS_MAX: Final = 2000
#: Paragraphs in one list (intro, closing, withdrawal).
TEMPLATE_PARAGRAPHS_MAX: Final = 10

#: Every name a text may use in braces; ``letters.placeholder_values`` supplies exactly these.
PLACEHOLDERS: Final = frozenset({
    "supplier_name", "supplier_address", "customer_name", "contract_number", "commodity_genitive",
    "commodity_name", "opm_code", "supply_address", "product", "valid_from", "valid_to", "withdrawal_until",
    "variable_symbol", "payment_method", "letter_date",
})
#: Placeholders that have a value only for some contracts, and the only keys (printed just for those
#: contracts) that may use them; anywhere else they would print as nothing on most letters.
CONDITIONAL_PLACEHOLDERS: Final = {
    "valid_to": frozenset({"table.duration_fixed_term"}),
    "withdrawal_until": frozenset({"withdrawal.heading", "withdrawal.paragraphs"}),
}

Text = Annotated[str, msgspec.Meta(max_length=TEMPLATE_TEXT_CHARS_MAX)]
Paragraphs = Annotated[tuple[Text, ...], msgspec.Meta(max_length=TEMPLATE_PARAGRAPHS_MAX)]


class DocumentTexts(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    title: Text
    subject: Text
    footer: Text


class ReferenceTexts(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    date: Text
    contract_number: Text


class BodyTexts(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    heading: Text
    greeting: Text
    intro: Paragraphs
    closing: Paragraphs
    sign_off: Text
    signatory: Text
    signatory_role: Text


class WithdrawalTexts(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    heading: Text
    paragraphs: Paragraphs


class TableTexts(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    contract_number: Text
    commodity: Text
    product: Text
    supply_address: Text
    opm_code_electricity: Text
    opm_code_gas: Text
    valid_from: Text
    duration: Text
    duration_indefinite: Text
    duration_fixed_term: Text
    variable_symbol: Text
    payment_method: Text


class LetterTemplate(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Every text of the welcome letter, as in ``templates/welcome_letter.toml``; checked by the loader."""

    document: DocumentTexts
    reference: ReferenceTexts
    body: BodyTexts
    withdrawal: WithdrawalTexts
    table: TableTexts


class InvalidLetterTemplate(ConfigError):
    """The template file cannot be used: unreadable, not TOML, a key missing or unknown, a bad placeholder.

    A ``ConfigError``, so that start-up stops (CLI exit 2) as for any bad setting; its message names the
    file and the key inside it rather than the setting's value.
    """

    def __init__(self, path: str, field: str | None, problem: str) -> None:
        where = f"{path}: {field}" if field else path
        ProudError.__init__(self, f"welcome letter template {where}: {problem}")
        self.key = "welcome_letter_template"
        self.value = path
        self.reason = f"{field}: {problem}" if field else problem
        self.path = path
        self.field = field
        self.problem = problem


def load_letter_template(path: Path | None = None) -> LetterTemplate:
    """The template in ``path``, or the packaged one for None; raises ``InvalidLetterTemplate``."""
    if path is None:
        return packaged_letter_template()
    return _load(path, str(path))


@functools.cache
def packaged_letter_template() -> LetterTemplate:
    """The template shipped with proud (read and checked once per process)."""
    source = resources.files("gateway.masterdata") / "templates" / TEMPLATE_FILE_NAME
    return _load(source, str(source))


def _load(source: Traversable, name: str) -> LetterTemplate:
    content = _read(source, name)
    try:
        template = msgspec.toml.decode(content, type=LetterTemplate)
    except msgspec.ValidationError as exc:
        field, problem = _validation_problem(str(exc))
        raise InvalidLetterTemplate(name, field, problem) from None
    except msgspec.DecodeError as exc:
        raise InvalidLetterTemplate(name, None, f"not valid TOML (UTF-8): {exc}") from None
    for key, text in template_texts(template):
        _check_text(name, key, text)
    return template


def _read(source: Traversable, name: str) -> bytes:
    try:
        with source.open("rb") as stream:
            content: bytes = stream.read(TEMPLATE_BYTES_MAX + 1)
    except OSError as exc:
        raise InvalidLetterTemplate(name, None, f"cannot read file: {exc.strerror or exc}") from None
    if len(content) > TEMPLATE_BYTES_MAX:
        raise InvalidLetterTemplate(name, None, f"is over TEMPLATE_BYTES_MAX ({TEMPLATE_BYTES_MAX} bytes)")
    return content


_MSGSPEC_AT = re.compile(r"^(?P<reason>.*?)(?: - at `\$\.?(?P<at>[^`]*)`)?$", re.DOTALL)
_MSGSPEC_FIELD = re.compile(r"^Object (?P<what>missing required|contains unknown) field `(?P<name>[^`]+)`$")


def _validation_problem(message: str) -> tuple[str | None, str]:
    """(key, problem) from msgspec's "<reason> - at `$.body`", with the field it names joined to the key."""
    parts = _MSGSPEC_AT.match(message)
    assert parts is not None  # the pattern matches any text
    at, reason = parts["at"] or None, parts["reason"]
    field = _MSGSPEC_FIELD.match(reason)
    if field is None:
        return at, reason[:1].lower() + reason[1:]
    key = f"{at}.{field['name']}" if at else field["name"]
    if field["what"] == "missing required":
        return key, "is missing (every key of the packaged template is required)"
    return key, "is not a key of the template (misspelt, or in the wrong [section]?)"


def template_texts(template: LetterTemplate) -> Iterator[tuple[str, str]]:
    """Every text with its key (``body.intro[0]``), in file order."""
    for section_name in template.__struct_fields__:
        section = getattr(template, section_name)
        for field_name in section.__struct_fields__:
            value = getattr(section, field_name)
            key = f"{section_name}.{field_name}"
            if isinstance(value, str):
                yield key, value
            else:
                yield from ((f"{key}[{index}]", text) for index, text in enumerate(value))


_FORMATTER: Final = string.Formatter()
_TRIAL_VALUES: Final = {name: "x" for name in PLACEHOLDERS}


def _check_text(path: str, key: str, text: str) -> None:
    """Refuse a text that ``str.format_map`` with the placeholder values could fail on, or misuse."""
    try:
        parsed = list(_FORMATTER.parse(text))
    except ValueError as exc:
        raise InvalidLetterTemplate(
            path, key, f"unbalanced braces ({exc}); write {{{{ and }}}} for a literal brace"
        ) from None
    for _, name, spec, conversion in parsed:
        if name is None:
            continue  # literal text only
        shown = "{" + name + (f"!{conversion}" if conversion else "") + (f":{spec}" if spec else "") + "}"
        if name not in PLACEHOLDERS:
            raise InvalidLetterTemplate(path, key, f"unknown placeholder {shown}{_suggestion(name)}")
        if spec or conversion:
            raise InvalidLetterTemplate(
                path, key, f"placeholder {shown} has a format spec or conversion; write just {{{name}}}"
            )
        keys = CONDITIONAL_PLACEHOLDERS.get(name)
        if keys is not None and key.split("[", 1)[0] not in keys:
            where = ", ".join(sorted(keys))
            raise InvalidLetterTemplate(
                path, key, f"placeholder {shown} may be used only in {where}: other letters have no value"
            )
    try:
        # The checks above should leave nothing format_map refuses; a trial makes sure of it.
        text.format_map(_TRIAL_VALUES)
    except (ValueError, KeyError, IndexError, AttributeError) as exc:
        raise InvalidLetterTemplate(path, key, f"cannot be filled in: {exc}") from None


def _suggestion(name: str) -> str:
    close = difflib.get_close_matches(name, sorted(PLACEHOLDERS), n=1)
    allowed = ", ".join("{" + known + "}" for known in sorted(PLACEHOLDERS))
    hint = f" (did you mean {{{close[0]}}}?)" if close else ""
    return f"{hint}; the placeholders are {allowed}"
