"""Billing: prices, settlements, advances and invoices (issue 6)."""
