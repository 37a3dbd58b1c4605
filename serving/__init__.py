"""Publishing and access, after the gate has said yes: serving.duckdb (publish.py)."""
