"""Parse and write label formats; pure, no database and no HTTP."""
