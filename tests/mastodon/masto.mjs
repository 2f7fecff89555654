// masto 8 (the library Elk and Phanpy use) on Node 22 against a real msmd node, as a web app
// would use it: apps.create, the authorization-code flow with PKCE (S256) through the node's
// own authorize form, the token by oauth.token.create, then statuses, media v2 with a
// description, the home timeline, notifications, favourite, account search, follow, and the
// WebSocket streaming client subscribed to the user stream receiving another session's post.
//
// Environment: MSM_URL, MSM_USER, MSM_PASSWORD, MSM_OTHER, MSM_OTHER_PASSWORD, MSM_PICTURE (a
// PNG), MSM_PICTURE_ALT, MSM_TEXT, MSM_PICTURE_TEXT, MSM_STREAM_TEXT, MSM_MENTION_TEXT.
// Exits non-zero with a message on the first step that does not do what Mastodon documents.

import { createHash, randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { createOAuthAPIClient, createRestAPIClient, createStreamingAPIClient } from "masto";

const SCOPES = "read write follow push";
const REDIRECT = "http://127.0.0.1:9/msm-test-callback";
// Seconds within which a post must reach a listening stream.
const STREAM_WAIT_S = 10;
// Longest the whole script may run.
const SCRIPT_LIMIT_S = 120;
// Most pages the authorization flow may pass through (log-in, consent).
const MAX_FORM_STEPS = 6;

class Failed extends Error {}

function env(name) {
  const v = process.env[name];
  if (!v) throw new Failed(`the environment has no ${name} (the Rust test sets it)`);
  return v;
}

function check(cond, what, got) {
  if (!cond) {
    const detail = got === undefined ? "" : `\n  got: ${JSON.stringify(got)?.slice(0, 2000)}`;
    throw new Failed(`${what}${detail}`);
  }
}

function step(what) {
  console.log(`[${new Date().toISOString().slice(11, 19)}] ${what}`);
}

const b64url = (buf) => buf.toString("base64url");

// The attributes of one tag's text, as a map.
function attrs(tag) {
  const out = {};
  for (const m of tag.matchAll(/([a-zA-Z_:-]+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+)))?/g)) {
    out[m[1].toLowerCase()] = decode(m[2] ?? m[3] ?? m[4] ?? "");
  }
  return out;
}

function decode(s) {
  return s
    .replace(/&quot;/g, '"')
    .replace(/&#39;|&#x27;/g, "'")
    .replace(/&lt;/g, "<")
    .replace(/&gt;/g, ">")
    .replace(/&#x2F;|&#47;/g, "/")
    .replace(/&amp;/g, "&");
}

const DENY = /deny|reject|cancel|refuse|delete/i;
const denies = (b) => DENY.test(`${b.value ?? ""} ${b.name ?? ""} ${b.text ?? ""}`);

// The POST forms of a page (not those that deny): action, inputs and submit buttons.
function forms(html) {
  const out = [];
  for (const m of html.matchAll(/<form\b([^>]*)>([\s\S]*?)<\/form>/gi)) {
    const f = attrs(m[1]);
    if ((f.method ?? "get").toLowerCase() !== "post") continue;
    const inputs = [...m[2].matchAll(/<input\b([^>]*)>/gi)].map((i) => attrs(i[1]));
    const buttons = [...m[2].matchAll(/<button\b([^>]*)>([\s\S]*?)<\/button>/gi)]
      .map((b) => ({ ...attrs(b[1]), text: b[2].replace(/<[^>]*>/g, "") }))
      .filter((b) => (b.type ?? "submit").toLowerCase() === "submit");
    const form = { action: f.action ?? "", inputs, buttons };
    // Mastodon's deny form: a hidden _method=delete, or only a denying button
    const denyMethod = inputs.some((i) => i.name === "_method" && DENY.test(i.value ?? ""));
    const onlyDeny = buttons.length > 0 && buttons.every(denies);
    if (!denyMethod && !onlyDeny) out.push(form);
  }
  return out;
}

function fill(form, name, password) {
  const data = new URLSearchParams();
  const submits = [];
  for (const i of form.inputs) {
    const type = (i.type ?? "text").toLowerCase();
    if (type === "submit" || type === "image") {
      submits.push(i);
      continue;
    }
    if (!i.name) continue;
    if (type === "password") data.append(i.name, password);
    else if (type === "text" || type === "email" || type === "username") data.append(i.name, i.value || name);
    else if (type === "checkbox" || type === "radio") {
      if ("checked" in i) data.append(i.name, i.value || "on");
    } else data.append(i.name, i.value ?? "");
  }
  const ok = [...form.buttons, ...submits].filter((b) => !denies(b));
  if (ok.length && ok[0].name) data.append(ok[0].name, ok[0].value ?? "");
  return data;
}

// Logs in and consents on the node's authorize page, as a person in a browser; returns the code
// from the redirect to the app.
async function authorize(url, name, password, state) {
  const jar = new Map();
  const cookieHeader = () => [...jar].map(([k, v]) => `${k}=${v}`).join("; ");
  const go = async (u, init = {}) => {
    const r = await fetch(u, {
      ...init,
      redirect: "manual",
      headers: { ...(init.headers ?? {}), cookie: cookieHeader() },
    });
    for (const c of r.headers.getSetCookie()) {
      const [kv] = c.split(";");
      const at = kv.indexOf("=");
      jar.set(kv.slice(0, at).trim(), kv.slice(at + 1).trim());
    }
    return r;
  };
  let r = await go(url);
  let at = url;
  for (let i = 0; i < MAX_FORM_STEPS; i++) {
    if ([301, 302, 303, 307, 308].includes(r.status)) {
      const loc = new URL(r.headers.get("location") ?? "", at);
      if (loc.searchParams.has("error")) throw new Failed(`the node refused the authorization: ${loc}`);
      if (loc.searchParams.has("code")) {
        check(loc.searchParams.get("state") === state, "the redirect carries the app's state", String(loc));
        check(String(loc).startsWith(REDIRECT), "the code goes to the registered redirect URI", String(loc));
        return loc.searchParams.get("code");
      }
      at = String(loc);
      r = await go(at);
      continue;
    }
    const html = await r.text();
    check(r.status === 200, `the authorize page answers 200 (it said ${r.status})`, html.slice(0, 500));
    const all = forms(html);
    check(all.length > 0, "the authorize page has a form", html.slice(0, 1000));
    const form = all.find((f) => f.inputs.some((x) => (x.type ?? "").toLowerCase() === "password")) ?? all[0];
    at = String(new URL(form.action || at, at));
    r = await go(at, {
      method: "POST",
      body: fill(form, name, password),
      headers: { "content-type": "application/x-www-form-urlencoded", origin: new URL(url).origin },
    });
  }
  throw new Failed(`no code after ${MAX_FORM_STEPS} pages of the authorize flow`);
}

async function withTimeout(promise, seconds, what) {
  let timer;
  const t = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Failed(`${what}: not within ${seconds} s`)), seconds * 1000);
  });
  try {
    return await Promise.race([promise, t]);
  } finally {
    clearTimeout(timer);
  }
}

async function main() {
  const url = env("MSM_URL");
  const [user, pw] = [env("MSM_USER"), env("MSM_PASSWORD")];
  const [other, otherPw] = [env("MSM_OTHER"), env("MSM_OTHER_PASSWORD")];
  check(process.versions.node.split(".")[0] >= 22, "Node 22 or later runs this", process.versions.node);

  step("apps.create");
  const anon = createRestAPIClient({ url, timeout: 15000 });
  const app = await anon.v1.apps.create({
    clientName: "msm test (masto.js)",
    redirectUris: REDIRECT,
    scopes: SCOPES,
    website: "https://example.invalid",
  });
  check(app.clientId && app.clientSecret, "the app has a client id and secret", app);

  step("authorization code with PKCE S256, through the authorize form");
  const verifier = b64url(randomBytes(32));
  const challenge = b64url(createHash("sha256").update(verifier).digest());
  const state = b64url(randomBytes(12));
  const authUrl = new URL("/oauth/authorize", url);
  for (const [k, v] of Object.entries({
    client_id: app.clientId,
    response_type: "code",
    redirect_uri: REDIRECT,
    scope: SCOPES,
    state,
    code_challenge: challenge,
    code_challenge_method: "S256",
  }))
    authUrl.searchParams.set(k, v);
  const code = await authorize(String(authUrl), user, pw, state);
  const oauth = createOAuthAPIClient({ url, timeout: 15000 });
  const token = await oauth.token.create({
    grantType: "authorization_code",
    clientId: app.clientId,
    clientSecret: app.clientSecret,
    redirectUri: REDIRECT,
    code,
    codeVerifier: verifier,
    scope: SCOPES,
  });
  check(token.accessToken && token.tokenType?.toLowerCase() === "bearer", "a bearer token", token);
  const alice = createRestAPIClient({ url, accessToken: token.accessToken, timeout: 15000 });
  const me = await alice.v1.accounts.verifyCredentials();
  check(me.username === user, `verifyCredentials is ${user}`, me);

  step("carol: the password grant");
  const carolToken = await oauth.token.create({
    grantType: "password",
    clientId: app.clientId,
    clientSecret: app.clientSecret,
    redirectUri: REDIRECT,
    username: other,
    password: otherPw,
    scope: SCOPES,
  });
  const carol = createRestAPIClient({ url, accessToken: carolToken.accessToken, timeout: 15000 });
  const carolMe = await carol.v1.accounts.verifyCredentials();
  check(carolMe.username === other, `verifyCredentials is ${other}`, carolMe);

  step("statuses.create");
  const s1 = await alice.v1.statuses.create({ status: env("MSM_TEXT") });
  check(s1.content.includes(env("MSM_TEXT")), "the status has the text", s1);
  check(s1.account.id === me.id, "the status is alice's", s1.account);

  step("v2 media.create + statuses.create with mediaIds");
  const png = readFileSync(env("MSM_PICTURE"));
  const media = await alice.v2.media.create({
    file: new Blob([png], { type: "image/png" }),
    description: env("MSM_PICTURE_ALT"),
  });
  check(media.type === "image" && media.url, "the upload is an image with a url", media);
  check(media.description === env("MSM_PICTURE_ALT"), "the upload keeps its description", media);
  const s2 = await alice.v1.statuses.create({ status: env("MSM_PICTURE_TEXT"), mediaIds: [media.id] });
  check(s2.mediaAttachments.length === 1, "the status has its picture", s2);
  check(s2.mediaAttachments[0].description === env("MSM_PICTURE_ALT"), "the picture has its description", s2);

  step("timelines.home.list");
  const home = await alice.v1.timelines.home.list({ limit: 20 });
  const ids = home.map((s) => s.id);
  check(ids.includes(s1.id) && ids.includes(s2.id), "the home timeline has both statuses", ids);

  step("notifications.list: carol's mention");
  const notes = await alice.v1.notifications.list();
  const mention = notes.find((n) => n.type === "mention" && n.account.acct === other);
  check(mention, "a mention from carol", notes);
  check(mention.status.content.includes(env("MSM_MENTION_TEXT").split(" ").at(-1)), "it carries carol's post", mention);

  step("statuses.$select(id).favourite");
  const fav = await alice.v1.statuses.$select(mention.status.id).favourite();
  check(fav.favourited === true && fav.favouritesCount >= 1, "the status is favourited", fav);

  step("v2 search (accounts) + follow");
  const found = await alice.v2.search.list({ q: other, type: "accounts" });
  const acc = found.accounts.find((a) => a.acct === other);
  check(acc && acc.id === carolMe.id, `search finds ${other}`, found);
  const rel = await alice.v1.accounts.$select(acc.id).follow();
  check(rel.following || rel.requested, "alice follows carol", rel);

  step("WebSocket streaming: the user stream gets carol's post");
  const instance = await alice.v2.instance.fetch();
  const streamingApiUrl = instance.configuration.urls.streaming;
  check(/^wss?:\/\//.test(streamingApiUrl), "v2 instance names a ws(s) streaming URL", instance.configuration.urls);
  const streaming = createStreamingAPIClient({ streamingApiUrl, accessToken: token.accessToken, retry: 3 });
  await withTimeout(streaming.prepare(), 10, "the WebSocket opens");
  const sub = streaming.user.subscribe();
  const seen = [];
  const wanted = env("MSM_STREAM_TEXT");
  const arrival = (async () => {
    for await (const event of sub) {
      seen.push(event.event);
      if (event.event === "update" && event.payload.content.includes(wanted)) return event.payload;
    }
    throw new Failed(`the stream ended (events: ${seen.join(", ")})`);
  })();
  // the subscription is sent now; events before the node has read it are not for us
  await new Promise((ok) => setTimeout(ok, 1000));
  const posted = await carol.v1.statuses.create({ status: wanted });
  const t0 = Date.now();
  const update = await withTimeout(arrival, STREAM_WAIT_S, `an update with carol's post (events: ${seen})`);
  step(`update arrived after ${((Date.now() - t0) / 1000).toFixed(2)} s`);
  check(update.id === posted.id && update.account.acct === other, "the streamed status is carol's post", update);
  sub.unsubscribe();
  streaming.close();
}

const limit = setTimeout(() => {
  console.error(`FAILED: the script ran past ${SCRIPT_LIMIT_S} s`);
  process.exit(1);
}, SCRIPT_LIMIT_S * 1000);
try {
  await main();
  clearTimeout(limit);
  console.log("scenario passed");
  process.exit(0);
} catch (e) {
  console.error(`FAILED: ${e instanceof Failed ? e.message : e?.stack ?? e}`);
  if (e?.statusCode) console.error(`  HTTP ${e.statusCode}: ${e.description ?? ""} ${JSON.stringify(e.additionalProperties ?? {})}`);
  process.exit(1);
}
