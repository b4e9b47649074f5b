"""A logging formatter that writes one JSON object per line, for log collectors.

Set LOG_FORMAT=json to use it. Each line has the time (UTC, ISO 8601), level,
logger, process id and the formatted message, plus ``args`` with the message's
arguments (the ids a message names, such as job and user ids) and any fields
given through ``extra=``.
"""

import json
import logging
from datetime import datetime, timezone

# Attributes every LogRecord has; anything else on a record came from extra=.
_STANDARD_ATTRIBUTES = frozenset(vars(logging.makeLogRecord({}))) | {"message", "asctime", "taskName"}


def _plain(value):
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return str(value)


class JsonFormatter(logging.Formatter):
    def format(self, record):
        entry = {
            "time": datetime.fromtimestamp(record.created, tz=timezone.utc).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "process": record.process,
            "message": record.getMessage(),
        }
        if isinstance(record.args, tuple) and record.args:
            entry["args"] = [_plain(arg) for arg in record.args]
        for name, value in vars(record).items():
            if name not in _STANDARD_ATTRIBUTES:
                entry[name] = _plain(value)
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


class QuietConsoleRefresh(logging.Filter):
    """Drop Celery's INFO lines about the console refresh task, which runs every few seconds.

    Warnings and errors about it still pass, and other tasks are not affected.
    """

    def filter(self, record):
        return record.levelno > logging.INFO or "refresh_console" not in record.getMessage()
