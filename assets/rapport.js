/* rapport.js: sends identify, track, page and group calls from a website to Rapport in the
 * Segment format. Include it with the source's write key:
 *
 *   <script>window.rapport = window.rapport || [];
 *     ["identify", "track", "page", "group", "alias", "reset", "consent"].forEach(function (m) {
 *       window.rapport[m] = window.rapport[m] || function () { window.rapport.push([m].concat([].slice.call(arguments))); };
 *     });
 *     rapport.page();</script>
 *   <script async src="https://RAPPORT/rapport.js" data-write-key="rpk_…"></script>
 *
 * Calls made before the script loads wait in that queue. Calls are batched and sent every two
 * seconds, at twenty calls, and when the page is hidden (with sendBeacon, so leaving the page
 * loses nothing). With data-require-consent="true" nothing is sent, and no identifier is
 * stored, until rapport.consent(true). */
(function () {
  "use strict";
  var VERSION = "1.0.0";
  var FLUSH_MS = 2000;
  var FLUSH_AT = 20;
  var script = document.currentScript || document.querySelector("script[data-write-key]");
  if (!script) { return; }
  var writeKey = script.getAttribute("data-write-key");
  var endpoint = new URL("/v1/batch", script.src).href;
  var needsConsent = script.getAttribute("data-require-consent") === "true";
  var store = safeStorage();
  var queued = window.rapport && typeof window.rapport.length === "number" ? window.rapport.slice() : [];
  var pending = [];
  var timer = null;
  var consented = !needsConsent || store.get("rapport_consent") === "yes";
  var userId = consented ? store.get("rapport_user_id") : null;
  var anonymousId = consented ? store.get("rapport_anonymous_id") : null;

  function safeStorage() {
    try {
      var probe = "rapport_probe";
      window.localStorage.setItem(probe, probe);
      window.localStorage.removeItem(probe);
      return {
        get: function (k) { return window.localStorage.getItem(k); },
        set: function (k, v) { window.localStorage.setItem(k, v); },
        remove: function (k) { window.localStorage.removeItem(k); }
      };
    } catch (e) {
      var memory = {};
      return {
        get: function (k) { return Object.prototype.hasOwnProperty.call(memory, k) ? memory[k] : null; },
        set: function (k, v) { memory[k] = String(v); },
        remove: function (k) { delete memory[k]; }
      };
    }
  }

  function uuid() {
    if (window.crypto && window.crypto.randomUUID) { return window.crypto.randomUUID(); }
    return "xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx".replace(/[xy]/g, function (c) {
      var r = Math.random() * 16 | 0;
      return (c === "x" ? r : (r & 3 | 8)).toString(16);
    });
  }

  function anonymous() {
    if (!anonymousId) {
      anonymousId = uuid();
      if (consented) { store.set("rapport_anonymous_id", anonymousId); }
    }
    return anonymousId;
  }

  function context() {
    return {
      page: { path: location.pathname, url: location.href, referrer: document.referrer, title: document.title, search: location.search },
      userAgent: navigator.userAgent,
      locale: navigator.language,
      library: { name: "rapport.js", version: VERSION }
    };
  }

  function enqueue(call) {
    call.messageId = uuid();
    call.timestamp = new Date().toISOString();
    call.anonymousId = anonymous();
    if (userId) { call.userId = userId; }
    call.context = context();
    pending.push(call);
    if (!consented) { return; }
    if (pending.length >= FLUSH_AT) { flush(false); } else if (!timer) { timer = setTimeout(function () { flush(false); }, FLUSH_MS); }
  }

  function flush(leaving) {
    if (timer) { clearTimeout(timer); timer = null; }
    if (!consented || pending.length === 0) { return; }
    var body = JSON.stringify({ batch: pending, sentAt: new Date().toISOString(), writeKey: writeKey });
    var sent = pending;
    pending = [];
    // text/plain keeps the request "simple": no CORS preflight, and beacons allow it.
    var blob = new Blob([body], { type: "text/plain" });
    if (leaving && navigator.sendBeacon && navigator.sendBeacon(endpoint, blob)) { return; }
    fetch(endpoint, { method: "POST", body: blob, keepalive: true, mode: "no-cors", credentials: "omit" })
      .catch(function () { pending = sent.concat(pending); });
  }

  var api = {
    identify: function (id, traits) {
      if (id !== null && typeof id === "object") { traits = id; id = null; }
      if (id) {
        userId = String(id);
        if (consented) { store.set("rapport_user_id", userId); }
      }
      enqueue({ type: "identify", traits: traits || {} });
    },
    track: function (event, properties) { enqueue({ type: "track", event: String(event), properties: properties || {} }); },
    page: function (name, properties) {
      if (name !== null && typeof name === "object") { properties = name; name = null; }
      var call = { type: "page", properties: properties || {} };
      if (name) { call.name = String(name); }
      enqueue(call);
    },
    group: function (groupId, traits) { enqueue({ type: "group", groupId: String(groupId), traits: traits || {} }); },
    alias: function (newId) {
      var previous = userId || anonymous();
      userId = String(newId);
      if (consented) { store.set("rapport_user_id", userId); }
      enqueue({ type: "alias", previousId: previous });
    },
    reset: function () {
      userId = null;
      anonymousId = null;
      store.remove("rapport_user_id");
      store.remove("rapport_anonymous_id");
    },
    consent: function (given) {
      if (given) {
        consented = true;
        store.set("rapport_consent", "yes");
        if (anonymousId) { store.set("rapport_anonymous_id", anonymousId); }
        if (userId) { store.set("rapport_user_id", userId); }
        flush(false);
      } else {
        consented = false;
        pending = [];
        store.remove("rapport_consent");
        api.reset();
      }
    },
    flush: function () { flush(false); }
  };

  window.rapport = api;
  queued.forEach(function (call) {
    var method = api[call[0]];
    if (typeof method === "function") { method.apply(api, call.slice(1)); }
  });
  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "hidden") { flush(true); }
  });
  window.addEventListener("pagehide", function () { flush(true); });
})();
