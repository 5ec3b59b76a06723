"""The GitOps pull-request check: ``confaudit diff`` compares two revisions of a repository.

``git.py`` reads revisions without touching the checkout, ``deps.py`` follows the dependency record
the parsers leave in ``Model.reads``, ``incremental.py`` re-scans only what a change can affect and
reuses everything else from ``cache.py``, ``diff.py`` classifies findings as new, fixed or unchanged
and ``command.py`` is the ``diff`` subcommand.
"""
