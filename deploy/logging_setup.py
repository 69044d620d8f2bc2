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
import sys
from typing import Any, TextIO

import structlog
from structlog.typing import EventDict, Processor, WrappedLogger
from temporalio import activity
from temporalio.worker import ActivityInboundInterceptor, ExecuteActivityInput, Interceptor

import settings as app_settings

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
    level: str | None = None,
    *,
    json: bool = True,
    service: str | None = None,
    temporal_info_on_message: bool = False,
    stream: TextIO | None = None,
) -> None:
    """Send structlog and stdlib logging to stderr as one stream.

    Args:
        level: root level name ("DEBUG", "INFO", "WARNING", ...); default
            KANALVAKT_LOG_LEVEL (INFO).
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
    if service is None or level is None:
        cfg = app_settings.load()
        service = service if service is not None else cfg.service or None
        level = level or cfg.log_level
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
    handler.addFilter(QuerylessAccessLog())
    setattr(handler, _HANDLER_MARK, True)

    root = logging.getLogger()
    for old in [h for h in root.handlers if getattr(h, _HANDLER_MARK, False)]:
        root.removeHandler(old)
        old.close()
    root.addHandler(handler)
    root.setLevel(level.upper())

    access = logging.getLogger("uvicorn.access")
    if not any(isinstance(f, QuerylessAccessLog) for f in access.filters):
        # On the logger too, so every handler (not only ours) gets the line
        # without its query string.
        access.addFilter(QuerylessAccessLog())
    for name in _SELF_CONFIGURED_LOGGERS:
        lib_logger = logging.getLogger(name)
        lib_logger.handlers.clear()
        lib_logger.propagate = True
        # uvicorn sets its own loggers' level (--log-level); the root's,
        # from KANALVAKT_LOG_LEVEL, governs.
        lib_logger.setLevel(logging.NOTSET)
    # httpx logs every request's full URL at INFO: Graph API calls carry
    # the page's access token in the query string.
    logging.getLogger("httpx").setLevel(max(logging.WARNING, root.level))

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




class _ActivityInbound(ActivityInboundInterceptor):
    def __init__(self, next: ActivityInboundInterceptor, running: Any) -> None:  # noqa: A002
        super().__init__(next)
        self._running = running

    async def execute_activity(self, input: ExecuteActivityInput) -> Any:  # noqa: A002
        info = activity.info()
        keys = {"workflow_id": info.workflow_id, "run_id": info.workflow_run_id,
                "activity_type": info.activity_type, "activity_id": info.activity_id,
                "attempt": info.attempt}
        if self._running is not None:
            self._running.inc()
        try:
            with structlog.contextvars.bound_contextvars(**keys):
                return await self.next.execute_activity(input)
        finally:
            if self._running is not None:
                self._running.dec()


class ActivityLogContext(Interceptor):
    """A worker interceptor that binds the running activity's workflow id,
    run id, activity type and id (and its attempt) to structlog's
    contextvars while it runs, so every line our own code logs inside an
    activity says which case it served, as `activity.logger`'s lines do.
    `running` (a prometheus Gauge, optional) counts the activities in
    flight."""

    def __init__(self, running: Any = None) -> None:
        self._running = running

    def intercept_activity(self, next: ActivityInboundInterceptor  # noqa: A002
                           ) -> ActivityInboundInterceptor:
        return _ActivityInbound(next, self._running)


class QuerylessAccessLog(logging.Filter):
    """uvicorn's access line without the query string: a search's terms
    (`/registrar/diarium?q=...`) may be a citizen's words or identity
    number, and the log is kept longer and read more widely than the
    records. The path is kept (the route says what was asked)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.name == "uvicorn.access" and isinstance(record.args, tuple) \
                and len(record.args) >= 3:
            path = record.args[2]
            if isinstance(path, str) and "?" in path:
                record.args = (*record.args[:2], path.split("?", 1)[0], *record.args[3:])
                if "message" in record.__dict__:  # formatted already by another handler
                    record.message = record.getMessage()
        return True


__all__ = ["ActivityLogContext", "QuerylessAccessLog", "configure_logging",
           "lift_temporal_context"]
