"""One HTTP request to a local page of ours on 127.0.0.1, with exactly the headers a test names (the page's own
Host, JSON and token by default; a header given as None is left out), for the security tests of every page."""

from __future__ import annotations

import http.client
import json


def local_request(port: int, token: str, method: str, path: str, body: dict | bytes | None = None,
                  **headers: str | None):
    """(status, answer, response): answer is the JSON body when it is JSON, else the raw bytes. Header names
    take _ for - (X_Page_Token=None sends no token)."""
    sent = {"Host": f"127.0.0.1:{port}", "Content-Type": "application/json", "X-Page-Token": token,
            **{k.replace("_", "-"): v for k, v in headers.items()}}
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        data = json.dumps(body).encode() if isinstance(body, dict) else body
        connection.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
        for key, value in sent.items():
            if value is not None:
                connection.putheader(key, value)
        if "Content-Length" not in sent:
            connection.putheader("Content-Length", str(len(data or b"")))
        connection.endheaders(data)
        response = connection.getresponse()
        raw = response.read()
        try:
            return response.status, json.loads(raw), response
        except ValueError:
            return response.status, raw, response
    finally:
        connection.close()
