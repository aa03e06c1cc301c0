"""Results of searches: what summaries, comparisons and reports are made of."""
