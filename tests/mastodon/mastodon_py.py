"""Mastodon.py 2.3 against a real msmd node, as an app developer would use it.

alice's app: create_app, the authorization-code flow through the node's own authorize form
(redirect with state), log_in(code=...), toot, media_post + status_post, timeline_home,
notifications (carol's mention, made beforehand by the Rust test through msm's API),
status_favourite, account_search, account_follow, and stream_user receiving carol's post as an
`update` within seconds. carol's session logs in out of band (the code shown on the page).

Environment: MSM_URL, MSM_USER, MSM_PASSWORD, MSM_OTHER, MSM_OTHER_PASSWORD, MSM_PICTURE (a
PNG), MSM_PICTURE_ALT, MSM_TEXT, MSM_PICTURE_TEXT, MSM_STREAM_TEXT, MSM_MENTION_TEXT (the text
of carol's post that mentions alice).
"""

import secrets
import threading
import time

from mastodon import Mastodon, StreamListener

from common import Failed, authorize_via_form, check, env, main, step, wait_until

SCOPES = ["read", "write", "follow", "push"]
# A redirect URI the app registers: the browser would go there; nothing needs to listen.
REDIRECT = "http://127.0.0.1:9/msm-test-callback"
OOB = "urn:ietf:wg:oauth:2.0:oob"
# Seconds within which a post must reach a listening stream.
STREAM_WAIT = 10


def app_session(url, name, password, redirect):
    client_id, client_secret = Mastodon.create_app(
        "msm test (Mastodon.py)", scopes=SCOPES, redirect_uris=[redirect, OOB],
        website="https://example.invalid", api_base_url=url)
    check(client_id and client_secret, "create_app gives a client id and secret")
    m = Mastodon(client_id=client_id, client_secret=client_secret, api_base_url=url,
                 version_check_mode="created")
    state = secrets.token_urlsafe(16) if redirect != OOB else None
    auth_url = m.auth_request_url(redirect_uris=redirect, scopes=SCOPES, state=state,
                                  allow_http=True)
    check(auth_url.startswith(url), "the authorize URL is on the node", auth_url)
    code = authorize_via_form(auth_url, name, password, state=state)
    token = m.log_in(code=code, redirect_uri=redirect, scopes=SCOPES, allow_http=True)
    check(len(token) >= 20, "log_in gives an access token", token)
    me = m.account_verify_credentials()
    check(me.username == name and me.acct == name, f"verify_credentials is {name}", me)
    return m, me


def text_of(status):
    return status.content or ""


def run():
    url, user, pw = env("MSM_URL"), env("MSM_USER"), env("MSM_PASSWORD")
    other, other_pw = env("MSM_OTHER"), env("MSM_OTHER_PASSWORD")

    step("alice: create_app, authorize form (redirect), log_in")
    alice, me = app_session(url, user, pw, REDIRECT)
    step("carol: create_app, authorize form (out of band), log_in")
    carol, carol_me = app_session(url, other, other_pw, OOB)

    step("toot")
    s1 = alice.toot(env("MSM_TEXT"))
    check(env("MSM_TEXT") in text_of(s1), "the status's content has the text", s1)
    check(s1.account.id == me.id, "the status is alice's", s1.account)
    check(s1.visibility == "public", "a toot is public", s1.visibility)

    step("media_post + status_post")
    media = alice.media_post(env("MSM_PICTURE"), mime_type="image/png",
                             description=env("MSM_PICTURE_ALT"))
    check(media.type == "image", "the upload is an image", media)
    check(media.description == env("MSM_PICTURE_ALT"), "the upload keeps its description", media)
    s2 = alice.status_post(env("MSM_PICTURE_TEXT"), media_ids=[media])
    check(len(s2.media_attachments) == 1, "the status has its picture", s2)
    att = s2.media_attachments[0]
    check(att.description == env("MSM_PICTURE_ALT"), "the picture has its description", att)
    check(att.url and alice.session.get(att.url, timeout=10).status_code == 200,
          "the picture's url serves it", att.url)

    step("timeline_home")
    home = alice.timeline_home(limit=20)
    ids = [s.id for s in home]
    check(s1.id in ids and s2.id in ids, "the home timeline has both statuses", ids)
    check(ids.index(s2.id) < ids.index(s1.id), "the home timeline is newest first", ids)

    step("notifications: carol's mention")
    notes = alice.notifications()
    mentions = [n for n in notes if n.type == "mention" and n.account.acct == other]
    check(mentions, "a mention from carol among the notifications", notes)
    mention = mentions[0].status
    check(env("MSM_MENTION_TEXT").split(" ")[-1] in text_of(mention),
          "the mention's status has carol's text", mention)

    step("status_favourite")
    fav = alice.status_favourite(mention.id)
    check(fav.favourited is True, "the status is favourited", fav)
    check(fav.favourites_count >= 1, "its favourites count grew", fav)

    step("account_search + account_follow")
    found = alice.account_search(other)
    carols = [a for a in found if a.acct == other]
    check(carols, f"account_search finds {other}", found)
    check(carols[0].id == carol_me.id, "the account found is carol's", carols[0])
    rel = alice.account_follow(carols[0].id)
    check(rel.following or rel.requested, "alice follows carol", rel)

    step("stream_user: carol posts, alice's stream has it")
    got = []
    arrived = threading.Event()

    class Listener(StreamListener):
        def on_update(self, status):
            got.append(status)
            if env("MSM_STREAM_TEXT") in text_of(status):
                arrived.set()

    handle = alice.stream_user(Listener(), run_async=True, timeout=30)
    try:
        wait_until("the stream is connected", 10, lambda: handle.is_receiving())
        time.sleep(0.5)
        posted = carol.status_post(env("MSM_STREAM_TEXT"))
        t0 = time.monotonic()
        if not arrived.wait(STREAM_WAIT):
            raise Failed(f"no update with carol's post on alice's stream within {STREAM_WAIT} s "
                         f"(got {len(got)} updates: {[text_of(s)[:80] for s in got]})")
        step(f"update arrived after {time.monotonic() - t0:.2f} s")
        hit = [s for s in got if env("MSM_STREAM_TEXT") in text_of(s)][0]
        check(hit.id == posted.id, "the streamed status has the posted id", (hit.id, posted.id))
        check(hit.account.acct == other, "the streamed status is carol's", hit.account)
    finally:
        handle.close()


if __name__ == "__main__":
    main(run)
