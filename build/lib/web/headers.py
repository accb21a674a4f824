"""Headers on every answer: security headers and a Cache-Control default."""

from __future__ import annotations

from flask import Response

# No inline script or style anywhere: everything comes from /static.
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)

SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    # Search queries travel in URLs: never hand them to other sites.
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
}


def add_headers(response: Response) -> Response:
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    if "Cache-Control" not in response.headers:
        # Answers change with every import and carry no validator: a cache
        # must ask again (no-cache; the browser's back button still shows
        # the stored page). Errors are never stored: a 503 must not outlive
        # the overload. Static files (1 day, versioned URLs), suggestions
        # (60 s) and /opensearch.xml set their own.
        response.headers["Cache-Control"] = "no-cache" if response.status_code < 400 else "no-store"
    return response
