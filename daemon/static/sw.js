"use strict";
// The msm web client's service worker: keeps copies of the client's own files so the app
// opens without the network, and nothing else. Every other request, above all /api/ answers
// and the live stream, is left to the browser untouched: the worker never answers it and
// never stores it. Network first: a reachable node always serves its current client; the
// copy is used only when the node cannot be reached. The version is written in at build
// time from the files' contents, so a new client makes a new worker and a new cache.
const VERSION = "__CLIENT_VERSION__";
const CACHE = "msm-client-" + VERSION;
/** The only paths ever stored ("/" is the page). */
const FILES = ["/", "/app.js", "/app.css", "/manifest.webmanifest", "/icon-192.png", "/icon-512.png", "/icon-maskable-512.png"];

self.addEventListener("install", (ev) => {
  ev.waitUntil(
    caches
      .open(CACHE)
      .then((c) => c.addAll(FILES.map((f) => new Request(f, { cache: "no-cache" }))))
      .then(() => self.skipWaiting()),
  );
});

self.addEventListener("activate", (ev) => {
  ev.waitUntil(
    caches
      .keys()
      .then((keys) => Promise.all(keys.filter((k) => k.startsWith("msm-client-") && k !== CACHE).map((k) => caches.delete(k))))
      .then(() => self.clients.claim()),
  );
});

self.addEventListener("fetch", (ev) => {
  const req = ev.request;
  if (req.method !== "GET") return;
  const url = new URL(req.url);
  if (url.origin !== self.location.origin) return;
  const path = url.pathname === "/index.html" ? "/" : url.pathname;
  if (!FILES.includes(path) || url.search) return;
  ev.respondWith(
    fetch(req).then(
      (r) => {
        if (r.ok && r.type === "basic") {
          const copy = r.clone();
          ev.waitUntil(caches.open(CACHE).then((c) => c.put(path, copy)));
        }
        return r;
      },
      () => caches.match(path, { cacheName: CACHE }).then((r) => r || Response.error()),
    ),
  );
});
