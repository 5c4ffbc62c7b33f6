"""The Foundation benchmark of a real `assay serve` process; `benchmarks/run.py` is its entry point."""
