"""Preference data: the Pair record (schema), one row parser per source format (formats), loading
(loaders.load_pairs), held-out splits (splits) and token budgets (budget)."""
