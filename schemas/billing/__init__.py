"""Billing structs: the price calculator's request and the settlement it returns (issue #6)."""
