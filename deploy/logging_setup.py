"""One JSON log stream per process, for structlog and stdlib logging alike.

Kanalvakt's processes (worker, web app, local stack) log through two routes:

* our own code uses structlog (`structlog.get_logger()`), with request- and
  case-scoped keys bound in contextvars (`workflow_id`, `run_id`,
  `account_id`, ...);
* libraries use stdlib `logging`: temporalio's replay-safe `workflow.logger`
  and `activity.logger`, uvicorn, asyncpg.

Operators read (and ship) one stream, so both routes end in the same handler
on stderr: stdlib records pass through `structlog.stdlib.ProcessorFormatter`
with the same processors structlog events get, and every line is one JSON
object with an ISO timestamp, level, logger name, the contextvars and the
Temporal context lifted to top-level keys.

Call `configure_logging()` once at process start-up (the worker's `main`, the
web app at import, so it wins over uvicorn's own dictConfig which runs before
the app is imported). Calling it again reconfigures instead of stacking
handlers.
"""

from __future__ import annotations

import logging
import os
import sys
from typing import TextIO

import structlog
from structlog.typing import EventDict, Processor, WrappedLogger

# Marks the handler we install on the root logger, so a second call can find
# and replace it rather than add a second one (which would print every line
# twice).
_HANDLER_MARK = "_kanalvakt_handler"

# Loggers that configure their own handlers (uvicorn's CLI applies its
# LOGGING_CONFIG before importing the app). We clear those handlers and let
# the records propagate to the root handler, or they would bypass the JSON
# stream as plain text.
_SELF_CONFIGURED_LOGGERS = ("uvicorn", "uvicorn.error", "uvicorn.access")

# Keys of temporalio's `extra` dicts that are renamed when lifted: an activity
# calls its workflow's run id `workflow_run_id`; operators search for `run_id`.
_TEMPORAL_RENAMES = {"workflow_run_id": "run_id"}


def lift_temporal_context(_: WrappedLogger, __: str, event_dict: EventDict) -> EventDict:
    """Move temporalio's log context to top-level keys.

    temporalio's `workflow.logger` adds `extra={"temporal_workflow": {...}}`
    (workflow_id, run_id, workflow_type, namespace, task_queue, attempt and,
    inside update handlers, update_id/update_name) and `activity.logger` adds
    `temporal_activity` (activity_id, activity_type, workflow_id,
    workflow_run_id, ...). `ExtraAdder` copies those dicts into the event as
    nested values; log search wants `workflow_id=...` at the top, the same key
    our own structlog code binds. Every key is lifted (so nothing is lost) and
    the nested dict dropped (so nothing is said twice). The record's own
    Temporal context wins over contextvars: it describes the code that logged.
    """
    for nested_key in ("temporal_workflow", "temporal_activity"):
        nested = event_dict.pop(nested_key, None)
        if isinstance(nested, dict):
            for key, value in nested.items():
                if value is not None:
                    event_dict[_TEMPORAL_RENAMES.get(str(key), str(key))] = value
    return event_dict


def _drop_color_message(_: WrappedLogger, __: str, event_dict: EventDict) -> EventDict:
    # uvicorn puts an ANSI-coloured copy of its message in `extra`; in JSON it
    # is noise.
    event_dict.pop("color_message", None)
    return event_dict


def _leading_keys(_: WrappedLogger, __: str, event_dict: EventDict) -> EventDict:
    # When, how bad, who, what first: lines are read by eye in the local
    # stack's terminal long before any log shipper parses them.
    ordered = {key: event_dict.pop(key) for key in _LEADING if key in event_dict}
    ordered.update(event_dict)
    return ordered


_LEADING = ("timestamp", "level", "service", "logger", "event")


def _add_service(service: str) -> Processor:
    def add_service(_: WrappedLogger, __: str, event_dict: EventDict) -> EventDict:
        event_dict.setdefault("service", service)
        return event_dict

    return add_service


def _shared_processors(service: str | None) -> list[Processor]:
    """Processors both routes run, before the final rendering."""
    processors: list[Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    if service:
        processors.append(_add_service(service))
    return processors


def configure_logging(
    level: str = "INFO",
    *,
    json: bool = True,
    service: str | None = None,
    temporal_info_on_message: bool = False,
    stream: TextIO | None = None,
) -> None:
    """Send structlog and stdlib logging to stderr as one stream.

    Args:
        level: root level name ("DEBUG", "INFO", "WARNING", ...).
        json: one JSON object per line (production, the local stack); False
            gives structlog's coloured console format for a developer's eye.
        service: added as a `service` key to every line so the worker's and
            the web app's lines can be told apart when they share a terminal.
            Defaults to the `KANALVAKT_SERVICE` environment variable, which the
            local stack sets for its children.
        temporal_info_on_message: temporalio appends its context dict to the
            message text by default ("did x ({'workflow_id': ...})"). With
            structured keys that only duplicates the context, so it is turned
            off unless asked for.
    """
    if service is None:
        service = os.environ.get("KANALVAKT_SERVICE") or None
    shared = _shared_processors(service)

    renderer: Processor
    final: list[Processor] = [structlog.stdlib.ProcessorFormatter.remove_processors_meta]
    if json:
        # Tracebacks as text in the `exception` key; the console renderer
        # formats them itself (and warns if they were pre-formatted).
        final += [structlog.processors.format_exc_info, _leading_keys]
        renderer = structlog.processors.JSONRenderer(ensure_ascii=False)
    else:
        renderer = structlog.dev.ConsoleRenderer()
    final.append(renderer)

    formatter = structlog.stdlib.ProcessorFormatter(
        # Only stdlib ("foreign") records run this chain; structlog events
        # have already run `shared` in structlog.configure below.
        foreign_pre_chain=[
            *shared,
            structlog.stdlib.ExtraAdder(),
            lift_temporal_context,
            _drop_color_message,
        ],
        processors=final,
    )

    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(formatter)
    setattr(handler, _HANDLER_MARK, True)

    root = logging.getLogger()
    for old in [h for h in root.handlers if getattr(h, _HANDLER_MARK, False)]:
        root.removeHandler(old)
        old.close()
    root.addHandler(handler)
    root.setLevel(level.upper())

    for name in _SELF_CONFIGURED_LOGGERS:
        lib_logger = logging.getLogger(name)
        lib_logger.handlers.clear()
        lib_logger.propagate = True

    structlog.configure(
        processors=[
            structlog.stdlib.filter_by_level,
            *shared,
            structlog.stdlib.PositionalArgumentsFormatter(),
            structlog.processors.StackInfoRenderer(),
            lift_temporal_context,
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        # Not cached: a second configure_logging() (another level, a test)
        # must reach loggers created at import time too.
        cache_logger_on_first_use=False,
    )

    _set_temporal_info_on_message(temporal_info_on_message)


def _set_temporal_info_on_message(enabled: bool) -> None:
    # The flags live on the module-level logger adapters; temporalio is passed
    # through the workflow sandbox, so the sandboxed workflow.logger is this
    # same object.
    try:
        from temporalio import activity, workflow
    except ImportError:  # pragma: no cover - temporalio is a hard dependency
        return
    workflow.logger.workflow_info_on_message = enabled
    activity.logger.activity_info_on_message = enabled


__all__ = ["configure_logging", "lift_temporal_context"]
