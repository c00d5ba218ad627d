// Progress on the self-checks, kept in this browser only (localStorage; nothing is sent).
//
// A self-check is any element with data-mlsd-check (mlsd_docs/self_checks.py). Its
// global id is "<page path>#<data-mlsd-check>", e.g. "concepts/features/#q-how-...".
// Stored under one key: { id: {state: "known"|"review", at: ISO date, q: question,
// a: the checklist's anchor for it or "", t: page title} }.
//
// At load: one query for the page's self-checks, a class on the marked ones (their
// summary shows the state even when closed) and a one-line count above the title. The
// buttons ("Knew it", "Review again", and "Clear" while marked) are made only when a
// self-check is first opened. The review queue
// (#mlsd-review) and the data tools (#mlsd-data) render only on their own pages.
//
// Stored data is not trusted (an imported file, or anything else that wrote to
// localStorage): a mark is used only if its id is a site-relative lower-case page path
// and a check id, and its fields are strings of the expected shapes (markProblem).
(function () {
  "use strict";
  var KEY = "mlsd:progress:v1";
  var PREFIX = "mlsd:";
  var MOCK = "mlsd:mock:";
  var PAGE = /^(?:[a-z0-9-]+\/)*$/; // "", "concepts/", "concepts/features/"
  var MARK_ID = /^(?:[a-z0-9-]+\/)*#q-[a-z0-9-]+$/;
  var ANCHOR = /^[\w-]*$/;
  var FORMAT = "mlsd-guide-progress";
  var STATES = { known: "Known", review: "To review" };
  var CHECKLIST = "concepts/";
  var UNCHANGED = "Nothing was changed.";
  var base = "./";
  try {
    base = JSON.parse(document.getElementById("__config").textContent).base + "/";
  } catch (error) {
    /* no Material config (a stripped page): the root is the page's folder */
  }
  var root = new URL(base, location.href);
  var here = pagePath(location.href);
  // The print page (PDF builds) holds every page: it is no page of its own to mark.
  if (document.querySelector("#print-site-page, .print-page") || /^print_page\//.test(here)) {
    return;
  }
  var checks = PAGE.test(here) ? document.querySelectorAll("article [data-mlsd-check]") : [];
  var live = null;

  // ── Storage ────────────────────────────────────────────────────────────────
  // The sound marks only: a malformed one is ignored (and dropped at the next write).
  function read() {
    var data;
    try {
      data = JSON.parse(localStorage.getItem(KEY) || "{}");
    } catch (error) {
      return {};
    }
    var marks = {};
    if (isObject(data)) for (var id in data) if (!markProblem(id, data[id])) marks[id] = data[id];
    return marks;
  }
  function write(data) {
    try {
      localStorage.setItem(KEY, JSON.stringify(data));
    } catch (error) {
      say("Could not save: this browser does not allow the site to store data.");
    }
  }
  function ownKeys() {
    var keys = [];
    try {
      for (var i = 0; i < localStorage.length; i++) {
        var key = localStorage.key(i);
        if (key.indexOf(PREFIX) === 0) keys.push(key);
      }
    } catch (error) {
      /* storage disabled: nothing of ours */
    }
    return keys.sort();
  }
  function tally(data) {
    var counts = { known: 0, review: 0 };
    for (var id in data) if (data[id] && data[id].state in counts) counts[data[id].state]++;
    return counts;
  }

  // ── Paths and anchors ──────────────────────────────────────────────────────
  function pagePath(href) {
    var path = new URL(href, location.href).pathname.replace(/index\.html$/, "");
    return path.indexOf(root.pathname) === 0 ? path.slice(root.pathname.length) : path;
  }
  // The anchor a checklist line would use: a heading, or an empty <p><a id>, right
  // before the self-check (the checklist's contract, tests/site/test_checklist.py).
  function anchorOf(check) {
    var before = check.previousElementSibling;
    if (!before) return "";
    if (/^H[1-6]$/.test(before.tagName)) return before.id || "";
    var only = before.tagName === "P" && before.children.length === 1;
    var link = only && before.firstElementChild;
    return link && link.tagName === "A" && link.id && !before.textContent.trim() ? link.id : "";
  }
  function titleOf(check) {
    return check.querySelector(
      check.tagName === "DETAILS" ? ":scope > summary" : ":scope > .admonition-title"
    );
  }
  function questionOf(check) {
    var text = "";
    titleOf(check).childNodes.forEach(function (node) {
      var badge = node.classList && node.classList.contains("mlsd-badge");
      if (!badge) text += node.textContent;
    });
    return text.replace(/\s+/g, " ").trim();
  }

  // ── On a page: show, mark, count ───────────────────────────────────────────
  function say(message) {
    if (!live) {
      live = document.createElement("div");
      live.className = "mlsd-visually-hidden";
      live.setAttribute("role", "status");
      document.body.appendChild(live);
    }
    live.textContent = message;
  }
  function show(check, state) {
    check.classList.toggle("mlsd-known", state === "known");
    check.classList.toggle("mlsd-review", state === "review");
    var title = titleOf(check);
    var badge = title && title.querySelector(":scope > .mlsd-badge");
    if (state && title) {
      if (!badge) {
        badge = document.createElement("span");
        badge.className = "mlsd-badge";
        title.appendChild(badge);
      }
      badge.textContent = STATES[state];
    } else if (badge) {
      badge.remove();
    }
    check.querySelectorAll(".mlsd-mark button").forEach(function (button) {
      var toggle = button.value === "known" || button.value === "review";
      if (toggle) button.setAttribute("aria-pressed", String(button.value === state));
      else button.hidden = !state; // "Clear", only while there is a mark
    });
  }
  // Set a state (pressing it again refreshes its date: a question marked "review" again
  // goes to the back of the queue), or clear the mark (state null).
  function mark(check, state) {
    var data = read();
    var id = here + "#" + check.getAttribute("data-mlsd-check");
    var was = data[id] && data[id].state;
    if (!state) {
      delete data[id];
    } else {
      data[id] = {
        state: state,
        at: new Date().toISOString(),
        q: questionOf(check),
        a: anchorOf(check),
        t: document.title.split(" - ")[0],
      };
    }
    write(data);
    show(check, state);
    count(data);
    say(
      state === "known"
        ? "Marked as known."
        : state && was === "review"
          ? "Marked to review again: it moves to the back of the review queue."
          : state
            ? "Marked to review again."
            : "Mark removed."
    );
  }
  function buttons(check) {
    if (check.querySelector(".mlsd-mark")) return;
    var group = document.createElement("div");
    group.className = "mlsd-mark";
    group.setAttribute("role", "group");
    group.setAttribute("aria-label", "Your answer to this self-check");
    [
      ["known", "Knew it"],
      ["review", "Review again"],
    ].forEach(function (pair) {
      var button = document.createElement("button");
      button.type = "button";
      button.value = pair[0];
      button.textContent = pair[1];
      button.addEventListener("click", function () {
        mark(check, pair[0]);
      });
      group.appendChild(button);
    });
    var clear = element("button", "Clear", "mlsd-mark-clear");
    clear.type = "button";
    clear.setAttribute("aria-label", "Clear the mark");
    clear.addEventListener("click", function () {
      mark(check, null);
      group.firstChild.focus(); // this button hides: keep the focus in the group
    });
    group.appendChild(clear);
    check.appendChild(group);
    if (!live) say(""); // the live region exists before the first announcement
    var stored = read()[here + "#" + check.getAttribute("data-mlsd-check")];
    show(check, stored && stored.state);
  }
  // One line under the title: on a page with self-checks, and on the checklist.
  function count(data) {
    var line = document.querySelector(".mlsd-progress-line");
    var text;
    if (checks.length) {
      var counts = { known: 0, review: 0 };
      checks.forEach(function (check) {
        var entry = data[here + "#" + check.getAttribute("data-mlsd-check")];
        if (entry && entry.state in counts) counts[entry.state]++;
      });
      text = counts.known + " of " + checks.length + " known · ";
      text += counts.review + " to review";
    } else if (here === CHECKLIST) {
      text = checklist(data);
    } else {
      return;
    }
    if (!line) {
      var title = document.querySelector("article h1");
      if (!title) return;
      line = document.createElement("p");
      line.className = "mlsd-progress-line";
      var label = element("span", "Self-checks: ", "mlsd-progress-label");
      var link = element("a", "Review queue");
      link.href = new URL("practice/review/", root).href;
      line.append(label, element("span"), " · ", link);
      title.before(line);
    }
    line.children[1].textContent = text;
  }
  // The checklist links to page#anchor; a stored self-check carries its anchor.
  function checklist(data) {
    var states = {};
    for (var id in data) {
      var entry = data[id];
      var page = id.slice(0, id.indexOf("#") + 1);
      states[page + (entry.a || id.slice(page.length))] = entry.state;
    }
    var counts = { known: 0, review: 0 };
    var links = document.querySelectorAll("article ol > li > a:first-child");
    links.forEach(function (link) {
      var url = new URL(link.href);
      var state = states[pagePath(url.href) + url.hash];
      link.parentElement.classList.toggle("mlsd-known", state === "known");
      link.parentElement.classList.toggle("mlsd-review", state === "review");
      if (state in counts) counts[state]++;
    });
    var known = counts.known + " of " + links.length + " known";
    return known + " · " + counts.review + " to review";
  }
  // A review link to a self-check without an anchor of its own names its check id.
  function reveal() {
    var hash;
    try {
      hash = decodeURIComponent(location.hash.slice(1));
    } catch (error) {
      return; // a malformed hash ("#%E0%A4%A"): nothing to reveal
    }
    if (!hash || document.getElementById(hash)) return;
    var check = document.querySelector('[data-mlsd-check="' + CSS.escape(hash) + '"]');
    if (check) check.scrollIntoView();
  }

  // ── The review queue (practice/review.md) ──────────────────────────────────
  function element(tag, text, className) {
    var node = document.createElement(tag);
    if (text !== undefined) node.textContent = text;
    if (className) node.className = className;
    return node;
  }
  function queue(box) {
    var data = read();
    var parts = { framework: [0, 0], concepts: [0, 0], problems: [0, 0] };
    var review = [];
    var known = 0;
    for (var id in data) {
      var entry = data[id];
      var part = parts[id.split("/")[0]];
      if (!entry || !(entry.state in STATES)) continue;
      if (part) part[entry.state === "review" ? 0 : 1]++;
      if (entry.state === "known") known++;
      else review.push([id, entry]);
    }
    // Oldest first: the mark made longest ago comes back first.
    review.sort(function (x, y) {
      return x[1].at < y[1].at ? -1 : x[1].at > y[1].at ? 1 : x[0] < y[0] ? -1 : 1;
    });
    box.textContent = "";
    box.appendChild(
      element("p", review.length + " to review · " + known + " known", "mlsd-review-total")
    );
    var table = element("table");
    var head = table.createTHead().insertRow();
    ["Part", "To review", "Known"].forEach(function (name) {
      var cell = element("th", name);
      cell.scope = "col";
      head.appendChild(cell);
    });
    var body = table.createTBody();
    Object.keys(parts).forEach(function (name) {
      var row = body.insertRow();
      var cell = element("th", name.charAt(0).toUpperCase() + name.slice(1));
      cell.scope = "row";
      row.appendChild(cell);
      row.insertCell().textContent = parts[name][0];
      row.insertCell().textContent = parts[name][1];
    });
    box.appendChild(table);
    if (!review.length) {
      box.appendChild(
        element("p", "Nothing to review yet. Open a self-check on any page and press " +
          "“Review again”: it is listed here, oldest first.")
      );
      return;
    }
    var list = element("ol", undefined, "mlsd-review-list");
    review.forEach(function (item) {
      var id = item[0], entry = item[1];
      var page = id.slice(0, id.indexOf("#"));
      var url = new URL(page, root);
      url.hash = entry.a || id.slice(page.length + 1);
      if (url.origin !== location.origin) return; // read() checked it; be sure anyway
      var li = element("li");
      var link = element("a", entry.q || id);
      link.href = url.href;
      li.appendChild(link);
      var where = " " + (entry.t || page) + " · marked ";
      var meta = element("span", where, "mlsd-review-meta");
      var time = element("time", String(entry.at).slice(0, 10));
      time.dateTime = entry.at;
      meta.appendChild(time);
      li.appendChild(meta);
      list.appendChild(li);
    });
    box.appendChild(list);
  }

  // ── Export, import, reset (practice/index.md) ──────────────────────────────
  function isObject(value) {
    return !!value && typeof value === "object" && !Array.isArray(value);
  }
  // What is wrong with one stored mark, in words, or "" when it is sound.
  function markProblem(id, entry) {
    var mark = 'the mark "' + id + '"';
    if (!MARK_ID.test(id)) return mark + ' is not a "page/#q-..." id of this site.';
    if (!isObject(entry) || (entry.state !== "known" && entry.state !== "review")) {
      return mark + ' has no state "known" or "review".';
    }
    if (typeof entry.at !== "string" || isNaN(Date.parse(entry.at))) {
      return mark + " has no valid date.";
    }
    if (typeof entry.q !== "string") return mark + " has no question text.";
    if (typeof entry.a !== "string" || !ANCHOR.test(entry.a)) {
      return mark + " has no valid anchor (letters, digits, - and _ only).";
    }
    if (typeof entry.t !== "string") return mark + " has no page title.";
    return "";
  }
  // What is wrong with an export file, in words, or "" when it is sound. The mock
  // interview's items must be JSON; the mock page checks their shapes when it reads them.
  function problem(data) {
    if (!isObject(data)) return "the file holds no JSON object.";
    if (data.format !== FORMAT) {
      return 'it is not a progress file of this guide (no "format": "' + FORMAT + '").';
    }
    if (data.version !== 1) {
      return "its version is " + JSON.stringify(data.version) + "; this page reads 1.";
    }
    var items = data.items;
    if (!isObject(items)) return '"items" is missing or not an object.';
    for (var key in items) {
      if (key.indexOf(PREFIX) !== 0) {
        return 'the item "' + key + '" does not start with "' + PREFIX + '".';
      }
      if (typeof items[key] !== "string") return 'the item "' + key + '" is not a string.';
      if (key.indexOf(MOCK) === 0) {
        try {
          JSON.parse(items[key]);
        } catch (error) {
          return 'the item "' + key + '" is not JSON.';
        }
      }
    }
    if (!(KEY in items)) return "";
    var marks;
    try {
      marks = JSON.parse(items[KEY]);
    } catch (error) {
      return "the self-check marks are not JSON.";
    }
    if (!isObject(marks)) return "the self-check marks are not an object.";
    for (var id in marks) {
      var wrong = markProblem(id, marks[id]);
      if (wrong) return wrong;
    }
    return "";
  }
  function tools(box) {
    var status = element("p", "", "mlsd-data-status");
    status.setAttribute("role", "status");
    var summary = element("p", "", "mlsd-data-summary");
    var held = "";
    function refresh() {
      var counts = tally(read());
      var others = ownKeys().filter(function (key) { return key !== KEY; }).length;
      held = counts.known + " self-check" + (counts.known === 1 ? "" : "s") + " known, " +
        counts.review + " to review and " + others + " other saved item" +
        (others === 1 ? "" : "s") + " (mock interviews)";
      summary.textContent = "Saved in this browser: " + held + ".";
    }
    function tell(message, failed) {
      status.textContent = message;
      status.classList.toggle("mlsd-data-error", !!failed);
    }
    var actions = element("div", undefined, "mlsd-data-actions");
    var save = element("button", "Export progress (JSON)");
    save.type = "button";
    save.addEventListener("click", function () {
      var items = {};
      ownKeys().forEach(function (key) { items[key] = localStorage.getItem(key); });
      var file = {
        format: FORMAT,
        version: 1,
        exported: new Date().toISOString(),
        items: items,
      };
      var blob = new Blob([JSON.stringify(file, null, 1)], { type: "application/json" });
      var link = element("a");
      link.href = URL.createObjectURL(blob);
      link.download = "mlsd-progress-" + file.exported.slice(0, 10) + ".json";
      document.body.appendChild(link);
      link.click();
      link.remove();
      setTimeout(function () { URL.revokeObjectURL(link.href); }, 0);
      var count = Object.keys(items).length;
      tell("Exported " + count + " saved item(s) to " + link.download + ".");
    });
    var label = element(
      "label",
      "Import a progress file (replaces what this browser holds)"
    );
    var input = element("input");
    input.type = "file";
    input.id = "mlsd-import";
    input.accept = ".json,application/json";
    label.htmlFor = input.id;
    input.addEventListener("change", function () {
      var file = input.files && input.files[0];
      if (!file) return;
      file.text().then(function (text) {
        input.value = "";
        var data;
        try {
          data = JSON.parse(text);
        } catch (error) {
          return tell("Import failed: " + file.name + " is not JSON. " + UNCHANGED, true);
        }
        var wrong = problem(data);
        if (wrong) return tell("Import failed: " + wrong + " " + UNCHANGED, true);
        var before = {};
        ownKeys().forEach(function (key) { before[key] = localStorage.getItem(key); });
        try {
          Object.keys(before).forEach(function (key) { localStorage.removeItem(key); });
          for (var key in data.items) localStorage.setItem(key, data.items[key]);
        } catch (error) {
          ownKeys().forEach(function (key) { localStorage.removeItem(key); });
          for (var old in before) localStorage.setItem(old, before[old]);
          return tell("Import failed: this browser would not store it. " + UNCHANGED, true);
        }
        refresh();
        tell("Imported " + file.name + ": it replaced what this browser held.");
      });
    });
    var reset = element("button", "Reset progress…");
    reset.type = "button";
    var confirm = element("div", undefined, "mlsd-data-confirm");
    confirm.hidden = true;
    var question = element("p");
    var yes = element("button", "Delete everything");
    var no = element("button", "Cancel");
    yes.type = no.type = "button";
    confirm.append(question, yes, no);
    reset.addEventListener("click", function () {
      refresh();
      question.textContent = "Delete " + held + " from this browser? This cannot be " +
        "undone: export first to keep a copy.";
      confirm.hidden = false;
      no.focus();
    });
    no.addEventListener("click", function () {
      confirm.hidden = true;
      reset.focus();
      tell("Nothing was deleted.");
    });
    yes.addEventListener("click", function () {
      ownKeys().forEach(function (key) { localStorage.removeItem(key); });
      confirm.hidden = true;
      reset.focus();
      refresh();
      tell("Progress deleted from this browser.");
    });
    var picker = element("p", undefined, "mlsd-data-import");
    picker.append(label, input);
    actions.append(save, reset);
    box.textContent = "";
    box.append(summary, actions, picker, confirm, status);
    refresh();
  }

  // ── Start ──────────────────────────────────────────────────────────────────
  var data = read();
  checks.forEach(function (check) {
    var entry = data[here + "#" + check.getAttribute("data-mlsd-check")];
    if (entry && entry.state in STATES) show(check, entry.state);
  });
  count(data);
  // toggle does not bubble: listen in the capture phase. A !!! question box opens
  // through its folded answer, so the self-check is the closest marked ancestor.
  document.addEventListener(
    "toggle",
    function (event) {
      var check = event.target.open && event.target.closest("article [data-mlsd-check]");
      if (check && checks.length) buttons(check); // none on a page with no sound path
    },
    true
  );
  reveal();
  addEventListener("hashchange", reveal);
  var box = document.getElementById("mlsd-review");
  if (box) queue(box);
  box = document.getElementById("mlsd-data");
  if (box) tools(box);
})();
