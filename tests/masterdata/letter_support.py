"""Welcome-letter templates for tests: the packaged one with a few texts changed, as a file of its own."""

from __future__ import annotations

from pathlib import Path
from typing import Final

from gateway.masterdata import letters
from gateway.masterdata.letter_template import TEMPLATE_FILE_NAME

PACKAGED_TEMPLATE: Final = Path(letters.__file__).parent / "templates" / TEMPLATE_FILE_NAME


def write_template(tmp_path: Path, *replacements: tuple[str, str]) -> Path:
    """The packaged template with each (old, new) replaced once, written to ``tmp_path/dopis.toml``."""
    text = PACKAGED_TEMPLATE.read_text(encoding="utf-8")
    for old, new in replacements:
        assert text.count(old) == 1, old
        text = text.replace(old, new)
    path = tmp_path / "dopis.toml"
    path.write_text(text, encoding="utf-8")
    return path
