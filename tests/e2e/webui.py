#!/usr/bin/python3
"""webui.py URL USER PASSWORD PHONE BANS: drives Debian's chromium headless (chromedriver, selenium)
against the web console and prints "ok NAME" / "not ok NAME" per check (tests/e2e/webui.sh)."""
import sys
import time

from selenium import webdriver
from selenium.common.exceptions import TimeoutException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

url, user, password, phone, bans = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5])
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
    o.add_experimental_option("prefs", {"intl.accept_languages": lang})
    o.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    d = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=o)
    d.set_page_load_timeout(20)
    return d


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
    csp = [e for e in d.get_log("browser") if "Content Security Policy" in e.get("message", "")]
    check("browser-no-csp-violation", not csp)
    for e in csp:
        print("# " + e["message"])
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
