"""The fleet's peer, django-simple-history: in the benchmarks only."""
