"""Tests of the back-office and portal views (a package: its module names may repeat
those of tests/services, such as test_stats)."""
