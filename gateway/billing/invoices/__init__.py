"""Invoice documents from a computed settlement: numbering, QR Platba, PDF and ISDOC 6.0.2."""
