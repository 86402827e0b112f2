"""Storage: the estate's tables, the database connection and the migrations."""
