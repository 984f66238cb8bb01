// nestjs-worker dashboard: plain script, no build step. Every value from the
// server (task names, ids, errors) is put in the page as text (textContent),
// never as markup: task names and errors come from producers and handlers.
'use strict';
(function () {
  const base = document.body.dataset.base || '';
  const HISTORY = 120;
  const history = [];
  let actions = { pause: false, retry: false, cancel: false };
  let updates = 0;
  let source;

  const $ = (id) => document.getElementById(id);
  const setText = (id, value) => {
    $(id).textContent = value;
  };

  function el(tag, props, children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(props || {})) {
      if (value === undefined) continue;
      if (key === 'text') node.textContent = String(value);
      else if (key === 'class') node.className = value;
      else if (key === 'onclick') node.addEventListener('click', value);
      else node.setAttribute(key, String(value));
    }
    for (const child of children || []) if (child) node.append(child);
    return node;
  }

  const number = (n, digits) =>
    typeof n === 'number' ? n.toLocaleString(undefined, { maximumFractionDigits: digits ?? 0 }) : '–';
  const percent = (n) => (typeof n === 'number' ? `${Math.round(n * 100)}%` : '–');
  const time = (ms) => (ms ? new Date(ms).toLocaleTimeString() : '–');
  function duration(ms) {
    if (typeof ms !== 'number' || ms < 0) return '–';
    if (ms < 1000) return `${ms} ms`;
    if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
    return `${Math.floor(ms / 60_000)} min ${Math.round((ms % 60_000) / 1000)} s`;
  }

  function notice(text, kind) {
    const node = $('notice');
    node.textContent = text;
    node.dataset.kind = kind || 'info';
    node.hidden = !text;
  }

  function errorCell(error) {
    const summary = el('summary', {}, [
      el('span', { class: 'error-name', text: error.name }),
      document.createTextNode(': ' + error.message),
    ]);
    const detail = [error.code !== undefined ? `code: ${error.code}\n` : '', error.stack || '(no stack)'].join('');
    return el('td', { class: 'error' }, [el('details', {}, [summary, el('pre', { text: detail })])]);
  }

  function rows(tableId, list, render, empty) {
    const body = $(tableId).querySelector('tbody');
    const columns = $(tableId).querySelectorAll('thead th').length;
    body.replaceChildren(
      ...(list.length
        ? list.map(render)
        : [el('tr', {}, [el('td', { class: 'empty', colspan: columns, text: empty })])]),
    );
  }

  async function act(button, url, what) {
    button.disabled = true;
    try {
      const response = await fetch(base + url, {
        method: 'POST',
        headers: { 'x-nestjs-worker-dashboard': '1' },
        credentials: 'same-origin',
      });
      const body = await response.json().catch(() => ({}));
      if (!response.ok) throw new Error(`${response.status}: ${body.message || response.statusText}`);
      notice(`${what}: done`, 'info');
      refresh();
    } catch (error) {
      notice(`${what} refused — ${error.message}`, 'error');
    } finally {
      button.disabled = false;
    }
  }

  function progressCell(value) {
    if (typeof value === 'number') {
      const fraction = value <= 1 ? value : value / 100;
      const clamped = Math.max(0, Math.min(1, fraction));
      return el('td', {}, [
        el('progress', { class: 'progress', max: '100', value: String(Math.round(clamped * 100)) }),
        document.createTextNode(` ${Math.round(clamped * 100)}%`),
      ]);
    }
    return el('td', { text: value === undefined ? '–' : value });
  }

  function chart() {
    const width = 600;
    const height = 120;
    const maxQueued = Math.max(1, ...history.map((p) => p.queued));
    const maxRate = Math.max(1, ...history.map((p) => p.rate));
    const x = (i) => ((i + HISTORY - history.length) / (HISTORY - 1)) * width;
    const line = (key, max) =>
      history.map((p, i) => `${x(i).toFixed(1)},${(height - 4 - (p[key] / max) * (height - 8)).toFixed(1)}`).join(' ');
    $('line-queued').setAttribute('points', line('queued', maxQueued));
    $('line-rate').setAttribute('points', line('rate', maxRate));
    setText('chart-max-queued', number(maxQueued));
    setText('chart-max-rate', number(maxRate, 1));
  }

  function render(snapshot) {
    actions = snapshot.actions || actions;
    document.querySelector('header .actions').hidden = !actions.pause;
    const stats = snapshot.stats;
    if (stats) {
      const loop = $('loop');
      loop.textContent = `loop: ${stats.loop}`;
      loop.dataset.state = stats.loop;
      setText('threads-alive', number(stats.workers.alive));
      setText('threads-size', number(stats.workers.size));
      const busy = stats.workers.size ? Math.min(stats.running, stats.workers.size) / stats.workers.size : 0;
      $('busy-bar').style.width = `${Math.round(busy * 100)}%`;
      setText('busy', percent(busy));
      setText('utilization', percent(stats.workers.utilization));
      const boots = $('boot-failures');
      boots.hidden = !stats.workers.bootFailures;
      boots.textContent = `${stats.workers.bootFailures} replacement threads could not boot (see the log)`;
      setText('queued', number(stats.queued));
      setText('running-count', number(stats.running));
      setText('waiting', number(stats.waiting));
      setText('completed', number(stats.completed));
      setText('failed', number(stats.failed));
      $('pause').disabled = stats.loop !== 'running';
      $('resume').disabled = stats.loop !== 'paused';
    } else if (snapshot.error) {
      notice(`The worker pool is not running: ${snapshot.error}`, 'error');
    }
    setText('rate-completed', number(snapshot.rates.completed, 1));
    setText('rate-failed', number(snapshot.rates.failed, 1));

    const store = snapshot.store || {};
    const counts = store.counts;
    setText(
      'store-counts',
      store.error
        ? `store: not answering (${store.error})`
        : counts
          ? `store: ${number(counts.queued)} queued · ${number(counts.delayed)} delayed · ${number(counts.running)} running · ${number(counts.failed)} dead`
          : 'store: –',
    );

    const storeQueued = counts && typeof counts.queued === 'number' ? counts.queued : 0;
    history.push({ queued: (stats ? stats.queued : 0) + storeQueued, rate: snapshot.rates.completed });
    if (history.length > HISTORY) history.shift();
    chart();

    const now = snapshot.at;
    rows(
      'running',
      snapshot.running,
      (task) =>
        el('tr', { 'data-task-id': task.id }, [
          el('td', { text: task.name }),
          el('td', { class: 'id', text: task.id }),
          el('td', { text: task.attempt }),
          el('td', { text: task.startedAt ? duration(now - task.startedAt) : '–' }),
          progressCell(task.progress),
          el('td', { class: 'act' }, [
            // run() and map() calls are cancelled by their caller's signal, not by id.
            actions.cancel && task.source === 'client'
              ? el('button', {
                  type: 'button',
                  class: 'cancel',
                  text: 'Cancel',
                  onclick: (event) =>
                    act(
                      event.currentTarget,
                      `/actions/tasks/${encodeURIComponent(task.id)}/cancel`,
                      `Cancel ${task.name}`,
                    ),
                })
              : null,
          ]),
        ]),
      stats && stats.running ? `${stats.running} running (started before this page was opened)` : 'Nothing is running.',
    );
    setText('running-note', snapshot.runningNotListed ? `(${snapshot.runningNotListed} more not listed)` : '');

    rows(
      'failures',
      snapshot.failures,
      (failure) =>
        el('tr', { 'data-task-id': failure.id }, [
          el('td', { text: time(failure.at) }),
          el('td', { text: failure.name }),
          el('td', { class: 'id', text: failure.id }),
          el('td', { text: failure.attempt }),
          el('td', { text: `${failure.kind} (${failure.reason})` }),
          errorCell(failure.error),
        ]),
      'No failure since this page was opened.',
    );

    const letters = store.deadLetters;
    setText('dead-letters-note', letters ? '' : '(this task client keeps none to show)');
    rows(
      'dead-letters',
      letters || [],
      (letter) =>
        el('tr', { 'data-task-id': letter.id }, [
          el('td', { text: time(letter.failedAt) }),
          el('td', { text: letter.name || '(no name)' }),
          el('td', { class: 'id', text: letter.id }),
          el('td', { text: letter.attempts }),
          el('td', { text: letter.reason }),
          errorCell(letter.error),
          el('td', { class: 'act' }, [
            actions.retry
              ? el('button', {
                  type: 'button',
                  class: 'retry',
                  text: 'Retry',
                  onclick: (event) =>
                    act(
                      event.currentTarget,
                      `/actions/dead-letters/${encodeURIComponent(letter.id)}/retry`,
                      `Retry ${letter.name || letter.id}`,
                    ),
                })
              : null,
          ]),
        ]),
      'No dead letter.',
    );

    updates += 1;
    const updated = $('updated');
    updated.textContent = new Date(snapshot.at).toLocaleTimeString();
    updated.dataset.updates = String(updates);
  }

  async function refresh() {
    try {
      const response = await fetch(base + '/state', { credentials: 'same-origin' });
      if (!response.ok) throw new Error(`${response.status} ${response.statusText}`);
      render(await response.json());
    } catch (error) {
      notice(`Cannot read the workers' state: ${error.message}`, 'error');
    }
  }

  function connect() {
    source = new EventSource(base + '/events', { withCredentials: true });
    const state = $('connection');
    source.onopen = () => {
      state.textContent = 'live';
      state.dataset.state = 'live';
    };
    source.onmessage = (message) => render(JSON.parse(message.data));
    source.onerror = () => {
      // EventSource reconnects by itself.
      state.textContent = 'reconnecting…';
      state.dataset.state = 'down';
    };
  }

  $('pause').addEventListener('click', (event) => act(event.currentTarget, '/actions/pause', 'Pause'));
  $('resume').addEventListener('click', (event) => act(event.currentTarget, '/actions/resume', 'Resume'));
  window.addEventListener('pagehide', () => source && source.close());
  refresh().then(connect);
})();
