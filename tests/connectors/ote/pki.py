"""The transport tests' throw-away PKI now lives in ``connectors.ote.pki`` (the demo makes certificates too);
this module re-exports it so that existing imports keep working."""

from __future__ import annotations

from connectors.ote.pki import Issued, Pki, issue, make_ca, make_pki

__all__ = ["Issued", "Pki", "issue", "make_ca", "make_pki"]
