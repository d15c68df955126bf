"""Benchmarks of cargotime against eventsourcing-django and the library's own SQL."""
