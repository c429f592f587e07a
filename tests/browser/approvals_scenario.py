"""The console's approvals page in a real browser (issue 15 §2): Debian's chromium driven by
Playwright for Python, against the gateway + sandbox the Rust test
`platform::approvals::the_console_decides_a_held_isolation_in_chromium` started with an approval
policy, after the requester's isolation of a tier-0 device was held.

    python approvals_scenario.py CONFIG.json

CONFIG: {gateway, sandbox, chromium, screenshots, tenant, machine, approval,
         keys: {requester, approver}}.
The requester's own Approve is refused on the page (the API's 403, shown as it is) and nothing
is isolated; the approver's Approve with a reason isolates the machine in the sandbox.
"""

import json
import sys
import time
import urllib.request
from pathlib import Path

from playwright.sync_api import Page, expect, sync_playwright

CFG = json.loads(Path(sys.argv[1]).read_text())
GATEWAY, SANDBOX, SHOTS = CFG["gateway"], CFG["sandbox"], Path(CFG["screenshots"])
TENANT, MACHINE, APPROVAL, KEYS = CFG["tenant"], CFG["machine"], CFG["approval"], CFG["keys"]
TIMEOUT_MS = 30_000


def isolated() -> bool:
    with urllib.request.urlopen(f"{SANDBOX}/_sandbox/state/{TENANT}", timeout=30) as resp:
        state = json.loads(resp.read())
    return next(m for m in state["machines"] if m["id"] == MACHINE).get("isolated") is True


def shot(page: Page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def open_approvals(page: Page, key: str):
    page.goto(f"{GATEWAY}/")
    page.evaluate("sessionStorage.clear()")
    page.reload()
    page.get_by_label("API key").fill(key)
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator("#nav")).to_be_visible()
    page.locator("#nav").get_by_role("link", name="Approvals").click()
    card = page.locator(f'section.approval[data-approval="{APPROVAL}"]')
    expect(card).to_be_visible(timeout=TIMEOUT_MS)
    expect(card).to_contain_text("tier-0")
    return card


def requester_cannot_approve_their_own(page: Page) -> None:
    card = open_approvals(page, KEYS["requester"])
    card.get_by_label("Reason").fill("approving my own request")
    card.get_by_role("button", name="Approve").click()
    expect(card.locator(".error-inline")).to_contain_text("403", timeout=TIMEOUT_MS)
    expect(card.locator(".error-inline")).to_contain_text("requested this")
    time.sleep(1.0)
    assert not isolated(), "nothing runs on the requester's own approval"
    shot(page, "approvals-1-requester-refused")


def approver_approves_with_a_reason(page: Page) -> None:
    card = open_approvals(page, KEYS["approver"])
    card.get_by_role("button", name="Approve").click()
    expect(card.locator(".error-inline")).to_contain_text("a decision needs a reason")
    card.get_by_label("Reason").fill("INC-9: confirmed with the on-call DC owner (browser test)")
    card.get_by_role("button", name="Approve").click()
    expect(card.locator(".status").last).to_have_text("Approved", timeout=TIMEOUT_MS)
    deadline = time.monotonic() + 60
    while not isolated():
        assert time.monotonic() < deadline, "the approved isolation never showed in the sandbox"
        time.sleep(0.2)
    shot(page, "approvals-2-approved")


SCENARIOS = [requester_cannot_approve_their_own, approver_approves_with_a_reason]


def main() -> int:
    failures = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CFG["chromium"], args=["--no-sandbox", "--disable-dev-shm-usage"])
        for scenario in SCENARIOS:
            context = browser.new_context(viewport={"width": 1400, "height": 900})
            page = context.new_page()
            page.set_default_timeout(TIMEOUT_MS)
            errors: list[str] = []
            page.on("pageerror", lambda e, errors=errors: errors.append(str(e)))
            try:
                scenario(page)
                if errors:
                    raise AssertionError(f"JavaScript errors: {errors}")
                print(f"ok   {scenario.__name__}", flush=True)
            except Exception as e:  # noqa: BLE001 - every failure is reported with its scenario
                shot(page, f"FAILED-{scenario.__name__}")
                failures.append(scenario.__name__)
                print(f"FAIL {scenario.__name__}: {type(e).__name__}: {e}", flush=True)
            finally:
                context.close()
        browser.close()
    print(f"{len(SCENARIOS) - len(failures)} passed, {len(failures)} failed; screenshots in {SHOTS}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
