"use strict";
// The msm web client: one page, hash-routed, no framework, no build step.
//
// Safety rule: post text, names and every other piece of data reach the page only through
// text nodes (`append(string)`, `textContent`), never through HTML parsing, so a post that
// reads `<script>` shows those characters. Writes carry `X-Msm-Csrf: 1` (the node refuses
// cookie-authenticated writes without it).
(() => {
  const $ = (id) => document.getElementById(id);
  const main = $("main");
  const enc = new TextEncoder();
  /** Posts in a page of the timeline, a profile or search results. */
  const PAGE = 30;
  /** Longest wait between attempts to reopen the live stream. */
  const MAX_RETRY_MS = 60000;

  let me = null; // the logged-in user, from the session
  let maxBytes = 16384; // limits.max_post_bytes, from GET /api/v1/session
  let stream = null; // the EventSource of /api/v1/stream
  let retryMs = 2000;
  let unseen = 0; // live posts that came while the timeline was not shown
  let unread = 0; // unread notifications, from the stream and the notifications page
  let onNotified = null; // refreshes the notifications page while it is shown
  let live = null; // the timeline feed while the home page is shown
  let wanted = null; // where to go after logging in
  let carry = null; // a message to show after the next page change
  const quoted = new Map(); // id -> Promise of a post, for reposts

  // ---- DOM building: elements and text nodes only ----

  const PROPS = new Set(["value", "checked", "disabled", "hidden", "selected"]);

  /** An element with attributes, `on*` listeners and children (strings become text). */
  function h(tag, props, ...kids) {
    const el = document.createElement(tag);
    for (const [k, v] of Object.entries(props || {})) {
      if (v == null || v === false) continue;
      if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
      else if (PROPS.has(k)) el[k] = v;
      else el.setAttribute(k, v === true ? "" : String(v));
    }
    for (const kid of kids.flat()) if (kid != null && kid !== false) el.append(kid);
    return el;
  }

  const field = (label, input, hint) =>
    h("label", { class: "field" }, h("span", {}, label), input, hint && h("small", { class: "muted" }, hint));

  const heading = (text) => h("h1", { tabindex: -1, dir: "auto" }, text);

  // One message at a time: an error replaces the last success note and a note replaces the
  // last error, so the two never sit side by side saying opposite things.
  function showAlert(msg, offline) {
    clearNote();
    $("alert").dataset.offline = offline ? "1" : "";
    $("alert").replaceChildren(
      h("span", {}, msg),
      h("button", { type: "button", class: "x", "aria-label": "Dismiss", onclick: clearAlert }, "×"),
    );
  }
  function clearAlert() {
    $("alert").replaceChildren();
  }
  function showError(e) {
    showAlert(e && e.message ? e.message : String(e), e && e.status === 0);
  }
  let noteTimer = 0;
  let noteAt = 0;
  function note(msg) {
    clearAlert();
    noteAt = Date.now();
    $("note").textContent = msg;
    clearTimeout(noteTimer);
    noteTimer = setTimeout(clearNote, 6000);
  }
  function clearNote() {
    clearTimeout(noteTimer);
    $("note").textContent = "";
  }

  // ---- reaching the node ----

  /** Longest wait between checks that an unreachable node is back. */
  const MAX_PROBE_MS = 30000;
  let probeTimer = 0;
  let probeMs = 2000;
  /** The node answered: a "cannot be reached" banner is out of date. */
  function reached() {
    probeMs = 2000;
    clearTimeout(probeTimer);
    probeTimer = 0;
    if ($("alert").dataset.offline === "1") clearAlert();
  }
  /** The node did not answer: ask again, less and less often, until it does. */
  function unreachable() {
    if (probeTimer) return;
    probeTimer = setTimeout(async () => {
      probeTimer = 0;
      probeMs = Math.min(probeMs * 2, MAX_PROBE_MS);
      try {
        await fetch("/api/v1/session", { credentials: "same-origin", cache: "no-store" });
        reached();
      } catch (_) {
        unreachable();
      }
    }, probeMs);
  }
  window.addEventListener("online", () => $("alert").dataset.offline === "1" && unreachable());

  /** Runs `fn` for a form's submit with its buttons disabled; errors go to the alert area. */
  function onSubmit(form, fn) {
    form.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      const buttons = [...form.querySelectorAll("button")];
      buttons.forEach((b) => (b.disabled = true));
      clearAlert();
      try {
        await fn(new FormData(form), form);
      } catch (e) {
        showError(e);
      } finally {
        buttons.forEach((b) => (b.disabled = false));
        form.dispatchEvent(new Event("settled"));
      }
    });
    return form;
  }

  /** A button that runs `fn`, disabled while it does. */
  function button(label, fn, cls, ariaLabel) {
    const b = h("button", { type: "button", class: cls, "aria-label": ariaLabel });
    b.append(label);
    b.addEventListener("click", async () => {
      b.disabled = true;
      clearAlert();
      try {
        await fn(b);
      } catch (e) {
        showError(e);
      } finally {
        b.disabled = false;
      }
    });
    return b;
  }

  // ---- the API ----

  class ApiError extends Error {
    constructor(status, msg) {
      super(msg);
      this.status = status;
    }
  }

  /** Calls `/api/v1{path}`; resolves to the JSON answer or throws an ApiError in words. A Blob
   * body is sent as it is (a picture), anything else as JSON. */
  async function api(method, path, body) {
    const headers = { Accept: "application/json" };
    if (method !== "GET") headers["X-Msm-Csrf"] = "1";
    const init = { method, headers, credentials: "same-origin", cache: "no-store" };
    if (body instanceof Blob) {
      headers["Content-Type"] = body.type || "application/octet-stream";
      init.body = body;
    } else if (body !== undefined) {
      headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    let r;
    try {
      r = await fetch("/api/v1" + path, init);
    } catch (_) {
      unreachable();
      throw new ApiError(0, "The node cannot be reached. Check the connection and try again.");
    }
    reached();
    let data = null;
    try {
      data = await r.json();
    } catch (_) {
      // not JSON: the status says enough
    }
    if (r.ok) return data || {};
    const msg = (data && typeof data.error === "string" && data.error) || `The node answered ${r.status}.`;
    if (r.status === 401 && me && !(method === "POST" && path === "/session")) {
      endSession();
      carry = "Your session ended: " + msg;
      go("#/login");
    }
    throw new ApiError(r.status, msg);
  }

  const enc1 = encodeURIComponent;
  const threadHref = (id) => {
    const i = id.lastIndexOf("/");
    return "#/post/" + enc1(id.slice(0, i)) + "/" + id.slice(i + 1);
  };
  const profileHref = (addr) => "#/u/" + enc1(addr);

  // ---- session and live stream ----

  function applySession(s) {
    me = s.user;
    if (s.limits && s.limits.max_post_bytes > 0) maxBytes = s.limits.max_post_bytes;
    renderNav();
    if (!me.must_change_password) openStream();
  }

  function endSession() {
    me = null;
    closeStream();
    renderNav();
  }

  function openStream() {
    closeStream();
    const es = new EventSource("/api/v1/stream");
    stream = es;
    const onEvent = (ev) => {
      let entry;
      try {
        entry = JSON.parse(ev.data);
      } catch (_) {
        return;
      }
      onLive(entry);
    };
    es.addEventListener("post", onEvent);
    es.addEventListener("delete", onEvent);
    es.addEventListener("notifications", (ev) => {
      try {
        const n = JSON.parse(ev.data).unread;
        if (typeof n === "number") setUnread(n);
      } catch (_) {
        return;
      }
      if (onNotified && unread > 0) onNotified();
    });
    es.onopen = () => {
      retryMs = 2000;
      reached();
      setLive(true);
      // Whatever came between loading the page and the stream opening.
      if (live) refreshTop(live);
    };
    es.onerror = () => {
      setLive(false);
      if (es.readyState !== EventSource.CLOSED || stream !== es) return;
      // The browser gave up (an error status): check the session, then try again later.
      stream = null;
      setTimeout(async () => {
        if (!me || stream) return;
        try {
          applySession(await api("GET", "/session"));
        } catch (_) {
          // a 401 logged out; anything else: try again later
        }
      }, retryMs);
      retryMs = Math.min(retryMs * 2, MAX_RETRY_MS);
    };
  }

  function closeStream() {
    if (stream) stream.close();
    stream = null;
    setLive(false);
  }

  function setLive(on) {
    const el = $("live");
    el.textContent = on ? "live" : "offline";
    el.classList.toggle("on", on);
  }

  function onLive(entry) {
    if (!entry || typeof entry.id !== "string") return;
    if (entry.kind === "delete") {
      if (live && entry.refers_to) dropPost(live, entry.refers_to);
      return;
    }
    if (live) addPost(live, entry, "top");
    else if (!me || entry.author !== me.address) {
      unseen++;
      renderBadge();
    }
  }

  async function refreshTop(feed) {
    try {
      const r = await api("GET", "/timeline?limit=" + PAGE);
      for (const p of r.posts || []) addPost(feed, p, "top");
    } catch (_) {
      // the next event or page load will do
    }
  }

  // ---- navigation ----

  function renderNav() {
    const nav = $("nav");
    $("top").hidden = !me;
    nav.replaceChildren();
    $("whoami").textContent = me ? me.address : "";
    if (!me || me.must_change_password) return;
    const links = [
      ["#/", "Home"],
      ["#/discover", "Discover"],
      ["#/people", "People"],
      ["#/notifications", "Notifications"],
      ["#/search", "Search"],
      [profileHref(me.address), "Profile"],
      ["#/settings", "Settings"],
    ];
    if (me.role === "owner") links.push(["#/admin", "Users"]);
    for (const [href, label] of links) {
      const a = h("a", { href }, label);
      if (href === "#/") a.append(h("span", { id: "badge", class: "badge", hidden: true }));
      if (href === "#/notifications") a.append(h("span", { id: "nbadge", class: "badge", hidden: true }));
      nav.append(a);
    }
    renderBadge();
    markNav();
  }

  function renderBadge() {
    const b = $("badge");
    if (!b) return;
    b.hidden = unseen === 0;
    b.textContent = unseen > 99 ? "99+" : String(unseen);
    b.setAttribute("aria-label", unseen + " new");
    const n = $("nbadge");
    if (!n) return;
    n.hidden = unread === 0;
    n.textContent = unread > 99 ? "99+" : String(unread);
    n.setAttribute("aria-label", unread + " unread");
  }

  function setUnread(n) {
    unread = n;
    renderBadge();
  }

  function markNav() {
    const hash = location.hash || "#/";
    for (const a of $("nav").querySelectorAll("a")) {
      const href = a.getAttribute("href");
      const on = href === "#/" ? hash === "#/" : hash === href || hash.startsWith(href + "/");
      if (on) a.setAttribute("aria-current", "page");
      else a.removeAttribute("aria-current");
    }
    showCurrentTab();
  }

  /** On a narrow screen the tab bar scrolls sideways: bring the current tab into its view. */
  function showCurrentTab() {
    const nav = $("nav");
    const a = nav.querySelector("a[aria-current]");
    if (!a || nav.scrollWidth <= nav.clientWidth) return;
    const box = nav.getBoundingClientRect();
    const tab = a.getBoundingClientRect();
    if (tab.left < box.left) nav.scrollLeft -= box.left - tab.left + 16;
    else if (tab.right > box.right) nav.scrollLeft += tab.right - box.right + 16;
  }
  window.addEventListener("resize", showCurrentTab);

  function go(hash) {
    if (location.hash === hash) route();
    else location.hash = hash;
  }

  const ROUTES = [
    [/^#\/login$/, pageLogin, "Log in"],
    [/^#\/?$/, pageHome, "Home"],
    [/^#\/post\/([^/]+)\/(\d+)$/, pageThread, "Post"],
    [/^#\/u\/([^/]+)$/, pageProfile, "Profile"],
    [/^#\/discover$/, pageDiscover, "Discover"],
    [/^#\/people$/, pagePeople, "People"],
    [/^#\/search(?:\/(.*))?$/, pageSearch, "Search"],
    [/^#\/notifications$/, pageNotifications, "Notifications"],
    [/^#\/tag\/([^/]+)$/, pageTag, "Tag"],
    [/^#\/bookmarks$/, pageBookmarks, "Bookmarks"],
    [/^#\/lists$/, pageLists, "Lists"],
    [/^#\/list\/(\d+)$/, pageList, "List"],
    [/^#\/settings$/, pageSettings, "Settings"],
    [/^#\/password$/, pagePassword, "Password"],
    [/^#\/admin$/, pageAdmin, "Users"],
  ];

  let firstRoute = true;
  async function route() {
    const hash = location.hash || "#/";
    clearAlert();
    // A note outlives a page change only when the change came with it (e.g. "Password changed.").
    if (Date.now() - noteAt > 1000) $("note").textContent = "";
    if (carry) showAlert(carry);
    carry = null;
    if (!me && hash !== "#/login") {
      wanted = hash;
      return go("#/login");
    }
    if (me && me.must_change_password && hash !== "#/password") return go("#/password");
    live = null;
    onNotified = null;
    markNav();
    const view = h("section", { class: "page" });
    main.replaceChildren(view);
    main.setAttribute("aria-busy", "true");
    const found = ROUTES.find(([re]) => re.test(hash));
    if (!found) {
      view.append(heading("Not found"), h("p", {}, "There is no page here. "), h("a", { href: "#/" }, "Go home"));
      return;
    }
    const [re, page, title] = found;
    document.title = title + " · msm";
    const args = hash.match(re).slice(1).map((a) => (a == null ? a : decodeURIComponent(a)));
    try {
      await page(view, ...args);
    } catch (e) {
      if (view.isConnected) showError(e);
    }
    if (view.isConnected) {
      // Which page is shown, for scripts: the hash changes before its page is rendered.
      main.dataset.route = hash;
      main.setAttribute("aria-busy", "false");
    }
    if (!firstRoute && view.isConnected) {
      const h1 = view.querySelector("h1");
      if (h1 && !view.contains(document.activeElement)) h1.focus({ preventScroll: true });
    }
    firstRoute = false;
  }

  // ---- posts ----

  function timeEl(ms) {
    const d = new Date(ms);
    // A remote node's clock is not trusted: a time a Date cannot hold shows as unknown.
    if (isNaN(d.getTime())) return h("time", {}, "unknown time");
    const today = d.toDateString() === new Date().toDateString();
    const text = today
      ? d.toLocaleTimeString(undefined, { hour: "2-digit", minute: "2-digit" })
      : d.toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });
    return h("time", { datetime: d.toISOString(), title: d.toLocaleString() }, text);
  }

  /** Mentions, hashtags and http(s) addresses in post text, by the node's rules (proto/text.rs):
   * a mention or tag does not follow a word character (nor `/`, `.`, `=` or `&`, `)`), a tag
   * is not all digits, a URL loses trailing punctuation. */
  const SPANS =
    /(^|[^\p{L}\p{N}_/.=])@([a-z0-9_](?:[a-z0-9_.-]*[a-z0-9_])?)(?:@([\p{L}\p{N}](?:[\p{L}\p{N}.-]*[\p{L}\p{N}])?))?|(^|[^\p{L}\p{M}\p{N}_&/)=])[#＃]([\p{L}\p{M}\p{N}_][\p{L}\p{M}\p{N}_·・\u200c]*)|(^|[^\p{L}\p{N}_])(https?:\/\/[^\s<>"\p{Cc}]*[^\s<>"\p{Cc}.,;:!?')\]])/giu;
  /** Longest linked URL and tag, as the node has them (MAX_URL_BYTES, MAX_TAG_BYTES). */
  const MAX_URL = 2000;
  const MAX_TAG = 64;
  const tagHref = (tag) => "#/tag/" + enc1(tag.toLowerCase());

  /** Post text with mentions, tags and links as links; the rest stays text. `author` gives
   * the domain of a bare `@user`. Its direction comes from its first strong letter, so Hebrew
   * and Arabic posts read right to left. */
  function textEl(text, author) {
    const d = h("div", { class: "text", dir: "auto" });
    const home = author ? author.slice(author.lastIndexOf("@") + 1) : location.hostname;
    let last = 0;
    for (const m of text.matchAll(SPANS)) {
      const lead = m[1] ?? m[4] ?? m[6] ?? "";
      const at = m.index + lead.length;
      const raw = m[0].slice(lead.length);
      let link = null;
      if (m[2] != null) {
        const addr = (m[2] + "@" + (m[3] || home)).toLowerCase();
        link = h("a", { href: profileHref(addr), class: "mention", title: addr }, raw);
      } else if (m[5] != null) {
        if (!/^\d+$/.test(m[5]) && enc.encode(m[5]).length <= MAX_TAG) link = h("a", { href: tagHref(m[5]), class: "hashtag" }, raw);
      } else if (raw.length <= MAX_URL) {
        link = h("a", { href: raw, rel: "noopener nofollow ugc", target: "_blank", referrerpolicy: "no-referrer" }, raw);
      }
      if (!link) continue;
      d.append(text.slice(last, at), link);
      last = at + raw.length;
    }
    d.append(text.slice(last));
    return d;
  }

  /** Posts longer than this many characters or lines start collapsed behind "Show more". */
  const LONG_CHARS = 500;
  const LONG_LINES = 12;
  /** The post text (a list of nodes), collapsed with a "Show more" button when it is long. */
  function longTextEl(text, author) {
    const d = textEl(text, author);
    if (text.length <= LONG_CHARS && text.split("\n").length <= LONG_LINES) return [d];
    d.classList.add("collapsed");
    d.id = "t" + Math.random().toString(36).slice(2);
    const more = h("button", { type: "button", class: "act more-text", "aria-expanded": "false", "aria-controls": d.id }, "Show more");
    more.addEventListener("click", () => {
      const open = d.classList.toggle("collapsed") === false;
      more.setAttribute("aria-expanded", String(open));
      more.textContent = open ? "Show less" : "Show more";
    });
    return [d, more];
  }

  /** "alice@a.test: the first words…", naming a post in a button's label. */
  function postLabel(p) {
    const words = typeof p.text === "string" ? p.text.replace(/\s+/g, " ").trim() : "";
    const cut = words.length > 40 ? words.slice(0, 40).trimEnd() + "…" : words;
    return p.author + (cut ? ": " + cut : "");
  }

  const authorEl = (p) =>
    h(
      "a",
      { href: profileHref(p.author), class: "who" },
      // isolated: a name cannot turn the address beside it around (an unclosed U+202E)
      h("bdi", { class: "name" }, p.display_name || p.author),
      p.display_name ? h("span", { class: "addr", dir: "ltr" }, p.author) : null,
    );

  const postPath = (id) => {
    const i = id.lastIndexOf("/");
    return "/posts/" + enc1(id.slice(0, i)) + "/" + id.slice(i + 1);
  };

  /** The text and pictures of a post: behind its content warning and a "Show" button if it
   * has one. */
  function bodyEl(p) {
    const t = typeof p.text === "string" ? p.text : "";
    const pics = picsEl(p);
    const text = (t || !pics ? longTextEl(t, p.author) : []).concat(pics || []);
    if (!p.summary) return text;
    const box = h("div", { class: "cw-body", id: "c" + Math.random().toString(36).slice(2), hidden: true }, ...text);
    const show = h("button", { type: "button", class: "act show-cw", "aria-expanded": "false", "aria-controls": box.id }, "Show");
    show.addEventListener("click", () => {
      box.hidden = !box.hidden;
      show.setAttribute("aria-expanded", String(!box.hidden));
      show.textContent = box.hidden ? "Show" : "Hide";
    });
    return [h("p", { class: "cw" }, h("span", { class: "cw-label" }, "CW"), h("bdi", { dir: "auto" }, p.summary), show), box];
  }

  /** The "edited" mark: opens the versions of the post, oldest first. */
  function editedEl(p) {
    const list = h("ol", { class: "history", hidden: true, "aria-label": "Versions of this post" });
    const b = button("edited", async () => {
      if (list.hidden && !list.children.length) {
        const r = await api("GET", postPath(p.id) + "/history");
        list.append(
          ...(r.versions || []).map((v) =>
            h("li", {}, timeEl(v.time_ms), v.summary ? h("p", { class: "cw" }, h("span", { class: "cw-label" }, "CW"), h("bdi", { dir: "auto" }, v.summary)) : null, textEl(v.text || "", p.author)),
          ),
        );
      }
      list.hidden = !list.hidden;
      b.setAttribute("aria-expanded", String(!list.hidden));
    }, "act edited", "Edit history of " + postLabel(p));
    b.setAttribute("aria-expanded", "false");
    b.title = "Edited " + new Date(p.edited_ms).toLocaleString();
    return [b, list];
  }

  /** Like and repost buttons with their counts, for post `p` (the post itself, not a repost). */
  function reactions(p) {
    const about = postLabel(p);
    const out = [];
    const toggle = (what, on, off, undoOn, undoOff) => {
      let done = !!p[what + "d"];
      let n = Number(p[what + "s"]) || 0;
      const count = h("span", { class: "count" });
      const b = button("", async () => {
        const r = await api(done ? "DELETE" : "POST", postPath(p.id) + "/" + what, done ? undefined : {});
        done = !done;
        n = Math.max(0, n + (done ? 1 : -1));
        label();
        if (what === "repost" && done && live) addPost(live, r, "top");
      }, "act " + what);
      const label = () => {
        b.replaceChildren(done ? undoOn : on, count);
        count.textContent = n ? " " + n : "";
        b.setAttribute("aria-label", (done ? undoOff : off) + " " + about + (n ? " (" + n + ")" : ""));
        b.setAttribute("aria-pressed", String(done));
      };
      label();
      return b;
    };
    out.push(toggle("like", "Like", "Like", "Unlike", "Unlike"));
    out.push(bookmarkButton(p, about));
    // only a public post can be reposted (the node answers 422 to the others)
    if (p.audience === "public") out.push(toggle("repost", "Repost", "Repost", "Undo repost", "Undo repost of"));
    return out;
  }

  /** Bookmark / Unbookmark for post `p`: private to the viewer. */
  function bookmarkButton(p, about) {
    let on = !!p.bookmarked;
    const b = button("", async () => {
      await api(on ? "DELETE" : "POST", postPath(p.id) + "/bookmark", on ? undefined : {});
      on = !on;
      label();
    }, "act bookmark");
    const label = () => {
      b.textContent = on ? "Unbookmark" : "Bookmark";
      b.setAttribute("aria-label", (on ? "Remove the bookmark of " : "Bookmark ") + about);
      b.setAttribute("aria-pressed", String(on));
    };
    label();
    return b;
  }

  /** Edits one's own post in place: text and content warning, then shows the new version. */
  function editForm(a, p) {
    const ta = h("textarea", { name: "text", dir: "auto", rows: 3, value: p.text || "", "aria-label": "New text" });
    const cw = h("input", { name: "summary", dir: "auto", value: p.summary || "", placeholder: "Content warning (optional)", "aria-label": "Content warning" });
    const form = h(
      "form",
      { class: "edit-form" },
      cw,
      ta,
      h("div", { class: "row" }, h("button", { type: "submit", class: "primary" }, "Save"), button("Cancel", () => form.replaceWith(a))),
    );
    onSubmit(form, async () => {
      await api("PUT", "/posts/" + p.seq, { text: ta.value, summary: cw.value.trim() });
      const r = await api("GET", "/thread/" + enc1(p.author) + "/" + p.seq);
      const fresh = postEl(Object.assign({}, r.post || p, { cursor: p.cursor }));
      form.replaceWith(fresh);
      note("Edited; the new text travels to your readers.");
    });
    a.replaceWith(form);
    ta.focus();
  }

  function postEl(p) {
    const a = h("article", { class: "post " + (p.kind || "post"), "data-id": p.id });
    if (p.cursor != null) a.dataset.cursor = p.cursor;
    // A discover post (from the firehose, not stored as a message here) has no thread page.
    const discovered = p.via === "firehose";
    const when = discovered ? h("span", { class: "when" }, timeEl(p.time_ms)) : h("a", { href: threadHref(p.id), class: "when" }, timeEl(p.time_ms));
    a.append(h("header", {}, avatarEl(p.avatar), authorEl(p), when));
    if (p.kind === "reply" && p.refers_to) {
      a.append(h("p", { class: "context" }, "↩ in reply to ", h("a", { href: threadHref(p.refers_to) }, p.refers_to.slice(0, p.refers_to.lastIndexOf("/")))));
    }
    if (p.kind === "repost" && p.refers_to) {
      const q = h("blockquote", { class: "quoted" }, h("span", { class: "muted" }, "Loading " + p.refers_to));
      a.append(h("p", { class: "context" }, "↻ reposted"), q);
      fillQuoted(q, p.refers_to);
    }
    if (typeof p.text === "string") a.append(...[bodyEl(p)].flat());
    if (discovered) {
      a.append(discoverActs(p));
      return a;
    }
    const acts = h("div", { class: "actions" });
    if (p.audience === "followers") acts.append(h("span", { class: "tag" }, "followers only"));
    if (p.audience === "direct") acts.append(h("span", { class: "tag" }, "direct"));
    const repost = p.kind === "repost" && p.refers_to;
    const target = repost ? p.refers_to : p.id;
    const about = postLabel(p);
    acts.append(h("a", { href: threadHref(target), class: "act", "aria-label": "Reply to " + about }, "Reply"));
    // a repost's likes and reposts are those of the post it repeats, under the quote
    if (!repost) acts.append(...reactions(p));
    let history = null;
    if (p.edited_ms) {
      const [mark, list] = editedEl(p);
      acts.append(mark);
      history = list;
    }
    if (me && p.author === me.address) {
      if (!repost) acts.append(button("Edit", () => editForm(a, p), "act", "Edit your post " + about));
      acts.append(
        button(
          repost ? "Undo repost" : "Delete",
          async () => {
            if (!repost && !confirm("Delete this post? Your followers' nodes are told to delete it too.")) return;
            await api("DELETE", "/posts/" + p.seq);
            a.remove();
            note(repost ? "Repost undone." : "Deleted.");
          },
          "act danger",
          (repost ? "Undo your repost " : "Delete your post ") + about,
        ),
      );
    }
    a.append(acts);
    if (history) a.append(history);
    return a;
  }

  /** A discover post's actions: where it came from, and following its author. */
  function discoverActs(p) {
    const acts = h("div", { class: "actions" });
    const title = "Kept from the hub's public stream; " + (p.verified ? "the author's signature was checked here." : "not checked against the author's key.");
    acts.append(h("span", { class: "tag", title }, p.verified ? "via firehose" : "via firehose · unverified"));
    if (me && p.author !== me.address) {
      acts.append(
        button("Follow " + p.author, async (b) => {
          const r = await api("POST", "/follows", { address: p.author });
          note(r.state === "active" ? "You follow " + p.author + "." : p.author + " is pending: " + (r.note || "the node keeps trying."));
          b.replaceWith(h("span", { class: "tag" }, "Following"));
        }, "act follow"),
      );
    }
    return acts;
  }

  function fillQuoted(q, id) {
    if (!quoted.has(id)) {
      const i = id.lastIndexOf("/");
      quoted.set(
        id,
        api("GET", "/thread/" + enc1(id.slice(0, i)) + "/" + id.slice(i + 1)).then(
          (r) => r.post,
          () => null,
        ),
      );
    }
    quoted.get(id).then((p) => {
      if (!p) {
        q.replaceChildren("Not known on this node, or deleted: ", h("a", { href: threadHref(id) }, id));
        return;
      }
      q.replaceChildren(
        h("header", {}, avatarEl(p.avatar), authorEl(p), h("a", { href: threadHref(p.id), class: "when" }, timeEl(p.time_ms))),
        ...[bodyEl(p)].flat(),
        h("div", { class: "actions" }, ...reactions(p)),
      );
    });
  }

  /** A list of posts keyed by id, so a post shows once however often it arrives. */
  function feed(id, label) {
    const el = h("div", { id, class: "feed", role: "feed", "aria-label": label });
    el.ids = new Map();
    return el;
  }

  /** Adds a post: "end" appends (pages come newest first); "top" places it by cursor. */
  function addPost(feed, p, where) {
    if (!p || typeof p.id !== "string") return;
    const had = feed.ids.get(p.id);
    const el = had && (p.cursor == null || had.dataset.cursor) ? null : postEl(p);
    if (!el) return;
    feed.ids.set(p.id, el);
    // The timeline's copy (with cursor and display name) replaces the answer to a post.
    if (had) return had.replaceWith(el);
    if (where === "end") return feed.append(el);
    // Newest first: before the first post with an older cursor. A post without a cursor (one
    // just written here) counts as newest until the stream names its cursor.
    const kids = [...feed.children].filter((c) => c.dataset.cursor != null);
    if (p.cursor == null || !kids.length || Number(kids[0].dataset.cursor) < p.cursor) return feed.prepend(el);
    const older = kids.find((c) => Number(c.dataset.cursor) < p.cursor);
    if (older) feed.insertBefore(el, older);
    else feed.append(el);
  }

  function dropPost(feed, id) {
    const el = feed.ids.get(id);
    if (el) el.remove();
    feed.ids.delete(id);
  }

  /** A button that loads the next page with `load(cursor)` until there is none. */
  function pager(load, first) {
    let cursor = first;
    const b = button("Older", async () => {
      cursor = await load(cursor);
      b.hidden = cursor == null;
    }, "more");
    b.hidden = cursor == null;
    return b;
  }

  // ---- compose ----

  /** Where the half-written post of this account (and this reply) is kept in localStorage. */
  const draftKey = (replyTo) => "msm.draft:" + (me ? me.address : "") + (replyTo ? ":" + replyTo : "");
  /** Most drafts kept per browser; the oldest go first. */
  const MAX_DRAFTS = 50;
  function saveDraft(key, text) {
    try {
      if (!text.trim()) return localStorage.removeItem(key);
      localStorage.setItem(key, text);
      const keys = Object.keys(localStorage).filter((k) => k.startsWith("msm.draft:"));
      if (keys.length > MAX_DRAFTS) localStorage.removeItem(keys.find((k) => k !== key));
    } catch (_) {
      // storage full or turned off: the draft lives as long as the page
    }
  }
  function loadDraft(key) {
    try {
      return localStorage.getItem(key) || "";
    } catch (_) {
      return "";
    }
  }

  /** The post form; a reply starts with its parent's audience. */
  function composer({ replyTo, audience: parentAudience, onPosted }) {
    const key = draftKey(replyTo);
    const ta = h("textarea", {
      id: "compose",
      name: "text",
      dir: "auto",
      value: loadDraft(key),
      rows: replyTo ? 2 : 3,
      placeholder: replyTo ? "Write a reply" : "What is happening at home?",
      "aria-label": replyTo ? "Reply text" : "Post text",
      "aria-describedby": "counter",
    });
    const counter = h("span", { id: "counter", class: "counter" });
    const audience = h(
      "select",
      { name: "audience", "aria-label": "Who sees it" },
      h("option", { value: "public" }, "Public"),
      h("option", { value: "followers" }, "Followers"),
      h("option", { value: "direct" }, "Direct (only the people mentioned)"),
    );
    if (parentAudience === "followers" || parentAudience === "direct") audience.value = parentAudience;
    const cw = h("input", {
      name: "summary",
      class: "cw-input",
      dir: "auto",
      maxlength: 500,
      hidden: true,
      placeholder: "Content warning: what the post is about",
      "aria-label": "Content warning",
    });
    const cwToggle = h("button", { type: "button", class: "act cw-toggle", "aria-pressed": "false", title: "Hide the text behind a content warning" }, "CW");
    cwToggle.addEventListener("click", () => {
      cw.hidden = !cw.hidden;
      cwToggle.setAttribute("aria-pressed", String(!cw.hidden));
      if (!cw.hidden) cw.focus();
    });
    const btn = h("button", { type: "submit", id: "post-button", class: "primary" }, replyTo ? "Reply" : "Post");
    const pics = picturePicker(() => update());
    const form = h(
      "form",
      { class: "compose card" },
      cw,
      ta,
      pics.list,
      h("div", { class: "row" }, counter, pics.pick, cwToggle, audience, btn),
      h("small", { class: "muted hint" }, "Ctrl+Enter posts"),
    );
    const update = () => {
      const n = enc.encode(ta.value).length;
      const over = n - maxBytes;
      counter.textContent = over > 0 ? `${n} / ${maxBytes} bytes: ${over} too many` : `${n} / ${maxBytes} bytes`;
      counter.classList.toggle("over", over > 0);
      btn.disabled = over > 0 || (ta.value.trim() === "" && !pics.count());
    };
    ta.addEventListener("input", update);
    ta.addEventListener("input", () => saveDraft(key, ta.value));
    ta.addEventListener("keydown", (ev) => {
      if (ev.key === "Enter" && (ev.ctrlKey || ev.metaKey)) {
        ev.preventDefault();
        if (!btn.disabled) form.requestSubmit(btn);
      }
    });
    form.addEventListener("settled", update);
    onSubmit(form, async () => {
      const body = { text: ta.value, audience: audience.value };
      if (replyTo) body.reply_to = replyTo;
      if (!cw.hidden && cw.value.trim()) body.summary = cw.value.trim();
      const media = await pics.media();
      if (media.length) body.media = media;
      const p = await api("POST", "/posts", body);
      pics.clear();
      ta.value = "";
      cw.value = "";
      cw.hidden = true;
      cwToggle.setAttribute("aria-pressed", "false");
      saveDraft(key, "");
      onPosted(p);
      note(replyTo ? "Replied." : "Posted.");
    });
    update();
    return form;
  }

  // ---- pictures ----

  /** Pictures a post carries at most (the node's limit). */
  const MAX_PICS = 4;
  /** Longest side a post's picture is sent at, an avatar's and a header's; larger ones are
   * made smaller here first (a GIF is sent as it is, for its animation). */
  const MAX_SIDE = 2048;
  const AVATAR_SIDE = 400;
  const HEADER_SIDE = 1500;
  /** Largest upload the node takes (media.max_upload_bytes): a larger still picture is re-encoded. */
  const MAX_UPLOAD = 8 * 1024 * 1024;
  /** Longest description of a picture, in bytes (the node's limit). */
  const MAX_ALT = 1500;
  const PIC_TYPES = "image/jpeg,image/png,image/webp,image/gif";
  /** Side of the tiny canvas a blurhash is computed from, and of the one it is drawn into. */
  const BLUR_SIDE = 32;

  // Blurhash (the public algorithm of github.com/woltapp/blurhash): a few cosine components
  // of the picture in 20-odd base-83 characters, drawn blurred while the picture loads.
  const B83 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz#$%*+,-.:;=?@[]^_{|}~";
  const toLinear = (v) => ((v /= 255) <= 0.04045 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4);
  const toSrgb = (v) => {
    v = Math.max(0, Math.min(1, v));
    return Math.round((v <= 0.0031308 ? v * 12.92 : 1.055 * v ** (1 / 2.4) - 0.055) * 255);
  };
  const signPow = (v, e) => Math.sign(v) * Math.abs(v) ** e;
  const b83 = (n, len) => {
    let s = "";
    for (let i = len - 1; i >= 0; i--) s += B83[Math.floor(n / 83 ** i) % 83];
    return s;
  };
  const cosines = (n, size) => Array.from({ length: size }, (_, x) => Math.cos((Math.PI * n * x) / size));

  /** The blurhash of RGBA pixels `px` (w × h), with nx × ny components. */
  function blurhash(px, w, h, nx = 4, ny = 3) {
    const lin = Array.from(px, (v, i) => (i % 4 === 3 ? 0 : toLinear(v)));
    const f = [];
    for (let j = 0; j < ny; j++) {
      for (let i = 0; i < nx; i++) {
        const cx = cosines(i, w);
        const cy = cosines(j, h);
        const c = [0, 0, 0];
        for (let y = 0; y < h; y++) {
          for (let x = 0; x < w; x++) {
            const k = cx[x] * cy[y];
            const o = 4 * (y * w + x);
            for (let n = 0; n < 3; n++) c[n] += k * lin[o + n];
          }
        }
        f.push(c.map((v) => (v * (i || j ? 2 : 1)) / (w * h)));
      }
    }
    const [dc, ...ac] = f;
    const q = ac.length ? Math.max(0, Math.min(82, Math.floor(Math.max(...ac.flat().map(Math.abs)) * 166 - 0.5))) : 0;
    const max = (q + 1) / 166;
    let hash = b83(nx - 1 + (ny - 1) * 9, 1) + b83(q, 1) + b83((toSrgb(dc[0]) << 16) + (toSrgb(dc[1]) << 8) + toSrgb(dc[2]), 4);
    for (const c of ac) {
      const [r, g, b] = c.map((v) => Math.max(0, Math.min(18, Math.floor(signPow(v / max, 0.5) * 9 + 9.5))));
      hash += b83(r * 361 + g * 19 + b, 2);
    }
    return hash;
  }

  /** `hash` drawn as ImageData of w × h pixels, or null when it is not a well-formed blurhash. */
  function unblur(hash, w, h) {
    if (typeof hash !== "string" || !/^[0-9A-Za-z#$%*+,\-.:;=?@[\]^_{|}~]{6,100}$/.test(hash)) return null;
    const d = (s) => [...s].reduce((n, ch) => n * 83 + B83.indexOf(ch), 0);
    const nx = (d(hash[0]) % 9) + 1;
    const ny = Math.floor(d(hash[0]) / 9) + 1;
    if (hash.length !== 4 + 2 * nx * ny) return null;
    const max = (d(hash[1]) + 1) / 166;
    const v0 = d(hash.slice(2, 6));
    const cs = [[v0 >> 16, (v0 >> 8) & 255, v0 & 255].map(toLinear)];
    for (let k = 1; k < nx * ny; k++) {
      const v = d(hash.slice(4 + 2 * k, 6 + 2 * k));
      cs.push([Math.floor(v / 361), Math.floor(v / 19) % 19, v % 19].map((q) => signPow((q - 9) / 9, 2) * max));
    }
    const out = new ImageData(w, h);
    const cx = Array.from({ length: nx }, (_, i) => cosines(i, w));
    const cy = Array.from({ length: ny }, (_, j) => cosines(j, h));
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        const c = [0, 0, 0];
        for (let j = 0; j < ny; j++) {
          for (let i = 0; i < nx; i++) {
            const k = cx[i][x] * cy[j][y];
            for (let n = 0; n < 3; n++) c[n] += cs[i + j * nx][n] * k;
          }
        }
        const o = 4 * (y * w + x);
        out.data.set([...c.map(toSrgb), 255], o);
      }
    }
    return out;
  }

  /** A canvas holding `bmp` with its long side at most `side` (on white: JPEG has no alpha). */
  function shrunk(bmp, side) {
    const s = Math.min(1, side / Math.max(bmp.width, bmp.height));
    const c = h("canvas", { width: Math.max(1, Math.round(bmp.width * s)), height: Math.max(1, Math.round(bmp.height * s)) });
    const g = c.getContext("2d", { willReadFrequently: side <= BLUR_SIDE });
    g.fillStyle = "#fff";
    g.fillRect(0, 0, c.width, c.height);
    g.imageSmoothingQuality = "high";
    g.drawImage(bmp, 0, 0, c.width, c.height);
    return c;
  }

  const jpeg = (bmp, side) =>
    new Promise((ok, no) => shrunk(bmp, side).toBlob((b) => (b ? ok(b) : no(new Error("This browser could not make the picture smaller."))), "image/jpeg", 0.85));

  function hashOf(bmp) {
    const c = shrunk(bmp, BLUR_SIDE);
    return blurhash(c.getContext("2d").getImageData(0, 0, c.width, c.height).data, c.width, c.height);
  }

  /** Uploads a picture the person chose, made smaller here when its long side is over `side`
   * (upright: the browser applies its EXIF orientation); `seen(bitmap)` gets it decoded first.
   * Resolves to the node's answer `{id, url, width, height, ...}`. */
  async function uploadPicture(file, side, seen) {
    let bmp = null;
    try {
      bmp = await createImageBitmap(file, { imageOrientation: "from-image" });
    } catch (_) {
      // not a picture this browser reads: the node's answer says what is wrong with it
    }
    try {
      const still = bmp && file.type !== "image/gif";
      let blob = file;
      if (bmp && seen) seen(bmp);
      if (still && (Math.max(bmp.width, bmp.height) > side || file.size > MAX_UPLOAD)) blob = await jpeg(bmp, side);
      const r = await api("POST", "/media", blob);
      // A photo turned by its EXIF orientation goes again upright, so every reader sees it right.
      return still && blob === file && r.orientation > 1 ? await api("POST", "/media", await jpeg(bmp, side)) : r;
    } finally {
      if (bmp) bmp.close();
    }
  }

  /** The "Add pictures" control of the composer and the chosen pictures, each with its
   * preview, description, remove button and upload state. `changed()` runs when the set changes. */
  function picturePicker(changed) {
    const items = [];
    const list = h("ul", { class: "pic-list", "aria-label": "Pictures" });
    const input = h("input", { type: "file", accept: PIC_TYPES, multiple: true, class: "sr-only" });
    const pick = h("label", { class: "act pick", title: "Up to " + MAX_PICS + " pictures" }, input, "Add pictures");
    const renumber = () => {
      items.forEach((it, i) => it.rm.setAttribute("aria-label", "Remove picture " + (i + 1)));
      changed();
    };
    const add = (file) => {
      const it = { id: null, hash: "", error: "" };
      it.alt = h("textarea", { name: "alt", rows: 2, maxlength: MAX_ALT, dir: "auto" });
      const thumb = h("div", { class: "thumb" });
      const status = h("small", { class: "pic-status muted", role: "status" }, "Uploading…");
      const li = h("li", { class: "pic-item" }, thumb, h("div", { class: "pic-meta" }, h("label", { class: "field" }, h("span", {}, "Describe this picture for people who can't see it"), it.alt), status));
      it.rm = h("button", { type: "button", class: "x", onclick: () => (items.splice(items.indexOf(it), 1), li.remove(), renumber()) }, "×");
      li.append(it.rm);
      it.done = uploadPicture(file, MAX_SIDE, (bmp) => {
        thumb.append(shrunk(bmp, 96));
        it.hash = hashOf(bmp);
      }).then(
        (r) => {
          it.id = r.id;
          status.textContent = "Uploaded.";
          li.dataset.state = "done";
        },
        (e) => {
          it.error = e.message;
          status.textContent = e.message;
          status.classList.replace("muted", "danger");
          li.dataset.state = "error";
        },
      );
      items.push(it);
      list.append(li);
    };
    input.addEventListener("change", () => {
      const files = [...input.files];
      input.value = "";
      const room = MAX_PICS - items.length;
      if (files.length > room) showAlert("A post carries up to " + MAX_PICS + " pictures: " + (files.length - room) + " left out.");
      files.slice(0, Math.max(0, room)).forEach(add);
      renumber();
    });
    return {
      list,
      pick,
      count: () => items.length,
      /** Waits for the uploads; the post's `media`, or an error saying which picture is wrong. */
      async media() {
        await Promise.all(items.map((it) => it.done));
        return items.map((it, i) => {
          if (!it.id) throw new Error(`Picture ${i + 1} was not uploaded: ${it.error.replace(/\.?$/, ".")} Remove it to post.`);
          const alt = it.alt.value.trim();
          if (enc.encode(alt).length > MAX_ALT) throw new Error(`The description of picture ${i + 1} is over ${MAX_ALT} bytes.`);
          return { id: it.id, alt, blurhash: it.hash };
        });
      },
      clear() {
        items.length = 0;
        list.replaceChildren();
        changed();
      },
    };
  }

  /** A picture URL from the node: its own /media/ path only, never another site's address. */
  const mediaUrl = (u) => (typeof u === "string" && /^\/media\/[\w.-]+$/.test(u) ? u : null);
  /** A width or height from a view, or 0 when it is not a plausible one. */
  const dim = (n) => (Number.isInteger(n) && n > 0 && n <= 65535 ? n : 0);

  const avatarEl = (u, side = 40) =>
    mediaUrl(u) ? h("img", { class: "avatar", src: u, alt: "", width: side, height: side, loading: "lazy", decoding: "async" }) : null;

  /** A post's pictures as a grid of buttons that open the viewer, or null when it has none. */
  function picsEl(p) {
    const list = (Array.isArray(p.media) ? p.media : [])
      .filter((m) => m && mediaUrl(m.url))
      .slice(0, MAX_PICS)
      .map((m) => ({ url: m.url, alt: typeof m.alt === "string" ? m.alt : "", w: dim(m.width) || 4, h: dim(m.height) || 3, hash: m.blurhash }));
    if (!list.length) return null;
    const grid = h("div", { class: "pics n" + list.length });
    list.forEach((m, i) => {
      const img = h("img", { src: m.url, alt: m.alt, width: m.w, height: m.h, loading: "lazy", decoding: "async" });
      const px = unblur(m.hash, BLUR_SIDE, BLUR_SIDE);
      const blur = px && h("canvas", { class: "blur", width: BLUR_SIDE, height: BLUR_SIDE, "aria-hidden": "true" });
      if (blur) blur.getContext("2d").putImageData(px, 0, 0);
      const cell = h(
        "button",
        { type: "button", class: "pic", "aria-label": m.alt ? null : `Picture ${i + 1} of ${list.length}, not described`, onclick: () => viewer(list, i, cell) },
        blur,
        img,
        m.alt ? h("span", { class: "alt-badge", "aria-hidden": "true" }, "ALT") : null,
      );
      // One picture keeps its shape (within limits); the box has it before the bytes come.
      if (list.length === 1) cell.style.aspectRatio = String(Math.min(3, Math.max(0.5, m.w / m.h)));
      img.addEventListener("load", () => cell.classList.add("loaded"));
      grid.append(cell);
    });
    return grid;
  }

  /** The picture viewer: a modal dialog over the page, one picture of `list` at a time with its
   * description; ←/→ and swipes move, Escape and × close, and the focus goes back to `opener`. */
  function viewer(list, at, opener) {
    const img = h("img", { alt: "", draggable: "false" });
    const cap = h("figcaption", { dir: "auto" });
    const count = h("span", { class: "view-count" });
    const step = (d) => {
      at = (at + d + list.length) % list.length;
      const m = list[at];
      Object.assign(img, { src: m.url, alt: m.alt, width: m.w, height: m.h });
      cap.textContent = m.alt || "No description.";
      count.textContent = list.length > 1 ? `${at + 1} / ${list.length}` : "";
    };
    const nav = (label, d, text) => h("button", { type: "button", class: "x", "aria-label": label, hidden: list.length < 2, onclick: () => step(d) }, text);
    const close = h("button", { type: "button", class: "x", "aria-label": "Close", onclick: () => dlg.close() }, "×");
    const dlg = h(
      "dialog",
      { id: "viewer", class: "viewer", role: "dialog", "aria-modal": "true", "aria-label": "Pictures" },
      h("div", { class: "view-bar" }, count, close),
      h("figure", {}, img, cap),
      h("div", { class: "view-bar" }, nav("Previous picture", -1, "‹"), nav("Next picture", 1, "›")),
    );
    dlg.addEventListener("keydown", (ev) => {
      if (ev.key === "ArrowLeft" || ev.key === "ArrowRight") step(ev.key === "ArrowLeft" ? -1 : 1);
      else if (ev.key === "Escape") dlg.close();
      else if (ev.key === "Tab") {
        // the focus stays in the dialog: from the last control to the first and back
        const f = [...dlg.querySelectorAll("button:not([hidden])")];
        const to = ev.shiftKey ? (document.activeElement === f[0] ? f[f.length - 1] : null) : document.activeElement === f[f.length - 1] ? f[0] : null;
        if (to) to.focus();
        else return;
      } else return;
      ev.preventDefault();
    });
    let x0 = null;
    img.addEventListener("pointerdown", (ev) => (x0 = ev.clientX));
    img.addEventListener("pointerup", (ev) => {
      const dx = x0 == null ? 0 : ev.clientX - x0;
      x0 = null;
      if (Math.abs(dx) > 40) step(dx < 0 ? 1 : -1);
    });
    dlg.addEventListener("click", (ev) => ev.target === dlg && dlg.close());
    dlg.addEventListener("close", () => {
      dlg.remove();
      opener.focus();
    });
    step(0);
    document.body.append(dlg);
    dlg.showModal();
    close.focus();
  }

  /** The avatar and header pickers of the settings page; `fill(profile)` shows the current ones. */
  function portraitCard() {
    const part = (kind, label, side, hint) => {
      const preview = h("img", { id: kind + "-preview", class: kind, alt: "", hidden: true });
      const input = h("input", { type: "file", id: kind + "-input", accept: PIC_TYPES, class: "sr-only" });
      const show = (u) => {
        preview.hidden = !mediaUrl(u);
        if (!preview.hidden) preview.src = u;
        rm.hidden = preview.hidden;
      };
      const rm = button("Remove " + kind, async () => {
        await api("PUT", "/profile", { [kind]: null });
        show(null);
        note(label + " removed.");
      }, "act danger");
      input.addEventListener("change", async () => {
        const file = input.files[0];
        input.value = "";
        if (!file) return;
        clearAlert();
        try {
          const r = await uploadPicture(file, side);
          await api("PUT", "/profile", { [kind]: r.id });
          show(r.url);
          note(label + " saved; it travels to your followers.");
        } catch (e) {
          showError(e);
        }
      });
      show(null);
      const el = h("div", { class: "portrait" }, h("h3", {}, label), preview, h("small", { class: "muted" }, hint), h("div", { class: "row" }, h("label", { class: "act pick" }, input, "Choose " + kind), rm));
      return [el, show];
    };
    const [a, showA] = part("avatar", "Avatar", AVATAR_SIDE, "Shown round beside your posts.");
    const [b, showB] = part("header", "Header", HEADER_SIDE, "A wide picture at the top of your profile.");
    const card = h("div", { class: "card", id: "portrait-form" }, a, b);
    card.fill = (p) => (showA(p.avatar), showB(p.header));
    return card;
  }

  // ---- pages ----

  function pageLogin(view) {
    if (me) return go("#/");
    view.classList.add("narrow");
    const name = h("input", { name: "name", autocomplete: "username", autocapitalize: "none", spellcheck: "false", required: true });
    const form = h(
      "form",
      { id: "login-form", class: "card" },
      field("Name", name),
      field("Password", h("input", { name: "password", type: "password", autocomplete: "current-password", required: true })),
      h("button", { type: "submit", class: "primary" }, "Log in"),
    );
    onSubmit(form, async (fd) => {
      const r = await api("POST", "/session", { name: String(fd.get("name")).trim(), password: fd.get("password") });
      me = r.user;
      try {
        applySession(await api("GET", "/session"));
      } catch (_) {
        applySession({ user: r.user });
      }
      const next = wanted && wanted !== "#/login" ? wanted : "#/";
      wanted = null;
      go(me.must_change_password ? "#/password" : next);
    });
    view.append(
      h("h1", { tabindex: -1, class: "brand-big" }, "msm"),
      form,
      h("p", { class: "muted" }, "The owner of this node makes the accounts. Your address is name@this-node's-domain."),
    );
    name.focus();
  }

  async function pageHome(view) {
    unseen = 0;
    renderBadge();
    const tl = feed("timeline", "Timeline");
    live = tl;
    view.append(
      h("h1", { tabindex: -1, class: "sr-only" }, "Home"),
      composer({ onPosted: (p) => addPost(tl, p, "top") }),
      tl,
      h("p", { class: "empty muted" }, "Nothing here yet. ", h("a", { href: "#/people" }, "Follow someone"), " or write the first post."),
    );
    const load = async (before) => {
      const r = await api("GET", "/timeline?limit=" + PAGE + (before == null ? "" : "&before=" + before));
      for (const p of r.posts || []) addPost(tl, p, "end");
      return r.next_before;
    };
    const next = await load(null);
    if (view.isConnected) view.append(pager(load, next));
  }

  async function pageDiscover(view) {
    const list = feed("discover", "Discover");
    view.append(
      heading("Discover"),
      h("p", { class: "muted" }, "Public posts of people nobody here follows, as the hub's stream brought them. Only the newest are kept."),
      list,
      h("p", { class: "empty muted" }, "Nothing yet: this node keeps no posts from the public stream, or none came."),
    );
    const load = async (before) => {
      const r = await api("GET", "/discover?limit=" + PAGE + (before == null ? "" : "&before=" + before));
      for (const p of r.posts || []) addPost(list, p, "end");
      return r.next_before;
    };
    const next = await load(null);
    if (view.isConnected) view.append(pager(load, next));
  }

  async function pageThread(view, author, seq) {
    const id = author + "/" + seq;
    view.append(heading("Post"));
    const r = await api("GET", "/thread/" + enc1(author) + "/" + seq);
    const replies = feed("replies", "Replies");
    if (!r.post) {
      view.append(h("p", { class: "muted" }, "This post is not known on this node, or it was deleted."));
    } else {
      view.append(postEl(r.post));
      view.append(composer({ replyTo: id, audience: r.post.audience, onPosted: (p) => addPost(replies, p, "end") }));
    }
    view.append(h("h2", {}, "Replies"), replies, h("p", { class: "empty muted" }, "No replies here yet."));
    for (const p of r.replies || []) addPost(replies, p, "end");
  }

  async function pageProfile(view, addr) {
    addr = addr.trim();
    const card = h("div", { class: "card profile" });
    view.append(card);
    let prof = null;
    try {
      prof = await api("GET", "/users/" + enc1(addr));
    } catch (e) {
      if (e.status !== 404 && e.status !== 405) throw e;
    }
    const name = (prof && prof.display_name) || addr;
    if (prof && mediaUrl(prof.header)) card.append(h("img", { class: "header", src: prof.header, alt: "" }));
    const avatar = prof && avatarEl(prof.avatar, 80);
    if (avatar) card.append(avatar);
    card.append(heading(name));
    if (name !== addr) card.append(h("p", { class: "addr", dir: "ltr" }, addr));
    if (prof && prof.bio) card.append(h("p", { class: "bio", dir: "auto" }, prof.bio));
    if (prof) card.append(h("p", { class: "muted" }, prof.local ? "On this node." : "On another node."));
    if (addr !== (me && me.address)) {
      let followed = prof ? !!prof.followed : await isFollowing(addr);
      const fb = button("", async () => {
        if (followed) {
          await api("DELETE", "/follows/" + enc1(addr));
          followed = false;
          note("You no longer follow " + addr + ".");
        } else {
          const r = await api("POST", "/follows", { address: addr });
          followed = true;
          note(r.state === "active" ? "You follow " + addr + "." : r.note || "Pending: the node keeps trying.");
          setTimeout(() => view.isConnected && loadPosts(), 1500);
        }
        label();
      }, "primary");
      const label = () => {
        fb.textContent = followed ? "Unfollow" : "Follow";
        fb.classList.toggle("primary", !followed);
      };
      label();
      card.append(fb);
      card.append(relationButtons(addr, prof, () => view.isConnected && loadPosts()));
    } else {
      card.append(h("a", { href: "#/settings", class: "act" }, "Edit profile"));
    }
    const box = h("div", {});
    view.append(h("h2", {}, "Posts"), box);
    const loadPosts = async () => {
      const posts = feed("posts", "Posts of " + addr);
      const load = async (before) => {
        const r = await api("GET", "/users/" + enc1(addr) + "/posts?limit=" + PAGE + (before == null ? "" : "&before=" + before));
        for (const p of r.posts || []) addPost(posts, p, "end");
        return r.next_before;
      };
      try {
        const next = await load(null);
        box.replaceChildren(posts, h("p", { class: "empty muted" }, "No posts you can see."), pager(load, next));
      } catch (e) {
        if (e.status !== 404) throw e;
        box.replaceChildren(h("p", { class: "muted" }, "Nothing is known here from " + addr + " yet. Follow them to receive their posts."));
      }
    };
    await loadPosts();
  }

  async function isFollowing(addr) {
    const r = await api("GET", "/follows");
    return (r.follows || []).some((f) => f.address === addr);
  }

  /** `user@domain` from what was typed to follow someone: the address, `@user@domain`, or a
   * profile link `https://host[:port]/@user` (the node checks the same way). */
  function followTarget(input) {
    const s = input.trim();
    const m = /^https?:\/\/([^/?#@\s]+)\/@([^/?#\s]+)\/?(?:[?#].*)?$/i.exec(s);
    if (m) return (m[2] + "@" + m[1].replace(/:\d+$/, "")).toLowerCase();
    if (/^[a-z]+:\/\//i.test(s)) throw new Error("A link to follow looks like https://their.domain/@name.");
    return s.startsWith("@") ? s.slice(1) : s;
  }

  /** Mute and block buttons for `addr` on its profile; `changed` reloads the posts. */
  function relationButtons(addr, prof, changed) {
    let muted = !!(prof && prof.muted);
    let blocked = !!(prof && prof.blocked);
    const mb = button("", async () => {
      if (muted) await api("DELETE", "/mutes/" + enc1(addr));
      else await api("POST", "/mutes", { address: addr });
      muted = !muted;
      note(muted ? "Muted " + addr + ": their posts are hidden." : "Unmuted " + addr + ".");
      label();
      changed();
    }, "act");
    mb.id = "mute-button";
    const bb = button("", async () => {
      if (!blocked && !confirm("Block " + addr + "? They stop following you, you stop following them, and their posts are hidden.")) return;
      if (blocked) await api("DELETE", "/blocks/" + enc1(addr));
      else await api("POST", "/blocks", { address: addr });
      blocked = !blocked;
      note(blocked ? "Blocked " + addr + "." : "Unblocked " + addr + ". Follow them again if you wish.");
      label();
      changed();
    }, "act danger");
    bb.id = "block-button";
    const label = () => {
      mb.textContent = muted ? "Unmute" : "Mute";
      mb.hidden = blocked;
      bb.textContent = blocked ? "Unblock" : "Block";
    };
    label();
    return h("div", { class: "relations" }, mb, bb);
  }

  /** The owner's blocked domains: list, add, remove (settings page). */
  async function domainBlocksCard() {
    const list = h("ul", { class: "people", id: "domain-blocks" });
    const input = h("input", { name: "domain", autocapitalize: "none", spellcheck: "false", autocomplete: "off", required: true });
    const form = h(
      "form",
      { class: "card", id: "domain-block-form" },
      field("Domain", input, "Nothing from this domain or its subdomains is accepted or shown on this node."),
      h("button", { type: "submit", class: "danger" }, "Block domain"),
    );
    const load = async () => {
      const r = await api("GET", "/admin/domain_blocks");
      list.replaceChildren(
        ...(r.domain_blocks || []).map((d) =>
          h(
            "li",
            {},
            h("span", {}, d.domain),
            button("Unblock", async () => {
              await api("DELETE", "/admin/domain_blocks/" + enc1(d.domain));
              note("Unblocked " + d.domain + ".");
              await load();
            }, "act"),
          ),
        ),
      );
    };
    onSubmit(form, async (fd) => {
      const r = await api("POST", "/admin/domain_blocks", { domain: String(fd.get("domain")).trim() });
      form.reset();
      note("Blocked " + r.domain + ".");
      await load();
    });
    await load();
    return h("div", { id: "blocked-domains" }, form, list);
  }

  async function pagePeople(view) {
    const input = h("input", {
      name: "address",
      type: "text",
      inputmode: "email",
      placeholder: "name@their.domain or a profile link",
      autocapitalize: "none",
      autocomplete: "off",
      spellcheck: "false",
      required: true,
    });
    const form = h(
      "form",
      { id: "follow-form", class: "card" },
      field("Follow someone by address", input),
      h("button", { type: "submit", class: "primary" }, "Follow"),
    );
    const following = h("ul", { class: "people", id: "following" });
    const followers = h("div", { id: "followers" });
    onSubmit(form, async (fd) => {
      const r = await api("POST", "/follows", { address: followTarget(String(fd.get("address"))) });
      note(r.state === "active" ? "You follow " + r.address + "." : r.address + " is pending: " + (r.note || "the node keeps trying."));
      form.reset();
      await loadLists();
    });
    const mine = h(
      "p",
      { class: "context" },
      h("a", { href: "#/bookmarks", id: "bookmarks-link" }, "Bookmarks"),
      " · ",
      h("a", { href: "#/lists", id: "lists-link" }, "Lists"),
    );
    view.append(heading("People"), mine, form, h("h2", {}, "Following"), following, h("h2", {}, "Followers"), followers);
    const loadLists = async () => {
      const [f, fl] = await Promise.all([api("GET", "/follows"), api("GET", "/followers")]);
      following.replaceChildren(
        ...(f.follows || []).map((x) =>
          h(
            "li",
            {},
            h("a", { href: profileHref(x.address) }, x.address),
            x.state !== "active" ? h("span", { class: "tag" }, x.state) : null,
            x.error ? h("small", { class: "muted" }, x.error) : null,
            button("Unfollow", async () => {
              await api("DELETE", "/follows/" + enc1(x.address));
              note("You no longer follow " + x.address + ".");
              await loadLists();
            }, "act"),
          ),
        ),
      );
      if (!following.children.length) following.append(h("li", { class: "muted" }, "You follow nobody yet."));
      const local = (fl.local || []).concat(fl.remote || []);
      const servers = fl.servers || [];
      followers.replaceChildren(h("ul", { class: "people" }, ...local.map((a) => h("li", {}, h("a", { href: profileHref(a) }, a)))));
      followers.append(h("p", {}, h("a", { href: "#/settings", class: "act" }, "Follow requests and approval")));
      if (servers.length) {
        followers.append(h("p", { class: "muted" }, "Followers on other nodes (each node subscribes once for all its people): " + servers.join(", ")));
      }
      if (!local.length && !servers.length) followers.append(h("p", { class: "muted" }, "Nobody follows you yet."));
    };
    await loadLists();
  }

  /** What a notification says its actor did. */
  const DID = {
    mention: "mentioned you",
    reply: "replied to you",
    repost: "reposted your post",
    like: "liked your post",
    follow: "followed you",
    follow_request: "asked to follow you",
  };

  function notificationEl(n) {
    const actor = h(
      "a",
      { href: profileHref(n.actor), class: "who" },
      h("bdi", { class: "name" }, n.actor_name || n.actor),
      n.actor_name ? h("span", { class: "addr", dir: "ltr" }, n.actor) : null,
    );
    const link = n.message || n.target;
    const when = link ? h("a", { href: threadHref(link), class: "when" }, timeEl(n.time_ms)) : h("span", { class: "when" }, timeEl(n.time_ms));
    const li = h("li", { class: "notification " + n.kind + (n.read ? "" : " unread"), "data-id": n.id });
    li.append(h("header", {}, actor, h("span", { class: "did" }, " " + (DID[n.kind] || n.kind)), when));
    if (typeof n.text === "string") li.append(textEl(n.text, n.actor));
    else if (n.target) li.append(h("p", { class: "context" }, h("a", { href: threadHref(n.target) }, "Your post")));
    if (n.kind === "follow_request") li.append(h("p", { class: "context" }, h("a", { href: "#/settings" }, "Accept or refuse in Settings")));
    return li;
  }

  async function pageNotifications(view) {
    const list = h("ol", { id: "notifications", class: "notifications", "aria-label": "Notifications" });
    const seen = new Set();
    view.append(
      heading("Notifications"),
      list,
      h("p", { class: "empty muted" }, "Nothing yet: mentions, replies, likes, reposts and follows show here. ", h("a", { href: "#/settings" }, "Choose which")),
    );
    const add = (n, top) => {
      if (seen.has(n.id)) return;
      seen.add(n.id);
      const el = notificationEl(n);
      if (top) list.prepend(el);
      else list.append(el);
    };
    const markRead = async (newest) => {
      if (newest == null || !unread) return;
      const r = await api("POST", "/notifications/read", { up_to: newest });
      if (typeof r.unread === "number") setUnread(r.unread);
    };
    const load = async (before) => {
      const r = await api("GET", "/notifications?limit=" + PAGE + (before == null ? "" : "&before=" + before));
      const got = r.notifications || [];
      for (const n of got) add(n, false);
      if (typeof r.unread === "number") setUnread(r.unread);
      return got.length === PAGE ? got[got.length - 1].id : null;
    };
    const next = await load(null);
    const first = list.firstElementChild;
    await markRead(first ? Number(first.dataset.id) : null);
    if (!view.isConnected) return;
    view.append(pager(load, next));
    // New ones while the page is shown go on top, and are read.
    onNotified = async () => {
      try {
        const r = await api("GET", "/notifications?limit=" + PAGE);
        for (const n of (r.notifications || []).slice().reverse()) add(n, true);
        const top = list.firstElementChild;
        await markRead(top ? Number(top.dataset.id) : null);
      } catch (_) {
        // the next event or visit will do
      }
    };
  }

  /** Which notifications come: one box a kind, and "only from people I follow". */
  async function notificationSettingsCard() {
    const s = await api("GET", "/notifications/settings");
    const off = new Set(s.off || []);
    const boxes = Object.keys(DID).map((k) => h("input", { type: "checkbox", name: k, checked: !off.has(k) }));
    const only = h("input", { type: "checkbox", name: "only_followed", checked: !!s.only_followed });
    const save = async (box) => {
      try {
        await api("PUT", "/notifications/settings", { off: boxes.filter((b) => !b.checked).map((b) => b.name), only_followed: only.checked });
        note("Notification settings saved.");
      } catch (e) {
        box.checked = !box.checked;
        showError(e);
      }
    };
    for (const b of boxes.concat(only)) b.addEventListener("change", () => save(b));
    const label = { mention: "Mentions", reply: "Replies", repost: "Reposts", like: "Likes", follow: "New followers", follow_request: "Follow requests" };
    return h(
      "div",
      { class: "card checks", id: "notification-form" },
      ...boxes.map((b) => h("label", {}, b, " " + label[b.name])),
      h("label", { class: "only" }, only, " Only from people I follow"),
    );
  }

  async function pageTag(view, tag) {
    tag = tag.replace(/^[#＃]/, "").toLowerCase();
    document.title = "#" + tag + " · msm";
    view.append(heading("#" + tag));
    await cursorFeed(view, "/tags/" + enc1(tag), "tagged", "Posts with #" + tag, "No posts with this tag are stored on this node.");
  }

  /** A feed page read from `path` (`{posts}` paged by the last post's cursor). */
  async function cursorFeed(view, path, id, label, empty) {
    const list = feed(id, label);
    view.append(list, h("p", { class: "empty muted" }, empty));
    const load = async (before) => {
      const r = await api("GET", path + "?limit=" + PAGE + (before == null ? "" : "&before=" + before));
      const posts = r.posts || [];
      for (const p of posts) addPost(list, p, "end");
      const lastOne = posts[posts.length - 1];
      return posts.length === PAGE && lastOne && lastOne.cursor != null ? lastOne.cursor : null;
    };
    const next = await load(null);
    if (view.isConnected) view.append(pager(load, next));
  }

  async function pageBookmarks(view) {
    view.append(heading("Bookmarks"));
    await cursorFeed(view, "/bookmarks", "bookmarked", "Your bookmarks", "Nothing bookmarked yet: Bookmark under a post keeps it here, for you only.");
  }

  async function pageLists(view) {
    const input = h("input", { name: "title", dir: "auto", maxlength: 100, required: true, autocomplete: "off" });
    const form = h(
      "form",
      { id: "list-form", class: "card" },
      field("New list", input, "A list is a timeline of some of the people you follow, for you only."),
      h("button", { type: "submit", class: "primary" }, "Make list"),
    );
    const lists = h("ul", { class: "people", id: "lists" });
    const load = async () => {
      const r = await api("GET", "/lists");
      lists.replaceChildren(
        ...(r.lists || []).map((l) =>
          h(
            "li",
            {},
            h("a", { href: "#/list/" + l.id, dir: "auto" }, l.title),
            h("span", { class: "muted" }, " " + l.members.length + (l.members.length === 1 ? " person" : " people")),
          ),
        ),
      );
    };
    onSubmit(form, async (fd) => {
      const r = await api("POST", "/lists", { title: String(fd.get("title")).trim() });
      form.reset();
      go("#/list/" + r.id);
    });
    view.append(heading("Lists"), form, lists);
    await load();
  }

  async function pageList(view, id) {
    const r = await api("GET", "/lists");
    const list = (r.lists || []).find((l) => String(l.id) === id);
    if (!list) throw new Error("There is no such list of yours.");
    view.append(heading(list.title));
    const input = h("input", { name: "address", placeholder: "name@their.domain (someone you follow)", autocapitalize: "none", spellcheck: "false", required: true });
    const form = h("form", { id: "list-member-form", class: "card" }, field("Add someone", input), h("button", { type: "submit", class: "primary" }, "Add"));
    const members = h("ul", { class: "people", id: "list-members" });
    const showMembers = (addrs) =>
      members.replaceChildren(
        ...addrs.map((a) =>
          h(
            "li",
            {},
            h("a", { href: profileHref(a) }, a),
            button("Remove", async () => {
              await api("DELETE", "/lists/" + id + "/members/" + enc1(a));
              go("#/list/" + id);
            }, "act", "Remove " + a + " from the list"),
          ),
        ),
      );
    showMembers(list.members);
    onSubmit(form, async (fd) => {
      await api("POST", "/lists/" + id + "/members", { address: followTarget(String(fd.get("address"))) });
      go("#/list/" + id);
    });
    const del = button("Delete list", async () => {
      if (!confirm("Delete the list " + list.title + "?")) return;
      await api("DELETE", "/lists/" + id);
      go("#/lists");
    }, "act danger");
    view.append(form, members, del);
    await cursorFeed(view, "/lists/" + id + "/timeline", "list-feed", "Posts of " + list.title, "No posts of these people are stored here yet.");
  }

  async function pageSearch(view, q) {
    q = q || "";
    const input = h("input", { name: "q", type: "search", value: q, "aria-label": "Search posts and people", placeholder: "words, #tags, \"a phrase\", prefix*, name@domain" });
    const form = h("form", { class: "card search", role: "search" }, h("div", { class: "row" }, input, h("button", { type: "submit", class: "primary" }, "Search")));
    onSubmit(form, async (fd) => go("#/search/" + enc1(String(fd.get("q")).trim())));
    view.append(
      heading("Search"),
      form,
      h("p", { class: "muted" }, "Whole words match; \"quotes\" match a phrase; a trailing * matches the start of a word; OR between words finds either; -word leaves posts with it out."),
    );
    if (!q) return input.focus();
    const people = await peopleResults(q);
    if (people) view.append(people);
    const results = feed("results", "Results");
    const load = async (offset) => {
      const r = await api("GET", "/search?q=" + enc1(q) + "&limit=" + PAGE + (offset ? "&offset=" + offset : ""));
      for (const p of r.posts || []) addPost(results, p, "end");
      return r.next_offset;
    };
    const next = await load(0);
    view.append(h("h2", {}, "Posts"), results, h("p", { class: "empty muted" }, "No posts match."), pager(load, next));
  }

  /** The people search's answer for `q` as a "People" section, or null when nobody matches. */
  async function peopleResults(q) {
    const r = await api("GET", "/search/people?q=" + enc1(q) + "&limit=10");
    if (!r.people || !r.people.length) return null;
    const li = (p) =>
      h(
        "li",
        {},
        h("a", { href: profileHref(p.address) }, p.display_name || p.name),
        h("span", { class: "muted" }, p.address),
        p.local ? h("span", { class: "tag" }, "here") : null,
        p.followed ? h("span", { class: "tag" }, "following") : null,
      );
    return h("section", { id: "people-results", "aria-label": "People" }, h("h2", {}, "People"), h("ul", { class: "people" }, ...r.people.map(li)));
  }

  /** Changing the password. Right after a log-in with a one-time password the node does not
   * ask for that password again (the session was opened with it), so neither does the form. */
  function passwordForm(onDone) {
    const pw = (name, label, ac) => field(label, h("input", { name, type: "password", autocomplete: ac, required: true }));
    const oneTime = me.must_change_password;
    const form = h(
      "form",
      { class: "card", id: "password-form" },
      oneTime ? null : pw("old_password", "Current password", "current-password"),
      pw("new_password", "New password", "new-password"),
      pw("again", "New password again", "new-password"),
      h("button", { type: "submit", class: "primary" }, "Change password"),
    );
    return onSubmit(form, async (fd) => {
      if (fd.get("new_password") !== fd.get("again")) throw new Error("The two new passwords differ.");
      const body = { new_password: fd.get("new_password") };
      if (!oneTime) body.old_password = fd.get("old_password");
      const r = await api("POST", "/account/password", body);
      form.reset();
      // The old sessions ended; this answer started a new one.
      applySession({ user: r.user || me });
      note("Password changed.");
      onDone();
    });
  }

  function pagePassword(view) {
    view.classList.add("narrow");
    view.append(heading("Choose your password"));
    if (me.must_change_password) {
      view.append(h("p", {}, "You logged in with a one-time password. Choose your own before going on."));
    }
    view.append(passwordForm(() => go("#/")), h("p", {}, logOutButton()));
  }

  function logOutButton() {
    return button("Log out", async () => {
      try {
        await api("DELETE", "/session");
      } finally {
        endSession();
        go("#/login");
      }
    });
  }

  // Locked account: the setting, and the follow requests waiting with accept/refuse buttons.
  async function approvalCard() {
    const box = h("input", { type: "checkbox", id: "locked" });
    const list = h("ul", { class: "people", id: "follow-requests" });
    const load = async () => {
      const r = await api("GET", "/follow_requests");
      list.replaceChildren(
        ...(r.requests || []).map((q) =>
          h(
            "li",
            {},
            h("a", { href: profileHref(q.address) }, q.address),
            button("Accept", () => decide(q.address, "authorize"), "act"),
            button("Refuse", () => decide(q.address, "reject"), "act"),
          ),
        ),
      );
      if (!list.children.length) list.append(h("li", { class: "muted" }, "No follow requests."));
    };
    const decide = async (addr, action) => {
      await api("POST", "/follow_requests/" + enc1(addr) + "/" + action, {});
      note(action === "authorize" ? addr + " follows you now." : "You refused " + addr + ".");
      await load();
    };
    box.checked = !!(await api("GET", "/account/settings")).locked;
    box.addEventListener("change", async () => {
      try {
        await api("PUT", "/account/settings", { locked: box.checked });
        note(box.checked ? "New followers need your approval." : "Anyone may follow you; waiting requests were accepted.");
        await load();
      } catch (e) {
        box.checked = !box.checked;
        showError(e);
      }
    });
    await load();
    return h(
      "div",
      { class: "card" },
      h("label", {}, box, " Require approval of followers (they read your followers-only posts once you accept)"),
      h("h3", {}, "Follow requests"),
      list,
    );
  }

  /** The apps (Mastodon clients) holding tokens of this account: list, revoke (settings page). */
  async function appsCard() {
    const list = h("ul", { class: "people", id: "authorised-apps" });
    const load = async () => {
      const r = await api("GET", "/account/apps");
      list.replaceChildren(
        ...(r.apps || []).map((a) =>
          h(
            "li",
            {},
            h("b", {}, a.name),
            " ",
            h("span", { class: "tag" }, a.scopes),
            h("span", { class: "muted" }, " last used ", timeEl(a.used_ms)),
            button("Revoke", async () => {
              await api("DELETE", "/account/apps/" + a.id);
              note(a.name + " can no longer use your account.");
              await load();
            }, "act danger"),
          ),
        ),
      );
      if (!list.children.length) list.append(h("li", { class: "muted" }, "No app uses your account."));
    };
    await load();
    return h("div", { class: "card" }, h("p", { class: "muted" }, "Phone and desktop apps you logged in to with this account."), list);
  }

  async function pageSettings(view) {
    const dn = h("input", { name: "display_name", autocomplete: "nickname", dir: "auto" });
    const bio = h("textarea", { name: "bio", rows: 3, dir: "auto" });
    const form = h(
      "form",
      { class: "card", id: "profile-form" },
      field("Display name", dn, "Shown beside your address; empty shows the address."),
      field("Bio", bio),
      h("button", { type: "submit", class: "primary" }, "Save profile"),
    );
    onSubmit(form, async () => {
      await api("PUT", "/profile", { display_name: dn.value.trim(), bio: bio.value.trim() });
      note("Profile saved; it travels to your followers.");
    });
    const portrait = portraitCard();
    view.append(
      heading("Settings"),
      h("h2", {}, "Profile"),
      form,
      portrait,
      h("h2", { id: "followers-settings" }, "Followers"),
      await approvalCard(),
      h("h2", { id: "notification-settings" }, "Notifications"),
      await notificationSettingsCard(),
      ...(me.role === "owner" ? [h("h2", {}, "Blocked domains"), await domainBlocksCard()] : []),
      h("h2", {}, "Apps"),
      await appsCard(),
      h("h2", {}, "Password"),
      passwordForm(() => {}),
      h("h2", {}, "Session"),
      h(
        "div",
        { class: "card" },
        h("p", {}, "Logged in as ", h("b", {}, me.address), me.role === "owner" ? " (owner of this node)" : ""),
        logOutButton(),
      ),
    );
    try {
      const p = await api("GET", "/users/" + enc1(me.address));
      if (!dn.value) dn.value = p.display_name || "";
      if (!bio.value) bio.value = p.bio || "";
      portrait.fill(p);
    } catch (_) {
      // no profile yet: the fields stay empty
    }
  }

  async function pageAdmin(view) {
    view.append(heading("Users"));
    if (me.role !== "owner") return view.append(h("p", {}, "Only the owner of this node manages its users."));
    const list = h("ul", { class: "people", id: "users" });
    const result = h("div", { id: "new-user" });
    const form = h(
      "form",
      { class: "card", id: "add-user-form" },
      field("Name", h("input", { name: "name", autocapitalize: "none", spellcheck: "false", autocomplete: "off", required: true }), "Their address will be name@" + me.address.split("@")[1]),
      field("Role", h("select", { name: "role" }, h("option", { value: "member" }, "Member"), h("option", { value: "owner" }, "Owner"))),
      h("button", { type: "submit", class: "primary" }, "Add user"),
    );
    onSubmit(form, async (fd) => {
      const r = await api("POST", "/admin/users", { name: String(fd.get("name")).trim(), role: fd.get("role") });
      form.reset();
      result.replaceChildren(
        h(
          "div",
          { class: "card otp" },
          h("p", {}, "Give ", h("b", {}, r.user.address), " this one-time password. It is shown only once; they choose their own when they first log in."),
          h("code", {}, r.one_time_password),
        ),
      );
      await load();
    });
    const load = async () => {
      const r = await api("GET", "/admin/users");
      list.replaceChildren(
        ...(r.users || []).map((u) =>
          h(
            "li",
            {},
            h("a", { href: profileHref(u.address) }, u.address),
            h("span", { class: "tag" }, u.role),
            u.must_change_password ? h("span", { class: "tag" }, "one-time password") : null,
            u.name === me.name
              ? null
              : button("Remove", async () => {
                  if (!confirm("Remove " + u.address + "? Their posts stay; the name stays reserved.")) return;
                  await api("DELETE", "/admin/users/" + enc1(u.name));
                  note("Removed " + u.address + ".");
                  await load();
                }, "act danger"),
          ),
        ),
      );
    };
    view.append(form, result, h("h2", {}, "Everyone on this node"), list);
    await load();
  }

  // ---- start ----

  async function boot() {
    main.replaceChildren(h("p", { class: "muted" }, "Loading…"));
    // The app installs: the worker keeps the client's own files, never an /api/ answer.
    if ("serviceWorker" in navigator) navigator.serviceWorker.register("/sw.js").catch(() => {});
    try {
      applySession(await api("GET", "/session"));
    } catch (e) {
      if (e.status !== 401) carry = e.message;
    }
    window.addEventListener("hashchange", route);
    route();
  }

  boot();
})();
