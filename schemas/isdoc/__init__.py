"""The official ISDOC 6.0.2 invoice schema and schematron, and two official samples (see README.md)."""
