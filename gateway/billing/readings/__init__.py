"""Readings and consumption for billing (issue #6): readings entered here (``record``), consumption per
period across meter changes and roll-overs (``timeline``, ``compute``, ``service``), plausibility findings
(``plausibility``), estimates of a missing reading (``estimate``, ``profile``) and the CSV import
(``csv_import``). See docs/readings.md, "Consumption, plausibility, estimation"."""
