// The moderators' dashboard (docs/moderation.md, docs/client.md). Plain JavaScript, no framework.
//
// - Sign-in over REST (POST /v1/auth/login); the tokens live in this closure only, never in web
//   storage or cookies, so a reload or a closed tab signs out.
// - One WebSocket to /v1/ws on this host, authenticated by the first frame, then
//   moderation.subscribe: the queue snapshot, then live moderation.report / moderation.resolved.
// - Reconnects by itself with back-off and subscribes again, which re-syncs the queue.
// - Everything from the server is rendered with textContent / text nodes, never parsed as HTML.
(() => {
  'use strict';

  const RECONNECT_MIN_MS = 500;
  const RECONNECT_MAX_MS = 10000;
  const OFFLINE_AFTER_MS = 30000;
  const CALL_TIMEOUT_MS = 10000;
  const RENEW_LEAD_S = 60;
  const RESOLVED_LOG_SIZE = 12;
  const REASONS = {
    fake_profile: 'Fake profile', inappropriate_content: 'Inappropriate content', harassment: 'Harassment',
    spam: 'Spam', underage: 'Underage', other: 'Other',
  };
  const PAST = { dismiss: 'dismissed', warn: 'warned', suspend: 'suspended', ban: 'banned',
    remove_photo: 'photo removed', remove_prompt: 'prompt removed' };

  const $ = (id) => document.getElementById(id);

  // -- state (memory only) ---------------------------------------------------------------------------

  const state = {
    auth: null,            // {access, refresh, expiresAt, user}
    renewTimer: 0,
    renewing: null,        // the refresh in flight, shared by everyone who needs it
    ws: null,
    connecting: false,     // a token refresh before connecting is under way
    ready: false,          // hello received on state.ws
    nextRef: 1,
    pending: new Map(),    // ref -> {resolve, reject, timer}
    attempt: 0,
    reconnectTimer: 0,
    downSince: 0,
    unauthorizedInRow: 0,
    subscribing: null,     // live events seen while a snapshot is on its way
    queue: new Map(),      // report id -> queue entry
    beyond: { open: 0, users: 0 }, // what the snapshot counted but did not list (it holds at most 500)
    selectedId: null,
    selectedEntry: null,   // kept after the report leaves the queue, so the pane can say what happened
    resolvedBy: null,      // {action, who} when the selected report was resolved
    dossier: null,
    dossierToken: 0,
    dossierTimer: 0,
    busy: false,
    resolvedLog: [],
  };

  // -- small DOM helpers ------------------------------------------------------------------------------

  function el(tag, props, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(props || {})) {
      if (value === undefined || value === null || value === false) continue;
      if (key === 'class') node.className = value;
      else if (key === 'text') node.textContent = String(value);
      else if (key === 'dataset') Object.assign(node.dataset, value);
      else if (key.startsWith('on')) node.addEventListener(key.slice(2), value);
      else node.setAttribute(key, value === true ? '' : String(value));
    }
    for (const child of children) {
      if (child !== null && child !== undefined && child !== false) node.append(child); // strings become text nodes
    }
    return node;
  }

  function show(node, visible) { node.hidden = !visible; }

  function shortId(id) { return typeof id === 'string' ? id.slice(0, 8) : '?'; }

  function safeUrl(value) {
    try {
      const url = new URL(String(value), location.href);
      return url.protocol === 'http:' || url.protocol === 'https:' ? url.href : '';
    } catch (_) {
      return '';
    }
  }

  function when(iso) {
    const t = Date.parse(iso);
    if (Number.isNaN(t)) return '';
    const s = Math.max(0, Math.round((Date.now() - t) / 1000));
    if (s < 45) return 'just now';
    if (s < 3600) return `${Math.round(s / 60)} min ago`;
    if (s < 86400) return `${Math.round(s / 3600)} h ago`;
    return `${Math.round(s / 86400)} d ago`;
  }

  function timeEl(iso) {
    return el('time', { datetime: iso, title: iso ? new Date(iso).toLocaleString() : '', text: when(iso) });
  }

  function plural(n, one, many) { return `${n} ${n === 1 ? one : many}`; }

  function toast(text, kind) {
    const node = el('div', { class: `toast ${kind || ''}`, role: kind === 'error' ? 'alert' : 'status', text });
    const toasts = $('toasts');
    toasts.append(node);
    while (toasts.children.length > 3) toasts.firstElementChild.remove(); // a burst of reports is not a wall of toasts
    setTimeout(() => node.remove(), kind === 'error' ? 8000 : 4000);
  }

  function message(id, text) {
    const node = $(id);
    node.textContent = text || '';
    show(node, Boolean(text));
  }

  // -- connection indicator --------------------------------------------------------------------------

  const CONN_TEXT = { connecting: 'Connecting…', connected: 'Live', reconnecting: 'Reconnecting…',
    offline: 'Offline', signedout: 'Signed out' };

  function setConn(name, detail) {
    const conn = $('conn');
    conn.dataset.state = name;
    $('conn-text').textContent = CONN_TEXT[name] + (detail ? ` ${detail}` : '');
  }

  // -- REST: sign-in and token renewal ----------------------------------------------------------------

  async function postJson(path, body) {
    const response = await fetch(path, {
      method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body),
      credentials: 'omit', cache: 'no-store',
    });
    let data = null;
    try { data = await response.json(); } catch (_) { data = null; }
    return { status: response.status, ok: response.ok, data, headers: response.headers };
  }

  function loginError(res) {
    const code = res.data && res.data.error ? res.data.error.code : '';
    if (res.status === 401) return 'Wrong email or password.';
    if (res.status === 429) {
      const after = Number(res.headers.get('Retry-After')) || 0;
      return `Too many attempts. Try again${after ? ` in ${Math.ceil(after / 60)} min` : ' later'}.`;
    }
    if (code === 'account_suspended') return 'This account is suspended or banned.';
    if (res.status === 422 || res.status === 400) return 'Enter your email and your password (at least 8 characters).';
    return (res.data && res.data.error && res.data.error.message) || `Sign-in failed (HTTP ${res.status}).`;
  }

  function adopt(body) {
    const expiresIn = Number(body.expires_in) || 1800;
    state.auth = {
      access: body.access_token, refresh: body.refresh_token,
      expiresAt: Date.now() + expiresIn * 1000, user: body.user || (state.auth && state.auth.user),
    };
    clearTimeout(state.renewTimer);
    const lead = Math.min(RENEW_LEAD_S, expiresIn / 4);
    state.renewTimer = setTimeout(renew, Math.max(1, expiresIn - lead) * 1000);
  }

  function revoke(refreshToken) {
    if (!refreshToken) return;
    fetch('/v1/auth/logout', {
      method: 'POST', headers: { 'Content-Type': 'application/json' }, credentials: 'omit', keepalive: true,
      body: JSON.stringify({ refresh_token: refreshToken }),
    }).catch(() => {});
  }

  // Get a new token pair; true on success. Concurrent callers share one request (a refresh token works once).
  function refreshTokens() {
    if (!state.auth) return Promise.resolve(false);
    if (!state.renewing) {
      const auth = state.auth;
      state.renewing = postJson('/v1/auth/refresh', { refresh_token: auth.refresh })
        .then((res) => {
          if (state.auth !== auth) return false;           // signed out meanwhile
          if (res.ok) { adopt(res.data); return true; }
          if (res.status === 401 || res.status === 403) {
            signOut('Your session ended. Sign in again.', { revokeTokens: false });
            return false;
          }
          throw new Error(`HTTP ${res.status}`);
        })
        .catch(() => false)                               // network trouble: the caller retries later
        .finally(() => { state.renewing = null; });
    }
    return state.renewing;
  }

  // Before the access token expires: refresh, then hand the new token to the live socket.
  async function renew() {
    const ok = await refreshTokens();
    if (!state.auth) return;
    if (!ok) {
      clearTimeout(state.renewTimer);
      state.renewTimer = setTimeout(renew, 5000);
      return;
    }
    if (state.ready) {
      try {
        await call('auth', { token: state.auth.access });
      } catch (_) {
        // the socket closes with 4401 if it did not take the token; that path refreshes and reconnects
      }
    }
  }

  // -- the socket -----------------------------------------------------------------------------------

  function socketUrl() {
    return `${location.protocol === 'https:' ? 'wss:' : 'ws:'}//${location.host}/v1/ws`;
  }

  async function connect() {
    clearTimeout(state.reconnectTimer);
    if (!state.auth || state.ws || state.connecting) return;
    setConn(state.downSince ? 'reconnecting' : 'connecting');
    if (state.auth.expiresAt - Date.now() < 5000) {
      state.connecting = true;
      try { await refreshTokens(); } finally { state.connecting = false; }
      if (!state.auth || state.ws) return;
    }
    let ws;
    try {
      ws = new WebSocket(socketUrl());
    } catch (_) {
      scheduleReconnect();
      return;
    }
    state.ws = ws;
    state.ready = false;
    const token = state.auth.access;
    ws.addEventListener('open', () => ws.send(JSON.stringify({ type: 'auth', data: { token } })));
    ws.addEventListener('message', (event) => { if (state.ws === ws) onFrame(event.data); });
    ws.addEventListener('close', (event) => { if (state.ws === ws) onClose(event.code); });
  }

  function disconnect() {
    const ws = state.ws;
    state.ws = null;
    state.ready = false;
    state.subscribing = null;
    if (ws && ws.readyState <= WebSocket.OPEN) ws.close(1000, 'signed out');
    failPending('Signed out.');
  }

  function failPending(text) {
    for (const [ref, entry] of state.pending) {
      clearTimeout(entry.timer);
      state.pending.delete(ref);
      entry.reject(Object.assign(new Error(text), { code: 'disconnected' }));
    }
  }

  function scheduleReconnect(slower) {
    clearTimeout(state.reconnectTimer);
    if (!state.auth) return;
    if (!state.downSince) state.downSince = Date.now();
    const ceiling = Math.min(RECONNECT_MAX_MS, RECONNECT_MIN_MS * 2 ** state.attempt) * (slower ? 4 : 1);
    const delay = ceiling / 2 + Math.random() * ceiling / 2;
    state.attempt += 1;
    const offline = !navigator.onLine || Date.now() - state.downSince > OFFLINE_AFTER_MS;
    setConn(offline ? 'offline' : 'reconnecting', `(retry in ${Math.max(1, Math.round(delay / 1000))} s)`);
    state.reconnectTimer = setTimeout(connect, delay);
  }

  function onClose(code) {
    state.ws = null;
    state.ready = false;
    state.subscribing = null;
    $('queue').setAttribute('aria-busy', 'true');
    failPending('The connection dropped before the server answered. Check the queue before trying again.');
    if (!state.auth) return;
    if (code === 4403) {
      signOut('Signed out: this moderator account is suspended or banned.', { revokeTokens: false });
      return;
    }
    if (code === 4401) {
      state.unauthorizedInRow += 1;
      if (state.unauthorizedInRow > 2) {
        signOut('Your session ended. Sign in again.', { revokeTokens: true });
        return;
      }
      setConn('reconnecting');
      refreshTokens().then((ok) => {
        if (!state.auth) return;
        if (ok) connect(); else scheduleReconnect();
      });
      return;
    }
    scheduleReconnect(code === 4429);
  }

  function onFrame(text) {
    let frame;
    try { frame = JSON.parse(text); } catch (_) { return; }
    if (!frame || typeof frame !== 'object') return;
    const data = frame.data && typeof frame.data === 'object' ? frame.data : {};
    switch (frame.type) {
      case 'hello':
        state.ready = true;
        state.attempt = 0;
        state.downSince = 0;
        state.unauthorizedInRow = 0;
        setConn('connected');
        subscribe();
        break;
      case 'reply':
        settle(frame);
        break;
      case 'moderation.report':
        onLiveReport(data.report);
        break;
      case 'moderation.resolved':
        onResolved(data);
        break;
      default:
        break; // other events of the moderator's own account are not this page's business
    }
  }

  function call(type, data, timeoutMs) {
    return new Promise((resolve, reject) => {
      const ws = state.ws;
      if (!ws || !state.ready || ws.readyState !== WebSocket.OPEN) {
        reject(Object.assign(new Error('Not connected: wait until the indicator says Live.'), { code: 'offline' }));
        return;
      }
      const ref = `p${state.nextRef++}`;
      const timer = setTimeout(() => {
        state.pending.delete(ref);
        reject(Object.assign(new Error('The server did not answer in time.'), { code: 'timeout' }));
      }, timeoutMs || CALL_TIMEOUT_MS);
      state.pending.set(ref, { resolve, reject, timer });
      ws.send(JSON.stringify({ type, ref, data: data || {} }));
    });
  }

  function settle(frame) {
    const entry = state.pending.get(frame.ref);
    if (!entry) return;
    state.pending.delete(frame.ref);
    clearTimeout(entry.timer);
    if (frame.ok) {
      entry.resolve(frame.data || {});
    } else {
      const error = frame.error || {};
      entry.reject(Object.assign(new Error(error.message || 'Refused.'),
        { code: error.code || 'error', details: error.details || {} }));
    }
  }

  // -- the queue --------------------------------------------------------------------------------------

  async function subscribe() {
    const live = { reports: new Map(), resolved: new Set() };
    state.subscribing = live;
    let snapshot;
    try {
      snapshot = await call('moderation.subscribe', {});
    } catch (error) {
      if (state.subscribing === live) state.subscribing = null;
      if (error.code === 'forbidden') {
        signOut('This account is not a moderator.', { revokeTokens: true });
      } else if (error.code !== 'disconnected' && error.code !== 'offline') {
        toast(`Could not load the queue: ${error.message}`, 'error');
      }
      return;
    }
    if (state.subscribing !== live) return; // a newer connection subscribes again
    state.subscribing = null;
    const reports = Array.isArray(snapshot.reports) ? snapshot.reports : [];
    const counts = snapshot.counts || {};
    state.queue = new Map(reports.map((entry) => [entry.id, entry]));
    state.beyond = {
      open: Math.max(0, (counts.open || 0) - reports.length),
      users: Math.max(0, (counts.reported_users || 0) - new Set(reports.map((e) => e.reported_id)).size),
    };
    // the feed started before the snapshot was read: replay what arrived meanwhile
    for (const entry of live.reports.values()) merge(entry);
    for (const id of live.resolved) state.queue.delete(id);
    $('queue').setAttribute('aria-busy', 'false');
    renderQueue();
    if (state.selectedId && !state.queue.has(state.selectedId) && !state.resolvedBy) {
      state.resolvedBy = { action: null, who: null };
      renderDetailState();
    }
    if (!state.selectedId) {
      const first = ordered()[0];
      if (first) select(first.id);
    } else if (state.queue.has(state.selectedId)) {
      loadDossierSoon();
    }
  }

  // Add or update an entry; of two entries for the same reporter and person, keep the newer.
  function merge(entry) {
    if (!entry || typeof entry.id !== 'string') return false;
    for (const [id, other] of state.queue) {
      if (id === entry.id || other.reporter_id !== entry.reporter_id || other.reported_id !== entry.reported_id) continue;
      if (Date.parse(other.created_at) > Date.parse(entry.created_at)) return false;
      state.queue.delete(id);
      if (state.selectedId === id) { state.selectedId = entry.id; state.selectedEntry = entry; }
    }
    state.queue.set(entry.id, entry);
    if (state.selectedId === entry.id) state.selectedEntry = entry;
    return true;
  }

  function onLiveReport(entry) {
    if (!entry || typeof entry.id !== 'string') return;
    if (state.subscribing) state.subscribing.reports.set(entry.id, entry);
    if (merge(entry)) {
      // the newest report carries the freshest facts about the person: show them on their other entries too
      for (const other of state.queue.values()) {
        if (other === entry || other.reported_id !== entry.reported_id) continue;
        if (entry.reported) other.reported = { ...entry.reported };
        if (entry.signals && other.signals) {
          other.signals = { ...other.signals, distinct_reporters_7d: entry.signals.distinct_reporters_7d };
        }
      }
      renderQueue();
      const name = entry.reported && entry.reported.display_name;
      flash(entry.id);
      if (!state.selectedId) select(entry.id);
      if (name) toast(`New report: ${name} (${REASONS[entry.reason] || entry.reason})`);
    }
  }

  function onResolved(data) {
    if (!data || typeof data.report_id !== 'string') return;
    if (state.subscribing) state.subscribing.resolved.add(data.report_id);
    const entry = state.queue.get(data.report_id);
    if (!entry) return; // not ours to show (or already removed after our own decision)
    removeResolved(entry, data.action, data.moderator_id);
    renderQueue();
  }

  function who(moderatorId) {
    if (state.auth && state.auth.user && moderatorId === state.auth.user.id) return 'you';
    return `moderator ${shortId(moderatorId)}`;
  }

  function removeResolved(entry, action, moderatorId) {
    state.queue.delete(entry.id);
    state.resolvedLog.unshift({ entry, action, who: who(moderatorId), at: new Date() });
    state.resolvedLog.length = Math.min(state.resolvedLog.length, RESOLVED_LOG_SIZE);
    renderResolvedLog();
    if (state.selectedId === entry.id) {
      state.resolvedBy = { action, who: who(moderatorId) };
      renderDetailState();
    }
  }

  function ordered() {
    return [...state.queue.values()].sort((a, b) => (Date.parse(b.created_at) - Date.parse(a.created_at))
      || (a.id < b.id ? -1 : 1));
  }

  function renderCounts() {
    const open = state.queue.size + state.beyond.open;
    const users = new Set([...state.queue.values()].map((e) => e.reported_id)).size + state.beyond.users;
    $('counts').textContent = `${plural(open, 'open report', 'open reports')} · ${plural(users, 'person', 'people')}`;
  }

  function chip(text, title, level) {
    return el('li', { class: `chip ${level || ''}`, title, text });
  }

  function signalChips(signals) {
    if (!signals) return [];
    const chips = [];
    const reporters = signals.distinct_reporters_7d;
    chips.push(chip(`${reporters} in 7 d`, 'distinct people who reported this person in the last 7 days',
      reporters >= 3 ? 'hot' : ''));
    const age = signals.reporter_account_age_days;
    chips.push(chip(`reporter ${age} d old`, 'age of the reporter\'s account in days', age < 2 ? 'caution' : ''));
    const made = signals.reporter_reports_made;
    const dismissed = signals.reporter_reports_dismissed;
    chips.push(chip(`made ${made} · ${dismissed} dismissed`,
      'people the reporter has reported, and how many of those reports moderators dismissed',
      dismissed >= 2 && dismissed * 2 >= made ? 'caution' : ''));
    return chips;
  }

  function statusBadge(status) {
    if (!status || status === 'active') return null;
    return el('span', { class: `badge ${status}`, text: status });
  }

  function renderQueue() {
    const list = $('queue');
    const entries = ordered();
    const nodes = entries.map((entry) => {
      const reported = entry.reported || {};
      const name = reported.display_name || `user ${shortId(entry.reported_id)}`;
      const selected = entry.id === state.selectedId;
      return el('li', {
        class: `item${selected ? ' selected' : ''}`, role: 'option', 'aria-selected': selected ? 'true' : 'false',
        id: `report-${entry.id}`, dataset: { reportId: entry.id }, onclick: () => select(entry.id),
      },
      el('div', { class: 'item-top' },
        el('span', { class: 'item-name', text: name }),
        statusBadge(reported.status),
        el('span', { class: `reason reason-${entry.reason}`, text: REASONS[entry.reason] || entry.reason }),
        timeEl(entry.created_at)),
      entry.details ? el('p', { class: 'item-details', text: entry.details }) : null,
      el('ul', { class: 'chips', 'aria-label': 'Triage signals' }, ...signalChips(entry.signals)));
    });
    list.replaceChildren(...nodes);
    if (state.selectedId && state.queue.has(state.selectedId)) list.setAttribute('aria-activedescendant', `report-${state.selectedId}`);
    else list.removeAttribute('aria-activedescendant');
    show($('queue-empty'), entries.length === 0 && list.getAttribute('aria-busy') === 'false');
    renderCounts();
  }

  function flash(id) {
    const node = document.getElementById(`report-${id}`);
    if (node) node.classList.add('fresh');
  }

  function renderResolvedLog() {
    $('resolved-log').replaceChildren(...state.resolvedLog.map((item) => {
      const name = (item.entry.reported && item.entry.reported.display_name) || `user ${shortId(item.entry.reported_id)}`;
      const verb = item.action ? PAST[item.action] || item.action : 'resolved';
      return el('li', { dataset: { reportId: item.entry.id, action: item.action || '' } },
        el('span', { class: 'item-name', text: name }), ' ',
        el('span', { class: `outcome ${item.action || ''}`, text: verb }),
        ` by ${item.who} · `,
        el('time', { datetime: item.at.toISOString(), text: item.at.toLocaleTimeString() }));
    }));
  }

  // -- selection and the detail pane -------------------------------------------------------------------

  function select(id) {
    const entry = state.queue.get(id);
    if (!entry) return;
    const sameUser = state.selectedEntry && state.selectedEntry.reported_id === entry.reported_id;
    state.selectedId = id;
    state.selectedEntry = entry;
    state.resolvedBy = null;
    message('action-message', '');
    renderQueue();
    const node = document.getElementById(`report-${id}`);
    if (node) node.scrollIntoView({ block: 'nearest' });
    renderDetail();
    if (!sameUser) {
      state.dossierToken++; // a load still under way for the previous person must not land on this one
      state.dossier = null;
      renderDossier();
    }
    loadDossierSoon();
  }

  function move(step) {
    const entries = ordered();
    if (!entries.length) return;
    let index = entries.findIndex((e) => e.id === state.selectedId);
    if (index < 0) index = step > 0 ? -1 : entries.length;
    const next = entries[Math.min(entries.length - 1, Math.max(0, index + step))];
    if (next) select(next.id);
  }

  function renderDetail() {
    const entry = state.selectedEntry;
    show($('detail-empty'), !entry);
    show($('detail-body'), Boolean(entry));
    if (!entry) return;
    const reported = entry.reported || {};
    $('detail-title').textContent = reported.display_name || `user ${shortId(entry.reported_id)}`;
    const facts = $('report-facts');
    facts.replaceChildren(
      el('span', { class: `reason reason-${entry.reason}`, text: REASONS[entry.reason] || entry.reason }),
      el('span', { class: 'muted' }, 'reported ', timeEl(entry.created_at), ` by user ${shortId(entry.reporter_id)}`));
    const details = $('report-details');
    details.textContent = entry.details || 'No details given.';
    details.classList.toggle('muted', !entry.details);
    $('report-signals').replaceChildren(...signalChips(entry.signals));
    renderDetailState();
  }

  function renderDetailState() {
    const resolved = state.resolvedBy;
    const banner = $('detail-resolved');
    if (resolved) {
      banner.textContent = resolved.action
        ? `Resolved: ${PAST[resolved.action] || resolved.action} by ${resolved.who}.`
        : 'This report is no longer open (resolved while you were away).';
    }
    show(banner, Boolean(resolved));
    for (const button of document.querySelectorAll('button.act')) button.disabled = Boolean(resolved) || state.busy;
  }

  function loadDossierSoon() {
    clearTimeout(state.dossierTimer);
    state.dossierTimer = setTimeout(loadDossier, 120); // j-j-j through the queue loads only where you stop
  }

  async function loadDossier() {
    const entry = state.selectedEntry;
    if (!entry) return;
    const token = ++state.dossierToken;
    if (!state.dossier) $('dossier-status').textContent = 'Loading the account…';
    try {
      const dossier = await call('moderation.user', { user_id: entry.reported_id });
      if (token !== state.dossierToken || !isSelectedUser(entry.reported_id)) return;
      state.dossier = dossier;
      $('dossier-status').textContent = '';
    } catch (error) {
      if (token !== state.dossierToken) return;
      $('dossier-status').textContent = `Could not load the account: ${error.message}`;
      return;
    }
    renderDossier();
  }

  function renderDossier() {
    const dossier = state.dossier;
    show($('dossier'), Boolean(dossier));
    if (!dossier) {
      $('detail-meta').textContent = '';
      $('detail-status').replaceChildren();
      show($('detail-status'), false);
      return;
    }
    const user = dossier.user || {};
    $('detail-title').textContent = user.display_name || $('detail-title').textContent;
    $('detail-meta').replaceChildren(
      [user.age && `${user.age}`, user.gender, user.email, user.birthdate && `born ${user.birthdate}`]
        .filter(Boolean).join(' · '),
      ' · joined ', timeEl(user.created_at), ' · active ', timeEl(user.last_active_at));
    const status = $('detail-status');
    status.className = `badge ${user.status || ''}`;
    status.textContent = user.status === 'suspended' && user.suspended_until
      ? `suspended until ${new Date(user.suspended_until).toLocaleDateString()}` : (user.status || '');
    show(status, Boolean(user.status));
    const bio = $('detail-bio');
    bio.textContent = user.bio || 'No bio.';
    bio.classList.toggle('muted', !user.bio);

    const photos = Array.isArray(dossier.photos) ? dossier.photos : [];
    $('photos-title').textContent = `Photos (${photos.length})`;
    $('photos').replaceChildren(...(photos.length ? photos.map((photo, index) => {
      const img = el('img', {
        src: safeUrl(photo.thumb_url || photo.url), alt: `Photo ${index + 1} of ${user.display_name || 'this user'}`,
        width: 160, height: 200, loading: 'lazy', decoding: 'async',
      });
      img.addEventListener('error', () => img.classList.add('broken'));
      return el('li', { class: 'photo' },
        el('a', { href: safeUrl(photo.url), target: '_blank', rel: 'noopener noreferrer', title: 'Open full size' }, img),
        el('button', { type: 'button', class: 'ghost small', onclick: () => removePhoto(photo, index) }, 'Remove'));
    }) : [el('li', { class: 'muted', text: 'No photos.' })]));

    const prompts = Array.isArray(dossier.prompts) ? dossier.prompts : [];
    $('prompts-title').textContent = `Prompts (${prompts.length})`;
    $('prompts').replaceChildren(...(prompts.length ? prompts.map((prompt) => el('li', { class: 'prompt' },
      el('div', {},
        el('p', { class: 'prompt-q', text: prompt.text || prompt.prompt_id }),
        el('p', { class: 'prompt-a', text: prompt.answer })),
      el('button', { type: 'button', class: 'ghost small', onclick: () => removePrompt(prompt) }, 'Remove')))
      : [el('li', { class: 'muted', text: 'No prompts answered.' })]));

    renderHistory(dossier);
  }

  function historyList(title, total, items, line) {
    const list = items.length ? el('ul', {}, ...items.map((item) => el('li', {}, ...line(item))))
      : el('p', { class: 'muted', text: 'None.' });
    return el('section', { class: 'history-part' }, el('h4', { text: `${title} (${total})` }), list);
  }

  function reportLine(item, otherKey, otherLabel) {
    const outcome = item.status === 'open' ? 'open' : PAST[item.resolution] || item.resolution || 'resolved';
    return [el('span', { class: `reason reason-${item.reason}`, text: REASONS[item.reason] || item.reason }), ' ',
      el('span', { class: `outcome ${item.resolution || 'open'}`, text: outcome }),
      ` · ${otherLabel} ${shortId(item[otherKey])} · `, timeEl(item.created_at),
      item.details ? el('span', { class: 'history-text', text: ` — ${item.details}` }) : null];
  }

  function renderHistory(dossier) {
    const counts = dossier.counts || {};
    const received = dossier.reports_received || [];
    const made = dossier.reports_made || [];
    const blocks = dossier.blocks_received || [];
    const actions = dossier.actions || [];
    $('history').replaceChildren(
      historyList('Reports received', counts.reports_received ?? received.length, received,
        (r) => reportLine(r, 'reporter_id', 'by')),
      historyList('Reports made', counts.reports_made ?? made.length, made,
        (r) => reportLine(r, 'reported_id', 'about')),
      historyList('Blocked by', counts.blocks_received ?? blocks.length, blocks,
        (b) => [`user ${shortId(b.blocker_id)} · `, timeEl(b.created_at)]),
      historyList('Moderation actions', counts.actions ?? actions.length, actions,
        (a) => [el('span', { class: `outcome ${a.action}`, text: PAST[a.action] || a.action }),
          a.days ? ` for ${plural(a.days, 'day', 'days')}` : '', ` by ${who(a.moderator_id)} · `, timeEl(a.created_at),
          el('span', { class: 'history-text', text: ` — ${a.note}` })]));
  }

  // -- decisions ------------------------------------------------------------------------------------------

  function note() {
    const text = $('note').value.trim();
    if (!text) {
      message('action-message', 'Write a note first: it goes to the audit log (the user never sees it).');
      $('note').focus();
      return null;
    }
    return text;
  }

  function isSelectedUser(userId) {
    return Boolean(state.selectedEntry) && state.selectedEntry.reported_id === userId;
  }

  // the name of the person a decision is about: never a previously shown person's
  function displayName() {
    const entry = state.selectedEntry;
    const user = state.dossier && state.dossier.user;
    return (user && isSelectedUser(user.id) && user.display_name)
      || (entry && entry.reported && entry.reported.display_name) || 'this user';
  }

  async function act(action) {
    const entry = state.selectedEntry;
    if (!entry || state.busy) return;
    if (state.resolvedBy || !state.queue.has(entry.id)) {
      message('action-message', 'This report is already resolved.');
      return;
    }
    const text = note();
    if (!text) return;
    const data = { report_id: entry.id, action, note: text };
    if (action === 'suspend') {
      const days = Number($('days').value);
      if (!Number.isInteger(days) || days < 1 || days > 3650) {
        message('action-message', 'Suspend for 1 to 3650 days.');
        $('days').focus();
        return;
      }
      data.days = days;
    }
    if (action === 'ban') {
      const ok = await confirmDialog(`Ban ${displayName()}?`,
        'They are signed out on every device at once and cannot sign in again. Their other open reports stay in the queue.',
        'Ban');
      if (!ok) return;
    }
    const next = neighbour(entry.id); // decided now: our own moderation.resolved may arrive before the reply
    await busy(async () => {
      let reply;
      try {
        reply = await call('moderation.resolve', data);
      } catch (error) {
        if (error.code === 'conflict') {
          const by = error.details && error.details.resolved_by;
          removeResolved(entry, error.details && error.details.resolution, by);
          renderQueue();
          message('action-message', `Already resolved by ${by ? who(by) : 'someone else'}.`);
        } else {
          message('action-message', error.message);
        }
        return;
      }
      const ids = Array.isArray(reply.resolved_report_ids) ? reply.resolved_report_ids : [entry.id];
      for (const id of ids) {
        const resolved = state.queue.get(id);
        if (resolved) removeResolved(resolved, action, state.auth && state.auth.user && state.auth.user.id);
      }
      if (reply.user) {
        for (const other of state.queue.values()) {
          if (other.reported_id === reply.user.id && other.reported) {
            other.reported = { ...other.reported, status: reply.user.status, suspended_until: reply.user.suspended_until };
          }
        }
      }
      $('note').value = '';
      toast(`${displayName()}: ${PAST[action]}.`);
      renderQueue();
      const then = next && state.queue.has(next) ? next : (ordered()[0] || {}).id;
      if (then) select(then);
    });
  }

  // the entry to show after `id` leaves the queue: the one below it, else the one above
  function neighbour(id) {
    const entries = ordered();
    const index = entries.findIndex((e) => e.id === id);
    const after = entries.slice(index + 1).find((e) => e.id !== id);
    const before = entries.slice(0, Math.max(0, index)).reverse()[0];
    return (after || before || {}).id || null;
  }

  async function busy(work) {
    state.busy = true;
    renderDetailState();
    try { await work(); } finally { state.busy = false; renderDetailState(); }
  }

  async function removeContent(command, extra, title, text) {
    const entry = state.selectedEntry;
    if (!entry || state.busy) return;
    const noteText = note();
    if (!noteText) return;
    if (!await confirmDialog(title, text, 'Remove')) return;
    await busy(async () => {
      try {
        await call(command, { user_id: entry.reported_id, note: noteText, report_id: entry.id, ...extra });
      } catch (error) {
        message('action-message', error.message);
        return;
      }
      toast('Removed. The report stays open until you decide.');
      await loadDossier();
    });
  }

  function removePhoto(photo, index) {
    removeContent('moderation.remove_photo', { photo_id: photo.id }, `Remove photo ${index + 1}?`,
      `The photo is deleted from ${displayName()}'s profile. This cannot be undone.`);
  }

  function removePrompt(prompt) {
    removeContent('moderation.remove_prompt', { prompt_id: prompt.prompt_id }, 'Remove this prompt answer?',
      `"${prompt.answer}" is removed from ${displayName()}'s profile (the audit log keeps the text).`);
  }

  // -- dialogs --------------------------------------------------------------------------------------------

  let closeConfirm = null;

  function confirmDialog(title, text, confirmLabel) {
    if (closeConfirm) closeConfirm(false);
    const dialog = $('confirm-dialog');
    $('confirm-title').textContent = title;
    $('confirm-text').textContent = text;
    $('confirm-ok').textContent = confirmLabel;
    return new Promise((resolve) => {
      closeConfirm = (ok) => {
        closeConfirm = null;
        if (dialog.open) dialog.close();
        resolve(ok);
      };
      dialog.showModal();
      $('confirm-ok').focus();
    });
  }

  function dialogKeys(event) {
    if (!closeConfirm) return;
    if (event.key === 'Escape') {
      event.preventDefault();
      closeConfirm(false);
    } else if (event.key === 'Enter' && document.activeElement !== $('confirm-cancel')) {
      event.preventDefault();
      closeConfirm(true);
    }
  }

  function toggleHelp() {
    const help = $('help-dialog');
    if (help.open) help.close(); else help.showModal();
  }

  // -- keyboard ---------------------------------------------------------------------------------------

  function typing(target) {
    return target instanceof HTMLElement
      && (target.isContentEditable || ['INPUT', 'TEXTAREA', 'SELECT'].includes(target.tagName));
  }

  function onKey(event) {
    if (event.defaultPrevented || event.ctrlKey || event.metaKey || event.altKey) return;
    if ($('confirm-dialog').open) { dialogKeys(event); return; }
    if ($('help-dialog').open) {
      if (event.key === '?') { event.preventDefault(); toggleHelp(); }
      return; // the dialog closes itself on Escape
    }
    if ($('dashboard-view').hidden) return;
    if (typing(event.target)) {
      if (event.key === 'Escape') event.target.blur(); // then the shortcuts work again
      return;
    }
    const actions = { d: 'dismiss', w: 'warn', s: 'suspend', b: 'ban' };
    switch (event.key) {
      case 'j': case 'ArrowDown': move(1); break;
      case 'k': case 'ArrowUp': move(-1); break;
      case 'd': case 'w': case 's': case 'b': act(actions[event.key]); break;
      case 'n': $('note').focus(); break;
      case '?': toggleHelp(); break;
      default: return;
    }
    event.preventDefault();
  }

  // -- views ------------------------------------------------------------------------------------------

  function showDashboard() {
    const user = state.auth.user || {};
    $('me-name').textContent = user.display_name ? `${user.display_name}` : '';
    show($('signin-view'), false);
    show($('dashboard-view'), true);
    show($('whoami'), true);
    $('queue').focus();
  }

  function resetDashboard() {
    state.queue = new Map();
    state.beyond = { open: 0, users: 0 };
    state.selectedId = null;
    state.selectedEntry = null;
    state.resolvedBy = null;
    state.dossier = null;
    state.resolvedLog = [];
    $('queue').setAttribute('aria-busy', 'true');
    $('note').value = '';
    renderQueue();
    renderResolvedLog();
    renderDetail();
    renderDossier();
  }

  function signOut(text, { revokeTokens }) {
    const auth = state.auth;
    state.auth = null;
    clearTimeout(state.renewTimer);
    clearTimeout(state.reconnectTimer);
    clearTimeout(state.dossierTimer);
    state.attempt = 0;
    state.downSince = 0;
    state.unauthorizedInRow = 0;
    disconnect();
    if (revokeTokens && auth) revoke(auth.refresh);
    for (const dialog of document.querySelectorAll('dialog[open]')) dialog.close();
    resetDashboard();
    setConn('signedout');
    show($('dashboard-view'), false);
    show($('whoami'), false);
    show($('signin-view'), true);
    message('signin-message', text);
    $('password').value = '';
    $('email').focus();
  }

  async function onSignIn(event) {
    event.preventDefault();
    const email = $('email').value.trim();
    const password = $('password').value;
    if (!email || !password) {
      message('signin-message', 'Enter your email and your password.');
      return;
    }
    const submit = $('signin-submit');
    submit.disabled = true;
    message('signin-message', '');
    try {
      let res;
      try {
        res = await postJson('/v1/auth/login', { email, password });
      } catch (_) {
        message('signin-message', 'Cannot reach the server. Check your connection and try again.');
        return;
      }
      if (!res.ok) {
        message('signin-message', loginError(res));
        return;
      }
      if (!res.data || !res.data.user || res.data.user.role !== 'moderator') {
        revoke(res.data && res.data.refresh_token);
        message('signin-message', 'This account is not a moderator. Ask an administrator to promote it.');
        return;
      }
      $('password').value = '';
      adopt(res.data);
      resetDashboard();
      showDashboard();
      connect();
    } finally {
      submit.disabled = false;
    }
  }

  // -- wiring -----------------------------------------------------------------------------------------

  function start() {
    $('signin-form').addEventListener('submit', onSignIn);
    $('sign-out').addEventListener('click', () => signOut('Signed out.', { revokeTokens: true }));
    $('help-button').addEventListener('click', toggleHelp);
    $('help-close').addEventListener('click', () => $('help-dialog').close());
    $('confirm-ok').addEventListener('click', () => closeConfirm && closeConfirm(true));
    $('confirm-cancel').addEventListener('click', () => closeConfirm && closeConfirm(false));
    $('confirm-dialog').addEventListener('cancel', (event) => { event.preventDefault(); if (closeConfirm) closeConfirm(false); });
    for (const button of document.querySelectorAll('button.act')) {
      button.addEventListener('click', () => act(button.dataset.action));
    }
    document.addEventListener('keydown', onKey);
    window.addEventListener('online', () => {
      if (state.auth && !state.ws) { state.attempt = 0; connect(); }
    });
    window.addEventListener('offline', () => { if (state.auth && !state.ready) setConn('offline'); });
    // the tokens die with the page anyway: revoke the login so nothing usable is left behind
    window.addEventListener('pagehide', (event) => { if (!event.persisted && state.auth) revoke(state.auth.refresh); });
    setInterval(() => { if (state.auth) { renderQueue(); } }, 30000); // keep "n min ago" honest
    setConn('signedout');
    $('email').focus();
  }

  start();
})();
