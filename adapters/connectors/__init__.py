"""Platform connectors: reply, hide, unhide, delete and capture on a platform.

The shared vocabulary lives in `base` and is re-exported here; the adapters
(`meta_graph.MetaGraphConnector`, `manual.ManualConnector`) are imported from
their modules, so importing this package (workflows do, for the models) pulls
in no HTTP client.
"""

from adapters.connectors.base import (
    AccountCapture,
    ActionResult,
    Capture,
    KnownContent,
    PlatformConnector,
    PlatformError,
    PlatformTarget,
    as_activity_error,
    is_retryable,
)

__all__ = [
    "AccountCapture",
    "ActionResult",
    "Capture",
    "KnownContent",
    "PlatformConnector",
    "PlatformError",
    "PlatformTarget",
    "as_activity_error",
    "is_retryable",
]
