"""Settings: `base` shared by every environment, `dev` the guide's SQLite default."""
