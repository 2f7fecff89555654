// peer.mjs — a real ActivityPub server (Fedify 2.3.6) for one domain, for msm's federation tests.
//
// It serves one actor, https://DOMAIN/users/peer (RSA and Ed25519 keys made at start), with an
// inbox, the shared inbox /inbox, followers, an outbox and WebFinger, over HTTPS on BIND:PORT.
// Everything it receives and Fedify verifies is kept in memory. A control API (plain HTTP, JSON,
// on a loopback port) lets a test make it follow, post, like, announce, update, delete, block,
// and read what it received. What it sends is what Fedify sends to Mastodon: every activity goes
// out through ctx.sendActivity, every lookup through ctx.lookupObject (signed GETs).
//
// Usage: node peer.mjs --domain peer.test --bind 127.0.0.2 --port 443 --cert peer.pem
//          --key peer.key [--signing rfc9421|cavage] [--control 127.0.0.1:0]
// Prints `ready control=HOST:PORT` on stdout once both servers listen. Trusts the CA in
// NODE_EXTRA_CA_CERTS; resolves names through getaddrinfo (/etc/hosts).
import { createServer as createHttpsServer } from "node:https";
import { createServer as createHttpServer } from "node:http";
import { readFileSync } from "node:fs";
import { randomUUID } from "node:crypto";
import { parseArgs } from "node:util";
import { Temporal } from "@js-temporal/polyfill";
import {
  createFederation,
  generateCryptoKeyPair,
  MemoryKvStore,
} from "@fedify/fedify";
import {
  Accept,
  Activity,
  Announce,
  Block,
  Create,
  Delete,
  Document,
  Endpoints,
  Follow,
  Hashtag,
  isActor,
  Like,
  Mention,
  Note,
  Person,
  PUBLIC_COLLECTION,
  Reject,
  Tombstone,
  Undo,
  Update,
} from "@fedify/vocab";

/** Largest request body either server reads (an inbox POST or a control call). */
const MAX_BODY_BYTES = 1024 * 1024;
/** Most received activities kept (the oldest are dropped first). */
const MAX_RECEIVED = 10000;
/** Most delivery errors kept. */
const MAX_ERRORS = 1000;
/** The one actor's identifier. */
const USER = "peer";

const { values: opt } = parseArgs({
  options: {
    domain: { type: "string" },
    bind: { type: "string", default: "127.0.0.1" },
    port: { type: "string", default: "443" },
    cert: { type: "string" },
    key: { type: "string" },
    signing: { type: "string", default: "rfc9421" },
    control: { type: "string", default: "127.0.0.1:0" },
  },
});
for (const k of ["domain", "cert", "key"]) {
  if (!opt[k]) fail(`--${k} is required`);
}
const FIRST_KNOCK = {
  rfc9421: "rfc9421",
  cavage: "draft-cavage-http-signatures-12",
}[opt.signing];
if (!FIRST_KNOCK) fail(`--signing must be rfc9421 or cavage, not ${opt.signing}`);

function fail(msg) {
  process.stderr.write(`peer: ${msg}\n`);
  process.exit(2);
}

function log(msg) {
  process.stderr.write(`peer ${opt.domain}: ${msg}\n`);
}

// ---- state, all in memory --------------------------------------------------------------------

/** Received activities, oldest first. */
const received = [];
/** Errors of deliveries made outside a control call (the Accept of a Follow). */
const errors = [];
/** Followers: actor id → { id, inboxId, endpoints }. */
const followers = new Map();
/** Whom this actor follows: actor id → { acct, followId, state: pending|accepted|rejected }. */
const following = new Map();
/** Blocked actor ids. */
const blocked = new Set();
/** This actor's notes: id → { note, recipients }. */
const notes = new Map();
/** Sent Likes and Announces: `${kind} ${object}` → { activity, recipients }. */
const sentReactions = new Map();
/** Posts in the outbox, newest first (activities). */
const outbox = [];

const rsa = await generateCryptoKeyPair("RSASSA-PKCS1-v1_5");
const ed = await generateCryptoKeyPair("Ed25519");

// ---- Fedify ----------------------------------------------------------------------------------

const federation = createFederation({
  kv: new MemoryKvStore(),
  // The lab's addresses are loopback ones (127.0.0.0/8): never in production.
  allowPrivateAddress: true,
  firstKnock: FIRST_KNOCK,
  userAgent: `msm-test-peer (${opt.domain})`,
});

federation
  .setActorDispatcher("/users/{identifier}", async (ctx, identifier) => {
    if (identifier !== USER) return null;
    const keys = await ctx.getActorKeyPairs(identifier);
    return new Person({
      id: ctx.getActorUri(identifier),
      preferredUsername: identifier,
      name: `Test peer of ${opt.domain}`,
      summary: "A Fedify server that msm's tests drive.",
      url: ctx.getActorUri(identifier),
      inbox: ctx.getInboxUri(identifier),
      outbox: ctx.getOutboxUri(identifier),
      followers: ctx.getFollowersUri(identifier),
      endpoints: new Endpoints({ sharedInbox: ctx.getInboxUri() }),
      manuallyApprovesFollowers: false,
      publicKey: keys[0].cryptographicKey,
      assertionMethods: keys.map((k) => k.multikey),
    });
  })
  .setKeyPairsDispatcher(async (_ctx, identifier) =>
    identifier === USER ? [rsa, ed] : []
  );

federation.setFollowersDispatcher(
  "/users/{identifier}/followers",
  async (_ctx, identifier) => {
    if (identifier !== USER) return null;
    return { items: [...followers.values()] };
  },
);

federation.setOutboxDispatcher(
  "/users/{identifier}/outbox",
  async (_ctx, identifier) => {
    if (identifier !== USER) return null;
    return { items: outbox.slice() };
  },
);

federation.setObjectDispatcher(Note, "/notes/{id}", async (ctx, values) => {
  const n = notes.get(ctx.getObjectUri(Note, values).href);
  return n?.note ?? null;
});

/** One received activity as the control API lists it. */
async function record(ctx, activity, verified, reason) {
  let json = null;
  try {
    json = await activity.toJsonLd({ format: "compact" });
  } catch (e) {
    json = { error: String(e) };
  }
  received.push({
    type: json?.type ?? activity.constructor.name,
    id: activity.id?.href ?? null,
    actor: activity.actorId?.href ?? null,
    object: activity.objectId?.href ?? null,
    verified,
    reason: reason == null ? null : String(reason.type ?? reason),
    signature: ctx.data?.signature ?? null,
    inbox: ctx.recipient == null ? "shared" : "personal",
    activity: json,
  });
  if (received.length > MAX_RECEIVED) received.shift();
}

function keepError(what, e) {
  errors.push({ what, error: String(e?.message ?? e) });
  if (errors.length > MAX_ERRORS) errors.shift();
  log(`${what}: ${e?.message ?? e}`);
}

federation
  .setInboxListeners("/users/{identifier}/inbox", "/inbox")
  .on(Follow, async (ctx, follow) => {
    await record(ctx, follow, true);
    if (follow.id == null || follow.actorId == null) return;
    const target = ctx.parseUri(follow.objectId);
    if (target?.type !== "actor" || target.identifier !== USER) return;
    const follower = await follow.getActor(ctx);
    if (!isActor(follower)) return;
    // The Follow as Mastodon embeds it in its answer: ids only.
    const embedded = new Follow({
      id: follow.id,
      actor: follow.actorId,
      object: follow.objectId,
    });
    const accept = blocked.has(follower.id.href)
      ? new Reject({
        id: new URL(`#reject-${randomUUID()}`, ctx.getActorUri(USER)),
        actor: ctx.getActorUri(USER),
        object: embedded,
      })
      : new Accept({
        id: new URL(`#accept-${randomUUID()}`, ctx.getActorUri(USER)),
        actor: ctx.getActorUri(USER),
        object: embedded,
      });
    if (accept instanceof Accept) {
      followers.set(follower.id.href, {
        id: follower.id,
        inboxId: follower.inboxId,
        endpoints: follower.endpoints,
      });
    }
    // Answered after the inbox POST returns, as Mastodon does (its Accept goes out from a queue).
    setImmediate(() =>
      ctx.sendActivity({ identifier: USER }, follower, accept).catch((e) =>
        keepError(`${accept.constructor.name} of ${follow.id.href}`, e)
      )
    );
  })
  .on(Accept, async (ctx, accept) => {
    await record(ctx, accept, true);
    setFollowState(accept, "accepted");
  })
  .on(Reject, async (ctx, reject) => {
    await record(ctx, reject, true);
    setFollowState(reject, "rejected");
  })
  .on(Undo, async (ctx, undo) => {
    await record(ctx, undo, true);
    const obj = await undo.getObject(ctx).catch(() => null);
    if (obj instanceof Follow && undo.actorId != null) {
      followers.delete(undo.actorId.href);
    }
  })
  .on(Block, async (ctx, block) => {
    await record(ctx, block, true);
    if (block.actorId != null) {
      following.delete(block.actorId.href);
      followers.delete(block.actorId.href);
    }
  })
  .on(Activity, async (ctx, activity) => {
    await record(ctx, activity, true);
  })
  .onUnverifiedActivity(async (ctx, activity, reason) => {
    await record(ctx, activity, false, reason);
  })
  .onError((_ctx, e) => keepError("inbox", e));

function setFollowState(answer, state) {
  const actor = answer.actorId?.href;
  const f = actor && following.get(actor);
  if (!f) return;
  const objId = answer.objectId?.href;
  if (objId == null || objId === f.followId) f.state = state;
}

// ---- the HTTPS server: Node's request → fetch Request → federation.fetch ----------------------

class TooLarge extends Error {}

async function readBody(req) {
  const chunks = [];
  let size = 0;
  for await (const c of req) {
    size += c.length;
    if (size > MAX_BODY_BYTES) throw new TooLarge(`body over ${MAX_BODY_BYTES} bytes`);
    chunks.push(c);
  }
  return Buffer.concat(chunks);
}

function send(res, status, body, type = "application/json") {
  const b = Buffer.from(typeof body === "string" ? body : JSON.stringify(body));
  res.writeHead(status, { "content-type": type, "content-length": b.length });
  res.end(b);
}

/** Which HTTP signature scheme a request carries, from its headers. */
function signatureScheme(headers) {
  if (headers["signature-input"]) return "rfc9421";
  if (headers.signature) return "draft-cavage";
  return null;
}

const https = createHttpsServer(
  { cert: readFileSync(opt.cert), key: readFileSync(opt.key) },
  async (req, res) => {
    try {
      const body = req.method === "GET" || req.method === "HEAD"
        ? undefined
        : await readBody(req);
      const headers = new Headers();
      for (const [k, v] of Object.entries(req.headers)) {
        for (const one of Array.isArray(v) ? v : [v]) headers.append(k, one);
      }
      const request = new Request(`https://${opt.domain}${req.url}`, {
        method: req.method,
        headers,
        body,
      });
      const response = await federation.fetch(request, {
        contextData: { signature: signatureScheme(req.headers) },
      });
      const out = Buffer.from(await response.arrayBuffer());
      const h = Object.fromEntries(response.headers);
      h["content-length"] = out.length;
      res.writeHead(response.status, h);
      res.end(out);
    } catch (e) {
      if (e instanceof TooLarge) return send(res, 413, { error: e.message });
      keepError(`${req.method} ${req.url}`, e);
      send(res, 500, { error: String(e?.message ?? e) });
    }
  },
);

// ---- the control API --------------------------------------------------------------------------

/** A context for sending and signed lookups outside any request. */
function ctx() {
  return federation.createContext(new URL(`https://${opt.domain}`), {});
}

class Bad extends Error {}

function need(body, key) {
  const v = body[key];
  if (typeof v !== "string" || v === "") throw new Bad(`${key} (a string) is required`);
  return v;
}

/** An actor from an acct (`@u@d`, `u@d`, `acct:u@d`) or a URL, fetched with a signed GET. */
async function lookupActor(c, who) {
  const loader = await c.getDocumentLoader({ identifier: USER });
  const a = await c.lookupObject(who.replace(/^@/, ""), { documentLoader: loader });
  if (!isActor(a)) throw new Bad(`no actor found for ${who}`);
  return a;
}

async function lookupAny(c, uri) {
  const loader = await c.getDocumentLoader({ identifier: USER });
  const o = await c.lookupObject(uri, { documentLoader: loader });
  if (o == null) throw new Bad(`nothing found at ${uri}`);
  return o;
}

/** `body[key]` as an array (absent: `dflt`). */
function arr(body, key, dflt = []) {
  const v = body[key] ?? dflt;
  if (!Array.isArray(v)) throw new Bad(`${key} is a list`);
  return v;
}

/** `body[key]` as an optional value of JavaScript type `type`. */
function optional(body, key, type) {
  const v = body[key] ?? null;
  if (v !== null && typeof v !== type) throw new Bad(`${key} is a ${type}`);
  return v;
}

function url(s, what) {
  try {
    return new URL(s);
  } catch {
    throw new Bad(`${what} is not a URL: ${s}`);
  }
}

function recipientOf(actor) {
  return { id: actor.id, inboxId: actor.inboxId, endpoints: actor.endpoints };
}

/**
 * Sends `activity` to `actors` and, if `toFollowers`, to the followers: one delivery per inbox,
 * to shared inboxes where the servers have them (as Mastodon delivers to followers).
 */
async function deliver(c, activity, actors, toFollowers) {
  const all = toFollowers ? [...actors, ...followers.values()] : actors;
  if (all.length === 0) return;
  await c.sendActivity({ identifier: USER }, all, activity, {
    preferSharedInbox: toFollowers,
  });
}

/** `to`/`cc` entries: "public", "followers", an acct or an actor URL. */
async function audience(c, list, actors) {
  const out = [];
  for (const x of list ?? []) {
    if (typeof x !== "string") throw new Bad("to/cc entries are strings");
    if (x === "public") out.push(PUBLIC_COLLECTION);
    else if (x === "followers") out.push(c.getFollowersUri(USER));
    else {
      const a = await lookupActor(c, x);
      actors.push(a);
      out.push(a.id);
    }
  }
  return out;
}

function uniqueActors(actors) {
  const m = new Map();
  for (const a of actors) m.set(a.id.href, recipientOf(a));
  return [...m.values()];
}

const ops = {
  async follow(c, b) {
    const target = await lookupActor(c, need(b, "acct"));
    const follow = new Follow({
      id: new URL(`/follows/${randomUUID()}`, c.origin),
      actor: c.getActorUri(USER),
      object: target.id,
    });
    following.set(target.id.href, {
      acct: b.acct,
      followId: follow.id.href,
      state: "pending",
      follow,
    });
    await c.sendActivity({ identifier: USER }, target, follow);
    return { id: follow.id.href, actor: target.id.href };
  },

  async unfollow(c, b) {
    const target = await lookupActor(c, need(b, "acct"));
    const f = following.get(target.id.href);
    if (!f) throw new Bad(`not following ${b.acct}`);
    const undo = new Undo({
      id: new URL(`/undo/${randomUUID()}`, c.origin),
      actor: c.getActorUri(USER),
      object: f.follow,
    });
    await c.sendActivity({ identifier: USER }, target, undo);
    following.delete(target.id.href);
    return { id: undo.id.href };
  },

  async post(c, b) {
    const actors = [];
    const to = await audience(c, arr(b, "to", ["public"]), actors);
    const cc = await audience(c, arr(b, "cc", ["followers"]), actors);
    const tags = [];
    for (const m of arr(b, "mentions")) {
      if (typeof m !== "string") throw new Bad("mentions are accts");
      const a = await lookupActor(c, m);
      actors.push(a);
      cc.push(a.id);
      tags.push(new Mention({ href: a.id, name: m.startsWith("@") ? m : `@${m}` }));
    }
    for (const t of arr(b, "tags")) {
      if (typeof t !== "string") throw new Bad("tags are strings");
      const name = t.startsWith("#") ? t : `#${t}`;
      tags.push(new Hashtag({
        name,
        href: new URL(`/tags/${encodeURIComponent(name.slice(1))}`, c.origin),
      }));
    }
    const attachments = arr(b, "attachments").map((a) => {
      if (typeof a?.url !== "string") throw new Bad("attachments need a url");
      return new Document({
        url: url(a.url, "an attachment's url"),
        mediaType: optional(a, "mediaType", "string") ?? "image/png",
        name: optional(a, "name", "string"),
      });
    });
    let replyTarget = null;
    if (b.inReplyTo != null) {
      replyTarget = await lookupAny(c, need(b, "inReplyTo"));
      const author = replyTarget.attributionId;
      if (author != null) actors.push(await lookupActor(c, author.href));
    }
    const id = c.getObjectUri(Note, { id: randomUUID() });
    const note = new Note({
      id,
      attribution: c.getActorUri(USER),
      content: need(b, "content"),
      tos: to,
      ccs: cc,
      replyTarget: replyTarget?.id ?? null,
      tags,
      attachments,
      summary: optional(b, "summary", "string"),
      sensitive: optional(b, "sensitive", "boolean") ?? false,
      published: Temporal.Now.instant(),
      url: id,
    });
    const recipients = uniqueActors(actors);
    const toFollowers = [...to, ...cc].some((u) => u.href === c.getFollowersUri(USER).href);
    notes.set(id.href, { note, recipients, toFollowers });
    const create = new Create({
      id: new URL(`${id.href}#create`),
      actor: c.getActorUri(USER),
      object: note,
      tos: to,
      ccs: cc,
      published: note.published,
    });
    outbox.unshift(create);
    await deliver(c, create, recipients, toFollowers);
    return { id: id.href, activity: create.id.href };
  },

  async update(c, b) {
    const n = notes.get(need(b, "object"));
    if (!n) throw new Bad(`no note ${b.object} of this peer`);
    n.note = n.note.clone({
      content: optional(b, "content", "string") ?? n.note.content,
      updated: Temporal.Now.instant(),
    });
    const update = new Update({
      id: new URL(`${n.note.id.href}#update-${randomUUID()}`),
      actor: c.getActorUri(USER),
      object: n.note,
      tos: n.note.toIds,
      ccs: n.note.ccIds,
    });
    await deliver(c, update, n.recipients, n.toFollowers);
    return { id: update.id.href };
  },

  async delete(c, b) {
    const n = notes.get(need(b, "object"));
    if (!n) throw new Bad(`no note ${b.object} of this peer`);
    notes.delete(b.object);
    const del = new Delete({
      id: new URL(`${b.object}#delete`),
      actor: c.getActorUri(USER),
      object: new Tombstone({ id: n.note.id }),
      tos: n.note.toIds,
      ccs: n.note.ccIds,
    });
    await deliver(c, del, n.recipients, n.toFollowers);
    return { id: del.id.href };
  },

  async lookup(c, b) {
    const a = await lookupActor(c, need(b, "acct"));
    return await a.toJsonLd({ format: "compact" });
  },

  async fetch(c, b) {
    const o = await lookupAny(c, need(b, "uri"));
    return await o.toJsonLd({ format: "compact" });
  },

  like: (c, b) => react(c, b, "like"),
  announce: (c, b) => react(c, b, "announce"),
  unlike: (c, b) => unreact(c, b, "like"),
  unannounce: (c, b) => unreact(c, b, "announce"),

  async block(c, b) {
    const target = await lookupActor(c, need(b, "acct"));
    blocked.add(target.id.href);
    followers.delete(target.id.href);
    const block = new Block({
      id: new URL(`/blocks/${randomUUID()}`, c.origin),
      actor: c.getActorUri(USER),
      object: target.id,
    });
    await c.sendActivity({ identifier: USER }, target, block);
    return { id: block.id.href };
  },
};

/** A Like or an Announce of `object`, to its author (and, for an Announce, the followers). */
async function react(c, b, kind) {
  const object = await lookupAny(c, need(b, "object"));
  const author = object.attributionId;
  if (author == null) throw new Bad(`${b.object} names no author`);
  const actor = await lookupActor(c, author.href);
  const me = c.getActorUri(USER);
  const id = new URL(`/${kind}s/${randomUUID()}`, c.origin);
  const activity = kind === "like"
    ? new Like({ id, actor: me, object: object.id, to: actor.id })
    : new Announce({
      id,
      actor: me,
      object: object.id,
      to: PUBLIC_COLLECTION,
      ccs: [actor.id, c.getFollowersUri(USER)],
      published: Temporal.Now.instant(),
    });
  const recipients = [recipientOf(actor)];
  sentReactions.set(`${kind} ${object.id.href}`, { activity, recipients });
  if (kind === "announce") outbox.unshift(activity);
  await deliver(c, activity, recipients, kind === "announce");
  return { id: id.href };
}

async function unreact(c, b, kind) {
  const key = `${kind} ${need(b, "object")}`;
  const r = sentReactions.get(key);
  if (!r) throw new Bad(`no ${kind} of ${b.object} to undo`);
  const undo = new Undo({
    id: new URL(`/undo/${randomUUID()}`, c.origin),
    actor: c.getActorUri(USER),
    object: r.activity,
    tos: r.activity.toIds,
    ccs: r.activity.ccIds,
  });
  await deliver(c, undo, r.recipients, kind === "announce");
  sentReactions.delete(key);
  return { id: undo.id.href };
}

/** Largest body `get` reads (a test picture). */
const MAX_GET_BYTES = 4 * 1024 * 1024;

/** `get {url}`: a plain GET (a picture an attachment names): its status, type and size. */
ops.get = async (_c, b) => {
  const r = await fetch(url(need(b, "url"), "url"), { redirect: "manual" });
  const body = Buffer.from(await r.arrayBuffer());
  if (body.length > MAX_GET_BYTES) throw new Bad(`${b.url}: over ${MAX_GET_BYTES} bytes`);
  return { status: r.status, type: r.headers.get("content-type"), length: body.length };
};

const control = createHttpServer(async (req, res) => {
  try {
    const path = new URL(req.url, "http://control").pathname;
    if (req.method === "GET") {
      if (path === "/received") return send(res, 200, received);
      if (path === "/followers") {
        return send(res, 200, [...followers.keys()]);
      }
      if (path === "/following") {
        return send(
          res,
          200,
          [...following.entries()].map(([id, f]) => ({ id, acct: f.acct, state: f.state })),
        );
      }
      if (path === "/errors") return send(res, 200, errors);
      if (path === "/actor") {
        return send(res, 200, { id: ctx().getActorUri(USER).href, acct: `peer@${opt.domain}` });
      }
      return send(res, 404, { error: `no GET ${path}` });
    }
    const op = req.method === "POST" ? ops[path.slice(1)] : undefined;
    if (!op || !Object.hasOwn(ops, path.slice(1))) {
      return send(res, 404, { error: `no ${req.method} ${path}` });
    }
    let body;
    try {
      body = JSON.parse((await readBody(req)).toString("utf8") || "{}");
    } catch (e) {
      if (e instanceof TooLarge) throw e;
      throw new Bad(`the body is not JSON: ${e.message}`);
    }
    if (body === null || typeof body !== "object" || Array.isArray(body)) {
      throw new Bad("the body is a JSON object");
    }
    send(res, 200, await op(ctx(), body));
  } catch (e) {
    if (e instanceof TooLarge) return send(res, 413, { error: e.message });
    if (e instanceof Bad) return send(res, 400, { error: e.message });
    log(`control ${req.method} ${req.url}: ${e?.stack ?? e}`);
    send(res, 502, { error: String(e?.message ?? e) });
  }
});

function listen(server, port, host) {
  return new Promise((ok, err) => {
    server.once("error", err);
    server.listen(Number(port), host, () => ok(server.address()));
  });
}

const [chost, cport] = opt.control.split(/:(?=\d+$)/);
await listen(https, opt.port, opt.bind);
const c = await listen(control, cport ?? "0", chost);
log(`https://${opt.domain} on ${opt.bind}:${opt.port}, signing ${opt.signing}`);
process.stdout.write(`ready control=${c.address}:${c.port}\n`);
