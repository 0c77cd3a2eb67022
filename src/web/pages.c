/* web/pages.c: the console's pages, served from the binary (no build chain, no file system): the
 * login page and the status, history, voicemail, block list, phonebook and configuration pages in English and Japanese, one script
 * and one style sheet. The status page takes live updates from /api/events (server-sent events);
 * the script never writes HTML from data
 * (textContent only), and nothing is inline, so the Content-Security-Policy needs no exception. */
#include <string.h>

#include "base.h"
#include "web_int.h"

#define HEAD(lang, title)                                                                          \
	"<!DOCTYPE html>\n<html lang=\"" lang "\">\n<head>\n<meta charset=\"utf-8\">\n"            \
	"<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"               \
	"<title>" title "</title>\n<link rel=\"stylesheet\" href=\"/app.css\">\n"                  \
	"<script src=\"/app.js\" defer></script>\n</head>\n"

static const char login_en[] = HEAD(
    "en",
    "mikaka — log in") "<body class=\"login\">\n<main>\n<h1>mikaka</h1>\n"
		       "<form id=\"login-form\">\n"
		       "<label for=\"user\">User</label>\n"
		       "<input id=\"user\" name=\"user\" autocomplete=\"username\" required>\n"
		       "<label for=\"password\">Password</label>\n"
		       "<input id=\"password\" name=\"password\" type=\"password\" "
		       "autocomplete=\"current-password\" required>\n"
		       "<button id=\"login\" type=\"submit\">Log in</button>\n"
		       "<p id=\"error\" role=\"alert\"></p>\n</form>\n</main>\n</body>\n</html>\n";

static const char login_ja[] = HEAD(
    "ja",
    "mikaka — ログイン") "<body class=\"login\">\n<main>\n<h1>mikaka</h1>\n"
			 "<form id=\"login-form\">\n"
			 "<label for=\"user\">ユーザー名</label>\n"
			 "<input id=\"user\" name=\"user\" autocomplete=\"username\" required>\n"
			 "<label for=\"password\">パスワード</label>\n"
			 "<input id=\"password\" name=\"password\" type=\"password\" "
			 "autocomplete=\"current-password\" required>\n"
			 "<button id=\"login\" type=\"submit\">ログイン</button>\n"
			 "<p id=\"error\" "
			 "role=\"alert\"></p>\n</form>\n</main>\n</body>\n</html>\n";

/* The header of every page after the login: the navigation (a new page is one more link here and
 * one more entry in files[]), the user, the logout button. */
#define NAV_EN(title)                                                                              \
	"<header><h1>mikaka</h1><nav><a href=\"/\">Status</a><a href=\"/history\">History</a>"     \
	"<a href=\"/voicemail\">Voicemail</a>"                                                     \
	"<a href=\"/blocklist\">Block list</a><a href=\"/phonebook\">Phonebook</a>"          \
	"<a href=\"/config\">Configuration</a></nav><span id=\"who\"></span>"                      \
	"<button id=\"logout\" type=\"button\">Log out</button></header>\n<main>\n<h2>" title    \
	"</h2>\n"
#define NAV_JA(title)                                                                              \
	"<header><h1>mikaka</h1><nav><a href=\"/\">状態</a><a href=\"/history\">通話履歴</a>"      \
	"<a href=\"/voicemail\">留守番電話</a>"                                                   \
	"<a href=\"/blocklist\">着信拒否</a><a href=\"/phonebook\">電話帳</a>"                 \
	"<a href=\"/config\">設定</a></nav><span id=\"who\"></span>"                              \
	"<button id=\"logout\" type=\"button\">ログアウト</button></header>\n<main>\n<h2>" title \
	"</h2>\n"
#define TAIL "</main>\n</body>\n</html>\n"

static const char status_en[] = HEAD("en", "mikaka — status") "<body class=\"status\">\n" NAV_EN(
    "Status") "<section><h3>Line</h3><table id=\"line\"><thead><tr><th>Number</th><th>Domain</th>"
	      "<th>Server</th><th>State</th></tr></thead><tbody></tbody></table></section>\n"
	      "<section><h3>Phones</h3><table id=\"phones\"><thead><tr><th>Phone</th>"
	      "<th>Transport</th><th>Address</th><th>User agent</th><th>Expires</th></tr></thead>"
	      "<tbody></tbody></table></section>\n"
	      "<section><h3>Calls</h3><table id=\"calls\"><thead><tr><th>From</th><th>To</th>"
	      "<th>State</th><th>Duration</th><th></th></tr></thead><tbody></tbody></table>"
	      "</section>\n<p id=\"updated\"></p>\n" TAIL;

static const char status_ja[] = HEAD("ja", "mikaka — 状態") "<body class=\"status\">\n" NAV_JA(
    "状態") "<section><h3>回線</h3><table id=\"line\"><thead><tr><th>番号</th><th>ドメイン</th>"
	    "<th>サーバー</th><th>状態</th></tr></thead><tbody></tbody></table></section>\n"
	    "<section><h3>電話機</h3><table id=\"phones\"><thead><tr><th>電話機</th>"
	    "<th>トランスポート</th><th>アドレス</th><th>ユーザーエージェント</th><th>有効期限</th>"
	    "</tr></thead><tbody></tbody></table></section>\n"
	    "<section><h3>通話</h3><table id=\"calls\"><thead><tr><th>発信元</th><th>宛先</th>"
	    "<th>状態</th><th>通話時間</th><th></th></tr></thead><tbody></tbody></table>"
	    "</section>\n<p id=\"updated\"></p>\n" TAIL;

static const char history_en[] = HEAD(
    "en", "mikaka — history") "<body class=\"history\">\n" NAV_EN("Call history")
    "<form id=\"h-form\" class=\"filter\">"
    "<label>Number <input id=\"h-number\" maxlength=\"32\" inputmode=\"tel\"></label>"
    "<label>From <input id=\"h-from\" type=\"date\"></label>"
    "<label>To <input id=\"h-to\" type=\"date\"></label>"
    "<label>Result <select id=\"h-disp\"><option value=\"\">any</option>"
    "<option value=\"ANSWERED\">answered</option><option value=\"NO ANSWER\">no answer</option>"
    "<option value=\"BUSY\">busy</option><option value=\"FAILED\">failed</option></select></label>"
    "<button id=\"h-search\" type=\"submit\">Search</button>"
    "<a id=\"h-csv\" href=\"/api/history.csv\" download=\"mikaka-history.csv\">CSV</a></form>\n"
    "<table id=\"history\"><thead><tr><th>Start</th><th>From</th><th>To</th><th>Result</th>"
    "<th>Duration</th><th></th></tr></thead><tbody></tbody></table>\n"
    "<p class=\"pager\"><button id=\"h-prev\" type=\"button\">&lt;</button><span id=\"h-page\">"
    "</span><button id=\"h-next\" type=\"button\">&gt;</button></p>\n" TAIL;

static const char history_ja[] = HEAD(
    "ja", "mikaka — 通話履歴") "<body class=\"history\">\n" NAV_JA("通話履歴")
    "<form id=\"h-form\" class=\"filter\">"
    "<label>番号 <input id=\"h-number\" maxlength=\"32\" inputmode=\"tel\"></label>"
    "<label>開始日 <input id=\"h-from\" type=\"date\"></label>"
    "<label>終了日 <input id=\"h-to\" type=\"date\"></label>"
    "<label>結果 <select id=\"h-disp\"><option value=\"\">すべて</option>"
    "<option value=\"ANSWERED\">応答</option><option value=\"NO ANSWER\">不在</option>"
    "<option value=\"BUSY\">話中</option><option value=\"FAILED\">失敗</option></select></label>"
    "<button id=\"h-search\" type=\"submit\">検索</button>"
    "<a id=\"h-csv\" href=\"/api/history.csv\" download=\"mikaka-history.csv\">CSV</a></form>\n"
    "<table id=\"history\"><thead><tr><th>開始</th><th>発信元</th><th>宛先</th><th>結果</th>"
    "<th>通話時間</th><th></th></tr></thead><tbody></tbody></table>\n"
    "<p class=\"pager\"><button id=\"h-prev\" type=\"button\">&lt;</button><span id=\"h-page\">"
    "</span><button id=\"h-next\" type=\"button\">&gt;</button></p>\n" TAIL;

static const char config_en[] = HEAD(
    "en", "mikaka — configuration") "<body class=\"config\">\n" NAV_EN("Configuration")
    "<p><button id=\"c-check\" type=\"button\">Check the files</button> "
    "<button id=\"c-reload\" type=\"button\">Reload</button></p>\n"
    "<p id=\"c-summary\"></p>\n"
    "<table id=\"findings\"><thead><tr><th>File</th><th>Line</th><th>Severity</th>"
    "<th>Message</th></tr></thead><tbody></tbody></table>\n"
    "<h3>Output of mikakad -t</h3><pre id=\"c-output\"></pre>\n"
    "<h3>Reload</h3><pre id=\"c-result\"></pre>\n" TAIL;

static const char config_ja[] = HEAD(
    "ja", "mikaka — 設定") "<body class=\"config\">\n" NAV_JA("設定")
    "<p><button id=\"c-check\" type=\"button\">設定ファイルを検査</button> "
    "<button id=\"c-reload\" type=\"button\">再読み込み</button></p>\n"
    "<p id=\"c-summary\"></p>\n"
    "<table id=\"findings\"><thead><tr><th>ファイル</th><th>行</th><th>重大度</th>"
    "<th>内容</th></tr></thead><tbody></tbody></table>\n"
    "<h3>mikakad -t の出力</h3><pre id=\"c-output\"></pre>\n"
    "<h3>再読み込み</h3><pre id=\"c-result\"></pre>\n" TAIL;

/* Voicemail: one list item per message (who, when, how long, new or heard), its <audio> player
 * and the mark-heard and delete buttons; the list follows new messages through the event
 * stream (the status event's "voicemail" changes). */
static const char voicemail_en[] = HEAD(
    "en", "mikaka — voicemail") "<body class=\"voicemail\">\n" NAV_EN("Voicemail")
    "<p id=\"vm-summary\"></p>\n<ul id=\"vm-list\" class=\"vm\"></ul>\n"
    "<p id=\"updated\"></p>\n" TAIL;

static const char voicemail_ja[] = HEAD(
    "ja", "mikaka — 留守番電話") "<body class=\"voicemail\">\n" NAV_JA("留守番電話")
    "<p id=\"vm-summary\"></p>\n<ul id=\"vm-list\" class=\"vm\"></ul>\n"
    "<p id=\"updated\"></p>\n" TAIL;

/* The block list and the phonebook: a form that adds, a table whose rows each have a remove
 * button (docs/SCREENING.md). */
static const char blocklist_en[] = HEAD(
    "en", "mikaka — block list") "<body class=\"blocklist\">\n" NAV_EN("Block list")
    "<form id=\"b-form\" class=\"filter\"><label>Number or prefix (0120*)"
    "<input id=\"b-number\" name=\"number\" inputmode=\"tel\" required></label>"
    "<label>Note<input id=\"b-note\" name=\"note\"></label>"
    "<button id=\"b-add\" type=\"submit\">Block</button></form>\n"
    "<p id=\"b-msg\" role=\"alert\"></p>\n"
    "<table id=\"blocklist\"><thead><tr><th>Number</th><th>Added</th><th>Note</th><th></th>"
    "</tr></thead><tbody></tbody></table>\n" TAIL;

static const char blocklist_ja[] = HEAD(
    "ja", "mikaka — 着信拒否") "<body class=\"blocklist\">\n" NAV_JA("着信拒否")
    "<form id=\"b-form\" class=\"filter\"><label>番号または先頭番号 (0120*)"
    "<input id=\"b-number\" name=\"number\" inputmode=\"tel\" required></label>"
    "<label>メモ<input id=\"b-note\" name=\"note\"></label>"
    "<button id=\"b-add\" type=\"submit\">拒否する</button></form>\n"
    "<p id=\"b-msg\" role=\"alert\"></p>\n"
    "<table id=\"blocklist\"><thead><tr><th>番号</th><th>登録日時</th><th>メモ</th><th></th>"
    "</tr></thead><tbody></tbody></table>\n" TAIL;

static const char phonebook_en[] = HEAD(
    "en", "mikaka — phonebook") "<body class=\"phonebook\">\n" NAV_EN("Phonebook")
    "<form id=\"p-form\" class=\"filter\"><label>Number"
    "<input id=\"p-number\" name=\"number\" inputmode=\"tel\" required></label>"
    "<label>Name<input id=\"p-name\" name=\"name\" required></label>"
    "<button id=\"p-add\" type=\"submit\">Add</button></form>\n"
    "<p id=\"p-msg\" role=\"alert\"></p>\n"
    "<table id=\"phonebook\"><thead><tr><th>Number</th><th>Name</th><th></th>"
    "</tr></thead><tbody></tbody></table>\n" TAIL;

static const char phonebook_ja[] = HEAD(
    "ja", "mikaka — 電話帳") "<body class=\"phonebook\">\n" NAV_JA("電話帳")
    "<form id=\"p-form\" class=\"filter\"><label>番号"
    "<input id=\"p-number\" name=\"number\" inputmode=\"tel\" required></label>"
    "<label>名前<input id=\"p-name\" name=\"name\" required></label>"
    "<button id=\"p-add\" type=\"submit\">追加</button></form>\n"
    "<p id=\"p-msg\" role=\"alert\"></p>\n"
    "<table id=\"phonebook\"><thead><tr><th>番号</th><th>名前</th><th></th>"
    "</tr></thead><tbody></tbody></table>\n" TAIL;

static const char app_js[] =
    "'use strict';\n"
    "const JA = document.documentElement.lang === 'ja';\n"
    "const T = JA ? {wrong: 'ユーザー名かパスワードが違います', banned: "
    "'ログインの失敗が多すぎます。しばらくしてから試してください', busy: 'もう一度試してください',"
    " error: 'エラー',\n"
    "  registered: '登録済み', answered: '通話中', ringing: '呼び出し中', none: 'なし',\n"
    "  updated: '更新: ', live: '(ライブ)', hangup: '切断', of: ' / ', errors: 'エラー',"
    " warnings: '警告', ok: '問題ありません', checking: '検査中…', reloaded: '再読み込みしました',"
    " refused: '再読み込みは拒否されました', remove: '削除', block: '拒否',"
    " blocked: '拒否しました: ', added: '追加しました: ',\n"
    "  vmNew: '新着', vmHeard: '再生済み', markHeard: '再生済みにする', del: '削除',"
    " really: 'もう一度押すと削除', unknown: '番号非通知', box: 'ボックス ',"
    " vmSummary: (n, o) => '新着 ' + n + ' 件、再生済み ' + o + ' 件',\n"
    "  disp: {'ANSWERED': '応答', 'NO ANSWER': '不在', 'BUSY': '話中', 'FAILED': '失敗'},"
    " sev: {error: 'エラー', warning: '警告'}}\n"
    "  : {wrong: 'Wrong user or password', banned: 'Too many failed logins; try later',\n"
    "  busy: 'Try again', error: 'Error', registered: 'Registered', answered: 'Answered',\n"
    "  ringing: 'Ringing', none: 'none', updated: 'Updated: ', live: '(live)', hangup: 'Hang up',"
    " of: ' of ', errors: 'errors', warnings: 'warnings', ok: 'no problems',"
    " checking: 'checking…', reloaded: 'Reloaded', refused: 'Reload refused',"
    " remove: 'Remove', block: 'Block', blocked: 'Blocked: ', added: 'Added: ',\n"
    "  vmNew: 'new', vmHeard: 'heard', markHeard: 'Mark heard', del: 'Delete',"
    " really: 'Press again to delete', unknown: 'unknown caller', box: 'box ',"
    " vmSummary: (n, o) => n + ' new, ' + o + ' heard',\n"
    "  disp: {'ANSWERED': 'answered', 'NO ANSWER': 'no answer', 'BUSY': 'busy',"
    " 'FAILED': 'failed'}, sev: {error: 'error', warning: 'warning'}};\n"
    "const $ = id => document.getElementById(id);\n"
    "function row(tbody, cells) {\n"
    "  const tr = document.createElement('tr');\n"
    "  for (const c of cells) { const td = document.createElement('td');\n"
    "    if (c instanceof Node) td.appendChild(c); else td.textContent = c;"
    " tr.appendChild(td); }\n"
    "  tbody.appendChild(tr);\n  return tr;\n}\n"
    "function fill(id, rows) {\n"
    "  const tbody = document.querySelector('#' + id + ' tbody');\n"
    "  tbody.replaceChildren();\n"
    "  if (!rows.length) { row(tbody, [T.none]); return; }\n"
    "  for (const r of rows) row(tbody, r);\n}\n"
    "function secs(s) { s = Math.max(0, s); const m = Math.floor(s / 60);"
    " return m + ':' + String(s % 60).padStart(2, '0'); }\n"
    "async function login(ev) {\n"
    "  ev.preventDefault();\n"
    "  const err = $('error');\n"
    "  err.textContent = '';\n"
    "  const body = new URLSearchParams({user: $('user').value, password: $('password').value});\n"
    "  const r = await fetch('/api/login', {method: 'POST', body, credentials: 'same-origin'});\n"
    "  if (r.ok) { location.href = '/'; return; }\n"
    "  err.textContent = r.status === 403 ? T.wrong : r.status === 429 ? T.banned :\n"
    "    r.status === 503 ? T.busy : T.error + ' ' + r.status;\n}\n"
    "let csrf = '';\n"
    "function post(path, form) {\n"
    "  return fetch(path, {method: 'POST', credentials: 'same-origin',"
    " headers: {'X-CSRF-Token': csrf}, body: form ? new URLSearchParams(form) : undefined});\n}\n"
    "function hangupButton(channel) {\n"
    "  const b = document.createElement('button');\n"
    "  b.type = 'button'; b.className = 'hangup'; b.textContent = T.hangup;\n"
    "  b.dataset.channel = channel;\n"
    "  b.addEventListener('click', async () => { b.disabled = true;"
    " await post('/api/hangup', {channel}); });\n"
    "  return b;\n}\n"
    "function show(s) {\n"
    "  const now = Math.floor(s.time_ms / 1000);\n"
    "  fill('line', s.line.map(l => [l.user, l.domain, l.server,"
    " l.registered ? T.registered : l.state]));\n"
    "  fill('phones', s.phones.map(p => [p.peer, p.transport, p.source, p.user_agent,"
    " secs(p.expires - now)]));\n"
    "  fill('calls', s.calls.map(c => [c.from, c.to, c.answered ? T.answered : T.ringing,"
    " secs(c.duration), hangupButton(c.channel)]));\n"
    "  $('updated').textContent = T.updated + new Date(s.time_ms).toLocaleTimeString()"
    " + (live ? ' ' + T.live : '');\n}\n"
    "let live = false;\n"
    "async function statusPage() {\n"
    "  const r = await fetch('/api/status', {credentials: 'same-origin'});\n"
    "  if (r.ok) show(await r.json());\n"
    /* live updates: the server pushes the status when it changes (at most once a second);
     * EventSource reconnects by itself; a stream that ends for want of a session goes to /login */
    "  listen(show);\n}\n"
    /* a stream the server refused (503: too many) is not retried by EventSource: try again in
     * 5 s */
    "function listen(h) {\n"
    "  const es = new EventSource('/api/events');\n"
    "  es.addEventListener('status', e => { live = true; h(JSON.parse(e.data)); });\n"
    "  es.onerror = async () => { live = false;\n"
    "    const s = await fetch('/api/session', {credentials: 'same-origin'});\n"
    "    if (s.status === 401) { es.close(); location.href = '/login'; return; }\n"
    "    if (es.readyState === EventSource.CLOSED) setTimeout(() => listen(h), 5000); };\n}\n"
    "const PAGE = 50;\n"
    "let offset = 0;\n"
    "function dayMs(v, next) { if (!v) return ''; const d = new Date(v + 'T00:00:00');"
    " if (next) d.setDate(d.getDate() + 1); return String(d.getTime()); }\n"
    "function historyQuery() {\n"
    "  const q = new URLSearchParams();\n"
    "  if ($('h-number').value) q.set('number', $('h-number').value);\n"
    "  if ($('h-from').value) q.set('from', dayMs($('h-from').value, false));\n"
    "  if ($('h-to').value) q.set('to', dayMs($('h-to').value, true));\n"
    "  if ($('h-disp').value) q.set('disposition', $('h-disp').value);\n"
    "  return q;\n}\n"
    "async function loadHistory() {\n"
    "  const q = historyQuery();\n"
    "  $('h-csv').href = '/api/history.csv?' + q.toString();\n"
    "  q.set('limit', PAGE); q.set('offset', offset);\n"
    "  const r = await fetch('/api/history?' + q.toString(), {credentials: 'same-origin'});\n"
    "  if (r.status === 401) { location.href = '/login'; return; }\n"
    "  if (!r.ok) return;\n"
    "  const total = Number(r.headers.get('X-Total-Count') || 0);\n"
    "  const rows = await r.json();\n"
    "  fill('history', rows.map(c => [new Date(c.start_ms).toLocaleString(), c.src, c.dst,"
    " T.disp[c.disposition] || c.disposition, secs(c.billsec),"
    " /^[0-9]+$/.test(c.src) ? listButton(T.block, '/api/blocklist', c.src) : '']));\n"
    "  $('h-page').textContent = total ? (offset + 1) + '–' + (offset + rows.length) + T.of +"
    " total : '0';\n"
    "  $('h-prev').disabled = offset === 0;\n"
    "  $('h-next').disabled = offset + rows.length >= total;\n}\n"
    "function historyPage() {\n"
    "  $('h-form').addEventListener('submit', ev => { ev.preventDefault(); offset = 0;"
    " loadHistory(); });\n"
    "  $('h-prev').addEventListener('click', () => { offset = Math.max(0, offset - PAGE);"
    " loadHistory(); });\n"
    "  $('h-next').addEventListener('click', () => { offset += PAGE; loadHistory(); });\n"
    "  loadHistory();\n}\n"
    "async function check() {\n"
    "  $('c-summary').textContent = T.checking;\n"
    "  const r = await fetch('/api/config', {credentials: 'same-origin'});\n"
    "  if (!r.ok) { $('c-summary').textContent = T.error + ' ' + r.status; return; }\n"
    "  const c = await r.json();\n"
    "  $('c-summary').textContent = c.ok && !c.warnings ? T.ok : c.errors + ' ' + T.errors +"
    " ', ' + c.warnings + ' ' + T.warnings;\n"
    "  $('c-summary').className = c.ok ? 'good' : 'bad';\n"
    "  const tbody = document.querySelector('#findings tbody');\n"
    "  tbody.replaceChildren();\n"
    "  for (const f of c.findings) row(tbody, [f.file, f.line || '', T.sev[f.severity],"
    " f.message]).className = f.severity;\n"
    "  $('c-output').textContent = c.output;\n}\n"
    "function configPage() {\n"
    "  $('c-check').addEventListener('click', check);\n"
    "  $('c-reload').addEventListener('click', async () => {\n"
    "    const r = await post('/api/config/reload');\n"
    "    const j = r.ok ? await r.json() : {ok: false, output: T.error + ' ' + r.status};\n"
    "    $('c-result').textContent = (j.ok ? T.reloaded : T.refused) + '\\n' + j.output;\n"
    "    $('c-result').className = j.ok ? 'good' : 'bad';\n"
    "    check();\n  });\n"
    "  check();\n}\n"
    "function listButton(label, path, number, after) {\n"
    "  const b = document.createElement('button');\n"
    "  b.type = 'button'; b.textContent = label; b.dataset.number = number;\n"
    "  b.addEventListener('click', async () => { b.disabled = true;"
    " await post(path, {number}); if (after) after(); });\n"
    "  return b;\n}\n"
    "async function getJson(path) {\n"
    "  const r = await fetch(path, {credentials: 'same-origin'});\n"
    "  if (r.status === 401) { location.href = '/login'; return null; }\n"
    "  return r.ok ? r.json() : null;\n}\n"
    "async function loadBlocklist() {\n"
    "  const j = await getJson('/api/blocklist');\n"
    "  if (!j) return;\n"
    "  fill('blocklist', j.entries.map(e => [e.number,"
    " e.added ? new Date(e.added * 1000).toLocaleString() : '', e.note,"
    " listButton(T.remove, '/api/blocklist/del', e.number, loadBlocklist)]));\n}\n"
    "async function addTo(path, form, msg, done, reload) {\n"
    "  const r = await post(path, form);\n"
    "  const j = await r.json().catch(() => ({}));\n"
    "  $(msg).textContent = r.ok ? done + j.number : T.error + ' ' + r.status + ': ' +"
    " (j.error || '');\n"
    "  $(msg).className = r.ok ? 'good' : 'bad';\n"
    "  reload();\n  return r.ok;\n}\n"
    "function blocklistPage() {\n"
    "  $('b-form').addEventListener('submit', async ev => { ev.preventDefault();\n"
    "    if (await addTo('/api/blocklist', {number: $('b-number').value, note: $('b-note').value},"
    " 'b-msg', T.blocked, loadBlocklist)) { $('b-number').value = ''; $('b-note').value = ''; }"
    " });\n"
    "  loadBlocklist();\n}\n"
    "async function loadPhonebook() {\n"
    "  const j = await getJson('/api/phonebook');\n"
    "  if (!j) return;\n"
    "  fill('phonebook', j.entries.map(e => [e.number, e.name,"
    " listButton(T.remove, '/api/phonebook/del', e.number, loadPhonebook)]));\n}\n"
    "function phonebookPage() {\n"
    "  $('p-form').addEventListener('submit', async ev => { ev.preventDefault();\n"
    "    if (await addTo('/api/phonebook', {number: $('p-number').value, name: $('p-name').value},"
    " 'p-msg', T.added, loadPhonebook)) { $('p-number').value = ''; $('p-name').value = ''; }"
    " });\n"
    "  loadPhonebook();\n}\n"
    /* the voicemail page: items kept by id across reloads, so a player in use is not replaced
     * when another message arrives or goes */
    "let vmChanges = -1;\n"
    "function el(tag, cls, text) { const e = document.createElement(tag);"
    " if (cls) e.className = cls; if (text !== undefined) e.textContent = text; return e; }\n"
    "function vmState(li, m) {\n"
    "  li.classList.toggle('heard', m.heard); li.classList.toggle('new', !m.heard);\n"
    "  li.dataset.heard = m.heard ? '1' : '0';\n"
    "  li.querySelector('.vm-state').textContent = m.heard ? T.vmHeard : T.vmNew;\n"
    "  li.querySelector('.vm-heard').hidden = m.heard;\n}\n"
    "function vmItem(m) {\n"
    "  const li = el('li', 'vm-msg'); li.dataset.id = String(m.id);\n"
    "  const meta = el('div', 'meta');\n"
    "  meta.append(el('span', 'vm-state'), el('span', 'vm-date',"
    " new Date(m.received_ms).toLocaleString()),\n"
    "    el('span', 'vm-from', m.from ? (m.name ? m.name + ' ' : '') + m.from : T.unknown),\n"
    "    el('span', 'vm-dur', secs(m.duration)), el('span', 'vm-box', T.box + m.box));\n"
    "  const a = el('audio', 'vm-audio'); a.controls = true; a.preload = 'metadata';\n"
    "  a.src = '/api/voicemail/' + m.id + '.wav';\n"
    /* played to the end: heard, as VoiceMailMain moves a played message to Old */
    "  a.addEventListener('ended', () => { if (li.dataset.heard === '0') vmPost('heard', m.id); });\n"
    "  const h = el('button', 'vm-heard', T.markHeard); h.type = 'button';\n"
    "  h.addEventListener('click', () => { h.disabled = true; vmPost('heard', m.id); });\n"
    "  const d = el('button', 'vm-delete', T.del); d.type = 'button';\n"
    /* two presses delete (no dialog: a phone's screen, and nothing to mistap) */
    "  d.addEventListener('click', () => {\n"
    "    if (d.dataset.armed !== '1') { d.dataset.armed = '1'; d.textContent = T.really;"
    " d.className = 'vm-delete bad'; return; }\n"
    "    d.disabled = true; vmPost('delete', m.id); });\n"
    "  const btns = el('div', 'buttons'); btns.append(h, d);\n"
    "  li.append(meta, a, btns);\n  vmState(li, m);\n  return li;\n}\n"
    "async function vmPost(what, id) {\n"
    "  await post('/api/voicemail/' + what, {id: String(id)});\n  loadVoicemail();\n}\n"
    "async function loadVoicemail() {\n"
    "  const j = await getJson('/api/voicemail');\n"
    "  if (!j) return;\n"
    "  vmChanges = j.changes;\n"
    "  $('vm-summary').textContent = T.vmSummary(j.new, j.old);\n"
    "  const ul = $('vm-list');\n"
    "  const had = new Map();\n"
    "  for (const li of ul.children) if (li.dataset.id) had.set(li.dataset.id, li);\n"
    "  const items = j.messages.map(m => { const li = had.get(String(m.id));"
    " if (!li) return vmItem(m); vmState(li, m); return li; });\n"
    "  if (!items.length) items.push(el('li', 'none', T.none));\n"
    "  ul.replaceChildren(...items);\n}\n"
    "function voicemailPage() {\n"
    "  loadVoicemail();\n"
    "  listen(s => {\n"
    "    $('updated').textContent = T.updated + new Date(s.time_ms).toLocaleTimeString() +"
    " ' ' + T.live;\n"
    "    if (s.voicemail && s.voicemail.changes !== vmChanges) loadVoicemail(); });\n}\n"
    "async function start() {\n"
    "  const r = await fetch('/api/session', {credentials: 'same-origin'});\n"
    "  if (r.status === 401) { location.href = '/login'; return; }\n"
    "  const s = await r.json();\n"
    "  csrf = s.csrf || '';\n"
    "  $('who').textContent = s.user || '';\n"
    "  $('logout').addEventListener('click', async () => {\n"
    "    await post('/api/logout');\n"
    "    location.href = '/login';\n  });\n"
    "  for (const a of document.querySelectorAll('nav a'))\n"
    "    if (a.getAttribute('href') === location.pathname) a.className = 'here';\n"
    "  const cls = document.body.className;\n"
    "  if (cls === 'status') statusPage();\n"
    "  else if (cls === 'history') historyPage();\n"
    "  else if (cls === 'config') configPage();\n"
    "  else if (cls === 'blocklist') blocklistPage();\n"
    "  else if (cls === 'phonebook') phonebookPage();\n"
    "  else if (cls === 'voicemail') voicemailPage();\n}\n"
    "if (document.body.classList.contains('login'))\n"
    "  $('login-form').addEventListener('submit', login);\n"
    "else\n  start();\n";

static const char app_css[] =
    "body{font-family:system-ui,sans-serif;margin:0;padding:1rem;max-width:60rem}\n"
    "header{display:flex;gap:1rem;align-items:center;flex-wrap:wrap}\n"
    "header h1{margin:0}\n"
    "nav{display:flex;gap:.8rem;flex:1;flex-wrap:wrap}\n"
    "nav a.here{font-weight:bold;text-decoration:none}\n"
    "table{border-collapse:collapse;width:100%;margin-bottom:1rem}\n"
    "th,td{text-align:left;padding:.3rem .5rem;border-bottom:1px solid #ccc;"
    "overflow-wrap:anywhere}\n"
    "form{display:flex;flex-direction:column;gap:.5rem;max-width:20rem}\n"
    "form.filter{flex-direction:row;flex-wrap:wrap;max-width:none;align-items:end}\n"
    "input,button,select{font-size:1rem;padding:.4rem}\n"
    "pre{white-space:pre-wrap;background:#f4f4f4;padding:.5rem}\n"
    "#error,.bad,tr.error{color:#b00020}\n#error{min-height:1.5em}\n"
    ".good{color:#1b5e20}\ntr.warning{color:#8a5a00}\n"
    "#updated{color:#666;font-size:.9rem}\n"
    ".vm{list-style:none;padding:0;margin:0}\n"
    ".vm li{border-bottom:1px solid #ccc;padding:.6rem 0}\n"
    ".vm .meta{display:flex;gap:.4rem .9rem;flex-wrap:wrap;align-items:baseline}\n"
    ".vm li.new .vm-state{font-weight:bold;color:#b00020}\n"
    ".vm li.heard .vm-state{color:#666}\n"
    ".vm audio{display:block;width:100%;max-width:30rem;margin:.4rem 0}\n"
    ".vm .buttons{display:flex;gap:.6rem}\n"
    "@media (max-width:40rem){.status th:nth-child(4),.status td:nth-child(4){display:none}}\n";

static const struct web_file files[] = {
    {"/login", false, "text/html; charset=utf-8", login_en},
    {"/login", true, "text/html; charset=utf-8", login_ja},
    {"/", false, "text/html; charset=utf-8", status_en},
    {"/", true, "text/html; charset=utf-8", status_ja},
    {"/history", false, "text/html; charset=utf-8", history_en},
    {"/history", true, "text/html; charset=utf-8", history_ja},
    {"/blocklist", false, "text/html; charset=utf-8", blocklist_en},
    {"/blocklist", true, "text/html; charset=utf-8", blocklist_ja},
    {"/phonebook", false, "text/html; charset=utf-8", phonebook_en},
    {"/phonebook", true, "text/html; charset=utf-8", phonebook_ja},
    {"/voicemail", false, "text/html; charset=utf-8", voicemail_en},
    {"/voicemail", true, "text/html; charset=utf-8", voicemail_ja},
    {"/config", false, "text/html; charset=utf-8", config_en},
    {"/config", true, "text/html; charset=utf-8", config_ja},
    {"/app.js", false, "text/javascript; charset=utf-8", app_js},
    {"/app.css", false, "text/css; charset=utf-8", app_css},
};

const struct web_file *web_file_find(const char *path, bool ja)
{
	const struct web_file *any = NULL;

	for (size_t i = 0; i < ARRAY_SIZE(files); i++) {
		if (strcmp(files[i].path, path))
			continue;
		if (files[i].ja == ja)
			return &files[i];
		any = &files[i];
	}
	return any;
}
