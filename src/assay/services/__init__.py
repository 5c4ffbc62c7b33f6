"""Use cases over the store: plain functions taking a session and an actor, no HTTP here."""
