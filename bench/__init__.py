"""Benchmarks that print figures. They are never asserted in the test suite."""
