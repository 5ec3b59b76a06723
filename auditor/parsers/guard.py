"""The parser-stage guard: an exception while reading one file or one object is confaudit's bug,
not the user's input, and must not end the scan.

It mirrors the rule guard of ``auditor.engine``: the exception is logged with its traceback and
recorded, the scan goes on, and with ``strict`` (the tests) it is re-raised instead. What is
recorded is a ``parse-error`` problem marked ``internal``, at the file (and line) of what could
not be read, so the report says which input went unchecked; the engine also lists it among the
internal errors (the summary tail, JSON ``internal_errors``, SARIF ``executionSuccessful``).

``guarded`` protects one step (a file, an Application, a chart render); ``isolate`` runs a batch
step (documents parsed together so they can refer to each other) and, when it fails, finds the
items that make it fail and parses the others without them.
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import TypeVar

from auditor.model import Location, Model, Problem

log = logging.getLogger("confaudit")

T = TypeVar("T")


def internal_problem(loc: Location, resource: str, what: str, exc: BaseException) -> Problem:
    """The finding for input that could not be read because of a bug in confaudit."""
    detail = str(exc).splitlines()[0][:200] if str(exc) else ""
    reason = f"{type(exc).__name__}: {detail}" if detail else type(exc).__name__
    return Problem(
        "parse-error",
        loc,
        resource,
        f"internal error in confaudit's {what} ({reason}): not checked; please report this as a bug",
        internal=True,
    )


def _record(problems: list[Problem], loc: Location, resource: str, what: str, exc: BaseException) -> None:
    log.error("internal error in the %s at %s:%s:\n%s", what, loc.file, loc.line, traceback.format_exc())
    problems.append(internal_problem(loc, resource, what, exc))


@contextmanager
def guarded(problems: list[Problem], loc: Location, resource: str, what: str, strict: bool) -> Iterator[None]:
    """Run the ``with`` body; an exception in it becomes an internal problem at ``loc`` (re-raised
    when ``strict``). The body stops at the exception: it must only add its results at its end,
    or into a model it owns, so nothing half-built is kept."""
    try:
        yield
    except Exception as exc:
        if strict:
            raise
        _record(problems, loc, resource, what, exc)


def isolate(
    items: Sequence[T],
    run: Callable[[list[T]], Model],
    locate: Callable[[T], tuple[Location, str]],
    what: str,
    strict: bool,
) -> Model:
    """``run(items)``, and when it raises, the same without the items that make it raise.

    Items are parsed together so they can refer to each other (a Service selecting a Deployment):
    after a failure each item is tried on its own to find the culprits, each of which becomes an
    internal problem at ``locate(item)``, and the rest is parsed together again. When no item fails
    on its own (only a combination does), each is kept as parsed alone and the first is reported.
    """
    try:
        return run(list(items))
    except Exception as exc:
        if strict:
            raise
        first = exc
        log.error("internal error in the %s, looking for the input that causes it:\n%s", what, traceback.format_exc())
    model = Model()
    if len(items) == 1:
        model.problems.append(internal_problem(*locate(items[0]), what, first))
        return model
    alone: list[Model] = []
    culprits = 0
    kept: list[T] = []
    for item in items:
        try:
            alone.append(run([item]))
            kept.append(item)
        except Exception as exc:  # noqa: BLE001 - the parser boundary (STYLE section 4)
            culprits += 1
            _record(model.problems, *locate(item), what, exc)
    if culprits == 0:
        for part in alone:
            model.extend(part)
        model.problems.append(internal_problem(*locate(items[0]), what, first))
        return model
    model.extend(isolate(kept, run, locate, what, strict) if kept else Model())
    return model
