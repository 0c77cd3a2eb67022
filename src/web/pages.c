/* web/pages.c: the console's pages, served from the binary (no build chain, no file system): the
 * login page and the status page in English and Japanese, one script and one style sheet. The
 * script fills the status page from /api/status every 2 seconds; it never writes HTML from data
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

static const char status_en[] = HEAD(
    "en",
    "mikaka — status") "<body class=\"status\">\n<header><h1>mikaka</h1><span id=\"who\"></span>"
		       "<button id=\"logout\" type=\"button\">Log out</button></header>\n<main>\n"
		       "<section><h2>Line</h2><table "
		       "id=\"line\"><thead><tr><th>Number</th><th>Domain</th>"
		       "<th>Server</th><th>State</th></tr></thead><tbody></tbody></table></"
		       "section>\n"
		       "<section><h2>Phones</h2><table id=\"phones\"><thead><tr><th>Phone</th>"
		       "<th>Transport</th><th>Address</th><th>User "
		       "agent</th><th>Expires</th></tr></thead>"
		       "<tbody></tbody></table></section>\n"
		       "<section><h2>Calls</h2><table "
		       "id=\"calls\"><thead><tr><th>From</th><th>To</th>"
		       "<th>State</th><th>Duration</th></tr></thead><tbody></tbody></table></"
		       "section>\n"
		       "<p id=\"updated\"></p>\n</main>\n</body>\n</html>\n";

static const char status_ja[] = HEAD(
    "ja",
    "mikaka — 状態") "<body class=\"status\">\n<header><h1>mikaka</h1><span id=\"who\"></span>"
		     "<button id=\"logout\" type=\"button\">ログアウト</button></header>\n<main>\n"
		     "<section><h2>回線</h2><table "
		     "id=\"line\"><thead><tr><th>番号</th><th>ドメイン</th>"
		     "<th>サーバー</th><th>状態</th></tr></thead><tbody></tbody></table></"
		     "section>\n"
		     "<section><h2>電話機</h2><table id=\"phones\"><thead><tr><th>電話機</th>"
		     "<th>トランスポート</th><th>アドレス</th><th>ユーザーエージェント</"
		     "th><th>有効期限</th>"
		     "</tr></thead><tbody></tbody></table></section>\n"
		     "<section><h2>通話</h2><table "
		     "id=\"calls\"><thead><tr><th>発信元</th><th>宛先</th>"
		     "<th>状態</th><th>通話時間</th></tr></thead><tbody></tbody></table></"
		     "section>\n"
		     "<p id=\"updated\"></p>\n</main>\n</body>\n</html>\n";

static const char app_js[] =
    "'use strict';\n"
    "const JA = document.documentElement.lang === 'ja';\n"
    "const T = JA ? {wrong: 'ユーザー名かパスワードが違います', banned: "
    "'ログインの失敗が多すぎます。"
    "しばらくしてから試してください', busy: 'もう一度試してください', error: 'エラー',\n"
    "  registered: '登録済み', answered: '通話中', ringing: '呼び出し中', none: 'なし',\n"
    "  updated: '更新: '}\n"
    "  : {wrong: 'Wrong user or password', banned: 'Too many failed logins; try later',\n"
    "  busy: 'Try again', error: 'Error', registered: 'Registered', answered: 'Answered',\n"
    "  ringing: 'Ringing', none: 'none', updated: 'Updated: '};\n"
    "function row(tbody, cells) {\n"
    "  const tr = document.createElement('tr');\n"
    "  for (const c of cells) { const td = document.createElement('td');"
    " td.textContent = c; tr.appendChild(td); }\n"
    "  tbody.appendChild(tr);\n}\n"
    "function fill(id, rows) {\n"
    "  const tbody = document.querySelector('#' + id + ' tbody');\n"
    "  tbody.replaceChildren();\n"
    "  if (!rows.length) { row(tbody, [T.none]); return; }\n"
    "  for (const r of rows) row(tbody, r);\n}\n"
    "function secs(s) { s = Math.max(0, s); const m = Math.floor(s / 60);"
    " return m + ':' + String(s % 60).padStart(2, '0'); }\n"
    "async function login(ev) {\n"
    "  ev.preventDefault();\n"
    "  const err = document.getElementById('error');\n"
    "  err.textContent = '';\n"
    "  const body = new URLSearchParams({user: document.getElementById('user').value,\n"
    "    password: document.getElementById('password').value});\n"
    "  const r = await fetch('/api/login', {method: 'POST', body, credentials: 'same-origin'});\n"
    "  if (r.ok) { location.href = '/'; return; }\n"
    "  err.textContent = r.status === 403 ? T.wrong : r.status === 429 ? T.banned :\n"
    "    r.status === 503 ? T.busy : T.error + ' ' + r.status;\n}\n"
    "let csrf = '';\n"
    "async function refresh() {\n"
    "  const r = await fetch('/api/status', {credentials: 'same-origin'});\n"
    "  if (r.status === 401) { location.href = '/login'; return; }\n"
    "  if (!r.ok) return;\n"
    "  const s = await r.json();\n"
    "  const now = Math.floor(s.time_ms / 1000);\n"
    "  fill('line', s.line.map(l => [l.user, l.domain, l.server,"
    " l.registered ? T.registered : l.state]));\n"
    "  fill('phones', s.phones.map(p => [p.peer, p.transport, p.source, p.user_agent,"
    " secs(p.expires - now)]));\n"
    "  fill('calls', s.calls.map(c => [c.from, c.to, c.answered ? T.answered : T.ringing,"
    " secs(c.duration)]));\n"
    "  document.getElementById('updated').textContent = T.updated +"
    " new Date(s.time_ms).toLocaleTimeString();\n}\n"
    "async function start() {\n"
    "  const r = await fetch('/api/session', {credentials: 'same-origin'});\n"
    "  if (r.status === 401) { location.href = '/login'; return; }\n"
    "  const s = await r.json();\n"
    "  csrf = s.csrf || '';\n"
    "  document.getElementById('who').textContent = s.user || '';\n"
    "  document.getElementById('logout').addEventListener('click', async () => {\n"
    "    await fetch('/api/logout', {method: 'POST', credentials: 'same-origin',\n"
    "      headers: {'X-CSRF-Token': csrf}});\n"
    "    location.href = '/login';\n  });\n"
    "  await refresh();\n"
    "  setInterval(refresh, 2000);\n}\n"
    "if (document.body.classList.contains('login'))\n"
    "  document.getElementById('login-form').addEventListener('submit', login);\n"
    "else\n  start();\n";

static const char app_css[] =
    "body{font-family:system-ui,sans-serif;margin:0;padding:1rem;max-width:60rem}\n"
    "header{display:flex;gap:1rem;align-items:center;flex-wrap:wrap}\n"
    "header h1{margin:0;flex:1}\n"
    "table{border-collapse:collapse;width:100%;margin-bottom:1rem}\n"
    "th,td{text-align:left;padding:.3rem .5rem;border-bottom:1px solid #ccc;"
    "overflow-wrap:anywhere}\n"
    "form{display:flex;flex-direction:column;gap:.5rem;max-width:20rem}\n"
    "input,button{font-size:1rem;padding:.4rem}\n"
    "#error{color:#b00020;min-height:1.5em}\n"
    "#updated{color:#666;font-size:.9rem}\n"
    "@media (max-width:40rem){th:nth-child(4),td:nth-child(4){display:none}}\n";

static const struct web_file files[] = {
    {"/login", false, "text/html; charset=utf-8", login_en},
    {"/login", true, "text/html; charset=utf-8", login_ja},
    {"/", false, "text/html; charset=utf-8", status_en},
    {"/", true, "text/html; charset=utf-8", status_ja},
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
