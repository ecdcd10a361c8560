"""The persisted notebook flow of tests/crews.py, for ``a2a-bridge serve tenant_flows:notebook``.

Its state lives in the SQLite file that ``TENANT_FLOW_DB`` names.
"""

from __future__ import annotations

import os

import crews
from crewai.flow.persistence import SQLiteFlowPersistence

notebook = crews.notebook_flow(SQLiteFlowPersistence(db_path=os.environ["TENANT_FLOW_DB"]))
