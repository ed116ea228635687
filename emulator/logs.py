"""Log output: one line per event, as text for people or JSON for machines.

Messages carry their ids as `key=value` pairs (`job=42 status=Complete`);
the JSON format also lifts those pairs into fields, so a log pipeline can
filter on `job` without parsing the message.
"""

from __future__ import annotations

import json
import logging
import re
import sys
from datetime import datetime, timezone

TEXT_FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"
PAIR = re.compile(r"(?<![\w=])([a-z_]+)=('[^']*'|\"[^\"]*\"|[^\s,]+)")
QUIET_LOGGERS = {
    # pyftpdlib logs every FTP command at INFO; its failures are what matter here.
    "pyftpdlib": logging.WARNING,
    # The emulator writes its own request lines (rest ..., xmlrpc ..., control ...).
    "uvicorn.access": logging.WARNING,
}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        message = record.getMessage()
        entry = {
            "time": datetime.fromtimestamp(record.created, timezone.utc).isoformat(),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": message,
        }
        fields = message_fields(message)
        if fields:
            entry["fields"] = fields
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry)


def message_fields(message: str) -> dict[str, str]:
    """`{"job": "42", "status": "Complete"}` from `job=42 status=Complete`."""
    return {key: value.strip("'\"") for key, value in PAIR.findall(message)}


def configure_logging(log_format: str = "text", level: str = "INFO") -> None:
    handler = logging.StreamHandler(sys.stderr)
    if log_format == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter(TEXT_FORMAT))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for name, quiet_level in QUIET_LOGGERS.items():
        logging.getLogger(name).setLevel(quiet_level)
