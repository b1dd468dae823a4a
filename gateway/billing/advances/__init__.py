"""Advances (zálohy): schedules, mass regeneration, advance requests and tax documents for received
payments (docs/billing.md)."""
