"""Use cases. Plain functions taking their collaborators; no Flask, no SQL, no HTTP client."""
