"""Times `alembic upgrade head` inside one Python process (interpreter start
and imports excluded), for a fair comparison with the Rust tools' in-process
figures. Usage: python alembic_apply.py PROJECT DB; prints microseconds."""

import os
import sys
import time

from alembic import command
from alembic.config import Config

project, db = sys.argv[1], sys.argv[2]
os.environ["ALEMBIC_DB"] = db
config = Config(os.path.join(project, "alembic.ini"))
started = time.perf_counter()
command.upgrade(config, "head")
print(round((time.perf_counter() - started) * 1e6))
