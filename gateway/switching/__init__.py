"""Supplier switching: deadlines, the intake of new contracts, the OTE translator, the actions of the
switching machines (``rules/machines/switch_*.yaml``) and the back-office attention consumer."""
