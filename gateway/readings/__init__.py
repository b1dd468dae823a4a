"""Meter readings: the store of register readings per meter, duplicates and corrections, gas m³ → kWh."""
