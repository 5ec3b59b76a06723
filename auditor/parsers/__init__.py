"""Parsers: one module per input format, each building the normalized model."""
