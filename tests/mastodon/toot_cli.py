"""toot 0.52 (the command-line client) against a real msmd node, run as a person runs it, in a
throwaway HOME: `login_cli` (the password grant; toot sends the e-mail field as the user
name, and msm takes the full address user@domain), `post`, `post --media --description`,
`timeline`, `notifications`, `post --reply-to`, `follow user@domain`.

Environment: MSM_URL, MSM_DOMAIN, MSM_USER, MSM_PASSWORD, MSM_OTHER, MSM_PICTURE (a PNG),
MSM_PICTURE_ALT, MSM_TEXT, MSM_PICTURE_TEXT, MSM_REPLY_TEXT, MSM_MENTION_TEXT (the text of the
other user's post that mentions this one, made beforehand by the Rust test).
"""

import json
import os
import subprocess
import sys
import tempfile

from common import Failed, check, env, main, step

# Longest one toot command may take, in seconds.
COMMAND_TIMEOUT = 60


def toot(home, *args):
    """Runs `toot ARGS` and returns its stdout; a non-zero exit fails the scenario."""
    cmd = [sys.executable, "-m", "toot", *args]
    e = dict(os.environ, HOME=home, XDG_CONFIG_HOME=os.path.join(home, ".config"),
             NO_COLOR="1", TERM="dumb", COLUMNS="120")
    e.pop("TOOT_POST_VISIBILITY", None)
    r = subprocess.run(cmd, env=e, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                       timeout=COMMAND_TIMEOUT)
    shown = " ".join(a if len(a) < 60 else a[:57] + "..." for a in args)
    if r.returncode != 0:
        raise Failed(f"`toot {shown}` exited {r.returncode}\n--- stdout\n{r.stdout}\n"
                     f"--- stderr\n{r.stderr}")
    return r.stdout


def as_json(out, what):
    try:
        return json.loads(out)
    except ValueError:
        raise Failed(f"{what}: not JSON: {out[:1000]}")


def run():
    url, domain = env("MSM_URL"), env("MSM_DOMAIN")
    user, pw, other = env("MSM_USER"), env("MSM_PASSWORD"), env("MSM_OTHER")
    with tempfile.TemporaryDirectory(prefix="toot-home-") as home:
        step("toot login_cli (password grant, e-mail field = full address)")
        out = toot(home, "login_cli", "--instance", url, "--email", f"{user}@{domain}",
                   "--password", pw)
        check("Successfully logged in" in out, "login_cli says it logged in", out)
        out = toot(home, "whoami", "--json")
        me = as_json(out, "whoami")
        check(me.get("username") == user, f"whoami is {user}", me)

        step("toot post")
        s1 = as_json(toot(home, "post", env("MSM_TEXT"), "--json"), "post")
        check(env("MSM_TEXT") in s1.get("content", ""), "the posted status has the text", s1)
        check(s1.get("visibility") == "public", "a post is public by default", s1)

        step("toot post --media --description")
        s2 = as_json(toot(home, "post", env("MSM_PICTURE_TEXT"), "--media", env("MSM_PICTURE"),
                          "--description", env("MSM_PICTURE_ALT"), "--json"), "post --media")
        media = s2.get("media_attachments") or []
        check(len(media) == 1, "the status has its picture", s2)
        check(media[0].get("description") == env("MSM_PICTURE_ALT"),
              "the picture has its description", media[0])

        step("toot timeline")
        out = toot(home, "timeline", "--once", "--count", "20")
        check(env("MSM_TEXT") in out and env("MSM_PICTURE_TEXT") in out,
              "the home timeline shows both posts", out)

        step("toot notifications")
        notes = as_json(toot(home, "notifications", "--json"), "notifications")
        mentions = [n for n in notes if n.get("type") == "mention"
                    and (n.get("account") or {}).get("acct") == other]
        check(mentions, f"a mention from {other} among the notifications", notes)
        status = mentions[0].get("status") or {}
        check(env("MSM_MENTION_TEXT").split(" ")[-1] in status.get("content", ""),
              "the mention carries the other's post", status)
        out = toot(home, "notifications")
        check(other in out, "the notifications as shown name the other user", out)

        step("toot post --reply-to")
        s3 = as_json(toot(home, "post", env("MSM_REPLY_TEXT"), "--reply-to", status["id"],
                          "--json"), "reply")
        check(s3.get("in_reply_to_id") == status["id"], "the reply answers the mention", s3)
        thread = as_json(toot(home, "thread", status["id"], "--json"), "thread")
        descendants = [d.get("id") for d in thread.get("descendants", [])]
        check(s3["id"] in descendants, "the thread has the reply", thread)

        step("toot follow user@domain")
        out = toot(home, "follow", f"{other}@{domain}", "--json")
        rel = as_json(out, "follow")
        check(rel.get("following") or rel.get("requested"), f"following {other}", rel)
        out = toot(home, "following", "--json")
        check(any(a.get("acct") == other for a in as_json(out, "following")),
              f"{other} is among those followed", out)


if __name__ == "__main__":
    main(run)
