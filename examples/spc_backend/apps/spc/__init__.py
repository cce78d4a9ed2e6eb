"""Statistical process control: products with spec limits and their measurements."""
