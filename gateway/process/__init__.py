"""The process runtime: declarative state machines (YAML in ``rules/machines``), decision tables (GoRules
JDM in ``rules/decisions``), durable timers, and instances persisted per (machine, key) with exactly-once
effects."""
