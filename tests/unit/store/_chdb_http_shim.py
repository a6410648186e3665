"""A minimal ClickHouse HTTP interface in front of chDB: a test double for the server backend.

It lets the clickhouse-connect backend run its real HTTP protocol (handshake, settings as URL parameters,
``INSERT … FORMAT RowBinary`` bodies, ``FORMAT`` clauses, exception headers) against the real ClickHouse engine
when no ClickHouse server is available. Not a server: one chDB session, settings applied with ``SET``.

Usage: ``python _chdb_http_shim.py DATA_DIR PORT [DELAY_FILE]`` (prints ``ready`` when listening). With
DELAY_FILE, each request first sleeps the seconds that file holds when the request comes (a slow server, in the
outage drills; write 0 to make it fast again).
"""

from __future__ import annotations

import json
import re
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlparse

HTTP_ONLY = {"query", "database", "session_id", "query_id", "compress", "decompress", "enable_http_compression",
             "wait_end_of_query", "send_progress_in_http_headers", "http_headers_progress_interval_ms",
             "default_format", "user", "password", "session_timeout", "session_check", "client_protocol_version",
             "cancel_http_readonly_queries_on_client_close", "http_write_exception_in_output_format"}
INSERT = re.compile(rb"^(\s*INSERT\s+INTO\s+.+?)\s+FORMAT\s+(\w+)[ \t]*\r?\n?", re.S | re.I)
FORMAT = re.compile(r"\sFORMAT\s+(\w+)\s*;?\s*$", re.I)
CODE = re.compile(r"Code:\s*(\d+)")


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    session = None
    lock = threading.Lock()
    delay_file: str | None = None

    def log_message(self, *args):
        pass

    def _reply(self, status: int, body: bytes, headers: dict[str, str]) -> None:
        self.send_response(status)
        for k, v in headers.items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _handle(self) -> None:
        if self.delay_file:
            with open(self.delay_file) as f:
                time.sleep(float(f.read().strip() or 0))
        params = dict(parse_qsl(urlparse(self.path).query, keep_blank_values=True))
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n) if n else b""
        enc = self.headers.get("Content-Encoding")
        if enc == "lz4":
            import lz4.frame

            body = lz4.frame.decompress(body)
        elif enc == "gzip":
            import gzip

            body = gzip.decompress(body)
        sql, data = params.get("query"), b""
        if sql is None:
            m = INSERT.match(body)
            if m:
                sql, data = f"{m.group(1).decode()} FORMAT {m.group(2).decode()}", body[m.end():]
            else:
                sql = body.decode()
        else:
            data = body
        try:
            with self.lock:
                s = self.session
                for k, v in params.items():
                    if k not in HTTP_ONLY and not k.startswith("param_"):
                        s.query(f"SET {k} = {v}" if re.fullmatch(r"-?\d+", v) else f"SET {k} = '{v}'")
                m = re.match(r"^(\s*INSERT\s+INTO\s+.+?)\s+FORMAT\s+(\w+)\s*$", sql, re.S | re.I)
                if m:
                    ins = s._conn.send_insert(m.group(1), m.group(2))
                    ins.append(data)
                    ins.finish()
                    out = b""
                else:
                    fm = FORMAT.search(sql)
                    fmt = fm.group(1) if fm else params.get("default_format", "TabSeparated")
                    out = s.query(sql[:fm.start()] if fm else sql, fmt).bytes()
        except Exception as exc:
            msg = str(exc)
            code = CODE.search(msg)
            self._reply(500, msg.encode(), {"X-ClickHouse-Exception-Code": code.group(1) if code else "1001"})
            return
        self._reply(200, out, {"X-ClickHouse-Summary": json.dumps({"read_rows": "0", "written_rows": "0"}),
                               "X-ClickHouse-Timezone": "UTC", "X-ClickHouse-Server-Display-Name": "chdb-shim"})

    do_GET = do_POST = _handle


def main() -> None:
    from chdb import session

    Handler.session = session.Session(sys.argv[1])
    Handler.delay_file = sys.argv[3] if len(sys.argv) > 3 else None
    srv = ThreadingHTTPServer(("127.0.0.1", int(sys.argv[2])), Handler)
    print("ready", flush=True)
    srv.serve_forever()


if __name__ == "__main__":
    main()
