"""Real adapters for Google's accounts, Gmail and RISC endpoints (configurable base URLs)."""
