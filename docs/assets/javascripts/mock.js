// The timed mock interview (practice/mock-interview.md loads this file; no other page).
// The phases come from assets/practice/plan.json, generated from
// snippets/framework/interview_plan.py, the source of the 45-minute plan page; the
// problems from the page's own list of links. Everything is kept in localStorage under
// "mlsd:mock:": the run (so a reload loses nothing), the notes and the self-scores of
// each problem. Time is read from Date.now(), never counted in ticks, so a slow or
// background tab shows the right time when it wakes.
(function () {
  "use strict";
  var root = document.getElementById("mlsd-mock");
  var script = document.currentScript;
  // file:// cannot fetch the plan or the problem pages: the page's fallback text stays.
  // In the one-page book (print-site) the page is a chapter: no mock there either.
  if (!root || !script || location.protocol === "file:" || root.closest(".print-page")) {
    return;
  }

  var KEY = "mlsd:mock:";
  var SCORES = ["Lean hire", "Hire", "Strong hire"]; // saved as 1, 2, 3
  var TICK_MS = 500;
  function $(name) {
    return document.getElementById("mlsd-mock-" + name);
  }
  var el = {};
  ["fallback", "setup", "problem", "start", "surprise", "run", "title", "prompt",
    "phase", "phase-left", "total-left", "board", "phases", "controls", "pause", "skip",
    "finish", "new", "work", "notes", "score", "score-rows", "score-title", "saved",
    "reference", "history", "record", "problems"].forEach(function (name) {
    el[name] = $(name);
  });

  function load(key, fallback) {
    try {
      var text = localStorage.getItem(KEY + key);
      return text === null ? fallback : JSON.parse(text);
    } catch (error) {
      return fallback;
    }
  }
  function store(key, value) {
    try {
      if (value === null) localStorage.removeItem(KEY + key);
      else localStorage.setItem(KEY + key, JSON.stringify(value));
    } catch (error) {
      // storage full or disabled: the mock still runs, it just forgets on reload
    }
  }
  function make(tag, text, className) {
    var node = document.createElement(tag);
    if (text !== undefined && text !== null) node.textContent = text;
    if (className) node.className = className;
    return node;
  }
  function two(n) {
    return (n < 10 ? "0" : "") + n;
  }
  function mmss(ms) {
    var seconds = Math.max(0, Math.ceil(ms / 1000));
    return Math.floor(seconds / 60) + ":" + two(seconds % 60);
  }
  function today() {
    var now = new Date(Date.now());
    return now.getFullYear() + "-" + two(now.getMonth() + 1) + "-" + two(now.getDate());
  }

  // ── The problems: the page's list, in the site's order ────────────────────────
  var problems = Array.prototype.map.call(el.problems.querySelectorAll("a"), function (a) {
    var parts = a.pathname.split("/").filter(Boolean);
    return { slug: parts[parts.length - 1], title: a.textContent.trim(), url: a.href };
  });
  function problem(slug) {
    return problems.filter(function (p) { return p.slug === slug; })[0];
  }
  problems.forEach(function (p) {
    var option = make("option", p.title);
    option.value = p.slug;
    el.problem.appendChild(option);
  });

  // A worked problem's page, fetched once, parsed once.
  var pages = {};
  function page(p) {
    if (!pages[p.slug]) {
      pages[p.slug] = fetch(p.url)
        .then(function (response) {
          if (!response.ok) throw new Error(p.url + ": HTTP " + response.status);
          return response.text();
        })
        .then(function (html) {
          return new DOMParser().parseFromString(html, "text/html");
        });
    }
    return pages[p.slug];
  }
  // A copy of part of a problem page that works here: links made absolute (they were
  // relative to the problem), ids dropped (they would repeat this page's), no ¶ links.
  function borrow(node, base) {
    var copy = node.cloneNode(true);
    copy.removeAttribute("id");
    copy.querySelectorAll("[id]").forEach(function (n) {
      if (!n.closest("svg")) n.removeAttribute("id");
    });
    copy.querySelectorAll("a.headerlink").forEach(function (n) { n.remove(); });
    copy.querySelectorAll("[href], [src]").forEach(function (n) {
      ["href", "src"].forEach(function (name) {
        var value = n.getAttribute(name);
        if (value !== null) n.setAttribute(name, new URL(value, base).href);
      });
    });
    return copy;
  }
  // What scroll-regions.js does at load, for what arrives later: a region that
  // scrolls sideways is reachable by keyboard and named (measure all, then write).
  function scrollable(container) {
    var wide = Array.prototype.filter.call(
      container.querySelectorAll(".md-typeset__scrollwrap, .diagram, .math--block"),
      function (region) {
        return region.scrollWidth > region.clientWidth && !region.hasAttribute("tabindex");
      }
    );
    wide.forEach(function (region) {
      region.setAttribute("tabindex", "0");
      if (!region.hasAttribute("role")) {
        region.setAttribute("role", "region");
        region.setAttribute("aria-label", region.classList.contains("math--block")
          ? "Scrollable formula" : "Scrollable table");
      }
    });
  }
  // The elements of an h2 section, up to the next h2.
  function section(doc, id) {
    var found = [];
    var heading = doc.getElementById(id);
    for (var n = heading && heading.nextElementSibling; n && n.tagName !== "H2";
      n = n.nextElementSibling) {
      if (!n.classList.contains("footnote")) found.push(n);
    }
    return found;
  }

  // ── The run: {id, problem, date, elapsed, since, floor, ended, scores} ────────
  // elapsed: ms run before `since` (the Date.now() of the last start or resume, or
  // null while paused). floor: the first phase not skipped. Skipping a phase starts
  // the next one now; it keeps its planned end, so it inherits the minutes saved.
  var plan = null;
  var run = null;
  var timer = null;
  var shown = -1; // the phase the page shows (the live region changes only with it)
  var steps = []; // the rows of the problem's scoring table
  var pending = null; // the debounced save of the notes
  var focusScores = false; // "End now" was pressed: take focus to the self-score

  function totalMs() {
    return plan.usable_minutes * 60000;
  }
  function elapsed() {
    var ms = run.elapsed + (run.since === null ? 0 : Date.now() - run.since);
    return Math.min(Math.max(0, ms), totalMs());
  }
  function phaseAt(ms) {
    var i = 0;
    while (i < plan.phases.length - 1 && ms >= plan.phases[i].end * 60000) i++;
    return Math.max(i, run.floor);
  }
  function save() {
    store("run", run);
  }

  // The live region: it changes only when the phase does (the clocks are not live).
  function announce(title, cue) {
    if (el.phase.textContent === title + " " + cue) return;
    el.phase.replaceChildren(make("strong", title), " ", make("span", cue, "mlsd-mock__cue"));
  }
  function showPhase(i) {
    var phase = plan.phases[i];
    shown = i;
    announce("Phase " + (i + 1) + " of " + plan.phases.length + ": " + phase.name + ".",
      phase.prompt.charAt(0).toUpperCase() + phase.prompt.slice(1) + ".");
    el.board.textContent = "On the board: " + phase.board;
    Array.prototype.forEach.call(el.phases.children, function (item, j) {
      if (j === i) item.setAttribute("aria-current", "step");
      else item.removeAttribute("aria-current");
      item.classList.toggle("mlsd-mock__done", j < i);
    });
  }
  function setText(node, text) {
    if (node.textContent !== text) node.textContent = text;
  }
  function tick() {
    var ms = elapsed();
    if (ms >= totalMs() || run.floor >= plan.phases.length) {
      finish();
      return;
    }
    var i = phaseAt(ms);
    if (i !== shown) showPhase(i);
    setText(el["phase-left"], mmss(plan.phases[i].end * 60000 - ms));
    setText(el["total-left"], mmss(totalMs() - ms));
  }
  function startTicking() {
    if (timer === null) timer = setInterval(tick, TICK_MS);
  }
  function stopTicking() {
    if (timer !== null) clearInterval(timer);
    timer = null;
  }

  function start(slug) {
    var now = Date.now();
    run = { id: now, problem: slug, date: today(), elapsed: 0, since: now, floor: 0,
      ended: false, scores: [] };
    save();
    render();
    el.pause.focus();
  }
  function pauseOrResume() {
    if (run.since === null) {
      run.since = Date.now();
    } else {
      run.elapsed = elapsed();
      run.since = null;
    }
    save();
    render();
  }
  function skip() {
    run.floor = phaseAt(elapsed()) + 1;
    save();
    tick();
  }
  function finish() {
    var wasActive = el.controls.contains(document.activeElement);
    run.elapsed = elapsed();
    run.since = null;
    run.ended = true;
    save();
    render();
    if (wasActive) el.new.focus();
    focusScores = wasActive;
  }
  function reset() {
    run = null;
    store("run", null);
    render();
    el.problem.focus();
  }

  // ── Views ────────────────────────────────────────────────────────────────────
  function render() {
    var active = run !== null;
    document.documentElement.classList.toggle("mlsd-mock-recording", active);
    el.setup.hidden = active;
    el.run.hidden = !active;
    el.work.hidden = !active;
    if (!active) {
      stopTicking();
      shown = -1;
      renderHistory(el.problem.value);
      return;
    }
    var p = problem(run.problem);
    el.problem.value = p.slug;
    el.title.textContent = p.title + " · " + run.date;
    el.controls.hidden = run.ended;
    el.new.hidden = !run.ended;
    el.pause.textContent = run.since === null ? "Resume" : "Pause";
    if (el.notes.dataset.problem !== p.slug) {
      saveNotes(); // a change typed for the previous problem, not yet saved
      el.notes.value = load("notes:" + p.slug, "");
      el.notes.dataset.problem = p.slug;
    }
    page(p).then(function (doc) {
      var prompt = section(doc, "the-prompt").filter(function (n) {
        return n.tagName === "BLOCKQUOTE";
      })[0];
      if (prompt) el.prompt.replaceChildren.apply(el.prompt, borrow(prompt, p.url).childNodes);
    }, failed);
    if (run.ended) {
      stopTicking();
      shown = -1;
      announce("Time is up.", "Compare your notes with the design, then score yourself.");
      setText(el["phase-left"], mmss(0));
      setText(el["total-left"], mmss(totalMs() - elapsed()));
      el.board.textContent = "Time used: " + mmss(elapsed()) + " of " + mmss(totalMs()) + ".";
      Array.prototype.forEach.call(el.phases.children, function (item) {
        item.removeAttribute("aria-current");
        item.classList.add("mlsd-mock__done");
      });
      renderEnd(p);
    } else {
      el.score.hidden = true;
      el.reference.hidden = true;
      tick();
      if (run.since === null) stopTicking();
      else startTicking();
    }
    renderHistory(p.slug);
    renderRecord();
  }

  function renderEnd(p) {
    page(p).then(function (doc) {
      var parts = [];
      var summary = Array.prototype.filter.call(doc.querySelectorAll("details"), function (d) {
        var title = d.querySelector(":scope > summary");
        return title && title.textContent.trim() === "The design on one page";
      })[0];
      if (summary) {
        var open = borrow(summary, p.url);
        open.setAttribute("open", "");
        parts.push(open);
      }
      parts.push(make("p", "How an interviewer scores it", "mlsd-mock__label"));
      var scoring = section(doc, "how-an-interviewer-scores-it");
      scoring.forEach(function (n) { parts.push(borrow(n, p.url)); });
      var link = make("a", "Read the whole worked problem");
      link.href = p.url;
      var more = make("p");
      more.appendChild(link);
      parts.push(more);
      el.reference.replaceChildren.apply(el.reference, parts);
      el.reference.hidden = false;
      scrollable(el.reference);
      var table = scoring.filter(function (n) { return n.querySelector("table"); })[0];
      steps = table
        ? Array.prototype.map.call(table.querySelectorAll("tbody tr"), function (row) {
          return row.cells[0].textContent.trim();
        })
        : [];
      renderScoreForm();
    }, failed);
  }

  function renderScoreForm() {
    var rows = steps.map(function (step, i) {
      var set = make("fieldset");
      set.appendChild(make("legend", step));
      SCORES.forEach(function (label, j) {
        var choice = make("label");
        var input = make("input");
        input.type = "radio";
        input.name = "mlsd-mock-score-" + i;
        input.value = String(j + 1);
        input.checked = run.scores[i] === j + 1;
        choice.append(input, " " + label);
        set.appendChild(choice);
      });
      return set;
    });
    el["score-rows"].replaceChildren.apply(el["score-rows"], rows);
    el.score.hidden = steps.length === 0;
    renderRecord();
    if (focusScores && document.activeElement === el.new) el["score-title"].focus();
    focusScores = false;
  }
  function chosenScores() {
    return steps.map(function (_, i) {
      var checked = el.score.querySelector('input[name="mlsd-mock-score-' + i + '"]:checked');
      return checked ? Number(checked.value) : null;
    });
  }

  function renderHistory(slug) {
    var history = load("history:" + slug, []);
    el.history.hidden = history.length === 0;
    if (!history.length) {
      el.history.replaceChildren();
      return;
    }
    var names = steps.length && run && run.problem === slug ? steps : history[history.length - 1].steps;
    var table = make("table", null, "mlsd-table");
    var head = table.createTHead().insertRow();
    ["Date"].concat(names, ["Mean"]).forEach(function (name) {
      var th = make("th", name);
      th.scope = "col";
      head.appendChild(th);
    });
    var body = table.createTBody();
    history.forEach(function (entry) {
      var row = body.insertRow();
      var th = make("th", entry.date);
      th.scope = "row";
      row.appendChild(th);
      var given = [];
      names.forEach(function (name) {
        var k = entry.steps.indexOf(name);
        var score = k < 0 ? null : entry.scores[k];
        if (score) given.push(score);
        row.insertCell().textContent = score ? String(score) : "–";
      });
      var mean = given.length
        ? (given.reduce(function (a, b) { return a + b; }, 0) / given.length).toFixed(1)
        : "–";
      row.insertCell().textContent = mean;
    });
    var wrap = make("div", null, "md-typeset__scrollwrap");
    var inner = make("div", null, "md-typeset__table");
    inner.appendChild(table);
    wrap.appendChild(inner);
    var title = problem(slug) ? problem(slug).title : slug;
    el.history.replaceChildren(
      make("p", "Your past mocks on " + title, "mlsd-mock__label"),
      make("p", "1 = lean hire, 2 = hire, 3 = strong hire, – = not scored; the mean is " +
        "over the steps scored.", "mlsd-mock__legend"),
      wrap
    );
    scrollable(el.history);
  }

  // The one-page record that print shows instead of the page (extra.css).
  function renderRecord() {
    if (!run) return;
    var p = problem(run.problem);
    var parts = [
      make("p", "Mock interview: " + p.title, "mlsd-mock__record-title"),
      make("p", "Date " + run.date + " · time used " + mmss(elapsed()) + " of " +
        mmss(totalMs())),
      make("p", el.prompt.textContent.trim(), "mlsd-mock__record-prompt"),
      make("p", "Notes", "mlsd-mock__label"),
      make("div", el.notes.value || "(none)", "mlsd-mock__record-notes"),
    ];
    if (steps.length) {
      var scores = chosenScores();
      parts.push(make("p", "Self-score", "mlsd-mock__label"));
      var list = make("ul", null, "mlsd-mock__record-scores");
      steps.forEach(function (step, i) {
        list.appendChild(make("li", step + ": " + (scores[i] ? SCORES[scores[i] - 1] : "–")));
      });
      parts.push(list);
    }
    el.record.replaceChildren.apply(el.record, parts);
  }

  function failed(error) {
    el.prompt.textContent = "Could not load the problem page (" + error.message + ").";
  }

  // ── Events ───────────────────────────────────────────────────────────────────
  function saveNotes() {
    if (pending !== null) clearTimeout(pending);
    pending = null;
    if (el.notes.dataset.problem) store("notes:" + el.notes.dataset.problem, el.notes.value);
  }
  el.notes.addEventListener("input", function () {
    if (pending !== null) clearTimeout(pending);
    pending = setTimeout(function () {
      saveNotes();
      renderRecord();
    }, 400);
  });
  window.addEventListener("pagehide", saveNotes);
  window.addEventListener("beforeprint", renderRecord);
  el.start.addEventListener("click", function () {
    start(el.problem.value);
  });
  el.surprise.addEventListener("click", function () {
    var others = problems.filter(function (p) { return p.slug !== el.problem.value; });
    start(others[Math.floor(Math.random() * others.length)].slug);
  });
  el.problem.addEventListener("change", function () {
    renderHistory(el.problem.value);
  });
  el.pause.addEventListener("click", pauseOrResume);
  el.skip.addEventListener("click", skip);
  el.finish.addEventListener("click", finish);
  el.new.addEventListener("click", reset);
  el.score.addEventListener("change", function () {
    run.scores = chosenScores();
    save();
    renderRecord();
  });
  el.score.addEventListener("submit", function (event) {
    event.preventDefault();
    run.scores = chosenScores();
    save();
    var history = load("history:" + run.problem, []).filter(function (entry) {
      return entry.id !== run.id;
    });
    history.push({ id: run.id, date: run.date, steps: steps, scores: run.scores });
    store("history:" + run.problem, history);
    el.saved.textContent = "Saved: " + run.date + ". It is in your past mocks below.";
    renderHistory(run.problem);
  });

  // ── Start-up: the plan, then the saved run if there is one ────────────────────
  fetch(new URL("../practice/plan.json", script.src))
    .then(function (response) {
      if (!response.ok) throw new Error("plan.json: HTTP " + response.status);
      return response.json();
    })
    .then(function (data) {
      plan = data;
      plan.phases.forEach(function (phase) {
        el.phases.appendChild(make("li", phase.name + " (" + phase.minutes + " min)"));
      });
      var saved = load("run", null);
      var valid = saved && problem(saved.problem) && typeof saved.elapsed === "number" &&
        typeof saved.floor === "number" && Array.isArray(saved.scores);
      run = valid ? saved : null;
      el.fallback.hidden = true;
      root.hidden = false;
      render();
    })
    .catch(function () {
      // the fallback text stays: run the phases with any timer
    });
})();
