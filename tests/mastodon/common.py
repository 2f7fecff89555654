"""Shared by the Python scenarios: strict checks, the environment the Rust test sets, and the
authorization-code flow done as a person would, by submitting the node's own log-in form.

Every check that fails ends the script with a clear message and a non-zero exit; the Rust test
(tests/tests/system/mastodon_clients.rs) then checks the node's state through msm's own API.
"""

import html.parser
import os
import re
import sys
import time
import urllib.parse

import requests

# Longest a single HTTP request of the form flow may take, in seconds.
HTTP_TIMEOUT = 15
# Most pages the authorization flow may pass through (log-in, consent, code).
MAX_FORM_STEPS = 6


class Failed(Exception):
    """A scenario step that did not do what Mastodon documents."""


def env(name):
    value = os.environ.get(name)
    if not value:
        raise Failed(f"the environment has no {name} (the Rust test sets it)")
    return value


def check(cond, what, got=None):
    if not cond:
        detail = "" if got is None else f"\n  got: {got!r}"[:2000]
        raise Failed(f"{what}{detail}")


def step(what):
    print(f"[{time.strftime('%H:%M:%S')}] {what}", flush=True)


def main(run):
    """Runs `run()`; a failure prints its reason and exits 1."""
    try:
        run()
    except Failed as e:
        print(f"FAILED: {e}", file=sys.stderr, flush=True)
        sys.exit(1)
    except Exception as e:  # a client library's own error: the call it made failed
        print(f"FAILED: {type(e).__name__}: {e}", file=sys.stderr, flush=True)
        raise
    print("scenario passed", flush=True)


class _Forms(html.parser.HTMLParser):
    """The forms of a page, with their fields and buttons; and the text of <code> elements."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.forms = []
        self.codes = []
        self.readonly_values = []
        self._in_code = False
        self._button = None

    def handle_starttag(self, tag, attrs):
        a = {k: (v or "") for k, v in attrs}
        if tag == "form":
            self.forms.append({"action": a.get("action", ""), "method": a.get("method", "get").lower(),
                               "inputs": [], "buttons": []})
        elif tag == "input":
            kind = a.get("type", "text").lower()
            if "readonly" in a and a.get("value"):
                self.readonly_values.append(a["value"])
            if not self.forms:
                return
            if kind in ("submit", "image"):
                self.forms[-1]["buttons"].append(a)
            else:
                self.forms[-1]["inputs"].append(dict(a, type=kind))
        elif tag == "button" and self.forms:
            if a.get("type", "submit").lower() == "submit":
                a["text"] = ""
                self.forms[-1]["buttons"].append(a)
                self._button = a
        elif tag == "code":
            self._in_code = True
            self.codes.append("")

    def handle_endtag(self, tag):
        if tag == "code":
            self._in_code = False
        elif tag == "button":
            self._button = None

    def handle_data(self, data):
        if self._button is not None:
            self._button["text"] += data
        if self._in_code:
            self.codes[-1] += data


DENY = re.compile(r"deny|reject|cancel|refuse|delete", re.I)


def _denies(b):
    return DENY.search(" ".join(b.get(k, "") for k in ("value", "name", "text")))


def _is_deny_form(form):
    """Mastodon's deny form: only a denying button, or a hidden `_method=delete`."""
    if any(i.get("name") == "_method" and DENY.search(i.get("value", "")) for i in form["inputs"]):
        return True
    return bool(form["buttons"]) and all(_denies(b) for b in form["buttons"])


def _fill(form, name, password):
    """The fields a person would send: hidden ones as given, name and password typed in."""
    data = []
    for i in form["inputs"]:
        field = i.get("name")
        if not field:
            continue
        kind = i["type"]
        if kind == "password":
            data.append((field, password))
        elif kind in ("text", "email", "username", ""):
            data.append((field, i.get("value") or name))
        elif kind in ("checkbox", "radio"):
            if "checked" in i:
                data.append((field, i.get("value", "on")))
        else:
            data.append((field, i.get("value", "")))
    # the button that authorises, not the one that denies
    buttons = [b for b in form["buttons"] if not _denies(b)]
    if buttons and buttons[0].get("name"):
        data.append((buttons[0]["name"], buttons[0].get("value", "")))
    return data


def _code_from(url, state):
    q = urllib.parse.parse_qs(urllib.parse.urlsplit(url).query)
    if "error" in q:
        raise Failed(f"the node refused the authorization: {url}")
    if "code" not in q:
        return None
    if state is not None:
        check(q.get("state") == [state], "the redirect carries the state the app sent", url)
    return q["code"][0]


def authorize_via_form(url, name, password, state=None):
    """Opens the node's authorize page at `url`, logs in and consents through its forms, and
    returns the code: from the redirect's `Location`, or shown on the page (oob)."""
    s = requests.Session()
    r = s.get(url, timeout=HTTP_TIMEOUT, allow_redirects=False)
    for _ in range(MAX_FORM_STEPS):
        if r.status_code in (301, 302, 303, 307, 308):
            loc = urllib.parse.urljoin(r.url, r.headers.get("Location", ""))
            code = _code_from(loc, state)
            if code:
                return code
            check(loc.startswith(url.split("/oauth/")[0]),
                  "the authorize flow redirects within the node or to the app", loc)
            r = s.get(loc, timeout=HTTP_TIMEOUT, allow_redirects=False)
            continue
        check(r.status_code == 200, f"the authorize page answers 200 (it said {r.status_code})",
              r.text[:500])
        check("frame-ancestors 'none'" in r.headers.get("Content-Security-Policy", "")
              or r.headers.get("X-Frame-Options", "").upper() == "DENY",
              "the authorize page cannot be framed (clickjacking)", dict(r.headers))
        page = _Forms()
        page.feed(r.text)
        forms = [f for f in page.forms if f["method"] == "post" and not _is_deny_form(f)]
        if not forms:
            # the out-of-band page shows the code
            for c in page.codes + page.readonly_values:
                if re.fullmatch(r"[A-Za-z0-9_\-\.~]{16,}", c.strip()):
                    return c.strip()
            raise Failed(f"the page has neither a form nor a code: {r.text[:1000]}")
        with_pw = [f for f in forms if any(i["type"] == "password" for i in f["inputs"])]
        form = (with_pw or forms)[0]
        check(any(i["type"] == "hidden" for i in form["inputs"]),
              "the form carries hidden fields (a CSRF token at least)", form)
        action = urllib.parse.urljoin(r.url, form["action"] or r.url)
        r = s.post(action, data=_fill(form, name, password), timeout=HTTP_TIMEOUT,
                   allow_redirects=False)
    raise Failed(f"no code after {MAX_FORM_STEPS} pages of the authorize flow")


def wait_until(what, timeout, probe, interval=0.2):
    """Calls `probe()` until it returns something truthy; fails after `timeout` seconds."""
    t0 = time.monotonic()
    last = None
    while time.monotonic() - t0 < timeout:
        last = probe()
        if last:
            return last
        time.sleep(interval)
    raise Failed(f"{what}: not within {timeout} s (last: {last!r})")
