// Progressive enhancement only: every page works without this file (plain
// forms, POST-redirect-GET). No library, no build step; the CSP allows only
// this file ('self'), so no inline script and no inline handlers.
//
// 1. Boosted forms: a POST form marked data-enhance is sent with fetch
//    (the same fields, CSRF token included) and the page's <main> is swapped
//    for the answer's <main> (the page redirected to, or the 422/403 page);
//    the address follows a redirect (pushState), the title follows, and focus
//    goes to the error summary, else the result (role=status), else the
//    first heading. While in flight the form's buttons are disabled and
//    <main> is aria-busy. A network error falls back to a normal submit; an
//    answer that is not an HTML page with a <main> is opened as a page.
// 2. Live inbox: a region marked data-refresh-seconds (default 30) fetches
//    its own page again and swaps itself, keeping scroll and focus; paused
//    while the tab is hidden, a field inside it has focus, or a form is in
//    flight. A polite live note (texts in data-new-one / data-new-many,
//    rendered by the server in the reader's language) says how many new
//    messages appeared.
// 3. A table box that scrolls sideways is reachable by keyboard (below).
(function () {
  "use strict";

  var busy = false;
  var swapped = false;  // <main> is no longer the one this document was loaded with

  function focusSummary() {
    var summary = document.getElementById("error-summary");
    if (summary) { summary.focus(); }
  }

  function focusAfterSwap(main) {
    var target = main.querySelector("#error-summary") || main.querySelector("#result") ||
      main.querySelector("[role=status]:not(:empty)") || main.querySelector("h1") || main;
    if (!target.hasAttribute("tabindex")) { target.setAttribute("tabindex", "-1"); }
    target.focus();
    if (target.scrollIntoView) { target.scrollIntoView({ block: "start" }); }
  }

  function parse(html) {
    return new DOMParser().parseFromString(html, "text/html");
  }

  function isHtml(response) {
    return (response.headers.get("content-type") || "").indexOf("text/html") === 0;
  }

  // The answer's <main> into ours; false when the answer has none.
  function swapMain(doc) {
    var incoming = doc.querySelector("main");
    var main = document.querySelector("main");
    if (!incoming || !main) { return false; }
    main.innerHTML = incoming.innerHTML;
    // The top menu marks the answer's section (aria-current), not the one
    // the form was sent from (issue 14).
    var nav = doc.querySelector("nav.main-nav");
    var shownNav = document.querySelector("nav.main-nav");
    if (nav && shownNav) { shownNav.innerHTML = nav.innerHTML; }
    if (doc.title) { document.title = doc.title; }
    var lang = doc.documentElement.getAttribute("lang");
    if (lang) { document.documentElement.setAttribute("lang", lang); }
    inbox.reset();
    swapped = true;
    return true;
  }

  function setBusy(form, on) {
    var main = document.querySelector("main");
    busy = on;
    if (main) {
      if (on) { main.setAttribute("aria-busy", "true"); } else { main.removeAttribute("aria-busy"); }
    }
    if (!form) { return; }
    var buttons = form.querySelectorAll("button, input[type=submit]");
    for (var i = 0; i < buttons.length; i++) { buttons[i].disabled = on; }
  }

  function formData(form, submitter) {
    var data = new FormData(form);
    if (submitter && submitter.name) { data.append(submitter.name, submitter.value); }
    return data;
  }

  function boostedSubmit(event) {
    var form = event.target;
    if (!(form instanceof HTMLFormElement) || !form.hasAttribute("data-enhance")) { return; }
    if ((form.getAttribute("method") || "get").toLowerCase() !== "post") { return; }
    if (!window.fetch || !window.DOMParser || !window.history || !history.pushState) { return; }
    event.preventDefault();
    if (busy) { return; }  // a second click or Enter while the first is on its way
    var body = formData(form, event.submitter);
    setBusy(form, true);
    fetch(form.action, {
      method: "POST", body: body, credentials: "same-origin", redirect: "follow",
      headers: { "Accept": "text/html" }
    }).then(function (response) {
      if (!isHtml(response)) {
        // Sent and answered: never send it again; show what came back as a page.
        setBusy(form, false);
        window.location.assign(response.redirected ? response.url : window.location.href);
        return null;
      }
      return response.text().then(function (html) {
        var doc = parse(html);
        setBusy(form, false);
        if (!swapMain(doc)) {
          window.location.assign(response.redirected ? response.url : window.location.href);
          return;
        }
        if (response.redirected && response.url !== window.location.href) {
          history.pushState({ kv: true }, "", response.url);
        }
        focusAfterSwap(document.querySelector("main"));
      });
    }, function () {
      // Nothing answered (offline, aborted): the browser sends the form itself.
      setBusy(form, false);
      form.submit();
    });
  }

  // Back and forward between swapped pages: load that address's <main>.
  function onPopState(event) {
    if (!event.state || !event.state.kv) {
      // An entry of another kind (a #fragment link): after a swap its <main> is unknown.
      if (swapped) { window.location.reload(); }
      return;
    }
    fetch(window.location.href, { credentials: "same-origin", headers: { "Accept": "text/html" } })
      .then(function (response) {
        if (!response.ok || !isHtml(response)) { throw new Error("not a page"); }
        return response.text();
      }).then(function (html) {
        if (!swapMain(parse(html))) { throw new Error("no main"); }
        focusAfterSwap(document.querySelector("main"));
      }).catch(function () { window.location.reload(); });
  }

  // The live inbox: one ticker a second, so the interval can be changed on
  // the page (data-refresh-seconds) and pauses end at once.
  var inbox = {
    last: Date.now(),
    inFlight: false,
    reset: function () { this.last = Date.now(); },
    region: function () { return document.querySelector("[data-refresh-seconds]"); },
    seconds: function (region) {
      var s = parseFloat(region.getAttribute("data-refresh-seconds"));
      return isFinite(s) && s >= 1 ? s : 30;
    },
    paused: function (region) {
      if (document.hidden || busy || this.inFlight) { return true; }
      var active = document.activeElement;
      return !!(active && region.contains(active) &&
        /^(INPUT|SELECT|TEXTAREA|BUTTON)$/.test(active.tagName));
    },
    caseLinks: function (root) {
      var seen = {};
      var links = root.querySelectorAll("a[href^='/messages/']");
      for (var i = 0; i < links.length; i++) { seen[links[i].getAttribute("href")] = true; }
      return seen;
    },
    tick: function () {
      var region = this.region();
      if (!region) { return; }
      if (this.paused(region)) { this.reset(); return; }
      if (Date.now() - this.last < this.seconds(region) * 1000) { return; }
      this.refresh(region);
    },
    refresh: function (region) {
      var self = this;
      var address = window.location.href;
      self.inFlight = true;
      fetch(address, { credentials: "same-origin", headers: { "Accept": "text/html" } })
        .then(function (response) {
          if (!response.ok || !isHtml(response) || response.redirected) { return null; }
          return response.text();
        }).then(function (html) {
          self.inFlight = false;
          self.reset();
          if (html === null || window.location.href !== address || busy) { return; }
          var current = self.region();
          if (current !== region) { return; }
          var incoming = region.id ? parse(html).getElementById(region.id) : null;
          if (!incoming) { return; }
          self.swap(region, incoming);
        }).catch(function () { self.inFlight = false; self.reset(); });
    },
    swap: function (region, incoming) {
      var before = this.caseLinks(region);
      var active = document.activeElement;
      var focusHref = active && region.contains(active) && active.getAttribute("href");
      var scrollX = window.scrollX, scrollY = window.scrollY;
      var scrollers = region.querySelectorAll(".table-scroll");
      var lefts = [];
      for (var i = 0; i < scrollers.length; i++) { lefts.push(scrollers[i].scrollLeft); }
      region.innerHTML = incoming.innerHTML;
      var after = region.querySelectorAll(".table-scroll");
      for (var j = 0; j < after.length && j < lefts.length; j++) { after[j].scrollLeft = lefts[j]; }
      if (focusHref) {
        var again = region.querySelector("a[href='" + focusHref.replace(/'/g, "\\'") + "']");
        if (again) { again.focus({ preventScroll: true }); }
      }
      window.scrollTo(scrollX, scrollY);
      var fresh = 0;
      var now = this.caseLinks(region);
      for (var href in now) { if (!before[href]) { fresh += 1; } }
      if (fresh > 0) { this.announce(fresh); }
    },
    announce: function (n) {
      var note = document.getElementById(this.region().getAttribute("data-news") || "");
      if (!note) { return; }
      var text = n === 1 ? note.getAttribute("data-new-one") : note.getAttribute("data-new-many");
      if (text) { note.textContent = text.replace("{n}", String(n)); }
    }
  };

  // 3. Wide tables on a narrow window: a .table-scroll box that scrolls
  //    sideways is a tab stop, so the keyboard can scroll it (WCAG 2.1.1;
  //    axe's scrollable-region-focusable); one that fits is not. Again on
  //    resize and whenever <main> or the inbox is swapped.
  function reachScrollers() {
    var boxes = document.querySelectorAll(".table-scroll");
    for (var i = 0; i < boxes.length; i++) {
      var box = boxes[i];
      if (box.scrollWidth > box.clientWidth + 1) {
        if (!box.hasAttribute("tabindex")) { box.setAttribute("tabindex", "0"); }
      } else if (box.getAttribute("tabindex") === "0") {
        box.removeAttribute("tabindex");
      }
    }
  }

  document.addEventListener("DOMContentLoaded", function () {
    reachScrollers();
    window.addEventListener("resize", reachScrollers);
    if (window.MutationObserver) {
      new MutationObserver(reachScrollers).observe(document.body, { childList: true, subtree: true });
    }
    focusSummary();  // a screen reader hears a form's errors first
    if (window.history && history.replaceState && !history.state) {
      history.replaceState({ kv: true }, "", window.location.href);
    }
    inbox.reset();
    window.setInterval(function () { inbox.tick(); }, 1000);
  });
  document.addEventListener("submit", boostedSubmit);
  window.addEventListener("popstate", onPopState);
  document.addEventListener("visibilitychange", function () {
    // Back in view after a long while: refresh at once rather than wait.
    if (!document.hidden) { inbox.last = 0; }
  });
}());
