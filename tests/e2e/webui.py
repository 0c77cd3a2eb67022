#!/usr/bin/python3
"""webui.py URL USER PASSWORD PHONE BANS: drives Debian's chromium headless (chromedriver, selenium)
against the web console and prints "ok NAME" / "not ok NAME" per check (tests/e2e/webui.sh).
WEBUI_WORK: the test's directory (call-now is made there when the status page is open, so that
webui.sh starts the carrier's call; downloads go there); WEBUI_CONF: the configuration directory
(extensions.conf is broken and mended for the configuration page)."""
import glob
import os
import sys
import time

from selenium import webdriver
from selenium.common.exceptions import TimeoutException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select, WebDriverWait

url, user, password, phone, bans = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5])
work = os.environ.get("WEBUI_WORK", "/tmp")
conf = os.environ.get("WEBUI_CONF", "")
dl = os.path.join(work, "downloads")
os.makedirs(dl, exist_ok=True)
fails = 0


def check(name, cond):
    global fails
    print(("ok " if cond else "not ok ") + name, flush=True)
    if not cond:
        fails += 1


def browser(lang):
    o = webdriver.ChromeOptions()
    o.binary_location = "/usr/bin/chromium"
    for a in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
              "--no-first-run", "--disable-extensions", "--lang=" + lang):
        o.add_argument(a)
    o.add_experimental_option("prefs", {"intl.accept_languages": lang,
                                        "download.default_directory": dl,
                                        "download.prompt_for_download": False})
    o.set_capability("acceptInsecureCerts", True)  # the console's self-signed certificate
    o.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    d = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=o)
    d.set_page_load_timeout(20)
    d.execute_cdp_cmd("Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": dl})
    return d


def text(d, id_):
    try:
        return d.find_element(By.ID, id_).text
    except Exception:
        return ""


def csp_violations(d):
    return [e for e in d.get_log("browser") if "Content Security Policy" in e.get("message", "")]


def wait(d, cond, secs=10):
    try:
        WebDriverWait(d, secs, poll_frequency=0.2).until(cond)
        return True
    except TimeoutException:
        return False


def log_in(d, pw):
    d.find_element(By.ID, "user").clear()
    d.find_element(By.ID, "user").send_keys(user)
    d.find_element(By.ID, "password").clear()
    d.find_element(By.ID, "password").send_keys(pw)
    d.find_element(By.ID, "login").click()


d = browser("en-US")
try:
    # No session: the status page sends the browser to the login page.
    d.get(url + "/")
    check("browser-no-session-redirected", wait(d, lambda d: d.current_url.endswith("/login")))
    check("browser-login-page-english", "Password" in d.page_source)
    # A wrong password is refused.
    log_in(d, password + "-wrong")
    check("browser-wrong-password-refused",
          wait(d, lambda d: "Wrong user or password" in d.find_element(By.ID, "error").text))
    check("browser-still-on-login", d.current_url.endswith("/login"))
    # The right one: the status page, with the registered phone.
    log_in(d, password)
    check("browser-logged-in", wait(d, lambda d: d.current_url.rstrip("/") == url.rstrip("/")))
    check("browser-sees-phone",
          wait(d, lambda d: phone in d.find_element(By.ID, "phones").text))
    print("# phones table: " + d.find_element(By.ID, "phones").text.replace("\n", " | "))
    check("browser-sees-user", d.find_element(By.ID, "who").text == user)
    csp = csp_violations(d)
    check("browser-no-csp-violation", not csp)
    for e in csp:
        print("# " + e["message"])
    # A call arrives while the page is open: it appears without a reload (server-sent events).
    d.execute_script("window.noReload = 42")
    open(os.path.join(work, "call-now"), "w").close()
    check("browser-call-appears-live",
          wait(d, lambda d: "0901234567" in text(d, "calls"), 30))
    print("# calls table: " + text(d, "calls").replace("\n", " | "))
    check("browser-call-answered-live", wait(d, lambda d: "Answered" in text(d, "calls"), 10))
    check("browser-live-mark", "(live)" in text(d, "updated"))
    check("browser-no-reload", d.execute_script("return window.noReload") == 42)
    # The hang-up button ends it: the row goes away (SIPp checks the BYEs in webui.sh).
    d.find_element(By.CSS_SELECTOR, "#calls button.hangup").click()
    check("browser-hangup-call-gone",
          wait(d, lambda d: "0901234567" not in text(d, "calls"), 15))
    check("browser-hangup-no-reload", d.execute_script("return window.noReload") == 42)
    # The history page: three calls (answered, busy, the one hung up), filters, CSV.
    d.find_element(By.LINK_TEXT, "History").click()
    check("browser-history-page", wait(d, lambda d: d.current_url.endswith("/history")))
    check("browser-history-rows",
          wait(d, lambda d: len(d.find_elements(By.CSS_SELECTOR, "#history tbody tr")) == 3))
    check("browser-history-count", wait(d, lambda d: text(d, "h-page") == "1–3 of 3"))
    # each row's caller can be blocked from here (unblocked again on the block list page)
    btns = d.find_elements(By.CSS_SELECTOR, "#history tbody button")
    check("browser-history-block-buttons", len(btns) == 3 and btns[0].text == "Block")
    if btns:
        btns[0].click()
        check("browser-history-block-clicked", wait(d, lambda d: not btns[0].is_enabled()))
    Select(d.find_element(By.ID, "h-disp")).select_by_value("BUSY")
    d.find_element(By.ID, "h-search").click()
    check("browser-history-filter-busy",
          wait(d, lambda d: len(d.find_elements(By.CSS_SELECTOR, "#history tbody tr")) == 1
               and "busy" in text(d, "history")))
    Select(d.find_element(By.ID, "h-disp")).select_by_value("")
    d.find_element(By.ID, "h-number").send_keys("555")
    d.find_element(By.ID, "h-search").click()
    check("browser-history-filter-number-none",
          wait(d, lambda d: text(d, "h-page") == "0" and "none" in text(d, "history")))
    d.find_element(By.ID, "h-number").clear()
    d.execute_script("arguments[0].value = '2099-01-01'", d.find_element(By.ID, "h-from"))
    d.find_element(By.ID, "h-search").click()
    check("browser-history-filter-date-none", wait(d, lambda d: text(d, "h-page") == "0"))
    d.execute_script("arguments[0].value = ''", d.find_element(By.ID, "h-from"))
    Select(d.find_element(By.ID, "h-disp")).select_by_value("ANSWERED")
    d.find_element(By.ID, "h-search").click()
    check("browser-history-filter-answered", wait(d, lambda d: text(d, "h-page") == "1–2 of 2"))
    for f in glob.glob(os.path.join(dl, "*")):
        os.remove(f)
    d.find_element(By.ID, "h-csv").click()
    got = os.path.join(dl, "mikaka-history.csv")
    check("browser-csv-downloaded", wait(d, lambda d: os.path.exists(got) and os.path.getsize(got) > 0, 15))
    rows = open(got).read().splitlines() if os.path.exists(got) else []
    check("browser-csv-rows", len(rows) == 3 and rows[0].startswith("id,start,")
          and all(",ANSWERED," in r for r in rows[1:]))
    print("# csv: " + " | ".join(rows))
    # The configuration page: clean, then a broken file's file:line, refused reload, mended.
    d.find_element(By.LINK_TEXT, "Configuration").click()
    check("browser-config-clean", wait(d, lambda d: text(d, "c-summary") == "no problems", 20))
    ext = os.path.join(conf, "extensions.conf")
    good = open(ext).read()
    nline = good.count("\n") + 1
    with open(ext, "a") as f:
        f.write("exten => 1,1,Bogus()\n")
    d.find_element(By.ID, "c-check").click()
    check("browser-config-finding",
          wait(d, lambda d: "extensions.conf" in text(d, "findings")
               and ("%d" % nline) in text(d, "findings") and "Bogus" in text(d, "findings"), 20))
    print("# findings: " + text(d, "findings").replace("\n", " | "))
    check("browser-config-errors-summary", "1 errors" in text(d, "c-summary"))
    d.find_element(By.ID, "c-reload").click()
    check("browser-reload-refused", wait(d, lambda d: "Reload refused" in text(d, "c-result"), 20))
    with open(ext, "w") as f:
        f.write(good)
    d.find_element(By.ID, "c-reload").click()
    check("browser-reload-ok", wait(d, lambda d: text(d, "c-result").startswith("Reloaded"), 20))
    check("browser-config-clean-again", wait(d, lambda d: text(d, "c-summary") == "no problems", 20))
    # The block list page: block a number; webui.sh then calls from it (refused, 603).
    d.find_element(By.LINK_TEXT, "Block list").click()
    check("browser-blocklist-page", wait(d, lambda d: d.current_url.endswith("/blocklist")))
    check("browser-blocklist-from-history", wait(d, lambda d: "0901234567" in text(d, "blocklist")))
    d.find_element(By.CSS_SELECTOR, "#blocklist tbody button").click()
    check("browser-blocklist-removed", wait(d, lambda d: "none" in text(d, "blocklist")))
    d.find_element(By.ID, "b-number").send_keys("090-777-7777")
    d.find_element(By.ID, "b-note").send_keys("sales calls")
    d.find_element(By.ID, "b-add").click()
    check("browser-blocklist-added",
          wait(d, lambda d: "0907777777" in text(d, "blocklist") and "sales calls" in text(d, "blocklist")))
    print("# blocklist table: " + text(d, "blocklist").replace("\n", " | "))
    open(os.path.join(work, "blocked"), "w").close()
    # The phonebook page: add an entry, see it, remove it.
    d.find_element(By.LINK_TEXT, "Phonebook").click()
    check("browser-phonebook-page", wait(d, lambda d: d.current_url.endswith("/phonebook")))
    d.find_element(By.ID, "p-number").send_keys("0312223333")
    d.find_element(By.ID, "p-name").send_keys("Yamada Taro")
    d.find_element(By.ID, "p-add").click()
    check("browser-phonebook-added",
          wait(d, lambda d: "0312223333" in text(d, "phonebook") and "Yamada Taro" in text(d, "phonebook")))
    d.find_element(By.CSS_SELECTOR, "#phonebook tbody button").click()
    check("browser-phonebook-removed", wait(d, lambda d: "Yamada Taro" not in text(d, "phonebook")))
    csp = csp_violations(d)
    check("browser-no-csp-violation-pages", not csp)
    for e in csp:
        print("# " + e["message"])
    d.find_element(By.LINK_TEXT, "Status").click()
    wait(d, lambda d: d.current_url.rstrip("/") == url.rstrip("/"))
    # The session cookie is not visible to scripts (HttpOnly).
    check("browser-cookie-httponly", "mikaka_session" not in d.execute_script("return document.cookie"))
    # Log out: back to the login page, and the status page needs a session again.
    d.find_element(By.ID, "logout").click()
    check("browser-logged-out", wait(d, lambda d: d.current_url.endswith("/login")))
    d.get(url + "/")
    check("browser-after-logout-redirected", wait(d, lambda d: d.current_url.endswith("/login")))
    # Repeated failures: banned (429), even with the right password.
    for _ in range(bans):
        log_in(d, password + "-nope")
        wait(d, lambda d: d.find_element(By.ID, "error").text != "", 5)
        time.sleep(0.2)
    log_in(d, password)
    check("browser-banned",
          wait(d, lambda d: "Too many failed logins" in d.find_element(By.ID, "error").text))
    check("browser-banned-stays-on-login", d.current_url.endswith("/login"))
finally:
    d.quit()

d = browser("ja")
try:
    d.get(url + "/login")
    check("browser-login-page-japanese",
          wait(d, lambda d: "パスワード" in d.page_source and 'lang="ja"' in d.page_source))
finally:
    d.quit()
sys.exit(1 if fails else 0)
