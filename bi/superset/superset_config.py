"""Superset's configuration for yimei's starter dashboard (SUPERSET_CONFIG_PATH points here).

Everything Superset keeps (its metadata database, the secret key) lives under
``YIMEI_SUPERSET_HOME`` (``<data dir>/superset``), which `yimei superset` sets; the secret
key is generated once there in a 0600 file, never kept in the repository.
"""

import os
from pathlib import Path

_home = Path(os.environ["YIMEI_SUPERSET_HOME"])

SECRET_KEY = (_home / "secret_key").read_text(encoding="utf-8").strip()
SQLALCHEMY_DATABASE_URI = f"sqlite:///{_home / 'superset.db'}"
DATA_DIR = str(_home)

# The bundle's charts are imported, not hand-made; examples would only add noise.
SUPERSET_LOAD_EXAMPLES = False
# A starter on one machine: in-process rate limiting, no Redis.
RATELIMIT_STORAGE_URI = "memory://"
# Chinese and English in the language menu; the chart titles are bilingual.
LANGUAGES = {
    "zh": {"flag": "cn", "name": "简体中文"},
    "en": {"flag": "us", "name": "English"},
}
