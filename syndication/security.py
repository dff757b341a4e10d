"""Security headers: one policy for every response, added by Flask and built into the hot path's cached
representations once (syndication.cache.represent), never per request.

Every response says `X-Content-Type-Options: nosniff`. HTML pages add a strict Content-Security-Policy
and a Referrer-Policy: no script may run at all, no page may be framed, no <base> or form may send a reader
elsewhere, images may come from the web (articles show them from anywhere, http or https: the sanitizer
allows nothing else, and no data: URLs), and styles only from the templates' own inline <style> blocks,
allowed by their SHA-256 digests computed here at start-up (CSP Level 3 §8.3: hash-source), so no
'unsafe-inline' and no second request for a stylesheet on a phone. Feeds get no CSP: a browser shows them
through static/feed.xsl, whose inline style it would refuse.
"""

import base64
import hashlib
import re
from pathlib import Path

TEMPLATES = Path(__file__).resolve().parents[1] / "templates"
_STYLE = re.compile(r"<style>(.*?)</style>", re.DOTALL)

NOSNIFF = ("X-Content-Type-Options", "nosniff")
REFERRER_POLICY = ("Referrer-Policy", "strict-origin-when-cross-origin")


def style_hashes(folder: Path = TEMPLATES) -> list[str]:
    """The hash-source of every inline <style> block in the templates: the digest of its text exactly as
    served (a block holding template syntax would not be exact; none does, and tests check every page)."""
    found = set()
    for path in sorted(folder.rglob("*.html")):
        for css in _STYLE.findall(path.read_text(encoding="utf-8")):
            found.add("'sha256-" + base64.b64encode(hashlib.sha256(css.encode()).digest()).decode() + "'")
    return sorted(found)


def content_security_policy(hashes: list[str]) -> str:
    styles = " ".join(hashes) or "'none'"
    return "; ".join(
        [
            "default-src 'none'",  # no scripts, fonts, frames, connections, objects: nothing not named below
            "img-src http: https:",
            f"style-src {styles}",
            "base-uri 'none'",
            "form-action 'none'",
            "frame-ancestors 'none'",  # no one frames a page (clickjacking)
        ]
    )


CONTENT_SECURITY_POLICY = ("Content-Security-Policy", content_security_policy(style_hashes()))
HTML_HEADERS = [CONTENT_SECURITY_POLICY, REFERRER_POLICY]


def headers_for(content_type: str) -> list[tuple[str, str]]:
    """The headers a response of this type carries besides nosniff (which every response carries)."""
    return HTML_HEADERS if content_type.startswith("text/html") else []


def apply(response):
    """For Flask's after_request: what the response does not say already (cached ones say it all)."""
    headers = response.headers
    headers.setdefault(*NOSNIFF)
    for name, value in headers_for(response.content_type or ""):
        headers.setdefault(name, value)
    return response
