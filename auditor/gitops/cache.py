"""Content-hash result cache: one SQLite file under ``$XDG_CACHE_HOME/confaudit`` (``~/.cache``).

Two tables, both keyed by hashes of content, so an entry can never be stale, only unused:

- ``states``: a whole revision's findings and dependency record, keyed by the options and every
  (path, blob id) of the revision. Derivations start from the newest committed state.
- ``groups``: the findings of one re-scanned set of files (a root and its closure), keyed by the
  options and the (path, blob id) of every file in the set.

Entries older than ``MAX_AGE_DAYS`` are deleted when new ones are written.
"""

from __future__ import annotations

import json
import logging
import os
import sqlite3
import time
import zlib
from pathlib import Path
from typing import Any

log = logging.getLogger("confaudit")
MAX_AGE_DAYS = 14
KEEP_STATES = 6  # per options key


def default_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "confaudit"


class Cache:
    """``Cache(None)`` keeps entries in memory only (``--no-cache``)."""

    def __init__(self, folder: Path | None) -> None:
        self._memory: dict[tuple[str, str], Any] = {}
        self._db: sqlite3.Connection | None = None
        if folder is None:
            return
        try:
            folder.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(folder / "cache-v1.sqlite3", timeout=30)
            self._db.executescript(
                "CREATE TABLE IF NOT EXISTS states (key TEXT PRIMARY KEY, options TEXT, committed INTEGER, "
                "created REAL, data BLOB);"
                "CREATE TABLE IF NOT EXISTS groups (key TEXT PRIMARY KEY, created REAL, data BLOB);"
            )
        except (OSError, sqlite3.Error) as exc:
            log.warning("result cache disabled (%s): %s", folder, exc)
            self._db = None

    def get(self, table: str, key: str) -> Any:
        if (table, key) in self._memory:
            return self._memory[(table, key)]
        if self._db is None:
            return None
        try:
            row = self._db.execute(f"SELECT data FROM {table} WHERE key = ?", (key,)).fetchone()  # noqa: S608
        except sqlite3.Error:
            return None
        return _decode(row[0]) if row else None

    def put_group(self, key: str, value: Any) -> None:
        self._memory[("groups", key)] = value
        self._write("INSERT OR REPLACE INTO groups VALUES (?, ?, ?)", (key, time.time(), _encode(value)))

    def put_state(self, key: str, options: str, committed: bool, value: Any) -> None:
        self._memory[("states", key)] = value
        self._write(
            "INSERT OR REPLACE INTO states VALUES (?, ?, ?, ?, ?)",
            (key, options, int(committed), time.time(), _encode(value)),
        )
        self._write(
            "DELETE FROM states WHERE options = ? AND key NOT IN (SELECT key FROM states WHERE options = ? "
            "ORDER BY created DESC LIMIT ?)",
            (options, options, KEEP_STATES),
        )
        cutoff = time.time() - MAX_AGE_DAYS * 86400
        self._write("DELETE FROM states WHERE created < ?", (cutoff,))
        self._write("DELETE FROM groups WHERE created < ?", (cutoff,))

    def recent_states(self, options: str, limit: int = 3) -> list[Any]:
        found = [
            v
            for (t, _), v in self._memory.items()
            if t == "states" and v.get("options") == options and v.get("committed")
        ]
        if self._db is not None:
            try:
                rows = self._db.execute(
                    "SELECT data FROM states WHERE options = ? AND committed = 1 ORDER BY created DESC LIMIT ?",
                    (options, limit),
                ).fetchall()
                found += [_decode(r[0]) for r in rows]
            except sqlite3.Error:
                pass
        return found[:limit]

    def _write(self, sql: str, params: tuple[Any, ...]) -> None:
        if self._db is None:
            return
        try:
            with self._db:
                self._db.execute(sql, params)
        except sqlite3.Error as exc:
            log.warning("result cache write failed: %s", exc)


def _encode(value: Any) -> bytes:
    return zlib.compress(json.dumps(value, separators=(",", ":")).encode(), 1)


def _decode(data: bytes) -> Any:
    try:
        return json.loads(zlib.decompress(data))
    except (zlib.error, ValueError):
        return None
