// The interview edition, assembled in the home page of a normal build (mlsd_docs/pdf.py):
// fetch the pages it needs from the same server, keep the parts the edition prints, and
// put them in place of the article. Returns what went in.
async () => {
  const parser = new DOMParser();
  const cache = new Map();
  const load = async (url) => {
    const key = url.split('#')[0];
    if (!cache.has(key)) {
      const response = await fetch(key);
      if (!response.ok) throw new Error(`${key}: HTTP ${response.status}`);
      cache.set(key, parser.parseFromString(await response.text(), 'text/html'));
    }
    return cache.get(key);
  };
  const article = (doc) => doc.querySelector('article.md-content__inner');
  const titleOf = (doc) => {
    const h1 = doc.querySelector('article h1').cloneNode(true);
    h1.querySelectorAll('.headerlink').forEach((e) => e.remove());
    return h1.textContent.trim();
  };
  const clean = (node) => {
    node.querySelectorAll('template[data-mlsd-lazy]').forEach((t) => t.replaceWith(t.content));
    node.querySelectorAll('.headerlink, .mlsd-reading-time, .mlsd-pdf-buttons, a.md-content__button')
      .forEach((e) => e.remove());
    node.querySelectorAll('details').forEach((d) => d.setAttribute('open', ''));
    node.querySelectorAll('[id]').forEach((e) => e.removeAttribute('id'));
    return node;
  };
  const section = (doc, id) => {  // an h2 and everything up to the next h2
    const heading = doc.getElementById(id);
    if (!heading) throw new Error(`no #${id} in ${doc.title}`);
    const out = [heading.cloneNode(true)];
    for (let e = heading.nextElementSibling; e && e.tagName !== 'H2'; e = e.nextElementSibling) {
      out.push(e.cloneNode(true));
    }
    return out;
  };
  const part = (id, title) => {
    const div = document.createElement('section');
    div.className = 'mlsd-edition-part';
    div.id = id;
    if (title) {
      const h1 = document.createElement('h1');
      h1.textContent = title;
      div.append(h1);
    }
    return div;
  };
  const nav = [...document.querySelectorAll('.md-nav--primary a.md-nav__link[href]')]
    .map((a) => a.href);
  const find = (pattern) => {
    const url = nav.find((h) => pattern.test(new URL(h).pathname));
    if (!url) throw new Error(`no page matches ${pattern}`);
    return url;
  };
  const problems = [...new Set(nav.filter((h) => /\/problems\/[^/]+\/$/.test(new URL(h).pathname)))];
  const parts = [], contents = [];

  const cover = part('mlsd-edition-cover');
  cover.innerHTML = `<div class="mlsd-cover"><p class="mlsd-cover__kicker">The interview edition of</p>
    <h1>mlsd-guide</h1><p class="mlsd-cover__subtitle">For the last evening: the plan, the
    template, every worked problem on one page with its scoring table, and the checklist with
    the answers at the back.</p><nav id="mlsd-edition-toc"><h2>Contents</h2><ol></ol></nav></div>`;
  parts.push(cover);

  for (const [id, pattern] of [['mlsd-plan', /\/framework\/45-minute-plan\/$/],
                                ['mlsd-template', /\/framework\/whiteboard-template\/$/]]) {
    const doc = await load(find(pattern));
    const div = part(id);
    div.append(...clean(article(doc).cloneNode(true)).childNodes);
    contents.push([id, titleOf(doc)]);
    parts.push(div);
  }
  for (const url of problems) {
    const doc = await load(url);
    const title = titleOf(doc);
    const id = 'mlsd-problem-' + parts.length;
    const div = part(id, title);
    const prompt = doc.getElementById('the-prompt');
    let quote = prompt;
    while (quote && quote.tagName !== 'BLOCKQUOTE') quote = quote.nextElementSibling;
    if (quote) div.append(quote.cloneNode(true));
    const summary = article(doc).querySelector('details.abstract');
    if (summary) {
      const h2 = document.createElement('h2');
      h2.textContent = 'The design on one page';
      div.append(h2, ...[...summary.children].filter((c) => c.tagName !== 'SUMMARY')
        .map((c) => c.cloneNode(true)));
    }
    div.append(...section(doc, 'how-an-interviewer-scores-it'));
    clean(div);
    contents.push([id, title]);
    parts.push(div);
  }

  const checklistUrl = find(/\/concepts\/$/);
  const checklist = await load(checklistUrl);
  const questions = part('mlsd-checklist', 'The checklist');
  const answers = part('mlsd-answers', 'Answers');
  for (const node of article(checklist).querySelectorAll(':scope > h2, :scope > ol')) {
    if (node.tagName === 'H2') {
      questions.append(node.cloneNode(true));
      continue;
    }
    const list = document.createElement('ol');
    list.start = node.start;
    for (const item of node.querySelectorAll(':scope > li')) {
      const link = item.querySelector('a');
      const li = document.createElement('li');
      li.textContent = link.textContent;
      list.append(li);
      // The answer: the question block right after the link's anchor.
      const target = new URL(link.getAttribute('href'), checklistUrl);
      const doc = await load(target.href);
      let at = doc.getElementById(decodeURIComponent(target.hash.slice(1)));
      if (at && at.tagName === 'A' && at.parentElement.tagName === 'P') at = at.parentElement;
      let block = at && at.nextElementSibling;
      for (let i = 0; block && i < 3 && !block.matches('.question'); i++) block = block.nextElementSibling;
      if (!block) throw new Error(`no question block after ${target.href}`);
      const folded = block.tagName === 'DETAILS' ? block : block.querySelector('details');
      const body = [...(folded || block).children].filter((c) => !c.matches('summary, .admonition-title'));
      const entry = document.createElement('div');
      entry.className = 'mlsd-answer';
      const head = document.createElement('p');
      head.innerHTML = `<strong>${list.start + list.children.length - 1}. </strong>`;
      head.append(link.textContent);
      entry.append(head, ...body.map((c) => c.cloneNode(true)));
      answers.append(clean(entry));
    }
    questions.append(list);
  }
  contents.push(['mlsd-checklist', 'The checklist'], ['mlsd-answers', 'Answers']);
  parts.push(questions, answers);

  const toc = cover.querySelector('#mlsd-edition-toc ol');
  for (const [id, title] of contents) {
    const li = document.createElement('li');
    const a = document.createElement('a');
    a.href = '#' + id;
    a.textContent = title;
    li.append(a);
    toc.append(li);
  }
  // Paper only: each part on a new page, a page number in the footer, answers whole.
  const style = document.createElement('style');
  style.textContent = `@media print {
    @page { size: A4; @bottom-center { content: "Page " counter(page); font-size: 8pt; } }
    .mlsd-edition-part + .mlsd-edition-part { break-before: page; }
    .mlsd-answer { break-inside: avoid-page; margin-bottom: 0.8em; }
    #mlsd-edition-toc { margin-top: 3em; text-align: left; }
    #mlsd-edition-toc li { margin: 0.3em 0; }
  }`;
  document.head.append(style);
  const target = document.querySelector('article.md-content__inner');
  target.replaceChildren(...parts);
  document.title = 'mlsd-guide: interview edition';
  return {problems: problems.length, answers: answers.querySelectorAll('.mlsd-answer').length};
}
