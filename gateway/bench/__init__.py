"""Benchmarks (``proud bench``) and the synthetic handler they and the bus tests share."""
