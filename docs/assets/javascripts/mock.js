// The timed mock interview (practice/mock-interview.md loads this file; no other page).
// The phases come from assets/practice/plan.json, generated from
// snippets/framework/interview_plan.py, the source of the 45-minute plan page; the
// problems from the page's own list of links. Everything is kept in localStorage under
// "mlsd:mock:": the run (so a reload loses nothing), its notes (per run: a new attempt
// starts clean) and each problem's history of self-scores, with the notes copied in.
// Whatever is stored may have been imported from a file: every value is checked on
// load. Time is read from Date.now(), never counted in ticks, so a slow or background
// tab shows the right time when it wakes.
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
  // saved as 0..3; an unscored step is null and counts as 0 ("not covered") in the mean
  var SCORES = ["Not covered", "Lean hire", "Hire", "Strong hire"];
  var TICK_MS = 500;
  function $(name) {
    return document.getElementById("mlsd-mock-" + name);
  }
  var el = {};
  ["fallback", "setup", "problem", "start", "surprise", "run", "title", "prompt",
    "status", "drive", "phase", "phase-left", "total-left", "board", "away", "phases",
    "controls", "pause", "skip", "finish", "new", "work", "notes", "score", "score-rows",
    "score-title", "saved", "reference", "history", "record", "problems", "unsaved", "keep",
    "discard"].forEach(function (name) {
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
  // A count-down shows whole seconds up (0:01 until it is over); a time of day down.
  function mmss(ms, down) {
    var seconds = Math.max(0, (down ? Math.floor : Math.ceil)(ms / 1000));
    return Math.floor(seconds / 60) + ":" + two(seconds % 60);
  }
  function today() {
    var now = new Date(Date.now());
    return now.getFullYear() + "-" + two(now.getMonth() + 1) + "-" + two(now.getDate());
  }

  // ── The shapes of what is stored (anything may arrive by import) ──────────────
  var DATE = /^\d{4}-\d{2}-\d{2}$/;
  function finite(v) {
    return typeof v === "number" && isFinite(v);
  }
  function whole(v, lo, hi) {
    return finite(v) && Math.floor(v) === v && v >= lo && v <= hi;
  }
  function isDate(v) {
    return typeof v === "string" && DATE.test(v);
  }
  function optional(v, check) {
    return v === undefined || v === null || check(v);
  }
  function scoresOk(list) {
    return Array.isArray(list) && list.every(function (s) {
      return s === null || whole(s, 0, SCORES.length - 1);
    });
  }
  function splitsOk(list) {
    return Array.isArray(list) && list.every(function (v) { return v === null || finite(v); });
  }
  function isText(v) {
    return typeof v === "string";
  }
  function validRun(r) {
    return !!r && typeof r === "object" && finite(r.id) && !!problem(r.problem) &&
      isDate(r.date) && finite(r.elapsed) && r.elapsed >= 0 &&
      (r.since === null || finite(r.since)) && whole(r.floor, 0, plan.phases.length) &&
      typeof r.ended === "boolean" && scoresOk(r.scores) && optional(r.steer, isText) &&
      optional(r.splits, splitsOk);
  }
  function validEntry(e) {
    return !!e && typeof e === "object" && finite(e.id) && isDate(e.date) &&
      Array.isArray(e.steps) && e.steps.every(isText) && scoresOk(e.scores) &&
      optional(e.notes, isText) && optional(e.steer, isText) && optional(e.splits, splitsOk);
  }
  function history(slug) {
    var list = load("history:" + slug, []);
    return Array.isArray(list) ? list.filter(validEntry) : [];
  }
  function notesOf(id) {
    var text = load("notes:" + id, "");
    return typeof text === "string" ? text : "";
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

  // ── The run: {id, problem, date, elapsed, since, floor, ended, scores, steer, splits}
  // elapsed: ms run before `since` (the Date.now() of the last start or resume, or
  // null while paused). floor: the first phase not skipped. Skipping a phase starts
  // the next one now; it keeps its planned end, so it inherits the minutes saved.
  // steer: the step the interviewer asks to go deep on, drawn before the deep dive (so
  // a reload keeps it) but announced, printed and saved only once the dive has begun.
  // splits: the elapsed ms at which each phase began (the pace of the run).
  var plan = null;
  var run = null;
  var timer = null;
  var shown = -1; // the phase the page shows (the live region changes only with it)
  var steps = []; // the rows of the problem's scoring table
  var pending = null; // the debounced save of the notes
  var focusScores = false; // "End now" was pressed: take focus to the self-score
  var DEEP_DIVE = "Deep dive"; // the phase that opens with the interviewer's steer

  function totalMs() {
    return plan.usable_minutes * 60000;
  }
  function elapsed() {
    var ms = run.elapsed + (run.since === null ? 0 : Date.now() - run.since);
    return Math.min(Math.max(0, ms), totalMs());
  }
  function diveIndex() {
    return plan.phases.map(function (ph) { return ph.name; }).indexOf(DEEP_DIVE);
  }
  // The steer the attempt has been given: none before its deep dive began.
  function steerGiven() {
    var dive = diveIndex();
    return run.steer && dive >= 0 && phaseAt(elapsed()) >= dive ? run.steer : null;
  }
  function phaseAt(ms) {
    var i = 0;
    while (i < plan.phases.length - 1 && ms >= plan.phases[i].end * 60000) i++;
    return Math.max(i, run.floor);
  }
  function save() {
    store("run", run);
  }
  // Leaving the page (a closed tab, a reload, another app on a phone): store the time
  // reached, so a run found stale on return pauses there, not at its last pause.
  function rebase() {
    if (!run || run.ended || run.since === null) return;
    run.elapsed = elapsed();
    run.since = Date.now();
    save();
  }
  window.addEventListener("pagehide", rebase);
  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "hidden") rebase();
  });

  // The live region: it changes only when the phase does (the clocks are not live).
  function announce(title, cue) {
    if (el.phase.textContent === title + " " + cue) return;
    el.phase.replaceChildren(make("strong", title), " ", make("span", cue, "mlsd-mock__cue"));
  }
  function cap(text) {
    return text.charAt(0).toUpperCase() + text.slice(1);
  }
  function showPhase(i) {
    var phase = plan.phases[i];
    shown = i;
    var cue = cap(phase.prompt) + ".";
    if (phase.name === DEEP_DIVE && run.steer) {
      cue = "The interviewer asks you to go deep on: " + run.steer + ".";
    }
    announce("Phase " + (i + 1) + " of " + plan.phases.length + ": " + phase.name + ".", cue);
    el.board.textContent = "On the board: " + phase.board;
    markPhases(i, i);
  }
  // aria-current on the phase shown, struck through the phases reached before it.
  function markPhases(current, reached) {
    Array.prototype.forEach.call(el.phases.children, function (item, j) {
      if (j === current) item.setAttribute("aria-current", "step");
      else item.removeAttribute("aria-current");
      item.classList.toggle("mlsd-mock__done", j < reached || (current < 0 && j === reached));
    });
  }
  // When a phase first shows: its start (the planned one, or the time of the skip
  // that began it early, the frozen time if paused) is the split, never rewritten.
  function split(i, ms) {
    if (!run.splits) run.splits = [];
    if (typeof run.splits[i] === "number") return;
    var planned = i === 0 ? 0 : plan.phases[i - 1].end * 60000;
    run.splits[i] = Math.min(ms, planned);
    for (var j = 0; j < i; j++) if (run.splits[j] === undefined) run.splits[j] = null;
    save();
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
    if (i !== shown) {
      split(i, ms);
      showPhase(i);
    }
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
    clean();
    run = { id: now, problem: slug, date: today(), elapsed: 0, since: now, floor: 0,
      ended: false, scores: [], steer: null, splits: [] };
    save();
    render();
    el.pause.focus();
  }
  function pauseOrResume() {
    el.away.hidden = true;
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
    el.away.hidden = true;
    var wasActive = el.controls.contains(document.activeElement);
    run.elapsed = elapsed();
    run.since = null;
    run.ended = true;
    save();
    render();
    if (wasActive) el.new.focus();
    focusScores = wasActive;
  }
  // What belongs to one attempt goes with it: a new one starts clean. Its notes live
  // on in the history if its scores were saved.
  function clean() {
    saveNotes();
    if (run) store("notes:" + run.id, null);
    steps = [];
    el.notes.value = "";
    delete el.notes.dataset.run;
    el["score-rows"].replaceChildren();
    el.saved.textContent = "";
    el.prompt.replaceChildren();
    el.reference.replaceChildren();
    el.record.replaceChildren();
    el.away.hidden = true;
  }
  function reset() {
    clean();
    run = null;
    store("run", null);
    render();
    el.problem.focus();
  }
  // "New mock" after an attempt whose notes or self-scores are not in its saved entry
  // (never saved, or changed since) asks first, in the page: the safe answer, keep
  // them, has the focus (Escape answers it too).
  function workUnsaved() {
    var text = el.notes.value, scores = chosenScores();
    var saved = history(run.problem).filter(function (entry) {
      return entry.id === run.id;
    })[0];
    var scored = scores.some(function (s) { return s !== null; });
    if (!saved) return text.trim() !== "" || scored;
    var sameScores = scores.length === saved.scores.length &&
      scores.every(function (s, i) { return s === saved.scores[i]; });
    return saved.notes !== text || !sameScores;
  }
  function asking(on) {
    el.unsaved.hidden = !on;
    el.new.hidden = on;
  }
  function newMock() {
    if (!workUnsaved()) {
      reset();
      return;
    }
    asking(true);
    el.keep.focus();
  }
  function keepWork() {
    asking(false);
    var target = el.score.hidden ? el.notes : el["score-title"];
    target.focus();
    target.scrollIntoView({ block: "nearest" });
  }

  // ── Views ────────────────────────────────────────────────────────────────────
  function render() {
    var active = run !== null;
    document.documentElement.classList.toggle("mlsd-mock-recording", active);
    el.setup.hidden = active;
    el.run.hidden = !active;
    el.status.hidden = !active;
    el.drive.hidden = !active;
    el.unsaved.hidden = true;
    el.work.hidden = !active;
    if (!active) {
      root.classList.remove("mlsd-mock--running");
      stopTicking();
      shown = -1;
      renderHistory(el.problem.value);
      return;
    }
    var p = problem(run.problem);
    el.problem.value = p.slug;
    el.title.textContent = p.title + " · " + run.date;
    el.controls.hidden = run.ended;
    root.classList.toggle("mlsd-mock--running", !run.ended); // sticky clocks (extra.css)
    el.new.hidden = !run.ended;
    el.pause.textContent = run.since === null ? "Resume" : "Pause";
    if (el.notes.dataset.run !== String(run.id)) {
      el.notes.value = notesOf(run.id);
      el.notes.dataset.run = String(run.id);
    }
    var id = run.id;
    page(p).then(function (doc) {
      if (!run || run.id !== id) return; // a newer mock began while this page loaded
      var prompt = section(doc, "the-prompt").filter(function (n) {
        return n.tagName === "BLOCKQUOTE";
      })[0];
      if (prompt) el.prompt.replaceChildren.apply(el.prompt, borrow(prompt, p.url).childNodes);
      // the steer is drawn once, before the deep dive begins
      if (!run.ended && !run.steer && phaseAt(elapsed()) < diveIndex()) {
        run.steer = steerFrom(scoringSteps(doc));
        save();
      }
      renderRecord();
    }, failed(id));
    if (run.ended) {
      stopTicking();
      shown = -1;
      var used = elapsed();
      if (used >= totalMs()) {
        announce("Time is up.", "Compare your notes with the design, then score yourself.");
      } else {
        announce("Mock ended at " + mmss(used, true) + ".",
          "Compare your notes with the design, then score yourself.");
      }
      setText(el["phase-left"], mmss(0));
      setText(el["total-left"], mmss(totalMs() - used));
      el.board.textContent = "Time used: " + mmss(used, true) + " of " + mmss(totalMs()) + ".";
      markPhases(-1, used >= totalMs() ? plan.phases.length : phaseAt(used));
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

  // The first column of the problem's scoring table: its steps.
  function scoringSteps(doc) {
    var table = section(doc, "how-an-interviewer-scores-it").filter(function (n) {
      return n.querySelector("table");
    })[0];
    return table
      ? Array.prototype.map.call(table.querySelectorAll("tbody tr"), function (row) {
        return row.cells[0].textContent.trim();
      })
      : [];
  }
  // The interviewer's steer: one of the steps a deep dive can take (those after the
  // architecture in the scoring table), at random.
  function steerFrom(names) {
    var after = names.indexOf("Architecture");
    var deep = after < 0 ? names : names.slice(after + 1);
    return deep.length ? deep[Math.floor(Math.random() * deep.length)] : null;
  }

  function renderEnd(p) {
    var id = run.id;
    page(p).then(function (doc) {
      if (!run || run.id !== id) return;
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
      steps = scoringSteps(doc);
      renderScoreForm();
    }, failed(id));
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
        input.value = String(j);
        input.checked = run.scores[i] === j;
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
    var past = history(slug);
    el.history.hidden = past.length === 0;
    if (!past.length) {
      el.history.replaceChildren();
      return;
    }
    var names = steps.length && run && run.problem === slug ? steps : past[past.length - 1].steps;
    var table = make("table", null, "mlsd-table");
    var head = table.createTHead().insertRow();
    ["Date"].concat(names, ["Scored", "Mean", "Deep dive on"]).forEach(function (name) {
      var th = make("th", name);
      th.scope = "col";
      head.appendChild(th);
    });
    var body = table.createTBody();
    var notes = [];
    past.forEach(function (entry) {
      var row = body.insertRow();
      var th = make("th", entry.date);
      th.scope = "row";
      row.appendChild(th);
      var given = 0;
      var sum = 0;
      names.forEach(function (name) {
        var k = entry.steps.indexOf(name);
        var score = k < 0 || entry.scores[k] === undefined ? null : entry.scores[k];
        if (score !== null) {
          given += 1;
          sum += score;
        }
        row.insertCell().textContent = score === null ? "–" : String(score);
      });
      row.insertCell().textContent = given + " of " + names.length;
      row.insertCell().textContent = names.length ? (sum / names.length).toFixed(1) : "–";
      row.insertCell().textContent = entry.steer || "–";
      if (entry.notes) {
        var fold = make("details", null, "mlsd-mock__past-notes");
        fold.appendChild(make("summary", "Your notes of " + entry.date));
        fold.appendChild(make("div", entry.notes, "mlsd-mock__record-notes"));
        notes.push(fold);
      }
    });
    var wrap = make("div", null, "md-typeset__scrollwrap");
    var inner = make("div", null, "md-typeset__table");
    inner.appendChild(table);
    wrap.appendChild(inner);
    var title = problem(slug) ? problem(slug).title : slug;
    el.history.replaceChildren.apply(el.history, [
      make("p", "Your past mocks on " + title, "mlsd-mock__label"),
      make("p", "0 = not covered, 1 = lean hire, 2 = hire, 3 = strong hire, – = not " +
        "scored; the mean is over all " + names.length + " steps, an unscored step " +
        "counting as 0.", "mlsd-mock__legend"),
      wrap,
    ].concat(notes));
    scrollable(el.history);
  }

  // The one-page record that print shows instead of the page (extra.css).
  // The pace: when each phase began ("Deep dive 9:12").
  function pace(splits) {
    return (splits || []).map(function (ms, i) {
      return typeof ms === "number" && plan.phases[i]
        ? plan.phases[i].name + " " + mmss(ms, true)
        : "";
    }).filter(Boolean).join(" · ");
  }
  function renderRecord() {
    if (!run) return;
    var p = problem(run.problem);
    var parts = [
      make("p", "Mock interview: " + p.title, "mlsd-mock__record-title"),
      make("p", "Date " + run.date + " · time used " + mmss(elapsed(), true) + " of " +
        mmss(totalMs())),
      make("p", el.prompt.textContent.trim(), "mlsd-mock__record-prompt"),
    ];
    var steer = steerGiven();
    if (steer) parts.push(make("p", "The interviewer asked to go deep on: " + steer + "."));
    if (pace(run.splits)) parts.push(make("p", "Phases began at: " + pace(run.splits) + "."));
    parts.push(make("p", "Notes", "mlsd-mock__label"),
      make("div", el.notes.value || "(none)", "mlsd-mock__record-notes"));
    if (steps.length) {
      var scores = chosenScores();
      parts.push(make("p", "Self-score", "mlsd-mock__label"));
      var list = make("ul", null, "mlsd-mock__record-scores");
      steps.forEach(function (step, i) {
        var score = scores[i] === null ? "–" : SCORES[scores[i]];
        list.appendChild(make("li", step + ": " + score));
      });
      parts.push(list);
    }
    el.record.replaceChildren.apply(el.record, parts);
  }

  function failed(id) {
    return function (error) {
      if (!run || run.id !== id) return;
      el.prompt.textContent = "Could not load the problem page (" + error.message + ").";
    };
  }

  // ── Events ───────────────────────────────────────────────────────────────────
  function saveNotes() {
    if (pending !== null) clearTimeout(pending);
    pending = null;
    if (el.notes.dataset.run) store("notes:" + el.notes.dataset.run, el.notes.value);
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
  el.new.addEventListener("click", newMock);
  el.keep.addEventListener("click", keepWork);
  el.discard.addEventListener("click", reset);
  el.unsaved.addEventListener("keydown", function (event) {
    if (event.key === "Escape") keepWork();
  });
  el.score.addEventListener("change", function () {
    if (!run) return;
    run.scores = chosenScores();
    save();
    renderRecord();
  });
  el.score.addEventListener("submit", function (event) {
    event.preventDefault();
    run.scores = chosenScores();
    save();
    saveNotes();
    var past = history(run.problem).filter(function (entry) {
      return entry.id !== run.id;
    });
    past.push({ id: run.id, date: run.date, steps: steps, scores: run.scores,
      notes: el.notes.value, steer: steerGiven(), splits: run.splits || [] });
    store("history:" + run.problem, past);
    el.saved.textContent = "Saved: " + run.date + ". It is in your past mocks below.";
    if (!el.unsaved.hidden) asking(false); // the question is answered
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
      run = validRun(saved) ? saved : null;
      if (saved !== null && !run) store("run", null);
      // Left running for longer than its time left (a tab closed mid-mock): pause
      // where it was, and let the reader resume or end it.
      if (run && !run.ended && run.since !== null &&
        Date.now() - run.since > totalMs() - run.elapsed) {
        // At least the last phase it reached, should the page have closed unseen.
        run.elapsed = Math.max.apply(null, [run.elapsed].concat(
          (run.splits || []).filter(function (t) { return typeof t === "number"; })));
        run.since = null;
        save();
        el.away.hidden = false;
      }
      root.hidden = false; // before render(): it measures the tables it draws
      render();
      el.fallback.hidden = true; // only once render() has succeeded
    })
    .catch(function (error) {
      // the fallback text stays: run the phases with any timer
      stopTicking();
      root.hidden = true;
      el.fallback.hidden = false;
      console.error("mock interview:", error);
    });
})();
