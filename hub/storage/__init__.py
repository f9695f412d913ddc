"""Storage behind a narrow interface (`base.Storage`); SQLite is the embedded default."""
