"""The answers waitress writes itself, in Italian.

A few requests never reach the app: headers over the server's cap (431), a
body over it (413), a malformed request (400), an unsupported transfer
encoding (501), an app that fails after its headers went out (500).
waitress answers these with English text of its own; here they keep their
status and get a short Italian text instead.
"""

from __future__ import annotations

from waitress.channel import HTTPChannel
from waitress.task import ErrorTask

MESSAGES = {
    400: "Richiesta non valida.",
    413: "La richiesta è troppo grande.",
    431: "L'indirizzo o le intestazioni della richiesta sono troppo lunghi.",
    500: "Errore interno del server: riprova tra poco.",
    501: "Richiesta non supportata.",
}
FALLBACK = "La richiesta non può essere soddisfatta."


class ItalianErrorTask(ErrorTask):
    def execute(self) -> None:
        error = self.request.error
        body = (MESSAGES.get(error.code, FALLBACK) + "\n").encode("utf-8")
        self.status = f"{error.code} {error.reason}"
        self.response_headers.extend(
            [("Content-Type", "text/plain; charset=utf-8"), ("Cache-Control", "no-store")]
        )
        self.set_close_on_finish()
        self.content_length = len(body)
        self.write(body)


class ItalianChannel(HTTPChannel):
    error_task_class = ItalianErrorTask


def answer_errors_in_italian(listener: object) -> None:
    """Makes a waitress listening server's new connections answer its own errors in Italian."""
    listener.channel_class = ItalianChannel  # type: ignore[attr-defined]
