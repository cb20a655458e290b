#!/usr/bin/env python3
"""web_test.py: drive the chat page (contrib/web/) in headless Chromium.

    t/web_test.py URL MODEL_URL STATS_URL CHECK [ARGS...]

URL is the page (served by contrib/web/serve.py), MODEL_URL the model on
the same server, STATS_URL its request counter. CHECK is one of:

  greedy EXPECT...   load the model by URL; each EXPECT is "PROMPT\\tIDS":
                     a new chat, temperature 0, 16 tokens, and the ids
                     must equal IDS (space-separated)
  chat EXPECT...     the same, all turns in one conversation
  bad MESSAGE        loading MODEL_URL (not a model) fails with MESSAGE
  stop PROMPT        a long answer stopped mid-way: it ends as stopped,
                     short of its limit, and the page answers again
  reload             load by URL, reload: the model comes from the
                     browser's store, fetched once in all
  logits IDS THREADS...  load by URL; the logits after IDS (space-separated)
                     but the last as one batch, then after the last alone,
                     with the portable C kernels on one thread, and with
                     SIMD128 on each number of THREADS: equal to the bit
  threads            the page runs the threaded build (chord-mt.js), on as
                     many threads as the browser reports cores
  single EXPECT      the page served without the isolation headers: the
                     one-thread build (chord.js) loads, and a greedy answer
                     ("PROMPT\tIDS") equals IDS

Prints "ok: ..." lines; exits 1 with "web_test: what went wrong" on any
failure. Uses Debian's /usr/bin/chromium (not Playwright's download).
"""
import json
import sys
import urllib.request

from playwright.sync_api import sync_playwright

CHROMIUM = "/usr/bin/chromium"
LOAD_MS = 120_000
GEN_MS = 120_000


def fail(msg):
    sys.stderr.write("web_test: %s\n" % msg)
    sys.exit(1)


def model_gets(stats):
    with urllib.request.urlopen(stats) as r:
        return json.load(r)["model_gets"]


def wait_state(page, states, ms):
    page.wait_for_function(
        "s => s.includes(document.body.dataset.state)", arg=states,
        timeout=ms)
    return page.evaluate("document.body.dataset.state")


def errors(page):
    return page.evaluate("window.chord.errors")


def load_by_url(page, model_url):
    if wait_state(page, ["empty", "ready"], LOAD_MS) != "empty":
        fail("a fresh browser already has a model")
    page.fill("#url", model_url)
    page.click("#fetch")
    if wait_state(page, ["ready", "empty"], LOAD_MS) != "ready":
        fail("loading %s failed: %s" % (model_url, errors(page)))


def ask(page, prompt, temp, n, new=True):
    """Send prompt (in a new chat); wait for the answer; window.chord.last."""
    if new:
        page.click("#new")
    page.fill("#temp", str(temp))
    page.fill("#n_predict", str(n))
    page.evaluate("window.chord.last = null")
    page.fill("#prompt", prompt)
    page.click("#send")
    page.wait_for_function("window.chord.last !== null", timeout=GEN_MS)
    if errors(page):
        fail("errors on the page: %s" % errors(page))
    return page.evaluate("window.chord.last")


def greedy(page, model_url, cases, new=True, load=True):
    if load:
        load_by_url(page, model_url)
    for case in cases:
        prompt, want = case.split("\t")
        got = " ".join(str(i) for i in ask(page, prompt, 0, 16, new)["ids"])
        if got != want.strip():
            fail("%r: ids %s, native %s" % (prompt, got, want))
        print("ok: %r: %s" % (prompt, got))


def bad(page, model_url, want):
    if wait_state(page, ["empty", "ready"], LOAD_MS) != "empty":
        fail("a fresh browser already has a model")
    page.fill("#url", model_url)
    page.click("#fetch")
    page.wait_for_function("window.chord.errors.length > 0", timeout=LOAD_MS)
    got = errors(page)
    if got != [want]:
        fail("errors %s, want [%r]" % (got, want))
    if wait_state(page, ["empty", "ready"], LOAD_MS) != "empty":
        fail("a failed load leaves the page ready")
    if page.text_content(".error") != want:
        fail("the page shows %r" % page.text_content(".error"))
    print("ok: %s" % want)


def stop(page, model_url, prompt):
    load_by_url(page, model_url)
    page.click("#new")
    page.fill("#temp", "0")
    page.fill("#n_predict", "400")
    page.evaluate("window.chord.last = null")
    page.fill("#prompt", prompt)
    page.click("#send")
    # some of the answer shows, then stop
    page.wait_for_function(
        "document.querySelector('.assistant').textContent.length > 20",
        timeout=GEN_MS)
    page.click("#stop")
    page.wait_for_function("window.chord.last !== null", timeout=GEN_MS)
    last = page.evaluate("window.chord.last")
    if last["reason"] != "stop":
        fail("stopped answer ended by %s" % last["reason"])
    if not 0 < last["gen_tokens"] < 400:
        fail("stopped answer has %d tokens" % last["gen_tokens"])
    if not page.evaluate(
            "document.querySelector('.assistant').classList"
            ".contains('stopped')"):
        fail("the stopped answer is not marked so")
    if page.evaluate("document.body.dataset.state") != "ready":
        fail("the page is not ready after a stop")
    print("ok: stopped after %d tokens" % last["gen_tokens"])
    # responsive: the next question is answered
    again = ask(page, "Say hello.", 0, 4)
    if again["reason"] not in ("eog", "limit") or not again["ids"]:
        fail("no answer after the stop: %s" % again)
    print("ok: answered again: %s" % again["ids"])


def reload(page, model_url, stats):
    before = model_gets(stats)
    load_by_url(page, model_url)
    first = ask(page, "Hi", 0, 4)["ids"]
    n = model_gets(stats) - before
    if n != 1:
        fail("model fetched %d times on the first load" % n)
    page.reload()
    if wait_state(page, ["ready", "empty"], LOAD_MS) != "ready":
        fail("after a reload the page has no model: %s" % errors(page))
    status = page.text_content("#status")
    if "storage" not in status:
        fail("after a reload: status %r" % status)
    again = ask(page, "Hi", 0, 4)["ids"]
    if again != first:
        fail("after a reload: ids %s, before %s" % (again, first))
    n = model_gets(stats) - before
    if n != 1:
        fail("model fetched %d times, a reload should take it from OPFS" % n)
    print("ok: reloaded from the browser's store; model fetched once")


def get_logits(page, ids, threads, portable):
    page.evaluate("window.chord.logits = null")
    page.evaluate("""([ids, threads, portable]) =>
        window.chord.worker.postMessage({ type: 'logits', ids, threads,
                                          portable })""",
                  [ids, threads, portable])
    page.wait_for_function("window.chord.logits !== null || "
                           "window.chord.errors.length > 0", timeout=GEN_MS)
    if errors(page):
        fail("errors on the page: %s" % errors(page))
    # the floats' bits, so that -0 and NaN compare as bits do
    return page.evaluate("""() => {
        const l = window.chord.logits;
        return { threads: l.threads,
                 batch: Array.from(new Uint32Array(l.batch.buffer)),
                 next: Array.from(new Uint32Array(l.next.buffer)) }; }""")


def logits(page, model_url, ids, threads):
    load_by_url(page, model_url)
    ids = [int(i) for i in ids.split()]
    ref = get_logits(page, ids, 1, True)
    if len(ref["batch"]) < 1000 or ref["batch"] == ref["next"]:
        fail("the portable logits do not look like logits")
    for t in threads:
        got = get_logits(page, ids, int(t), False)
        if got["threads"] != int(t):
            fail("asked for %s threads, the worker set %d" % (
                t, got["threads"]))
        for k in ("batch", "next"):
            diff = sum(a != b for a, b in zip(ref[k], got[k]))
            if diff or len(ref[k]) != len(got[k]):
                fail("%s logits on %s threads: %d of %d differ from the "
                     "portable kernels'" % (k, t, diff, len(ref[k])))
        print("ok: SIMD128 on %s threads: %d ids and one more, logits equal "
              "the portable kernels' to the bit" % (t, len(ids) - 1))


def threads(page, model_url):
    load_by_url(page, model_url)
    cores = page.evaluate("navigator.hardwareConcurrency")
    status = page.text_content("#status")
    want = "; %d thread%s" % (cores, "" if cores == 1 else "s")
    if not status.endswith(want):
        fail("status %r, want it to end in %r" % (status, want))
    page.evaluate("window.chord.bench = null")
    page.evaluate("window.chord.worker.postMessage({ type: 'bench', "
                  "pp: [100, 101, 102, 103, 104], tg: [105, 106], "
                  "threads: 2 })")
    page.wait_for_function("window.chord.bench !== null", timeout=GEN_MS)
    b = page.evaluate("window.chord.bench")
    if not b["mt"] or b["threads"] != 2:
        fail("bench ran on %s threads of the %s build" % (
            b["threads"], "threaded" if b["mt"] else "one-thread"))
    print("ok: the threaded build, %d thread%s" % (
        cores, "" if cores == 1 else "s"))


def single(page, model_url, case):
    load_by_url(page, model_url)
    status = page.text_content("#status")
    if not status.endswith("; 1 thread"):
        fail("not isolated, status %r, want it to end in '; 1 thread'" %
             status)
    page.evaluate("window.chord.bench = null")
    page.evaluate("window.chord.worker.postMessage({ type: 'bench', "
                  "pp: [100, 101], tg: [102], threads: 1 })")
    page.wait_for_function("window.chord.bench !== null", timeout=GEN_MS)
    if page.evaluate("window.chord.bench.mt"):
        fail("not isolated, the page runs the threaded build")
    greedy(page, model_url, [case], load=False)
    print("ok: not isolated: the one-thread build")


def plain_page(url):
    """A route handler: the page without its COOP/COEP headers."""
    def handle(route):
        r = route.fetch()
        h = {k: v for k, v in r.headers.items()
             if k.lower() not in ("cross-origin-opener-policy",
                                  "cross-origin-embedder-policy")}
        route.fulfill(response=r, headers=h)
    return handle


def main():
    if len(sys.argv) < 5:
        fail("usage: web_test.py URL MODEL_URL STATS_URL CHECK [ARGS...]")
    url, model_url, stats, check = sys.argv[1:5]
    args = sys.argv[5:]
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM, headless=True, chromium_sandbox=False,
            args=["--no-sandbox"])
        page = browser.new_page()
        page.on("console", lambda m: sys.stderr.write(
            "console: %s\n" % m.text))
        page.on("pageerror", lambda e: sys.stderr.write(
            "pageerror: %s\n" % e))
        if check == "single":
            page.route(url, plain_page(url))
        page.goto(url)
        if page.evaluate("crossOriginIsolated") != (check != "single"):
            fail("the page is %scross-origin isolated" % (
                "" if check == "single" else "not "))
        if check == "greedy":
            greedy(page, model_url, args)
        elif check == "chat":
            greedy(page, model_url, args, new=False)
        elif check == "bad":
            bad(page, model_url, args[0])
        elif check == "stop":
            stop(page, model_url, args[0])
        elif check == "reload":
            reload(page, model_url, stats)
        elif check == "logits":
            logits(page, model_url, args[0], args[1:])
        elif check == "threads":
            threads(page, model_url)
        elif check == "single":
            single(page, model_url, args[0])
        else:
            fail("unknown check %s" % check)
        browser.close()


if __name__ == "__main__":
    main()
