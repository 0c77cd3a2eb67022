#!/usr/bin/python3
"""webvm.py URL USER PASSWORD ID_A SECONDS_A: drives Debian's chromium headless (chromedriver,
selenium) on the console's voicemail page and prints "ok NAME" / "not ok NAME" per check
(tests/e2e/webvm.sh). Message ID_A (SECONDS_A long) is there at the start. Steps shared with the
script through files in WEBVM_WORK: page-open (the script then records message B, its id in idb),
heard-done (B was marked heard here; the script checks the spool, index and NOTIFY, then makes
go-delete), and both messages are deleted here before the exit."""
import os
import sys
import time

from selenium import webdriver
from selenium.common.exceptions import TimeoutException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

url, user, password, id_a, secs_a = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], float(sys.argv[5])
work = os.environ.get("WEBVM_WORK", "/tmp")
fails = 0


def check(name, cond):
    global fails
    print(("ok " if cond else "not ok ") + name, flush=True)
    if not cond:
        fails += 1


def wait(d, cond, secs=10):
    try:
        WebDriverWait(d, secs, poll_frequency=0.2).until(cond)
        return True
    except TimeoutException:
        return False


def wait_file(name, secs):
    for _ in range(int(secs * 5)):
        if os.path.exists(os.path.join(work, name)):
            return True
        time.sleep(0.2)
    return False


def items(d):
    return d.find_elements(By.CSS_SELECTOR, "#vm-list li.vm-msg")


def item(d, id_):
    found = d.find_elements(By.CSS_SELECTOR, '#vm-list li.vm-msg[data-id="%s"]' % id_)
    return found[0] if found else None


# The duration the browser reads from the WAV once its metadata is loaded (the <audio> fetches it
# from /api/voicemail/ID.wav with Range requests); -1 when it does not load within 10 s.
DURATION_JS = """
const a = arguments[0], done = arguments[arguments.length - 1];
const report = () => done(isFinite(a.duration) ? a.duration : -2);
if (a.readyState >= 1) { report(); return; }
a.addEventListener('loadedmetadata', report);
a.addEventListener('error', () => done(-3));
a.load();
setTimeout(() => done(-1), 10000);
"""


def duration(d, li):
    return d.execute_async_script(DURATION_JS, li.find_element(By.TAG_NAME, "audio"))


o = webdriver.ChromeOptions()
o.binary_location = "/usr/bin/chromium"
for a in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
          "--no-first-run", "--disable-extensions", "--lang=en-US", "--autoplay-policy=no-user-gesture-required"):
    o.add_argument(a)
o.add_experimental_option("prefs", {"intl.accept_languages": "en-US"})
o.set_capability("goog:loggingPrefs", {"browser": "ALL"})
d = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=o)
d.set_page_load_timeout(20)
d.set_script_timeout(15)
try:
    d.get(url + "/voicemail")
    check("browser-voicemail-needs-login", wait(d, lambda d: d.current_url.endswith("/login")))
    d.find_element(By.ID, "user").send_keys(user)
    d.find_element(By.ID, "password").send_keys(password)
    d.find_element(By.ID, "login").click()
    wait(d, lambda d: not d.current_url.endswith("/login"))
    d.find_element(By.LINK_TEXT, "Voicemail").click()
    check("browser-voicemail-page", wait(d, lambda d: d.current_url.endswith("/voicemail")))
    check("browser-one-message", wait(d, lambda d: len(items(d)) == 1))
    li = item(d, id_a)
    check("browser-message-a-listed", li is not None)
    if li is not None:
        print("# item: " + li.text.replace("\n", " | "))
        check("browser-a-from", "801" in li.find_element(By.CLASS_NAME, "vm-from").text)
        check("browser-a-new", li.find_element(By.CLASS_NAME, "vm-state").text == "new")
        check("browser-summary", "1 new, 0 heard" in d.find_element(By.ID, "vm-summary").text)
        src = li.find_element(By.TAG_NAME, "audio").get_attribute("src")
        check("browser-audio-src", src.endswith("/api/voicemail/%s.wav" % id_a))
        dur = duration(d, li)
        print("# audio.duration of A: %s (the WAV: %s s)" % (dur, secs_a))
        check("browser-audio-loaded-duration", isinstance(dur, (int, float)) and dur > 0)
        check("browser-audio-duration-matches", isinstance(dur, (int, float)) and abs(dur - secs_a) < 0.5)
        # seekable: the browser can jump (it asks for a Range), and plays from there
        seek = d.execute_async_script(
            "const a = arguments[0], done = arguments[1];"
            "a.addEventListener('seeked', () => done(a.currentTime), {once: true});"
            "a.currentTime = 2.5; setTimeout(() => done(-1), 5000);",
            li.find_element(By.TAG_NAME, "audio"))
        check("browser-audio-seeks", isinstance(seek, (int, float)) and abs(seek - 2.5) < 0.2)
    # A new message while the page is open: it appears without a reload, first (newest).
    d.execute_script("window.noReload = 42")
    open(os.path.join(work, "page-open"), "w").close()
    check("browser-b-appears-live", wait(d, lambda d: len(items(d)) == 2, 40))
    check("browser-no-reload", d.execute_script("return window.noReload") == 42)
    check("browser-live-mark", "(live)" in d.find_element(By.ID, "updated").text)
    wait_file("idb", 10)
    try:
        id_b = open(os.path.join(work, "idb")).read().strip()
    except OSError:
        id_b = "none"
    lis = items(d)
    check("browser-b-first", bool(lis) and lis[0].get_attribute("data-id") == id_b)
    lb = item(d, id_b)
    if lb is not None:
        dur = duration(d, lb)
        print("# audio.duration of B: %s" % dur)
        check("browser-b-audio-duration", isinstance(dur, (int, float)) and dur > 2)
        # Mark heard: the state changes on the page (the spool, index and lamp in webvm.sh)
        lb.find_element(By.CLASS_NAME, "vm-heard").click()
        check("browser-b-heard",
              wait(d, lambda d: item(d, id_b) is not None and
                   item(d, id_b).find_element(By.CLASS_NAME, "vm-state").text == "heard"))
        check("browser-b-heard-button-hidden",
              not item(d, id_b).find_element(By.CLASS_NAME, "vm-heard").is_displayed())
        check("browser-summary-1-1", wait(d, lambda d: "1 new, 1 heard" in d.find_element(By.ID, "vm-summary").text))
    else:
        check("browser-b-listed", False)
    open(os.path.join(work, "heard-done"), "w").close()
    check("script-checked-heard", wait_file("go-delete", 60))
    # Delete: the first press asks, the second deletes.
    for id_ in (id_b, id_a):
        li = item(d, id_)
        if li is None:
            check("browser-delete-%s-listed" % id_, False)
            continue
        btn = li.find_element(By.CLASS_NAME, "vm-delete")
        btn.click()
        time.sleep(0.3)
        check("browser-delete-asks-first", item(d, id_) is not None and "again" in btn.text)
        btn.click()
        check("browser-deleted-%s" % ("b" if id_ == id_b else "a"),
              wait(d, lambda d: item(d, id_) is None))
    check("browser-list-empty", wait(d, lambda d: len(items(d)) == 0 and "none" in d.find_element(By.ID, "vm-list").text))
    check("browser-summary-0-0", "0 new, 0 heard" in d.find_element(By.ID, "vm-summary").text)
    check("browser-no-reload-after", d.execute_script("return window.noReload") == 42)
    logs = d.get_log("browser")  # (each call drains the log)
    csp = [e for e in logs if "Content Security Policy" in e.get("message", "")]
    check("browser-no-csp-violation", not csp)
    for e in logs:
        if e.get("level") == "SEVERE":
            print("# console: " + e["message"])
    # A Japanese browser gets the page in Japanese.
    d.execute_cdp_cmd("Network.enable", {})
    d.execute_cdp_cmd("Network.setExtraHTTPHeaders", {"headers": {"Accept-Language": "ja"}})
    d.get(url + "/voicemail")
    check("browser-japanese-page", wait(d, lambda d: "留守番電話" in d.find_element(By.TAG_NAME, "h2").text))
    check("browser-japanese-summary", wait(d, lambda d: "新着 0 件" in d.find_element(By.ID, "vm-summary").text))
finally:
    d.quit()
sys.exit(1 if fails else 0)
