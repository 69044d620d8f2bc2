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
// 4. People picker (issue 14): a text field marked data-person-picker (the
//    person's directory id; without this file the page's <datalist> offers
//    the names) becomes an ARIA 1.2 combobox: as one types, /api/people
//    (the viewer's municipality, by name, unit or id) fills a listbox of
//    "name, unit"; arrow keys move, Enter or a click chooses, Escape closes;
//    the field gets the id (data-multiple: the last of the comma-separated
//    ids) and a polite status says who was chosen.
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
    pickers(main);
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


  // ------------------------------------------------------------ people picker
  var pickerCount = 0;

  function pickers(root) {
    var fields = root.querySelectorAll("input[data-person-picker]");
    for (var i = 0; i < fields.length; i++) { picker(fields[i]); }
  }

  function picker(input) {
    if (input.getAttribute("role") === "combobox" || !window.fetch) { return; }
    pickerCount += 1;
    var base = input.id || ("person-picker-" + pickerCount);
    var list = document.createElement("ul");
    list.id = base + "-options";
    list.className = "picker-options";
    list.setAttribute("role", "listbox");
    // Its own name ("Förslag"), not the field's: the field keeps its label alone.
    list.setAttribute("aria-label", input.getAttribute("data-suggestions") || "");
    list.hidden = true;
    var status = document.createElement("p");
    status.id = base + "-status";
    status.className = "picker-status";
    status.setAttribute("role", "status");
    input.removeAttribute("list");  // the listbox instead of the browser's datalist
    input.setAttribute("role", "combobox");
    input.setAttribute("aria-autocomplete", "list");
    input.setAttribute("aria-expanded", "false");
    input.setAttribute("aria-controls", list.id);
    input.parentNode.insertBefore(list, input.nextSibling);
    input.parentNode.insertBefore(status, list.nextSibling);
    var multiple = input.hasAttribute("data-multiple");
    var options = [];
    var active = -1;
    var timer = null;
    var asked = 0;

    function text(name, values) {
      var out = input.getAttribute(name) || "";
      for (var key in values) { out = out.split("{" + key + "}").join(values[key]); }
      return out;
    }
    function token() {
      var value = input.value;
      return multiple ? value.slice(value.lastIndexOf(",") + 1).trim() : value.trim();
    }
    function close() {
      list.hidden = true;
      input.setAttribute("aria-expanded", "false");
      input.removeAttribute("aria-activedescendant");
      active = -1;
    }
    function mark(index) {
      for (var i = 0; i < options.length; i++) {
        options[i].el.setAttribute("aria-selected", i === index ? "true" : "false");
      }
      active = index;
      if (index < 0) { input.removeAttribute("aria-activedescendant"); return; }
      input.setAttribute("aria-activedescendant", options[index].el.id);
      if (options[index].el.scrollIntoView) { options[index].el.scrollIntoView({ block: "nearest" }); }
    }
    function label(person) { return person.unit ? person.name + ", " + person.unit : person.name; }
    function choose(index) {
      var person = options[index].person;
      window.clearTimeout(timer);
      asked += 1;  // an answer still on its way does not open the list again
      if (multiple) {
        var value = input.value;
        var cut = value.lastIndexOf(",");
        input.value = (cut < 0 ? "" : value.slice(0, cut + 1) + " ") + person.id;
      } else {
        input.value = person.id;
      }
      close();
      status.textContent = text("data-chosen", { name: label(person), id: person.id });
    }
    function show(people) {
      list.innerHTML = "";
      options = [];
      for (var i = 0; i < people.length; i++) {
        var li = document.createElement("li");
        li.id = base + "-option-" + i;
        li.setAttribute("role", "option");
        li.setAttribute("aria-selected", "false");
        var name = document.createElement("span");
        name.className = "picker-name";
        name.textContent = people[i].name;
        li.appendChild(name);
        if (people[i].unit) {
          var unit = document.createElement("span");
          unit.className = "picker-unit";
          unit.textContent = ", " + people[i].unit;
          li.appendChild(unit);
        }
        li.setAttribute("data-index", String(i));
        list.appendChild(li);
        options.push({ el: li, person: people[i] });
      }
      active = -1;
      if (!people.length) {
        close();
        status.textContent = text("data-none", {});
        return;
      }
      list.hidden = false;
      input.setAttribute("aria-expanded", "true");
      status.textContent = people.length === 1 ? text("data-count-one", {}) :
        text("data-count-many", { n: String(people.length) });
    }
    function ask() {
      var q = token();
      if (!q) { close(); list.innerHTML = ""; options = []; return; }
      var mine = ++asked;
      fetch("/api/people?q=" + encodeURIComponent(q), {
        credentials: "same-origin", headers: { "Accept": "application/json" }
      }).then(function (response) {
        return response.ok ? response.json() : null;
      }).then(function (people) {
        if (mine !== asked || people === null || document.activeElement !== input) { return; }
        show(people);
      }).catch(function () { /* the field still takes the id as typed */ });
    }

    input.addEventListener("input", function () {
      status.textContent = "";
      window.clearTimeout(timer);
      timer = window.setTimeout(ask, 150);
    });
    input.addEventListener("keydown", function (event) {
      var open = !list.hidden && options.length > 0;
      if (event.key === "ArrowDown" || event.key === "ArrowUp") {
        event.preventDefault();
        if (!open) {
          if (options.length) { list.hidden = false; input.setAttribute("aria-expanded", "true"); }
          else { ask(); }
          if (!options.length) { return; }
        }
        var step = event.key === "ArrowDown" ? 1 : -1;
        mark((active + step + options.length + (active < 0 && step < 0 ? 1 : 0)) % options.length);
      } else if (event.key === "Enter" && open && active >= 0) {
        event.preventDefault();  // chooses; the form is not sent
        choose(active);
      } else if (event.key === "Escape" && open) {
        event.preventDefault();
        close();
      }
    });
    input.addEventListener("blur", function () { window.setTimeout(close, 150); });
    list.addEventListener("mousedown", function (event) { event.preventDefault(); });
    list.addEventListener("click", function (event) {
      var li = event.target.closest ? event.target.closest("[role=option]") : null;
      if (li) { choose(parseInt(li.getAttribute("data-index"), 10)); input.focus(); }
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    reachScrollers();
    window.addEventListener("resize", reachScrollers);
    if (window.MutationObserver) {
      new MutationObserver(reachScrollers).observe(document.body, { childList: true, subtree: true });
    }
    pickers(document);
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
