// Drives the msm web client in headless Chromium against two real nodes.
//
// Alice logs in on node A and follows Bob through the follow form; Bob logs in on node B in a
// context of his own and posts from his browser; Alice's open timeline must show each post
// without a reload. Prints `live_push_ms: N` per post and `live_push_median_ms: N`. Also checks
// that hostile post text stays text, that search finds a post and a person, and that the compose counter
// counts bytes; saves screenshots to $MSM_SHOTS.
//
// Environment: MSM_A_URL, MSM_B_URL (http://127.0.0.1:PORT), MSM_A_NAME, MSM_A_PASSWORD,
// MSM_B_NAME, MSM_B_PASSWORD, MSM_SHOTS (a directory). Optional: MSM_CHROMIUM (default
// /usr/bin/chromium). Exits 0 when every check passes, 1 with a message otherwise.

import { chromium } from "playwright-core";
import { mkdirSync } from "node:fs";
import { join } from "node:path";

/** Whole run, after which it fails. */
const GLOBAL_TIMEOUT_MS = 90_000;
/** Longest a live post may take to appear in the other browser. */
const PUSH_TIMEOUT_MS = 10_000;
/** Posts timed for the live-push figure. */
const TIMED_POSTS = 5;
/** The display name Bob gives himself. */
const BOB_NAME = "Bob Builder";

const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--no-first-run",
];

function env(name, fallback) {
  const v = process.env[name] ?? fallback;
  if (v == null || v === "") fail(`environment variable ${name} is not set`);
  return v;
}

function fail(msg) {
  console.error(`FAIL: ${msg}`);
  process.exit(1);
}

function check(cond, msg) {
  if (!cond) throw new Error(msg);
}

const timer = setTimeout(() => fail(`not finished within ${GLOBAL_TIMEOUT_MS / 1000} s`), GLOBAL_TIMEOUT_MS);

const A = env("MSM_A_URL");
const B = env("MSM_B_URL");
const shots = env("MSM_SHOTS");
const chromiumPath = env("MSM_CHROMIUM", "/usr/bin/chromium");
mkdirSync(shots, { recursive: true });

/** Logs in through the log-in form and waits for the home timeline. */
async function logIn(page, url, name, password) {
  await page.goto(url + "/");
  await page.fill("#login-form [name=name]", name);
  await page.fill("#login-form [name=password]", password);
  await page.click("#login-form button[type=submit]");
  await page.waitForSelector("#timeline, #alert span", { state: "attached", timeout: 15_000 });
  const refused = await page.$("#alert span");
  if (refused) throw new Error(`log-in of ${name} at ${url} failed: ${await refused.textContent()}`);
  await page.waitForSelector("#live.on", { timeout: 10_000 });
  return page.evaluate(() => document.getElementById("whoami").textContent);
}

/** Waits until the page shows `hash` and has finished loading it. */
async function ready(page, hash) {
  await page.waitForFunction(
    // the hash changes before the page for it is rendered: wait for the page that says it is h
    (h) => {
      const main = document.getElementById("main");
      return location.hash === h && main.dataset.route === h && main.getAttribute("aria-busy") === "false";
    },
    hash,
  );
}

/** Records, in the page, when each post's text first appears: window.__seen[text] = ms. */
async function watchTimeline(page) {
  await page.evaluate(() => {
    window.__seen = {};
    const note = (el) => {
      const t = el.querySelector(":scope > .text");
      if (t && !(t.textContent in window.__seen)) window.__seen[t.textContent] = Date.now();
    };
    new MutationObserver((muts) => {
      for (const m of muts)
        for (const n of m.addedNodes) {
          if (n.nodeType !== 1) continue;
          if (n.matches("article.post")) note(n);
          n.querySelectorAll("article.post").forEach(note);
        }
    }).observe(document.body, { childList: true, subtree: true });
  });
}

/** Bob posts `text` by clicking Post; returns the time of the click (page clock). */
async function postFrom(page, text) {
  await page.fill("#compose", text);
  const t0 = await page.evaluate(() => {
    const b = document.getElementById("post-button");
    if (b.disabled) throw new Error("the post button is disabled");
    const t = Date.now();
    b.click();
    return t;
  });
  await page.waitForFunction(() => document.getElementById("compose").value === "", null, { timeout: 10_000 });
  return t0;
}

/** Waits until Alice's page has seen `text`; returns when (page clock). */
async function seenAt(page, text) {
  try {
    const h = await page.waitForFunction((t) => window.__seen[t], text, { timeout: PUSH_TIMEOUT_MS, polling: 20 });
    return h.jsonValue();
  } catch (_) {
    throw new Error(`Alice's timeline did not show ${JSON.stringify(text)} within ${PUSH_TIMEOUT_MS} ms without a reload`);
  }
}

async function main() {
  const browser = await chromium.launch({ executablePath: chromiumPath, headless: true, args: CHROMIUM_ARGS, timeout: 30_000 });
  try {
    const errors = [];
    const desktop = { viewport: { width: 1000, height: 800 } };
    const aliceCtx = await browser.newContext(desktop);
    const bobCtx = await browser.newContext(desktop);
    const alice = await aliceCtx.newPage();
    const bob = await bobCtx.newPage();
    for (const [who, p] of [["alice", alice], ["bob", bob]]) {
      p.on("pageerror", (e) => errors.push(`${who}: page error: ${e.message}`));
      // Failed loads are logged by the browser for answers like a 4xx the page expects.
      p.on("console", (m) => {
        if (m.type() === "error" && !m.text().startsWith("Failed to load resource")) errors.push(`${who}: console: ${m.text()}`);
      });
      p.setDefaultTimeout(15_000);
    }

    const aliceAddr = await logIn(alice, A, env("MSM_A_NAME"), env("MSM_A_PASSWORD"));
    const bobAddr = await logIn(bob, B, env("MSM_B_NAME"), env("MSM_B_PASSWORD"));
    console.log(`logged in: ${aliceAddr} on ${A}, ${bobAddr} on ${B}`);

    // Alice follows Bob through the follow form.
    await alice.click("nav a[href='#/people']");
    await alice.fill("#follow-form [name=address]", bobAddr);
    await alice.click("#follow-form button[type=submit]");
    await alice.waitForFunction(
      (addr) => [...document.querySelectorAll("#following li a")].some((a) => a.textContent === addr),
      bobAddr,
    );
    const noteText = await alice.textContent("#note");
    check(/You follow/.test(noteText), `follow did not become active: ${JSON.stringify(noteText)}`);
    console.log(`alice follows ${bobAddr}: ${noteText}`);
    await alice.click("nav a[href='#/']");
    await alice.waitForSelector("#timeline", { state: "attached" });

    // Bob names himself in Settings; the name travels with his posts.
    await bob.click("nav a[href='#/settings']");
    await ready(bob, "#/settings");
    await bob.fill("#profile-form [name=display_name]", BOB_NAME);
    await bob.fill("#profile-form [name=bio]", "Builds routers.");
    await bob.click("#profile-form button[type=submit]");
    await bob.waitForFunction(() => /Profile saved/.test(document.getElementById("note").textContent));
    await bob.click("nav a[href='#/']");
    await ready(bob, "#/");
    await alice.waitForSelector("#live.on");
    await watchTimeline(alice);

    // The compose counter counts bytes of the cap.
    await bob.fill("#compose", "héllo");
    const counter = await bob.textContent("#counter");
    check(/^6 \/ \d+ bytes/.test(counter), `compose counter shows ${JSON.stringify(counter)} for "héllo" (6 bytes)`);
    console.log(`compose counter: ${counter}`);

    // Live push, timed from Bob's click to the post in Alice's DOM.
    const stamp = Date.now().toString(36);
    const times = [];
    for (let i = 1; i <= TIMED_POSTS; i++) {
      const text = `live ${i} from bob ${stamp} zebracorn${i === 1 ? " #quokka" : ""}`;
      const t0 = await postFrom(bob, text);
      const t1 = await seenAt(alice, text);
      times.push(t1 - t0);
      console.log(`live_push_ms: ${t1 - t0}`);
    }
    const sorted = [...times].sort((a, b) => a - b);
    console.log(`live_push_median_ms: ${sorted[Math.floor(sorted.length / 2)]}`);
    check(
      (await alice.evaluate(() => performance.getEntriesByType("navigation").length)) === 1,
      "Alice's page was reloaded",
    );

    // Hostile text stays text, on both sides.
    const hostile = ["<script>window.pwned=1</script>", '<img src=x onerror="window.pwned=2">'];
    for (const text of hostile) {
      await postFrom(bob, text);
      await seenAt(alice, text);
    }
    for (const [who, p] of [["alice", alice], ["bob", bob]]) {
      const shown = await p.evaluate(() => [...document.querySelectorAll("#timeline article.post > .text")].map((e) => e.textContent));
      for (const text of hostile) check(shown.includes(text), `${who} does not show ${text} as literal text`);
      check((await p.evaluate(() => typeof window.pwned)) === "undefined", `${who}: window.pwned was set: a post ran as code`);
      check((await p.locator("#timeline img, #timeline script").count()) === 0, `${who}: a post became an element`);
    }
    console.log("hostile posts shown as text; window.pwned undefined");
    const names = await alice.evaluate(() => [...document.querySelectorAll("#timeline article.post .who b")].map((e) => e.textContent));
    check(names.includes(BOB_NAME), `Alice's timeline does not show Bob's display name: ${JSON.stringify(names)}`);

    // Alice reposts one post and replies to another with Ctrl+Enter.
    const bobPost = (n) => alice.locator("#timeline article.post", { has: alice.locator(":scope > .text", { hasText: `live ${n} from bob ${stamp}` }) });
    await bobPost(1).getByRole("button", { name: "Repost" }).click();
    await alice.waitForFunction(
      (s) => [...document.querySelectorAll("#timeline article.repost .quoted .text")].some((e) => e.textContent.includes(s)),
      `live 1 from bob ${stamp}`,
    );
    await bobPost(2).getByRole("link", { name: "Reply" }).click();
    await alice.waitForFunction(() => {
      const main = document.getElementById("main");
      return location.hash.startsWith("#/post/") && main.dataset.route === location.hash && main.getAttribute("aria-busy") === "false";
    });
    const reply = "Welcome to the neighbourhood, Bob!";
    await alice.fill("#compose", reply);
    await alice.press("#compose", "Control+Enter");
    await alice.waitForFunction((t) => [...document.querySelectorAll("#replies article.reply .text")].some((e) => e.textContent === t), reply);
    await alice.click("nav a[href='#/']");
    await ready(alice, "#/");
    console.log("repost and reply shown");

    // Screenshots: Alice's timeline, Bob composing, Alice on a phone.
    const saved = [];
    const shot = async (page, name) => {
      const path = join(shots, name);
      await page.screenshot({ path });
      saved.push(path);
    };
    await shot(alice, "alice-timeline.png");
    await bob.fill("#compose", "Drafting a longer post about the garden: crème fraîche with the first ripe tomatoes.");
    await shot(bob, "bob-compose.png");
    await alice.setViewportSize({ width: 390, height: 844 });
    await shot(alice, "alice-phone.png");

    // Search finds a post by a word, a #tag, a prefix and a phrase, and Bob among people by his
    // address.
    const search = async (q) => {
      await alice.click("nav a[href='#/search']");
      await ready(alice, "#/search");
      await alice.fill("input[name=q]", q);
      await alice.press("input[name=q]", "Enter");
      await ready(alice, "#/search/" + encodeURIComponent(q));
      return alice.evaluate(() => [...document.querySelectorAll("#results article.post > .text")].map((e) => e.textContent));
    };
    for (const q of ["quokka", "#quokka", "quokk*", `"bob ${stamp}"`]) {
      const found = await search(q);
      check(found.some((t) => t.includes("quokka")), `search ${q} does not show the post with "quokka": ${JSON.stringify(found)}`);
      console.log(`search ${q}: ${found.length} post(s)`);
    }
    await search(bobAddr);
    const people = await alice.evaluate(() => [...document.querySelectorAll("#people-results li")].map((e) => e.textContent));
    check(
      people.length > 0 && people[0].includes(BOB_NAME) && people[0].includes(bobAddr),
      `search ${bobAddr} does not show Bob first among people: ${JSON.stringify(people)}`,
    );
    console.log(`people search ${bobAddr}: ${people[0]}`);
    // Text FTS5 would call malformed is a query like any other: 200, and no alert on the page.
    const odd = '"unclosed (';
    const status = await alice.evaluate(async (q) => (await fetch("/api/v1/search?q=" + encodeURIComponent(q), { credentials: "same-origin" })).status, odd);
    check(status === 200, `the API answered ${status} to the query ${odd}`);
    await search(odd);
    const alert = await alice.evaluate(() => document.getElementById("alert").textContent);
    check(alert === "", `search ${odd} shows an alert: ${alert}`);
    console.log(`search ${odd}: answered, no alert`);

    // Bob requires approval in Settings; Alice follows again and waits; Bob accepts her there.
    await bob.click("nav a[href='#/settings']");
    await ready(bob, "#/settings");
    await bob.check("#locked");
    await bob.waitForFunction(() => /need your approval/.test(document.getElementById("note").textContent));
    const refollow = await alice.evaluate(async (addr) => {
      const hdr = { "Content-Type": "application/json", "X-Msm-Csrf": "1" };
      await fetch("/api/v1/follows/" + encodeURIComponent(addr), { method: "DELETE", headers: hdr, credentials: "same-origin" });
      const r = await fetch("/api/v1/follows", { method: "POST", headers: hdr, credentials: "same-origin", body: JSON.stringify({ address: addr }) });
      return (await r.json()).state;
    }, bobAddr);
    check(refollow === "pending", `Alice's new follow of a locked account is ${refollow}, not pending`);
    await bob.click("nav a[href='#/']");
    await ready(bob, "#/");
    await bob.click("nav a[href='#/settings']");
    await ready(bob, "#/settings");
    const request = bob.locator("#follow-requests li", { hasText: aliceAddr });
    await request.getByRole("button", { name: "Accept" }).click();
    await bob.waitForFunction(() => /No follow requests/.test(document.getElementById("follow-requests").textContent));
    await alice.waitForFunction(async (addr) => {
      const r = await fetch("/api/v1/follows", { credentials: "same-origin" });
      return (await r.json()).follows.some((f) => f.address === addr && f.state === "active");
    }, bobAddr);
    console.log("locked account: request listed in Settings, accepted, follow active");

    check(errors.length === 0, "errors in the pages:\n" + errors.join("\n"));
    for (const p of saved) console.log(`screenshot: ${p}`);
    console.log("browser checks passed");
  } finally {
    await browser.close();
  }
}

main().then(
  () => {
    clearTimeout(timer);
    process.exit(0);
  },
  (e) => fail(e && e.stack ? e.stack : String(e)),
);
