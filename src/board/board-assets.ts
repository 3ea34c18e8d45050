/**
 * The board's two static files, kept here as strings so the build (tsc) ships them and nothing is fetched at run
 * time. The script is the whole client: it swaps in the server-rendered fragments the live stream sends (the server
 * escaped them), keeps the dead-letter selection across updates, and posts actions with the page's CSRF token after
 * a confirmation, showing the server's answer (a refusal too) in the status line.
 */
export const BOARD_SCRIPT = `'use strict';
(function () {
  var csrf = document.querySelector('meta[name="csrf-token"]').getAttribute('content');
  var status = document.getElementById('status');
  function say(text, failed) {
    status.textContent = text;
    status.className = failed ? 'failed' : 'ok';
    status.setAttribute('role', failed ? 'alert' : 'status');
  }
  function picked() {
    return Array.prototype.map.call(document.querySelectorAll('input[name="pick"]:checked'), function (b) {
      return { id: b.value, lane: b.getAttribute('data-lane') };
    });
  }
  var live = document.body.getAttribute('data-live');
  if (live !== null && window.EventSource) {
    var events = new EventSource('/board/events' + (live ? '?' + live : ''));
    events.onmessage = function (m) {
      var parts = JSON.parse(m.data);
      var keep = picked().map(function (p) { return p.id; });
      Object.keys(parts).forEach(function (id) {
        var el = document.getElementById(id);
        if (el && el.getAttribute('data-html') !== parts[id]) {
          el.innerHTML = parts[id];
          el.setAttribute('data-html', parts[id]);
        }
      });
      keep.forEach(function (id) {
        var box = document.querySelector('input[name="pick"][value="' + CSS.escape(id) + '"]');
        if (box) box.checked = true;
      });
      document.body.setAttribute('data-updated', String(Date.now()));
    };
  }
  function post(path, body) {
    return fetch(path, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-csrf-token': csrf },
      body: JSON.stringify(body),
      credentials: 'same-origin',
    }).then(function (r) {
      return r.json().then(function (j) {
        say(j.message || j.error || r.statusText, !r.ok);
      });
    }, function (e) { say(String(e), true); });
  }
  document.addEventListener('click', function (ev) {
    var b = ev.target.closest('button[data-action]');
    if (!b) return;
    var action = b.getAttribute('data-action');
    var type = b.getAttribute('data-type');
    if (action === 'replay' || action === 'purge') {
      var what = action === 'replay' ? 'Replay' : 'Purge';
      if (!confirm(what + ' dead letter ' + b.getAttribute('data-ids') + ' of ' + type + '?')) return;
      post('/board/dead/' + action, { type: type, lane: b.getAttribute('data-lane'), ids: [b.getAttribute('data-ids')] });
    } else if (action === 'replay-selected') {
      var sel = picked();
      if (!sel.length) return say('Select dead letters first.', true);
      if (!confirm('Replay ' + sel.length + ' dead letter(s) of ' + type + '?')) return;
      post('/board/dead/replay', { type: type, letters: sel });
    } else if (action === 'purge-all') {
      if (!confirm('Purge every dead letter of ' + type + ' (both lanes)?')) return;
      post('/board/dead/purge', { type: type, all: true });
    } else if (action === 'approve' || action === 'reject') {
      var saga = b.getAttribute('data-saga');
      if (!confirm((action === 'approve' ? 'Approve' : 'Reject') + ' saga ' + saga + '?')) return;
      post('/board/sagas/' + action, { sagaId: saga });
    }
  });
})();
`;

export const BOARD_STYLE = `body { font: 14px/1.4 system-ui, sans-serif; margin: 0 1.5rem 2rem; color: #1b1f24; }
header { display: flex; flex-wrap: wrap; gap: 1rem; align-items: center; border-bottom: 1px solid #d0d7de; }
header h1 { font-size: 1.2rem; margin: .6rem 0; } header h1 a { color: inherit; text-decoration: none; }
nav a { margin-right: .6rem; }
h2 { font-size: 1.05rem; margin-top: 1.6rem; }
table { border-collapse: collapse; margin: .5rem 0; }
caption { text-align: left; font-weight: 600; padding: .2rem 0; }
th, td { border: 1px solid #d0d7de; padding: .2rem .4rem; text-align: left; vertical-align: top; }
td.n { text-align: right; font-variant-numeric: tabular-nums; }
abbr { text-decoration: none; }
thead th { background: #f6f8fa; }
.side-by-side { display: flex; flex-wrap: wrap; gap: 1rem; } .side-by-side table { font-size: 12px; } .side-by-side th, .side-by-side td { padding: .15rem .3rem; }
.read-only { background: #fff8c5; padding: .2rem .6rem; border-radius: 4px; }
#status.failed { color: #a40e26; font-weight: 600; } #status.ok { color: #116329; }
tr.dead { background: #ffebe9; }
pre.payload { max-width: 36rem; max-height: 12rem; overflow: auto; margin: 0; text-align: left; white-space: pre-wrap; }
.note { color: #57606a; }
.actions { margin: .4rem 0; }
`;
