#!/usr/bin/env python3
"""Reads a feed document msmd delivered to a WebSub subscriber, with feedparser, and checks its
X-Hub-Signature with the standard library's hmac (tests/tests/system/websub.rs).

Usage: read_delivery.py BODY_FILE SECRET SIGNATURE_HEADER
Prints JSON: whether feedparser read it cleanly, the feed's hub and self links, the entries'
titles and links, and whether the signature is the HMAC-SHA256 of the body with SECRET.
"""

import hashlib
import hmac
import json
import sys

import feedparser

body_file, secret, header = sys.argv[1], sys.argv[2], sys.argv[3]
with open(body_file, "rb") as f:
    body = f.read()
feed = feedparser.parse(body)
links = {l.get("rel"): l.get("href") for l in feed.feed.get("links", [])}
method, _, given = header.partition("=")
expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
print(json.dumps({
    "bozo": bool(feed.bozo),
    "version": feed.version,
    "hub": links.get("hub"),
    "self": links.get("self"),
    "titles": [e.get("title") for e in feed.entries],
    "links": [e.get("link") for e in feed.entries],
    "signature_ok": method == "sha256" and hmac.compare_digest(given, expected),
}))
