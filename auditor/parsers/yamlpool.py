"""Loading many YAML files with every core: the main process and forked workers share the files.

Results come back from the workers as plain tuples (data and ``LineTree``: no PyYAML nodes), which
unpickle faster than the dataclasses built from them.
"""

from __future__ import annotations

import os
from typing import Any

from auditor.discover import SourceFile
from auditor.gcpause import gc_paused
from auditor.model import Problem, Suppression
from auditor.parsers.yamlfiles import Document, Loaded, load_path
from auditor.yamlload import LineTree

# Loading is the bulk of a large scan: past this many bytes of YAML, files are loaded by a pool of
# worker processes (one per core). Below it, starting the workers costs more than it saves.
PARALLEL_MIN_BYTES = 2 * 1024 * 1024
_BATCH_FILES = 64


def load_files(files: list[SourceFile], strict: bool = False) -> list[Loaded]:
    """Load every file, in the order given; in parallel for large trees.

    The main process loads a share of the files itself while ``workers - 1`` forked processes load
    the rest: it would otherwise sit idle, and what it loads needs no pickling.
    """
    workers = _worker_count(files)
    if workers < 2:
        return [load_path(str(f.path), f.rel, strict) for f in files]
    import concurrent.futures
    import multiprocessing

    jobs = [(str(f.path), f.rel, strict) for f in files]
    # Receiving a worker's documents costs the main process about a tenth of loading them, and
    # pickling them costs the worker a fifth: the main process takes a little more than its share.
    own = int(len(jobs) / workers * 1.05)
    batches = [jobs[i : i + _BATCH_FILES] for i in range(own, len(jobs), _BATCH_FILES)]
    methods = multiprocessing.get_all_start_methods()
    context = multiprocessing.get_context("fork" if "fork" in methods else None)
    with concurrent.futures.ProcessPoolExecutor(workers - 1, mp_context=context) as pool:
        futures = [pool.submit(_load_batch, batch) for batch in batches]
        loaded = [load_path(*job) for job in jobs[:own]]
        for future in futures:
            for rel, documents, problems, suppressions in future.result():
                rebuilt = [Document(rel, index, None, data, lines=lines) for index, data, lines in documents]
                loaded.append(Loaded(rel, rebuilt, problems, suppressions))
    return loaded


_Packed = tuple[str, list[tuple[int, Any, LineTree]], list[Problem], list[Suppression]]


def _load_batch(jobs: list[tuple[str, str, bool]]) -> list[_Packed]:
    """Load files in a worker process; plain tuples unpickle faster than the dataclasses."""
    with gc_paused():
        loaded = [load_path(*job) for job in jobs]
    return [
        (item.rel, [(d.index, d.data, d.lines) for d in item.documents], item.problems, item.suppressions)
        for item in loaded
    ]


def _worker_count(files: list[SourceFile]) -> int:
    """Processes to load with: one per usable CPU for large trees (``CONFAUDIT_WORKERS`` overrides)."""
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    configured = os.environ.get("CONFAUDIT_WORKERS", "")
    if configured.isdigit():
        cpus = max(1, int(configured))
    if cpus < 2 or len(files) < 2 * _BATCH_FILES:
        return 1
    total = 0
    for source in files:
        try:
            total += source.path.stat().st_size
        except OSError:
            continue
        if total >= PARALLEL_MIN_BYTES:
            return min(cpus, 8)
    return 1
