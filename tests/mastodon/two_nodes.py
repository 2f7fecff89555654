"""Two nodes with Mastodon.py: alice's app on node A follows bob of node B (search with
resolve), sees bob's post (made by bob's app on B) arrive live on her user stream, and replies
to it through the Mastodon API; the Rust test then checks that the reply reached B.

Environment: MSM_A_URL, MSM_B_URL, MSM_B_DOMAIN, MSM_A_USER, MSM_B_USER, MSM_PASSWORD,
MSM_B_TEXT, MSM_REPLY_TEXT.
"""

import threading
import time

from mastodon import Mastodon, StreamListener

from common import Failed, check, env, main, step, wait_until
from mastodon_py import REDIRECT, SCOPES, app_session, text_of

# Seconds a follow may take to be accepted by the other node.
FOLLOW_WAIT = 30
# Seconds within which B's post must reach A's listening stream.
STREAM_WAIT = 15


def run():
    a_url, b_url, b_domain = env("MSM_A_URL"), env("MSM_B_URL"), env("MSM_B_DOMAIN")
    alice_name, bob_name, pw = env("MSM_A_USER"), env("MSM_B_USER"), env("MSM_PASSWORD")
    bob_addr = f"{bob_name}@{b_domain}"

    step("alice on A: authorize form, log_in")
    alice, _ = app_session(a_url, alice_name, pw, REDIRECT)
    step("bob on B: the password grant")
    cid, secret = Mastodon.create_app("msm test (Mastodon.py, B)", scopes=SCOPES,
                                      api_base_url=b_url)
    bob = Mastodon(client_id=cid, client_secret=secret, api_base_url=b_url)
    bob.log_in(username=bob_name, password=pw, scopes=SCOPES, allow_http=True)
    check(bob.account_verify_credentials().username == bob_name, "bob is logged in on B")

    step(f"alice: search {bob_addr} with resolve, follow")
    found = alice.search_v2(bob_addr, resolve=True, result_type="accounts")
    accounts = [a for a in found.accounts if a.acct == bob_addr]
    check(accounts, f"search resolves {bob_addr}", found)
    rel = alice.account_follow(accounts[0].id)
    check(rel.following or rel.requested, "the follow is made", rel)
    wait_until(f"B accepts alice's follow of {bob_addr}", FOLLOW_WAIT,
               lambda: alice.account_relationships(accounts[0].id)[0].following, interval=0.5)

    step("alice streams; bob posts on B")
    got = []
    arrived = threading.Event()
    wanted = env("MSM_B_TEXT")

    class Listener(StreamListener):
        def on_update(self, status):
            got.append(status)
            if wanted in text_of(status):
                arrived.set()

    handle = alice.stream_user(Listener(), run_async=True, timeout=30)
    try:
        wait_until("the stream is connected", 10, lambda: handle.is_receiving())
        time.sleep(0.5)
        bob.status_post(wanted)
        t0 = time.monotonic()
        if not arrived.wait(STREAM_WAIT):
            raise Failed(f"bob's post did not reach alice's stream on A within {STREAM_WAIT} s "
                         f"(updates: {[text_of(s)[:80] for s in got]})")
        step(f"update arrived after {time.monotonic() - t0:.2f} s")
    finally:
        handle.close()
    status = [s for s in got if wanted in text_of(s)][0]
    check(status.account.acct == bob_addr, f"the streamed status is {bob_addr}'s", status.account)

    step("alice replies through the Mastodon API")
    reply = alice.status_post(env("MSM_REPLY_TEXT"), in_reply_to_id=status.id)
    check(reply.in_reply_to_id == status.id, "the reply answers bob's status", reply)
    context = alice.status_context(status.id)
    check(reply.id in [d.id for d in context.descendants], "A's context has the reply", context)


if __name__ == "__main__":
    main(run)
