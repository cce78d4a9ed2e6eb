"""Project package of the sample SPC backend."""
