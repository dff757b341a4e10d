"""Structured access logs for gunicorn: one JSON object per request (SYNDICATION_ACCESS_LOG=json).

gunicorn's own format strings do not escape what clients send (a quote in a User-Agent would break the
line), so the line is built with json.dumps from gunicorn's own request atoms.
"""

import json
from datetime import UTC, datetime

from gunicorn.glogging import Logger


class JsonAccessLogger(Logger):
    def access(self, resp, req, environ, request_time):
        if not (self.cfg.accesslog or self.cfg.logconfig or self.cfg.syslog):
            return
        atoms = self.atoms(resp, req, environ, request_time)
        line = {
            "time": datetime.now(UTC).isoformat(timespec="milliseconds"),
            "remote": atoms["h"],
            "method": atoms["m"],
            "path": atoms["U"],
            "query": atoms["q"],
            "status": int(str(atoms["s"]).split()[0]),
            "bytes": 0 if atoms["B"] in ("-", None) else int(atoms["B"]),
            "ms": round(request_time.total_seconds() * 1000, 3),
            "agent": atoms["a"],
            "referer": atoms["f"],
        }
        try:
            self.access_log.info(json.dumps(line, ensure_ascii=False))
        except Exception:  # a log line must never take a request down
            self.exception("Failed to write an access log line")
