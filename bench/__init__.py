"""Speed benchmarks against stock TRL and stock transformers: `python -m bench --help`."""
