"""Documents (DMS): metadata and versions; the bytes live in the file store under their sha256."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Literal

import msgspec

from schemas.masterdata.activities import EntityRef

DocumentKind = Literal[
    "contract", "power_of_attorney", "welcome_letter", "correspondence", "invoice", "other",
]


class DocumentVersion(msgspec.Struct, frozen=True, kw_only=True):
    version: int
    sha256: str
    size_bytes: int
    media_type: str
    filename: str
    created_at: dt.datetime
    created_by: str


class Document(msgspec.Struct, frozen=True, kw_only=True):
    id: uuid.UUID
    kind: DocumentKind
    title: str
    links: list[EntityRef]
    versions: list[DocumentVersion]
    created_at: dt.datetime
