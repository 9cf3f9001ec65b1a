"""One HTTP connection: uvicorn's httptools protocol with a deadline on request headers.

uvicorn closes idle keep-alive connections, but a connection that sends nothing, or stops
inside a request's headers, would stay open for good. HeaderTimedProtocol closes it after
header_timeout_s. (Request bodies are timed by HttpApp, which can still answer 408.)
"""
from __future__ import annotations

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol


class HeaderTimedProtocol(HttpToolsProtocol):
    """HttpToolsProtocol whose request headers must arrive within header_timeout_s: for the
    first request from the connection's opening, for later ones from their first byte."""

    def __init__(self, *args, header_timeout_s: float = 30.0, **kwargs):
        super().__init__(*args, **kwargs)
        self.header_timeout_s = header_timeout_s
        self.header_timer = None

    def _arm_header_timer(self):
        if self.header_timer is None:
            self.header_timer = self.loop.call_later(self.header_timeout_s, self._headers_timed_out)

    def _cancel_header_timer(self):
        if self.header_timer is not None:
            self.header_timer.cancel()
            self.header_timer = None

    def _headers_timed_out(self):
        self.header_timer = None
        if not self.transport.is_closing():
            self.transport.close()

    def connection_made(self, transport):
        super().connection_made(transport)
        self._arm_header_timer()

    def on_message_begin(self):
        super().on_message_begin()
        self._arm_header_timer()

    def on_headers_complete(self):
        self._cancel_header_timer()
        super().on_headers_complete()

    def connection_lost(self, exc):
        self._cancel_header_timer()
        super().connection_lost(exc)
