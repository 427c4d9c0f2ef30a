// The Developers page of the Admin GUI: one tab per status, a paged and
// searchable table with the status actions, the invite dialog and a
// per-developer view. It calls the Admin API through the same-origin /api/
// proxy and writes every stored value with textContent, never as HTML.
'use strict';

const API_BASE = '/api';

// Kong's status integers: 0 approved, 1 requested, 2 rejected, 3 revoked.
const APPROVED = 0;
const REJECTED = 2;
const REVOKED = 3;

const TABS = {
  requested: {
    code: 1,
    title: 'Requested Access',
    actions: [
      { label: 'Accept', target: APPROVED, done: 'Accepted' },
      { label: 'Reject', target: REJECTED, done: 'Rejected' },
    ],
  },
  approved: {
    code: 0,
    title: 'Approved',
    actions: [
      { label: 'Revoke', target: REVOKED, done: 'Revoked' },
      { label: 'Delete', remove: true },
      { label: 'Email Developer', email: true },
    ],
  },
  revoked: {
    code: 3,
    title: 'Revoked',
    actions: [
      { label: 'Re-approve', target: APPROVED, done: 'Re-approved' },
      { label: 'Delete', remove: true },
    ],
  },
  rejected: {
    code: 2,
    title: 'Rejected',
    actions: [
      { label: 'Approve', target: APPROVED, done: 'Approved' },
      { label: 'Delete', remove: true },
    ],
  },
};
const TAB_NAMES = Object.keys(TABS);

const SEARCH_DELAY_MS = 250;
const PREVIEW_DELAY_MS = 300;
// Approved email links are fetched one request per row; this caps how many
// run at once.
const EMAIL_LINK_CONCURRENCY = 4;

const DATE_FORMAT = new Intl.DateTimeFormat(undefined, {
  dateStyle: 'medium',
  timeStyle: 'short',
});

const state = {
  tab: 'requested',
  query: '',
  size: 50,
  // The offset token of the page shown (null for the first page) and the
  // tokens of the pages before it, so Previous can go back.
  offset: null,
  previousOffsets: [],
  nextOffset: null,
  developers: new Map(),
  // Increases with every list request; a response to an older one is dropped.
  listRequest: 0,
};

const $ = (id) => document.getElementById(id);

/** An Admin API error: the HTTP status (0 when unreachable) and the server's message. */
class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

/** Sends one Admin API request and returns the parsed JSON body (null for 204). */
async function api(method, path, body, signal) {
  const init = { method, headers: { Accept: 'application/json' }, signal };
  if (body !== undefined) {
    init.headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(API_BASE + path, init);
  } catch (err) {
    if (err.name === 'AbortError') {
      throw err;
    }
    throw new ApiError(0, `The Admin API could not be reached (${err.message}); check that the host is running.`);
  }
  if (response.status === 204) {
    return null;
  }
  const text = await response.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = null;
  }
  if (!response.ok) {
    const message = data && typeof data.message === 'string'
      ? data.message
      : `The Admin API returned HTTP ${response.status} ${response.statusText}.`;
    throw new ApiError(response.status, message);
  }
  return data;
}

function developerPath(id, suffix = '') {
  return `/developers/${encodeURIComponent(id)}${suffix}`;
}

function element(tag, text, className) {
  const node = document.createElement(tag);
  if (text !== undefined) {
    node.textContent = text;
  }
  if (className) {
    node.className = className;
  }
  return node;
}

function timeElement(seconds) {
  const date = new Date(seconds * 1000);
  const node = element('time', DATE_FORMAT.format(date));
  node.dateTime = date.toISOString();
  return node;
}

function statusTitle(label) {
  return label ? label.charAt(0).toUpperCase() + label.slice(1) : '';
}

function debounce(fn, delay) {
  let timer = null;
  const debounced = (...args) => {
    clearTimeout(timer);
    timer = setTimeout(() => fn(...args), delay);
  };
  debounced.cancel = () => clearTimeout(timer);
  return debounced;
}

// ---- Messages ----

function showAlert(message) {
  $('alert').textContent = message;
}

function showStatus(message, link) {
  const status = $('status');
  status.replaceChildren(element('span', message));
  if (link) {
    status.append(' ', link);
  }
}

function clearMessages() {
  $('alert').textContent = '';
  $('status').replaceChildren();
}

// ---- Counts and list ----

async function loadCounts() {
  try {
    const counts = await api('GET', '/developers/counts');
    for (const name of TAB_NAMES) {
      $(`count-${name}`).textContent = Number(counts[name]).toLocaleString();
    }
  } catch (err) {
    showAlert(`Could not load the counts: ${err.message}`);
  }
}

function listPath() {
  const params = new URLSearchParams({ status: String(TABS[state.tab].code), size: String(state.size) });
  if (state.query) {
    params.set('q', state.query);
  }
  if (state.offset !== null) {
    params.set('offset', state.offset);
  }
  return `/developers?${params}`;
}

async function loadPage() {
  const request = ++state.listRequest;
  const table = $('developers');
  table.setAttribute('aria-busy', 'true');
  let page;
  try {
    page = await api('GET', listPath());
  } catch (err) {
    if (request === state.listRequest) {
      table.setAttribute('aria-busy', 'false');
      showAlert(`Could not load the developers: ${err.message}`);
    }
    return;
  }
  if (request !== state.listRequest) {
    return;
  }
  // A page emptied by actions goes back to the page before it.
  if (page.data.length === 0 && state.previousOffsets.length > 0) {
    state.offset = state.previousOffsets.pop();
    await loadPage();
    return;
  }
  state.nextOffset = page.offset;
  renderRows(page.data);
  renderPager(page.total);
  table.setAttribute('aria-busy', 'false');
  if (state.tab === 'approved') {
    fillEmailLinks(page.data, request);
  }
}

function renderRows(developers) {
  const tab = TABS[state.tab];
  state.developers = new Map(developers.map((d) => [d.id, d]));
  const fragment = document.createDocumentFragment();
  for (const developer of developers) {
    const row = document.createElement('tr');
    row.dataset.id = developer.id;

    const emailCell = element('td');
    const link = element('a', developer.email);
    link.href = `#developer/${encodeURIComponent(developer.id)}`;
    emailCell.append(link);

    const actionsCell = element('td', undefined, 'actions');
    for (const action of tab.actions) {
      actionsCell.append(actionControl(action, developer));
    }

    row.append(
      emailCell,
      element('td', developer.full_name),
      element('td'),
      element('td'),
      actionsCell,
    );
    row.cells[2].append(timeElement(developer.created_at));
    row.cells[3].append(timeElement(developer.status_changed_at));
    fragment.append(row);
  }
  $('rows').replaceChildren(fragment);

  const empty = $('empty');
  empty.hidden = developers.length > 0;
  empty.textContent = state.query
    ? `No ${tab.title} developer matches “${state.query}”.`
    : `No developers in ${tab.title}.`;
}

function actionControl(action, developer) {
  if (action.email) {
    // Filled with the mailto: link from the Admin API once it arrives.
    const link = element('a', action.label, 'action email-link');
    link.setAttribute('aria-label', `${action.label} ${developer.email}`);
    link.dataset.id = developer.id;
    return link;
  }
  const button = element('button', action.label, action.remove ? 'action danger' : 'action');
  button.type = 'button';
  button.setAttribute('aria-label', `${action.label} ${developer.email}`);
  button.dataset.action = action.label;
  return button;
}

function renderPager(total) {
  const pageNumber = state.previousOffsets.length + 1;
  const pageCount = Math.max(1, Math.ceil(total / state.size));
  const noun = total === 1 ? 'developer' : 'developers';
  const matching = state.query ? ' matching' : '';
  $('page-info').textContent =
    `Page ${pageNumber.toLocaleString()} of ${pageCount.toLocaleString()} · ${total.toLocaleString()}${matching} ${noun}`;
  $('previous').disabled = state.previousOffsets.length === 0;
  $('next').disabled = state.nextOffset === null;
}

/** Fetches the approved email of each listed developer and sets it as the link's href. */
async function fillEmailLinks(developers, request) {
  const queue = developers.slice();
  const worker = async () => {
    while (queue.length > 0 && request === state.listRequest) {
      const developer = queue.shift();
      const link = document.querySelector(`a.email-link[data-id="${CSS.escape(developer.id)}"]`);
      if (!link) {
        continue;
      }
      if (developer.approved_email) {
        // The list carries the link unless the server could not build one
        // (portal_approved_email = off). The request below then reports why.
        link.href = developer.approved_email;
        continue;
      }
      try {
        const approvedEmail = await api('GET', developerPath(developer.id, '/email'));
        link.href = approvedEmail.mailto;
      } catch (err) {
        link.textContent = 'Email unavailable';
        link.title = err.message;
      }
    }
  };
  await Promise.all(Array.from({ length: EMAIL_LINK_CONCURRENCY }, worker));
}

function refresh() {
  return Promise.all([loadCounts(), loadPage()]);
}

function resetPaging() {
  state.offset = null;
  state.previousOffsets = [];
  state.nextOffset = null;
}

// ---- Tabs ----

function selectTab(name, { focus = false, load = true } = {}) {
  state.tab = name;
  for (const tab of document.querySelectorAll('[role="tab"]')) {
    const selected = tab.dataset.tab === name;
    tab.setAttribute('aria-selected', String(selected));
    tab.tabIndex = selected ? 0 : -1;
    if (selected && focus) {
      tab.focus();
    }
  }
  $('panel').setAttribute('aria-labelledby', `tab-${name}`);
  $('caption').textContent = `${TABS[name].title} developers`;
  $('back').href = `#${name}`;
  if (location.hash !== `#${name}`) {
    history.replaceState(null, '', `#${name}`);
  }
  if (load) {
    resetPaging();
    $('rows').replaceChildren();
    loadPage();
  }
}

function onTabKeydown(event) {
  const index = TAB_NAMES.indexOf(state.tab);
  const moves = {
    ArrowRight: (index + 1) % TAB_NAMES.length,
    ArrowLeft: (index - 1 + TAB_NAMES.length) % TAB_NAMES.length,
    Home: 0,
    End: TAB_NAMES.length - 1,
  };
  if (!(event.key in moves)) {
    return;
  }
  event.preventDefault();
  clearMessages();
  selectTab(TAB_NAMES[moves[event.key]], { focus: true });
}

// ---- Actions ----

async function onRowClick(event) {
  const button = event.target.closest('button[data-action]');
  if (!button) {
    return;
  }
  const row = button.closest('tr');
  const developer = state.developers.get(row.dataset.id);
  const action = TABS[state.tab].actions.find((a) => a.label === button.dataset.action);
  if (!developer || !action) {
    return;
  }
  clearMessages();
  if (action.remove && !(await confirmDelete(developer, button))) {
    return;
  }
  const rowIndex = row.sectionRowIndex;
  for (const control of row.querySelectorAll('button')) {
    control.disabled = true;
  }
  try {
    await runAction(action, developer);
  } catch (err) {
    showAlert(`${action.label} ${developer.email} failed: ${err.message}`);
  }
  await refresh();
  focusRow(rowIndex);
}

async function runAction(action, developer) {
  // NOTE: PATCH and DELETE carry no precondition, so this read narrows but
  // does not close the window in which another admin can change the
  // developer first. A change the transition table forbids still returns
  // 409, shown by the caller.
  const current = await api('GET', developerPath(developer.id));
  if (current.status !== developer.status) {
    showAlert(
      `${developer.email} is now ${current.status_label}, no longer ${developer.status_label}: ` +
      'another admin changed it after this list was loaded. Nothing was changed; the list shows the current statuses.',
    );
    return;
  }
  if (action.remove) {
    await api('DELETE', developerPath(developer.id));
    showStatus(`Deleted ${developer.email}.`);
    return;
  }
  const result = await api('PATCH', developerPath(developer.id), { status: action.target });
  const label = result.developer.status_label;
  const message = result.changed
    ? `${action.done} ${developer.email}: now ${label}.`
    : `${developer.email} was already ${label}.`;
  let emailLink = null;
  if (result.email && result.email.mailto) {
    emailLink = element('a', `Email ${developer.email} that access is approved`);
    emailLink.href = result.email.mailto;
  }
  showStatus(message, emailLink);
}

function focusRow(index) {
  const rows = $('rows').rows;
  const row = rows[Math.min(index, rows.length - 1)];
  const control = row && row.querySelector('button, a[href]');
  (control || $('search')).focus();
}

// ---- Dialogs ----

const FOCUSABLE = 'a[href], button:not([disabled]), textarea:not([disabled]), input:not([disabled]), select:not([disabled]), [tabindex]:not([tabindex="-1"])';

/** Keeps Tab and Shift+Tab inside an open modal dialog. */
function trapFocus(dialog) {
  dialog.addEventListener('keydown', (event) => {
    if (event.key !== 'Tab') {
      return;
    }
    const focusable = [...dialog.querySelectorAll(FOCUSABLE)].filter((node) => node.getClientRects().length > 0);
    if (focusable.length === 0) {
      event.preventDefault();
      return;
    }
    const first = focusable[0];
    const last = focusable[focusable.length - 1];
    if (event.shiftKey && (document.activeElement === first || !dialog.contains(document.activeElement))) {
      event.preventDefault();
      last.focus();
    } else if (!event.shiftKey && (document.activeElement === last || !dialog.contains(document.activeElement))) {
      event.preventDefault();
      first.focus();
    }
  });
}

/** Opens the delete confirmation and resolves to true when the admin confirms. */
function confirmDelete(developer, opener) {
  const dialog = $('confirm-dialog');
  $('confirm-text').textContent =
    `Delete ${developer.email}? This removes the developer, their credentials and their status history. It cannot be undone.`;
  return new Promise((resolve) => {
    dialog.addEventListener('close', () => {
      const confirmed = dialog.returnValue === 'delete';
      if (!confirmed && opener.isConnected) {
        opener.focus();
      }
      resolve(confirmed);
    }, { once: true });
    dialog.returnValue = '';
    dialog.showModal();
    $('confirm-cancel').focus();
  });
}

// ---- Invitations ----

const invite = {
  opener: null,
  controller: null,
  request: 0,
};

function openInvite() {
  const dialog = $('invite-dialog');
  invite.opener = document.activeElement;
  $('invite-links').replaceChildren();
  $('invite-error').textContent = '';
  dialog.showModal();
  $('invite-emails').focus();
}

/** Asks the Admin API which addresses would be invited; the call sends nothing. */
async function fetchInvitation() {
  const text = $('invite-emails').value;
  if (invite.controller) {
    invite.controller.abort();
  }
  const request = ++invite.request;
  if (text.trim() === '') {
    invite.controller = null;
    renderInvitation(null);
    $('invite-error').textContent = '';
    return null;
  }
  invite.controller = new AbortController();
  try {
    const invitation = await api('POST', '/developers/invite', { emails: text }, invite.controller.signal);
    if (request !== invite.request) {
      return null;
    }
    $('invite-error').textContent = '';
    renderInvitation(invitation);
    return invitation;
  } catch (err) {
    if (err.name === 'AbortError' || request !== invite.request) {
      return null;
    }
    renderInvitation(null);
    $('invite-error').textContent = err.message;
    return null;
  }
}

function previewGroup(title, items, describe) {
  const group = element('section', undefined, 'preview-group');
  group.append(element('h3', `${title} (${items.length})`));
  const list = element('ul');
  for (const item of items) {
    const entry = element('li');
    entry.append(element('span', describe.email(item), 'address'));
    const note = describe.note && describe.note(item);
    if (note) {
      entry.append(element('span', ` — ${note}`, 'reason'));
    }
    list.append(entry);
  }
  group.append(list);
  return group;
}

function renderInvitation(invitation) {
  const preview = $('invite-preview');
  $('invite-links').replaceChildren();
  if (!invitation) {
    preview.replaceChildren();
    $('invite-submit').disabled = true;
    return;
  }
  const groups = [
    previewGroup('Will be invited', invitation.invited, { email: (e) => e }),
  ];
  if (invitation.invalid.length > 0) {
    groups.push(previewGroup('Invalid', invitation.invalid, { email: (r) => r.email, note: (r) => r.reason }));
  }
  if (invitation.duplicates.length > 0) {
    groups.push(previewGroup('Duplicates', invitation.duplicates, { email: (r) => r.email, note: (r) => r.reason }));
  }
  if (invitation.registered.length > 0) {
    groups.push(previewGroup('Already registered', invitation.registered, {
      email: (r) => r.email,
      note: (r) => statusTitle(r.status_label),
    }));
  }
  preview.replaceChildren(...groups);
  $('invite-submit').disabled = invitation.links.length === 0;
}

async function submitInvite() {
  previewInvite.cancel();
  const invitation = await fetchInvitation();
  if (!invitation) {
    return;
  }
  const links = $('invite-links');
  if (invitation.links.length === 0) {
    $('invite-error').textContent = 'No address can be invited: every entry is invalid, repeated or already registered.';
    return;
  }
  const count = invitation.links.length;
  const list = element('ul');
  invitation.links.forEach((mailto, index) => {
    const link = element('a', count === 1 ? 'Open message' : `Open message ${index + 1} of ${count}`);
    link.href = mailto;
    const item = element('li');
    item.append(link);
    list.append(item);
  });
  const intro = count === 1
    ? 'Your email client should open the message. If it does not, use this link:'
    : `The list is too long for one message, so it is split into ${count} messages. Open each one:`;
  links.replaceChildren(element('p', intro), list);
  list.querySelector('a').focus();
  if (count === 1) {
    window.location.assign(invitation.links[0]);
  }
}

const previewInvite = debounce(fetchInvitation, PREVIEW_DELAY_MS);

// ---- Developer view ----

async function showDeveloper(id) {
  $('list-view').hidden = true;
  $('detail-view').hidden = false;
  const heading = $('detail-heading');
  heading.textContent = 'Developer';
  $('detail').replaceChildren();
  $('history').replaceChildren();
  $('detail-alert').textContent = '';
  let developer;
  let history;
  try {
    [developer, history] = await Promise.all([
      api('GET', developerPath(id)),
      api('GET', developerPath(id, '/history')),
    ]);
  } catch (err) {
    $('detail-alert').textContent = `Could not load the developer: ${err.message}`;
    heading.focus();
    return;
  }
  heading.textContent = developer.email;
  document.title = `${developer.email} · Developer portal admin`;

  const details = $('detail');
  const addDetail = (term, value) => {
    const valueNode = element('dd');
    valueNode.append(value);
    details.append(element('dt', term), valueNode);
  };
  addDetail('Email', developer.email);
  addDetail('Full name', developer.full_name);
  addDetail('Status', statusTitle(developer.status_label));
  addDetail('Registered', timeElement(developer.created_at));
  addDetail('Last status change', timeElement(developer.status_changed_at));
  addDetail('ID', developer.id);
  let meta = {};
  try {
    meta = JSON.parse(developer.meta || '{}');
  } catch {
    meta = {};
  }
  for (const [key, value] of Object.entries(meta)) {
    if (key !== 'full_name') {
      addDetail(key, String(value));
    }
  }

  const rows = history.data.map((entry) => {
    const row = element('tr');
    row.append(
      element('td', entry.from_label ? statusTitle(entry.from_label) : '(created)'),
      element('td', statusTitle(entry.to_label)),
      element('td'),
      element('td', entry.by || 'unknown'),
    );
    row.cells[2].append(timeElement(entry.at));
    return row;
  });
  $('history').replaceChildren(...rows);
  heading.focus();
}

function showList(tab) {
  const wasHidden = $('list-view').hidden;
  $('detail-view').hidden = true;
  $('list-view').hidden = false;
  document.title = 'Developers · Developer portal admin';
  selectTab(tab, { focus: wasHidden });
  loadCounts();
}

function route() {
  const hash = decodeURIComponent(location.hash.slice(1));
  if (hash.startsWith('developer/')) {
    showDeveloper(hash.slice('developer/'.length));
    return;
  }
  showList(TAB_NAMES.includes(hash) ? hash : state.tab);
}

// ---- Wiring ----

function init() {
  const tabs = $('tabs');
  tabs.addEventListener('click', (event) => {
    const tab = event.target.closest('[role="tab"]');
    if (tab && tab.dataset.tab !== state.tab) {
      clearMessages();
      selectTab(tab.dataset.tab);
    }
  });
  tabs.addEventListener('keydown', onTabKeydown);

  const search = debounce(() => {
    state.query = $('search').value.trim();
    resetPaging();
    loadPage();
  }, SEARCH_DELAY_MS);
  $('search').addEventListener('input', search);
  $('search-form').addEventListener('submit', (event) => {
    event.preventDefault();
    search.cancel();
    state.query = $('search').value.trim();
    resetPaging();
    loadPage();
  });
  $('size').addEventListener('change', () => {
    state.size = Number($('size').value);
    resetPaging();
    loadPage();
  });

  $('next').addEventListener('click', () => {
    if (state.nextOffset === null) {
      return;
    }
    state.previousOffsets.push(state.offset);
    state.offset = state.nextOffset;
    loadPage();
  });
  $('previous').addEventListener('click', () => {
    if (state.previousOffsets.length === 0) {
      return;
    }
    state.offset = state.previousOffsets.pop();
    loadPage();
  });

  $('rows').addEventListener('click', onRowClick);

  const inviteDialog = $('invite-dialog');
  trapFocus(inviteDialog);
  $('invite-open').addEventListener('click', openInvite);
  $('invite-cancel').addEventListener('click', () => inviteDialog.close());
  inviteDialog.addEventListener('close', () => {
    previewInvite.cancel();
    if (invite.opener && invite.opener.isConnected) {
      invite.opener.focus();
    }
  });
  $('invite-emails').addEventListener('input', previewInvite);
  $('invite-submit').addEventListener('click', submitInvite);

  const confirmDialog = $('confirm-dialog');
  trapFocus(confirmDialog);
  $('confirm-cancel').addEventListener('click', () => confirmDialog.close('cancel'));
  $('confirm-ok').addEventListener('click', () => confirmDialog.close('delete'));

  window.addEventListener('hashchange', route);
  route();
}

init();
