// Drives the msm web client in headless Chromium against two real nodes.
//
// Alice logs in on node A and follows Bob through the follow form; Bob logs in on node B in a
// context of his own and posts from his browser; Alice's open timeline must show each post
// without a reload. Prints `live_push_ms: N` per post and `live_push_median_ms: N`. Also checks
// that hostile post text stays text, that search finds a post and a person, and that the compose counter
// counts bytes; saves screenshots to $MSM_SHOTS.
//
// The client's rough edges, each at desktop size and on a 390 px phone (screenshots
// NAME-desktop.png and NAME-phone.png): a display name holding U+202E cannot turn the address
// beside it around; Hebrew and Arabic read right to left; every tab is reachable on a phone;
// the "cannot be reached" banner goes when the node is back and an error replaces a success
// note; drafts outlive page changes and reloads; a profile link follows; a reply takes its
// parent's audience; the one-time-password page has a log-out button and does not ask for the
// one-time password again; log-in focuses the name; without JavaScript the page says so; long
// posts fold behind "Show more"; the focus ring stands out (3:1); post buttons say which post
// they act on; the app installs (manifest, icons, a service worker that never keeps /api/);
// the conversation: a mention lights the Notifications badge live, is listed there and marked
// read; a like turns the button to "Unlike 1"; a content warning hides the text until "Show";
// an edit shows "edited" and its history; a tag link opens the tag view. Pictures: an avatar and
// a photo are made smaller on the device, a refused file says why, the follower on the other
// node sees the photo with its description and opens it in the viewer (arrows, Escape).
//
// Environment: MSM_A_URL, MSM_B_URL (http://127.0.0.1:PORT), MSM_A_NAME, MSM_A_PASSWORD,
// MSM_B_NAME, MSM_B_PASSWORD, MSM_SHOTS (a directory). Optional: MSM_CHROMIUM (default
// /usr/bin/chromium). Exits 0 when every check passes, 1 with a message otherwise.

import { chromium } from "playwright-core";
import { mkdirSync } from "node:fs";
import { join } from "node:path";

/** Whole run, after which it fails. */
const GLOBAL_TIMEOUT_MS = 200_000;
/** Longest a live post may take to appear in the other browser. */
const PUSH_TIMEOUT_MS = 10_000;
/** Posts timed for the live-push figure. */
const TIMED_POSTS = 5;
/** The display name Bob gives himself. */
const BOB_NAME = "Bob Builder";
/** Window sizes every rough-edge check runs at. */
const DESKTOP = { width: 1000, height: 800 };
const PHONE = { width: 390, height: 844 };
/** Posts in right-to-left scripts. */
const HEBREW = "שלום לכולם, הגינה פורחת השבוע";
const ARABIC = "مرحبا بالجميع من البيت";
/** Least contrast of the focus ring against what surrounds it (WCAG 2.2, 1.4.11). */
const MIN_FOCUS_CONTRAST = 3;

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

const saved = [];
/** Saves a screenshot of `page` as `name` in $MSM_SHOTS. */
async function shot(page, name) {
  const path = join(shots, name);
  await page.screenshot({ path });
  saved.push(path);
}

/** Runs `fn(size)` at desktop size, then on a 390 px phone; back to desktop after. */
async function atBothSizes(page, fn) {
  for (const [size, viewport] of [["desktop", DESKTOP], ["phone", PHONE]]) {
    await page.setViewportSize(viewport);
    await fn(size);
  }
  await page.setViewportSize(DESKTOP);
}

/** Logs in through the log-in form and waits for the home timeline. */
async function logIn(page, url, name, password) {
  await page.goto(url + "/");
  await page.waitForSelector("#login-form");
  const focused = await page.evaluate(() => document.activeElement && document.activeElement.name);
  check(focused === "name", `the log-in page focuses ${JSON.stringify(focused)}, not the name field`);
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
async function postFrom(page, text, audience = "public") {
  await page.fill("#compose", text);
  await page.selectOption("#compose ~ .row select[name=audience]", audience);
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

// ---- the client's rough edges ----

/** Without JavaScript, `/` says what to do instead of "Loading…" forever. */
async function checkNoScript(browser) {
  const ctx = await browser.newContext({ viewport: DESKTOP, javaScriptEnabled: false, serviceWorkers: "block" });
  const page = await ctx.newPage();
  await page.goto(A + "/");
  await atBothSizes(page, async (size) => {
    const text = await page.locator("main").innerText();
    check(/needs JavaScript/.test(text) && /\/@/.test(text), `without JavaScript / shows ${JSON.stringify(text)}`);
    check(!/Loading/.test(await page.locator("body").innerText()), "without JavaScript / still says Loading");
    await shot(page, `noscript-${size}.png`);
  });
  await ctx.close();
  console.log("without JavaScript: the page says it needs it and where public posts are");
}

/** The manifest parses and names its icons; the service worker controls the page after a
 * reload, serves the client's files, and never answers or keeps an /api/ request. */
async function checkInstallable(browser) {
  const ctx = await browser.newContext({ viewport: DESKTOP });
  const page = await ctx.newPage();
  const viaWorker = new Map();
  page.on("response", (r) => viaWorker.set(new URL(r.url()).pathname, r.fromServiceWorker()));
  await page.goto(A + "/");
  await page.waitForSelector("#login-form");
  const manifest = await page.evaluate(async () => {
    const link = document.querySelector("link[rel=manifest]");
    const r = await fetch(link.href);
    const m = await r.json();
    const icons = [];
    for (const i of m.icons) {
      const ir = await fetch(i.src);
      const bmp = await createImageBitmap(await ir.blob());
      icons.push({ ...i, type_served: ir.headers.get("content-type"), got: `${bmp.width}x${bmp.height}` });
    }
    return { type: r.headers.get("content-type"), m, icons };
  });
  const m = manifest.m;
  check(manifest.type === "application/manifest+json", `the manifest is served as ${manifest.type}`);
  check(m.name && m.short_name && m.start_url === "/" && m.display === "standalone" && /^#[0-9a-f]{6}$/i.test(m.theme_color), `manifest: ${JSON.stringify(m)}`);
  for (const want of ["192x192", "512x512"]) check(manifest.icons.some((i) => i.sizes === want && i.got === want), `no ${want} icon: ${JSON.stringify(manifest.icons)}`);
  check(manifest.icons.some((i) => i.purpose === "maskable"), "no maskable icon");
  check(manifest.icons.every((i) => i.type_served === "image/png" && i.got === i.sizes), `icons: ${JSON.stringify(manifest.icons)}`);
  await page.evaluate(() => navigator.serviceWorker.ready.then(() => true));
  await page.reload();
  await page.waitForSelector("#login-form");
  check(await page.evaluate(() => !!navigator.serviceWorker.controller), "the service worker does not control the page after a reload");
  check(viaWorker.get("/app.js") === true, `app.js did not come through the service worker: ${JSON.stringify([...viaWorker])}`);
  await page.fill("#login-form [name=name]", env("MSM_A_NAME"));
  await page.fill("#login-form [name=password]", env("MSM_A_PASSWORD"));
  await page.click("#login-form button[type=submit]");
  await page.waitForSelector("#timeline", { state: "attached" });
  for (const api of ["/api/v1/session", "/api/v1/timeline"]) {
    check(viaWorker.get(api) === false, `${api} was answered by the service worker (${viaWorker.get(api)})`);
  }
  const cached = await page.evaluate(async () => {
    const urls = [];
    for (const name of await caches.keys()) for (const req of await (await caches.open(name)).keys()) urls.push(new URL(req.url).pathname);
    return urls;
  });
  check(cached.includes("/app.js") && cached.includes("/"), `the service worker keeps ${JSON.stringify(cached)}`);
  check(!cached.some((u) => u.startsWith("/api/")), `the service worker keeps an /api/ answer: ${JSON.stringify(cached)}`);
  await atBothSizes(page, (size) => shot(page, `installed-${size}.png`));
  await ctx.close();
  console.log(`installable: manifest, ${manifest.icons.length} icons, service worker keeps ${cached.length} files, no /api/`);
}

/** The Reply, Repost and Delete buttons say which post they act on. */
async function checkAriaLabels(alice, bob, bobAddr, stamp) {
  const text = `live 3 from bob ${stamp} zebracorn`;
  const labels = async (page) => {
    const post = page.locator("#timeline article.post", { has: page.locator(":scope > .text", { hasText: text }) }).first();
    return post.evaluate((a) => [...a.querySelectorAll(".actions [aria-label]")].map((e) => e.getAttribute("aria-label")));
  };
  await atBothSizes(alice, async (size) => {
    const got = (await labels(alice)).concat(await labels(bob));
    for (const want of [`Reply to ${bobAddr}: ${text}`, `Repost ${bobAddr}: ${text}`, `Delete your post ${bobAddr}: ${text}`]) {
      check(got.includes(want), `no button labelled ${JSON.stringify(want)}: ${JSON.stringify(got)}`);
    }
    await shot(alice, `labels-${size}.png`);
  });
  console.log("post buttons name their post");
}

/** Hebrew and Arabic posts, names and the composer read right to left. */
async function checkRtl(page) {
  await atBothSizes(page, async (size) => {
    const dirs = await page.evaluate(([he, ar]) => {
      const texts = [...document.querySelectorAll("#timeline article.post > .text")];
      const dir = (t) => {
        const e = texts.find((x) => x.textContent === t);
        return e && (e.matches(":dir(rtl)") ? "rtl" : "ltr");
      };
      const latin = texts.find((x) => /^live /.test(x.textContent));
      return { he: dir(he), ar: dir(ar), latin: latin && (latin.matches(":dir(rtl)") ? "rtl" : "ltr") };
    }, [HEBREW, ARABIC]);
    check(dirs.he === "rtl" && dirs.ar === "rtl" && dirs.latin === "ltr", `post directions: ${JSON.stringify(dirs)}`);
    await page.fill("#compose", ARABIC);
    check(await page.evaluate(() => document.getElementById("compose").matches(":dir(rtl)")), "the composer does not turn right to left for Arabic");
    await shot(page, `rtl-${size}.png`);
    await page.fill("#compose", "");
  });
  console.log("Hebrew and Arabic read right to left, in posts and in the composer");
}

/** A long post folds behind "Show more" and opens. */
async function checkLongPost(page, text) {
  const post = page.locator("#timeline article.post", { has: page.locator(":scope > .text", { hasText: text.slice(0, 30) }) }).first();
  await atBothSizes(page, async (size) => {
    const folded = () => post.evaluate((a) => {
      const t = a.querySelector(":scope > .text");
      return { hidden: t.scrollHeight > t.clientHeight + 1, collapsed: t.classList.contains("collapsed") };
    });
    const more = post.getByRole("button", { name: "Show more" });
    check((await more.getAttribute("aria-expanded")) === "false", "no folded Show more button on a long post");
    check((await folded()).hidden, "a long post shows all its text");
    await post.scrollIntoViewIfNeeded();
    await shot(page, `long-post-${size}.png`);
    await more.click();
    const open = await folded();
    check(!open.hidden && !open.collapsed, `Show more did not open the post: ${JSON.stringify(open)}`);
    const less = post.getByRole("button", { name: "Show less" });
    check((await less.getAttribute("aria-expanded")) === "true", "Show more did not become Show less");
    await less.click();
  });
  console.log("a long post folds behind Show more");
}

/** The focus ring has at least 3:1 against the background around it, light and dark. */
async function checkFocusRing(page) {
  const ratio = () => page.evaluate(() => {
    const rgb = (c) => (c.match(/[\d.]+/g) || []).map(Number);
    const lum = ([r, g, b]) => {
      const f = (v) => ((v /= 255) <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4);
      return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
    };
    const el = document.activeElement;
    const st = getComputedStyle(el);
    let bg = el.parentElement;
    while (bg && (getComputedStyle(bg).backgroundColor === "rgba(0, 0, 0, 0)" || getComputedStyle(bg).backgroundColor === "transparent")) bg = bg.parentElement;
    const back = rgb(bg ? getComputedStyle(bg).backgroundColor : "rgb(255, 255, 255)");
    const [a, b] = [lum(rgb(st.outlineColor)), lum(back)].sort((x, y) => y - x);
    return { ratio: (a + 0.05) / (b + 0.05), ring: st.outlineColor, style: st.outlineStyle, back: back.join(","), tag: el.tagName };
  });
  await atBothSizes(page, async (size) => {
    for (const scheme of ["light", "dark"]) {
      await page.emulateMedia({ colorScheme: scheme });
      await page.focus("#compose");
      await page.keyboard.press("Tab");
      const r = await ratio();
      check(r.style !== "none" && r.ratio >= MIN_FOCUS_CONTRAST, `focus ring (${scheme}) ${JSON.stringify(r)} is under ${MIN_FOCUS_CONTRAST}:1`);
      console.log(`focus ring ${scheme} ${size}: ${r.ring} on rgb(${r.back}) = ${r.ratio.toFixed(2)}:1`);
      if (scheme === "light") await shot(page, `focus-${size}.png`);
    }
    await page.emulateMedia({ colorScheme: "light" });
  });
}

/** A display name holding U+202E, or Hebrew, cannot turn the address beside it around. */
async function checkBidi(page, bobAddr) {
  const names = ["\u202Eevil (reversed?)", "דוד כהן"];
  await page.route("**/api/v1/timeline?*", async (route) => {
    const r = await route.fetch();
    const j = await r.json();
    for (const p of j.posts || []) if (p.author === bobAddr) p.display_name = names[p.seq % 2];
    await route.fulfill({ response: r, json: j });
  });
  await page.reload();
  await ready(page, "#/");
  await atBothSizes(page, async (size) => {
    const who = await page.evaluate(() =>
      [...document.querySelectorAll("#timeline article.post > header .who")]
        .filter((w) => w.querySelector(".addr"))
        .map((w) => {
          const t = w.querySelector(".addr").firstChild;
          const r = document.createRange();
          const x = (i) => (r.setStart(t, i), r.setEnd(t, i + 1), r.getBoundingClientRect().left);
          const n = w.querySelector(".name");
          return { name: n.textContent, forward: x(0) < x(t.length - 1), rtl: n.matches(":dir(rtl)") };
        }),
    );
    check(who.length >= 2 && who.some((w) => w.name.startsWith("\u202E")) && who.some((w) => w.rtl), `names shown: ${JSON.stringify(who)}`);
    const backwards = who.filter((w) => !w.forward);
    check(backwards.length === 0, `an address reads backwards beside ${JSON.stringify(backwards)}`);
    await shot(page, `bidi-${size}.png`);
  });
  await page.unroute("**/api/v1/timeline?*");
  await page.reload();
  await ready(page, "#/");
  await page.waitForSelector("#live.on");
  console.log("names are isolated: U+202E does not reverse the address beside it");
}

/** On a phone every tab can be reached, and the current one is in view. */
async function checkTabs(page) {
  await atBothSizes(page, async (size) => {
    const hrefs = await page.evaluate(() => [...document.querySelectorAll("#nav a")].map((a) => a.getAttribute("href")));
    check(hrefs.includes("#/admin") && hrefs.includes("#/settings"), `tabs: ${JSON.stringify(hrefs)}`);
    for (const href of hrefs) {
      await page.evaluate((h) => (location.hash = h), href);
      await ready(page, href);
      const b = await page.evaluate(() => {
        const a = document.querySelector("#nav a[aria-current]");
        const r = a.getBoundingClientRect();
        const n = document.getElementById("nav").getBoundingClientRect();
        return { tab: a.textContent, left: r.left, right: r.right, navLeft: n.left, navRight: n.right, width: innerWidth };
      });
      const inside = b.left >= Math.max(0, b.navLeft) - 1 && b.right <= Math.min(b.width, b.navRight) + 1;
      check(inside, `${size}: the current tab is not in view: ${JSON.stringify(b)}`);
      if (href === "#/admin") await shot(page, `tabs-${size}.png`);
    }
    await page.evaluate(() => (location.hash = "#/"));
    await ready(page, "#/");
  });
  console.log("every tab is reachable and shown when current, on a phone too");
}

/** A reply to a followers-only post starts followers-only, in the client and on the node. */
async function checkReplyAudience(page, text) {
  const post = page.locator("#timeline article.post", { has: page.locator(":scope > .text", { hasText: text }) }).first();
  await post.getByRole("link", { name: "Reply to" }).click();
  await page.waitForFunction(() => location.hash.startsWith("#/post/") && document.getElementById("main").getAttribute("aria-busy") === "false");
  await atBothSizes(page, async (size) => {
    const v = await page.inputValue("#compose ~ .row select[name=audience]");
    check(v === "followers", `the reply to a followers-only post starts as ${v}`);
    await shot(page, `reply-audience-${size}.png`);
  });
  const parent = await page.evaluate(() => document.querySelector("#main article.post").dataset.id);
  const r = await page.evaluate(async (id) => {
    const hdr = { "Content-Type": "application/json", "X-Msm-Csrf": "1" };
    const res = await fetch("/api/v1/posts", { method: "POST", headers: hdr, body: JSON.stringify({ text: "a reply without an audience", reply_to: id }) });
    return res.json();
  }, parent);
  check(r.audience === "followers", `the node stored a reply without an audience to a followers-only post as ${JSON.stringify(r)}`);
  await page.click("nav a[href='#/']");
  await ready(page, "#/");
  console.log("a reply takes its parent's audience (client and node)");
}

/** A half-written post survives a page change and a reload, per account; posting clears it. */
async function checkDrafts(page, addr) {
  const draft = "Half-written: the tomatoes need";
  await page.fill("#compose", draft);
  await page.click("nav a[href='#/people']");
  await ready(page, "#/people");
  await page.click("nav a[href='#/']");
  await ready(page, "#/");
  check((await page.inputValue("#compose")) === draft, "the draft was lost on a page change");
  await atBothSizes(page, async (size) => {
    await page.reload();
    await ready(page, "#/");
    check((await page.inputValue("#compose")) === draft, `the draft was lost on a reload (${size})`);
    await shot(page, `draft-${size}.png`);
  });
  const keys = await page.evaluate(() => Object.keys(localStorage));
  check(keys.some((k) => k.includes(addr)), `the draft is not kept per account: ${JSON.stringify(keys)}`);
  await page.waitForSelector("#live.on");
  await postFrom(page, draft + " water");
  await page.reload();
  await ready(page, "#/");
  check((await page.inputValue("#compose")) === "", "a posted draft came back");
  await page.waitForSelector("#live.on");
  console.log("drafts survive page changes and reloads; posting clears them");
}

/** The "cannot be reached" banner goes once the node answers again. */
async function checkOfflineBanner(page) {
  await atBothSizes(page, async (size) => {
    await page.route("**/api/v1/**", (r) => r.abort());
    await page.click("nav a[href='#/people']");
    await page.waitForFunction(() => /cannot be reached/.test(document.getElementById("alert").textContent));
    await shot(page, `offline-${size}.png`);
    await page.unroute("**/api/v1/**");
    await page.waitForFunction(() => document.getElementById("alert").textContent === "", null, { timeout: 20_000 });
    await page.click("nav a[href='#/']");
    await ready(page, "#/");
  });
  console.log("the unreachable banner goes when the node is back");
}

/** A new user logs in with a one-time password: the page asks only for the new password and
 * has a log-out button. */
async function checkOneTimePassword(browser, owner) {
  const otp = await owner.evaluate(async () => {
    const hdr = { "Content-Type": "application/json", "X-Msm-Csrf": "1" };
    const r = await fetch("/api/v1/admin/users", { method: "POST", headers: hdr, body: JSON.stringify({ name: "carol" }) });
    return (await r.json()).one_time_password;
  });
  check(typeof otp === "string" && otp.length > 0, "no one-time password for carol");
  const ctx = await browser.newContext({ viewport: DESKTOP, serviceWorkers: "block" });
  const page = await ctx.newPage();
  const logInOnce = async () => {
    await page.goto(A + "/#/login");
    await page.fill("#login-form [name=name]", "carol");
    await page.fill("#login-form [name=password]", otp);
    await page.click("#login-form button[type=submit]");
    await page.waitForSelector("#password-form");
  };
  await logInOnce();
  await atBothSizes(page, async (size) => {
    check((await page.locator("#password-form [name=old_password]").count()) === 0, "the password page asks for the one-time password again");
    check(await page.getByRole("button", { name: "Log out" }).isVisible(), "the password page has no log-out button");
    await shot(page, `password-${size}.png`);
  });
  await page.getByRole("button", { name: "Log out" }).click();
  await page.waitForSelector("#login-form");
  await logInOnce();
  await page.fill("#password-form [name=new_password]", "carol's own long password");
  await page.fill("#password-form [name=again]", "carol's own long password");
  await page.click("#password-form button[type=submit]");
  await page.waitForSelector("#timeline", { state: "attached" });
  await ctx.close();
  console.log("one-time password: log-out button, not asked again, own password set");
}

/** The conversation, on Bob's page: a mention counted live on the Notifications tab, listed
 * there and marked read; a like; a content warning; an edit and its history; a tag view. */
async function checkConversation(alice, bob, bobAddr, stamp) {
  const badge = (page) => page.evaluate(() => {
    const b = document.getElementById("nbadge");
    return b && !b.hidden ? b.textContent : "";
  });
  // Whatever came before (Alice's follow) is read by visiting the page.
  await bob.click("nav a[href='#/notifications']");
  await ready(bob, "#/notifications");
  await bob.waitForFunction(() => document.getElementById("nbadge").hidden);
  await bob.click("nav a[href='#/']");
  await ready(bob, "#/");
  const mention = `Dinner at ours, @${bobAddr}? ${stamp}`;
  await alice.click("nav a[href='#/']");
  await ready(alice, "#/");
  await postFrom(alice, mention);
  await bob.waitForFunction(() => {
    const b = document.getElementById("nbadge");
    return b && !b.hidden && b.textContent === "1";
  }, null, { timeout: PUSH_TIMEOUT_MS });
  check(
    (await bob.evaluate(() => performance.getEntriesByType("navigation").length)) === 1,
    "Bob's page was reloaded to show the badge",
  );
  await bob.click("nav a[href='#/notifications']");
  await ready(bob, "#/notifications");
  const item = bob.locator("#notifications li.mention", { hasText: stamp }).first();
  await item.waitFor();
  const shown = await item.evaluate((li) => ({
    name: li.querySelector(".who bdi").textContent,
    did: li.querySelector(".did").textContent,
    mention: li.querySelector(".text a.mention").getAttribute("href"),
  }));
  check(/mentioned you/.test(shown.did) && shown.name, `the mention is listed as ${JSON.stringify(shown)}`);
  check(shown.mention === "#/u/" + encodeURIComponent(bobAddr), `the mention links to ${shown.mention}`);
  await bob.waitForFunction(() => document.getElementById("nbadge").hidden);
  await atBothSizes(bob, (size) => shot(bob, `notifications-${size}.png`));
  console.log(`notifications: badge ${JSON.stringify("1")} live, listed, read: badge now ${JSON.stringify(await badge(bob))}`);

  // Bob likes Alice's post from its thread; the node keeps it (a fresh load says so too).
  await item.locator("a.when").click();
  await bob.waitForFunction(() => location.hash.startsWith("#/post/") && document.getElementById("main").getAttribute("aria-busy") === "false");
  const threadHash = await bob.evaluate(() => location.hash);
  await ready(bob, threadHash);
  const like = () => bob.locator("#main article.post").first().locator("button.like");
  await like().click();
  await bob.waitForFunction(() => document.querySelector("#main article.post button.like").textContent === "Unlike 1");
  await bob.evaluate(() => (location.hash = "#/"));
  await ready(bob, "#/");
  await bob.evaluate((h) => (location.hash = h), threadHash);
  await ready(bob, threadHash);
  const liked = await like().evaluate((b) => [b.textContent, b.getAttribute("aria-label")]);
  check(liked[0] === "Unlike 1" && liked[1].startsWith("Unlike "), `after a like and a reload the button is ${JSON.stringify(liked)}`);
  console.log(`like: ${JSON.stringify(liked)}`);

  // A post behind a content warning: the warning shows, the text only after "Show".
  await bob.click("nav a[href='#/']");
  await ready(bob, "#/");
  const warning = `Garden spoilers ${stamp}`;
  const tag = `garden${stamp}`;
  await bob.click(".compose .cw-toggle");
  await bob.fill(".compose .cw-input", warning);
  await bob.fill("#compose", `The tomatoes are ripe #${tag}`);
  await atBothSizes(bob, (size) => shot(bob, `content-warning-${size}.png`));
  await bob.click("#post-button");
  await bob.waitForFunction(() => document.getElementById("compose").value === "");
  const post = bob.locator("#timeline article.post", { has: bob.locator(".cw bdi", { hasText: warning }) }).first();
  await post.waitFor();
  const text = post.locator(".cw-body .text");
  check(!(await text.isVisible()), "the text behind a content warning shows before Show");
  await post.getByRole("button", { name: "Show" }).click();
  check(await text.isVisible(), "Show does not show the text behind the content warning");
  console.log("content warning: text hidden until Show");

  // Bob edits it: "edited" opens the history, oldest first.
  await post.getByRole("button", { name: /^Edit your post/ }).click();
  await bob.fill(".edit-form textarea", `The tomatoes are ripe and red #${tag}`);
  await bob.click(".edit-form button[type=submit]");
  const edited = bob.locator("#timeline article.post", { has: bob.locator("button.edited") }).first();
  await edited.waitFor();
  await edited.locator("a.when").click();
  await bob.waitForFunction(() => location.hash.startsWith("#/post/") && document.getElementById("main").getAttribute("aria-busy") === "false");
  const own = bob.locator("#main article.post").first();
  await own.locator("button.like").click();
  await bob.waitForFunction(() => document.querySelector("#main article.post button.like").textContent === "Unlike 1");
  await own.locator("button.edited").click();
  await bob.waitForFunction(() => document.querySelectorAll("#main .history li").length === 2);
  const versions = await bob.evaluate(() => [...document.querySelectorAll("#main .history li .text")].map((e) => e.textContent));
  check(/ripe #/.test(versions[0]) && /ripe and red/.test(versions[1]), `the edit history is ${JSON.stringify(versions)}`);
  await own.getByRole("button", { name: "Show" }).click();
  await atBothSizes(bob, (size) => shot(bob, `thread-${size}.png`));
  console.log(`edit history: ${JSON.stringify(versions)}`);

  // The tag in the text opens the tag view, which lists the post.
  const id = await own.getAttribute("data-id");
  await own.locator(".cw-body a.hashtag").click();
  await ready(bob, "#/tag/" + tag);
  await bob.waitForSelector(`#tagged article.post[data-id="${id}"]`);
  console.log(`tag view #${tag} lists ${id}`);

  // Bookmarks: private, listed on their own page.
  await bob.locator(`#tagged article.post[data-id="${id}"] button.bookmark`).first().click();
  await bob.waitForFunction(
    (i) => document.querySelector(`#tagged article.post[data-id="${i}"] button.bookmark`).textContent === "Unbookmark",
    id,
  );
  await bob.click("nav a[href='#/people']");
  await ready(bob, "#/people");
  await bob.click("#bookmarks-link");
  await ready(bob, "#/bookmarks");
  await bob.waitForSelector(`#bookmarked article.post[data-id="${id}"]`);
  console.log(`bookmarks list ${id}`);

  // A list of Alice's with Bob in it is a timeline of his posts.
  await alice.click("nav a[href='#/people']");
  await ready(alice, "#/people");
  await alice.click("#lists-link");
  await ready(alice, "#/lists");
  await alice.fill("#list-form [name=title]", `Neighbours ${stamp}`);
  await alice.click("#list-form button[type=submit]");
  const listReady = () =>
    alice.waitForFunction(() => /^#\/list\/\d+$/.test(location.hash) && document.getElementById("main").dataset.route === location.hash && document.getElementById("main").getAttribute("aria-busy") === "false");
  await listReady();
  await alice.fill("#list-member-form [name=address]", bobAddr);
  await alice.click("#list-member-form button[type=submit]");
  await alice.waitForSelector(`#list-members a[href="#/u/${encodeURIComponent(bobAddr)}"]`);
  await alice.waitForSelector("#list-feed article.post");
  const authors = await alice.evaluate(() => [...document.querySelectorAll("#list-feed article.post")].map((a) => a.dataset.id.split("/")[0]));
  check(authors.length > 0 && authors.every((a) => a === bobAddr), `the list shows posts of ${JSON.stringify(authors)}`);
  await atBothSizes(alice, (size) => shot(alice, `list-${size}.png`));
  console.log(`list: ${authors.length} posts of ${bobAddr}`);
}

// ---- pictures ----

/** The picture Bob posts, with its description. */
const PHOTO_ALT = "A red bicycle leaning on a fence";
const SQUARE_ALT = "A small green square";
/** Longest wait for a picture of another node to show (fetched from its node on first view). */
const PICTURE_TIMEOUT_MS = 20_000;

/** A `width` × `height` picture of `type` drawn on a canvas in `page`: a fence under a sky and
 * a bicycle in `color`. Returns its bytes. */
async function makePicture(page, width, height, type, color) {
  const b64 = await page.evaluate(async ([w, h, type, color]) => {
    const c = document.createElement("canvas");
    c.width = w;
    c.height = h;
    const g = c.getContext("2d");
    const sky = g.createLinearGradient(0, 0, 0, h);
    sky.addColorStop(0, "#5d9cec");
    sky.addColorStop(1, "#e3f2fd");
    g.fillStyle = sky;
    g.fillRect(0, 0, w, h);
    g.fillStyle = "#8d6e63";
    for (let x = 0; x < w; x += w / 16) g.fillRect(x, h * 0.35, w / 40, h * 0.65);
    g.fillRect(0, h * 0.5, w, h / 30);
    g.strokeStyle = color;
    g.lineWidth = Math.max(2, h / 50);
    for (const cx of [0.3, 0.7]) {
      g.beginPath();
      g.arc(w * cx, h * 0.72, h * 0.16, 0, 2 * Math.PI);
      g.stroke();
    }
    g.beginPath();
    g.moveTo(w * 0.3, h * 0.72);
    g.lineTo(w * 0.45, h * 0.5);
    g.lineTo(w * 0.62, h * 0.5);
    g.lineTo(w * 0.7, h * 0.72);
    g.stroke();
    const blob = await new Promise((ok) => c.toBlob(ok, type, 0.9));
    const bytes = new Uint8Array(await blob.arrayBuffer());
    let s = "";
    for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
    return btoa(s);
  }, [width, height, type, color]);
  return Buffer.from(b64, "base64");
}

/** Waits until the image `selector` in `page` has loaded; returns its natural size. */
async function loaded(page, selector, timeout = PICTURE_TIMEOUT_MS) {
  try {
    const h = await page.waitForFunction(
      (s) => {
        const i = document.querySelector(s);
        return i && i.complete && i.naturalWidth > 0 && [i.naturalWidth, i.naturalHeight];
      },
      selector,
      { timeout },
    );
    return h.jsonValue();
  } catch (_) {
    throw new Error(`${selector} did not load within ${timeout} ms`);
  }
}

/** Pictures: Bob sets an avatar (made 400 px on the device) and posts a 3000×2000 photo (sent
 * at 2048 px) and a small PNG with descriptions and no text; a file that is no picture is
 * refused and removed. Alice, his follower on the other node, sees both in her timeline with
 * his avatar, opens the viewer, moves with ArrowRight and closes with Escape. */
async function checkPictures(alice, bob) {
  const photo = await makePicture(bob, 3000, 2000, "image/jpeg", "#d32f2f");
  const square = await makePicture(bob, 300, 300, "image/png", "#2e7d32");
  const face = await makePicture(bob, 900, 900, "image/jpeg", "#f9a825");
  const uploads = [];
  const onUpload = (r) => r.request().method() === "POST" && r.url().endsWith("/api/v1/media") && uploads.push(r.json().catch(() => ({})));
  bob.on("response", onUpload);

  // The avatar, in Settings: sent at 400 px, shown in the form and on the profile page.
  await bob.click("nav a[href='#/settings']");
  await ready(bob, "#/settings");
  await bob.setInputFiles("#avatar-input", { name: "face.jpg", mimeType: "image/jpeg", buffer: face });
  await bob.waitForFunction(() => /Avatar saved/.test(document.getElementById("note").textContent));
  const avatarSize = await loaded(bob, "#avatar-preview");
  check(avatarSize[0] === 400 && avatarSize[1] === 400, `the 900 px avatar was sent at ${avatarSize.join("×")}, not 400×400`);
  await atBothSizes(bob, (size) => shot(bob, `avatar-${size}.png`));
  console.log(`avatar: 900×900 chosen, ${avatarSize.join("×")} sent`);

  // Two pictures and a text file; the text file is refused by the node and removed.
  await bob.click("nav a[href='#/']");
  await ready(bob, "#/");
  const input = ".compose input[type=file]";
  check((await bob.getAttribute(input, "accept")) === "image/jpeg,image/png,image/webp,image/gif", "the picture input accepts other types");
  await bob.setInputFiles(input, [
    { name: "bicycle.jpg", mimeType: "image/jpeg", buffer: photo },
    { name: "square.png", mimeType: "image/png", buffer: square },
  ]);
  await bob.setInputFiles(input, { name: "notes.txt", mimeType: "text/plain", buffer: Buffer.from("not a picture at all") });
  await bob.waitForFunction(() => {
    const items = [...document.querySelectorAll(".compose .pic-item")];
    return items.length === 3 && items.every((li) => li.dataset.state);
  });
  const states = await bob.evaluate(() => [...document.querySelectorAll(".compose .pic-item")].map((li) => li.dataset.state));
  check(states.join() === "done,done,error", `upload states: ${JSON.stringify(states)}`);
  const refusal = await bob.textContent(".compose .pic-item[data-state=error] .pic-status");
  check(refusal.trim().length > 0, "the refused file shows no error");
  // Posting with a refused picture says which one, and posts nothing.
  await bob.click("#post-button");
  await bob.waitForFunction(() => /Picture 3 was not uploaded/.test(document.getElementById("alert").textContent));
  await bob.getByRole("button", { name: "Remove picture 3" }).click();
  check((await bob.locator(".compose .pic-item").count()) === 2, "Remove picture 3 did not remove it");
  const sent = await Promise.all(uploads);
  check(sent.some((r) => r.width === 2048 && r.height === 1365 && r.type === "image/jpeg"), `the 3000×2000 photo was not sent at 2048×1365: ${JSON.stringify(sent)}`);
  check(sent.some((r) => r.width === 300 && r.height === 300 && r.type === "image/png"), `the 300 px PNG was not sent as it is: ${JSON.stringify(sent)}`);
  bob.off("response", onUpload);
  await bob.fill(".compose .pic-item:nth-child(1) textarea[name=alt]", PHOTO_ALT);
  await bob.getByLabel("Describe this picture for people who can't see it").nth(1).fill(SQUARE_ALT);
  check((await bob.inputValue("#compose")) === "" && !(await bob.isDisabled("#post-button")), "a post of pictures without text cannot be posted");
  await atBothSizes(bob, (size) => shot(bob, `pictures-compose-${size}.png`));
  const posting = bob.waitForRequest((r) => r.method() === "POST" && r.url().endsWith("/api/v1/posts"));
  await bob.click("#post-button");
  const media = (await posting).postDataJSON().media;
  check(
    media.length === 2 && media[0].alt === PHOTO_ALT && media[1].alt === SQUARE_ALT && media.every((m) => /^[0-9a-f]{64}$/.test(m.id) && /^[0-9A-Za-z#$%*+,\-.:;=?@[\]^_{|}~]{28}$/.test(m.blurhash)),
    `the post carries ${JSON.stringify(media)}`,
  );
  await bob.waitForFunction(() => document.querySelectorAll(".compose .pic-item").length === 0);
  const own = `#timeline article.post img[alt="${PHOTO_ALT}"]`;
  await loaded(bob, own);
  console.log(`posted 2 pictures (blurhashes ${media.map((m) => m.blurhash).join(", ")}), refused file: ${JSON.stringify(refusal)}`);

  // Alice's timeline on the other node: the pictures, their sizes, ALT badges and Bob's avatar.
  await alice.click("nav a[href='#/']");
  await ready(alice, "#/");
  const photoImg = `#timeline article.post img[alt="${PHOTO_ALT}"]`;
  await alice.waitForSelector(photoImg, { state: "attached", timeout: PICTURE_TIMEOUT_MS });
  const post = alice.locator("#timeline article.post", { has: alice.locator(`img[alt="${PHOTO_ALT}"]`) }).first();
  await post.scrollIntoViewIfNeeded();
  const natural = await loaded(alice, photoImg);
  check(natural[0] === 2048 && natural[1] === 1365, `Alice's copy of the photo is ${natural.join("×")}`);
  const cells = await post.evaluate((a) =>
    [...a.querySelectorAll(".pics button.pic")].map((b) => {
      const i = b.querySelector("img");
      return { alt: i.alt, width: i.getAttribute("width"), height: i.getAttribute("height"), lazy: i.loading, badge: !!b.querySelector(".alt-badge") };
    }),
  );
  check(
    cells.length === 2 && cells[0].alt === PHOTO_ALT && cells[0].width === "2048" && cells[0].height === "1365" && cells[1].alt === SQUARE_ALT && cells.every((c) => c.badge && c.lazy === "lazy"),
    `Alice's post shows ${JSON.stringify(cells)}`,
  );
  const avatar = `#timeline article.post[data-id="${await post.getAttribute("data-id")}"] > header img.avatar`;
  await alice.waitForSelector(avatar, { state: "attached", timeout: PICTURE_TIMEOUT_MS });
  const avatarShown = await loaded(alice, avatar);
  check(avatarShown[0] === 400, `Bob's avatar on Alice's card is ${avatarShown.join("×")}`);
  await atBothSizes(alice, (size) => shot(alice, `pictures-${size}.png`));
  console.log(`Alice sees the photo at ${natural.join("×")}, 2 ALT badges and Bob's avatar`);

  // The viewer: a modal dialog with the description; ArrowRight moves, Escape closes and the
  // focus goes back to the picture that opened it; Tab stays inside.
  const opener = post.locator("button.pic").first();
  await opener.click();
  await alice.waitForSelector("#viewer[open]");
  const caption = () => alice.textContent("#viewer figcaption");
  const dialog = await alice.evaluate(() => {
    const d = document.getElementById("viewer");
    return { role: d.getAttribute("role"), modal: d.getAttribute("aria-modal"), focus: d.contains(document.activeElement) };
  });
  check(dialog.role === "dialog" && dialog.modal === "true" && dialog.focus, `the viewer is ${JSON.stringify(dialog)}`);
  check((await caption()) === PHOTO_ALT, `the viewer's caption is ${JSON.stringify(await caption())}`);
  await loaded(alice, "#viewer img");
  await atBothSizes(alice, (size) => shot(alice, `viewer-${size}.png`));
  for (let i = 0; i < 5; i++) await alice.keyboard.press("Tab");
  check(await alice.evaluate(() => document.getElementById("viewer").contains(document.activeElement)), "Tab left the viewer");
  await alice.keyboard.press("ArrowRight");
  check((await caption()) === SQUARE_ALT, `after ArrowRight the caption is ${JSON.stringify(await caption())}`);
  check((await alice.textContent("#viewer .view-count")) === "2 / 2", "the viewer does not say 2 / 2");
  const second = await loaded(alice, "#viewer img");
  check(second[0] === 300, `the second picture in the viewer is ${second.join("×")}`);
  await alice.keyboard.press("Escape");
  await alice.waitForSelector("#viewer", { state: "detached" });
  check(await opener.evaluate((b) => document.activeElement === b), "closing the viewer did not give the focus back to the picture");
  console.log("viewer: dialog with caption, ArrowRight to the second picture, Escape back to the first");

  // Bob's profile page shows his avatar.
  await bob.click("nav a[href^='#/u/']");
  await bob.waitForSelector("#main .profile img.avatar", { state: "attached" });
  check((await loaded(bob, "#main .profile img.avatar"))[0] === 400, "the profile page does not show the avatar");
  console.log("profile page shows the avatar");
}

async function main() {
  const browser = await chromium.launch({ executablePath: chromiumPath, headless: true, args: CHROMIUM_ARGS, timeout: 30_000 });
  try {
    const errors = [];
    // Service workers only in the context that checks them: page.route() must see every request.
    const desktop = { viewport: DESKTOP, serviceWorkers: "block" };
    await checkNoScript(browser);
    await checkInstallable(browser);
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

    // Alice follows Bob through the follow form, by the link of his profile page: the client
    // sends his address.
    await alice.click("nav a[href='#/people']");
    const [bobUser, bobDomain] = bobAddr.split("@");
    const sent = [];
    const onFollow = (r) => r.method() === "POST" && r.url().endsWith("/api/v1/follows") && sent.push(r.postDataJSON().address);
    alice.on("request", onFollow);
    await alice.fill("#follow-form [name=address]", `http://${bobDomain.toUpperCase()}:8080/@${bobUser}/`);
    await alice.click("#follow-form button[type=submit]");
    await alice.waitForFunction(
      (addr) => [...document.querySelectorAll("#following li a")].some((a) => a.textContent === addr),
      bobAddr,
    );
    const noteText = await alice.textContent("#note");
    check(/You follow/.test(noteText), `follow did not become active: ${JSON.stringify(noteText)}`);
    alice.off("request", onFollow);
    check(sent.length === 1 && sent[0] === bobAddr, `the follow form sent ${JSON.stringify(sent)} for Bob's profile link`);
    console.log(`alice follows ${bobAddr} by his profile link: ${noteText}`);
    // A failed follow replaces the success note instead of sitting beside it.
    await alice.fill("#follow-form [name=address]", "nobody@");
    await alice.click("#follow-form button[type=submit]");
    await alice.waitForFunction(() => document.getElementById("alert").textContent !== "");
    check((await alice.textContent("#note")) === "", "the success note stays beside the error of the next follow");
    await atBothSizes(alice, (size) => shot(alice, `follow-error-${size}.png`));
    await alice.click("nav a[href='#/']");
    await alice.waitForSelector("#timeline", { state: "attached" });

    // Bob names himself in Settings; the name travels with his posts.
    await bob.click("nav a[href='#/settings']");
    await ready(bob, "#/settings");
    await bob.fill("#profile-form [name=display_name]", BOB_NAME);
    await bob.fill("#profile-form [name=bio]", "Builds routers.");
    await bob.click("#profile-form button[type=submit]");
    await bob.waitForFunction(() => /Profile saved/.test(document.getElementById("note").textContent));
    const evil = await bob.evaluate(async () => {
      const hdr = { "Content-Type": "application/json", "X-Msm-Csrf": "1" };
      const r = await fetch("/api/v1/profile", { method: "PUT", headers: hdr, body: JSON.stringify({ display_name: "Eve\u202Emoc.knab" }) });
      return { status: r.status, error: (await r.json()).error };
    });
    check(evil.status === 400 && /U\+202E/.test(evil.error), `a display name with U+202E was answered ${JSON.stringify(evil)}`);
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
      check((await p.locator("#timeline .text img, #timeline script").count()) === 0, `${who}: a post became an element`);
    }
    console.log("hostile posts shown as text; window.pwned undefined");
    const names = await alice.evaluate(() => [...document.querySelectorAll("#timeline article.post .who .name")].map((e) => e.textContent));
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

    await checkAriaLabels(alice, bob, bobAddr, stamp);

    // Right-to-left posts, a long one, and a followers-only one, from Bob to Alice.
    const long = `A long post ${stamp}: ` + "the tomatoes are ripe and the basil is tall; ".repeat(16);
    for (const [text, audience] of [[HEBREW, "public"], [ARABIC, "public"], [long, "public"], [`for followers ${stamp}`, "followers"]]) {
      await postFrom(bob, text, audience);
      await seenAt(alice, text);
    }
    await bob.selectOption("#compose ~ .row select[name=audience]", "public");
    await checkRtl(alice);
    await checkLongPost(alice, long);
    await checkFocusRing(alice);
    await checkBidi(alice, bobAddr);
    await checkTabs(alice);
    await checkReplyAudience(alice, `for followers ${stamp}`);
    await checkDrafts(bob, bobAddr);
    await checkOfflineBanner(bob);
    await checkOneTimePassword(browser, alice);

    // Screenshots: Alice's timeline, Bob composing, Alice on a phone.
    await shot(alice, "alice-timeline.png");
    await bob.fill("#compose", "Drafting a longer post about the garden: crème fraîche with the first ripe tomatoes.");
    await shot(bob, "bob-compose.png");
    await alice.setViewportSize(PHONE);
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

    // Alice mutes Bob on his profile: his posts leave her timeline; unmuting brings them back.
    const bobHash = "#/u/" + encodeURIComponent(bobAddr);
    const bobShown = async () => {
      await alice.click("nav a[href='#/']");
      await ready(alice, "#/");
      return alice.evaluate((s) => [...document.querySelectorAll("#timeline article.post > .text")].some((e) => e.textContent.includes(s)), `from bob ${stamp}`);
    };
    for (const [button, said, shown] of [["Mute", /Muted/, false], ["Unmute", /Unmuted/, true]]) {
      await alice.evaluate((h) => (location.hash = h), bobHash);
      await ready(alice, bobHash);
      await alice.getByRole("button", { name: button, exact: true }).click();
      await alice.waitForFunction((re) => new RegExp(re).test(document.getElementById("note").textContent), said.source);
      check((await bobShown()) === shown, `after ${button}, Bob's posts ${shown ? "are missing from" : "still show in"} Alice's timeline`);
    }
    console.log("mute hides Bob's posts from Alice's timeline; unmute brings them back");

    // The owner blocks a domain in Settings and unblocks it.
    await alice.click("nav a[href='#/settings']");
    await ready(alice, "#/settings");
    await alice.fill("#domain-block-form [name=domain]", "spam.test");
    await alice.click("#domain-block-form button[type=submit]");
    const blocked = alice.locator("#domain-blocks li", { hasText: "spam.test" });
    await blocked.waitFor();
    await blocked.getByRole("button", { name: "Unblock" }).click();
    await alice.waitForFunction(() => document.querySelectorAll("#domain-blocks li").length === 0);
    console.log("blocked domains: added and removed in Settings");

    await checkConversation(alice, bob, bobAddr, stamp);
    await checkPictures(alice, bob);

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
