"""Applications of the sample SPC backend."""
