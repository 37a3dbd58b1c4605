"""The blue-book's chapters: each module loads its facts and frames from the published
database and returns them as one frozen dataclass (report/data.py assembles them)."""
