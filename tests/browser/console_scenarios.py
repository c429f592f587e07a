"""The console's scenarios in a real browser (issue 13 §3): Debian's chromium driven by
Playwright for Python, against a gateway + sandbox the Rust test `browser::console_scenarios`
started (wired as `riposte up` wires them). Each scenario asserts the upstream effect in the
sandbox's own state (`/_sandbox/state/{tenant}`), and saves a screenshot.

    python console_scenarios.py CONFIG.json

CONFIG: {gateway, sandbox, chromium, screenshots, tenants: [t0, t1],
         keys: {admin, responder, reader}} (the reader key is scoped to t0).
Any failed assertion exits non-zero with the scenario's name; the Rust test fails with it.
"""

import json
import sys
import time
import urllib.request
from pathlib import Path

from playwright.sync_api import Page, expect, sync_playwright

CFG = json.loads(Path(sys.argv[1]).read_text())
GATEWAY = CFG["gateway"]
SANDBOX = CFG["sandbox"]
SHOTS = Path(CFG["screenshots"])
T0, T1 = CFG["tenants"]
KEYS = CFG["keys"]
TIMEOUT_MS = 60_000


def get_json(url: str, key: str | None = None) -> dict:
    req = urllib.request.Request(url, headers={"x-api-key": key} if key else {})
    with urllib.request.urlopen(req, timeout=30) as resp:
        return json.loads(resp.read())


def state(tenant: str) -> dict:
    return get_json(f"{SANDBOX}/_sandbox/state/{tenant}")


def machine(tenant: str, machine_id: str) -> dict:
    return next(m for m in state(tenant)["machines"] if m["id"] == machine_id)


def user(tenant: str, upn: str) -> dict:
    return next(u for u in state(tenant)["users"] if u["userPrincipalName"] == upn)


def until(what: str, check, seconds: float = 60.0):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"the sandbox never showed: {what}")


def shot(page: Page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def sign_in(page: Page, key: str, tenant: str | None = None) -> None:
    page.goto(f"{GATEWAY}/")
    page.evaluate("sessionStorage.clear()")
    page.reload()
    page.get_by_label("API key").fill(key)
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator("#nav")).to_be_visible()
    if tenant:
        page.select_option("#tenant-switch", tenant)
    expect(page.locator("#health-overall")).to_have_text("healthy", timeout=TIMEOUT_MS)


def online_machines(tenant: str) -> list[dict]:
    return [m for m in state(tenant)["machines"] if m.get("online") and not m.get("isolated")]


def wait_succeeded(page: Page) -> None:
    expect(page.locator("#op-status")).to_have_text("Succeeded", timeout=TIMEOUT_MS)


# --- scenarios ---------------------------------------------------------------------------------


def analyst_isolates_from_the_card(page: Page) -> None:
    """An analyst signs in, isolates a device from the card, and watches it reach Succeeded."""
    sign_in(page, KEYS["responder"], T0)
    target = online_machines(T0)[0]
    short = target["computerDnsName"].split(".")[0]
    card = page.locator("#card-isolate")
    device = card.get_by_label("deviceIds *")
    device.press_sequentially(short[:-1], delay=30)
    option = card.get_by_role("option").filter(has_text=target["computerDnsName"])
    expect(option).to_be_visible(timeout=TIMEOUT_MS)
    option.click()
    expect(device).to_have_value(target["computerDnsName"])
    card.get_by_label("Reason (required)").fill("beaconing to a known C2 (browser test)")
    # revertAfter is offered on a reversible action: release in 4 hours.
    card.get_by_label("Revert automatically (UnisolateDevice)").select_option("PT4H")
    card.get_by_role("button", name="Run IsolateDevice").click()
    expect(page.locator("#op-status")).to_be_visible()
    wait_succeeded(page)
    assert machine(T0, target["id"])["isolated"] is True, "the device is isolated in the sandbox"
    op = page.url.rsplit("/", 1)[-1]
    reverts = get_json(f"{GATEWAY}/v1/reverts?operation={op}", KEYS["admin"])
    assert reverts["count"] == 1 and reverts["reverts"][0]["status"] == "Scheduled", reverts
    shot(page, "1-isolate-succeeded")


def analyst_disables_a_user_then_undoes_it(page: Page) -> None:
    """An analyst disables a user and then undoes it."""
    sign_in(page, KEYS["responder"], T0)
    upn = next(u["userPrincipalName"] for u in state(T0)["users"] if u["accountEnabled"])
    card = page.locator("#card-disable-user")
    field = card.get_by_label("userId *")
    field.press_sequentially(upn.split("@")[0], delay=20)
    option = card.get_by_role("option").filter(has_text=upn)
    expect(option).to_be_visible(timeout=TIMEOUT_MS)
    option.click()
    card.get_by_label("Reason (required)").fill("impossible travel (browser test)")
    card.get_by_role("button", name="Run DisableUser").click()
    wait_succeeded(page)
    until(f"{upn} disabled", lambda: user(T0, upn)["accountEnabled"] is False)
    shot(page, "2a-disable-user-succeeded")
    page.get_by_role("button", name="Undo (EnableUser)").click()
    expect(page.locator("main")).to_contain_text("EntraID / EnableUser", timeout=TIMEOUT_MS)
    wait_succeeded(page)
    until(f"{upn} enabled again", lambda: user(T0, upn)["accountEnabled"] is True)
    shot(page, "2b-disable-user-undone")


def requests_since(mark: int) -> list[dict]:
    return get_json(f"{SANDBOX}/_sandbox/requests?since={mark}")["requests"]


def analyst_previews_an_isolation_as_a_dry_run(page: Page) -> None:
    """The action form's "Preview (dry run)" shows the exact upstream request, and sends nothing."""
    sign_in(page, KEYS["responder"], T0)
    target = online_machines(T0)[0]
    actions_before = len(state(T0)["machineActions"])
    mark = get_json(f"{SANDBOX}/_sandbox/requests")["total"]
    card = page.locator("#card-isolate")
    card.get_by_label("deviceIds *").fill(target["id"])
    card.get_by_label("Reason (required)").fill("preview before containing (browser test)")
    card.get_by_role("button", name="Preview (dry run)").click()
    preview = card.locator(".dry-run")
    expect(preview).to_be_visible(timeout=TIMEOUT_MS)
    request = preview.locator(".dry-run-request").first
    expect(request.locator(".method")).to_have_text("POST")
    expect(request.locator(".url")).to_contain_text(f"/api/machines/{target['id']}/isolate")
    expect(request).to_contain_text("preview before containing")
    shot(page, "3a-isolate-dry-run-preview")
    writes = [r for r in requests_since(mark) if r["method"] != "GET"]
    assert writes == [], f"a dry run sent writes upstream: {writes}"
    assert machine(T0, target["id"])["isolated"] is False, "the previewed device is not isolated"
    assert len(state(T0)["machineActions"]) == actions_before, "no machine action was created"


def reader_is_not_offered_contain_and_a_forced_request_is_403(page: Page) -> None:
    """A reader key is not offered contain actions; a forced request is refused with a visible 403."""
    sign_in(page, KEYS["reader"])
    card = page.locator("#card-isolate")
    expect(card).to_contain_text("may not run contain actions")
    expect(card.get_by_role("button", name="Run IsolateDevice")).to_have_count(0)
    # Forced: the page is told the key may contain, and the form is submitted anyway.
    page.evaluate("R.me.role = 'responder'; route()")
    target = online_machines(T0)[1]
    before = len([a for a in state(T0)["machineActions"] if a["machineId"] == target["id"]])
    card = page.locator("#card-isolate")
    card.get_by_label("deviceIds *").fill(target["id"])
    card.get_by_label("Reason (required)").fill("forced by a reader")
    card.get_by_role("button", name="Run IsolateDevice").click()
    alert = card.get_by_role("alert")
    expect(alert).to_contain_text("403 Forbidden", timeout=TIMEOUT_MS)
    expect(alert).to_contain_text("reader")
    after = len([a for a in state(T0)["machineActions"] if a["machineId"] == target["id"]])
    assert after == before, "nothing reached MDE"
    assert machine(T0, target["id"])["isolated"] is False
    shot(page, "3-reader-forced-403")


def offboard_needs_the_typed_confirmation(page: Page) -> None:
    """An offboard needs the target typed to confirm."""
    sign_in(page, KEYS["admin"], T0)
    # MDE offboards Windows devices only (a Linux one is a visible 400, OsPlatformNotSupported).
    target = [m for m in online_machines(T0) if m["osPlatform"].startswith("Windows")][2]
    page.goto(f"{GATEWAY}/#/catalog/MDE/OffboardDevice")
    form = page.locator("#catalog-detail form")
    form.get_by_label("deviceIds *").fill(target["id"])
    form.get_by_label("Reason (required)").fill("decommissioned laptop (browser test)")
    run = form.get_by_role("button", name="Run OffboardDevice")
    expect(run).to_be_disabled()
    confirm = form.get_by_label("Type the target to confirm")
    confirm.fill(target["id"][:-1])
    expect(run).to_be_disabled()
    confirm.fill(target["id"])
    expect(run).to_be_enabled()
    shot(page, "4a-offboard-confirmation")
    run.click()
    wait_succeeded(page)
    offboard = until(
        "an Offboard machine action",
        lambda: next((a for a in state(T0)["machineActions"] if a["machineId"] == target["id"] and a["type"] == "Offboard"), None),
    )
    assert offboard["status"] == "Succeeded", offboard
    until("the device offboarded", lambda: machine(T0, target["id"])["offboarded"] is True)
    shot(page, "4b-offboard-succeeded")


def hunt_across_tenants_then_respond(page: Page) -> None:
    """A hunt runs across tenants, and "respond" on a row pre-fills the isolate card."""
    sign_in(page, KEYS["admin"], "all")
    page.goto(f"{GATEWAY}/#/hunt")
    page.get_by_label("KQL").fill(
        "DeviceInfo\n| summarize arg_max(Timestamp, *) by DeviceId\n| project DeviceId, DeviceName, OSPlatform"
    )
    page.get_by_label("Tenants").select_option("all")
    page.get_by_role("button", name="Run hunt").click()
    results = page.locator("#hunt-results")
    expect(results.locator("table")).to_be_visible(timeout=TIMEOUT_MS)
    expect(results.locator("tbody tr").filter(has_text=T0).first).to_be_visible()
    expect(results.locator("tbody tr").filter(has_text=T1).first).to_be_visible()
    # Sortable: a click on DeviceName sorts the rows by it.
    results.get_by_role("button", name="DeviceName", exact=True).click()
    names = results.locator("tbody tr td:nth-child(3)").all_inner_texts()
    in_order = page.evaluate("(a) => [...a].sort((x, y) => x.localeCompare(y, undefined, { numeric: true }))", names)
    assert names == in_order, "sorted by DeviceName"
    with page.expect_download() as download:
        results.get_by_role("button", name="Export CSV").click()
    csv = Path(download.value.path()).read_text()
    assert csv.startswith("TenantId,DeviceId,DeviceName,OSPlatform"), csv[:80]
    shot(page, "5a-hunt-across-tenants")
    target = online_machines(T1)[0]
    row = results.locator("tbody tr").filter(has_text=target["id"])
    row.get_by_role("button", name="Respond ▾").click()
    row.get_by_role("menuitem", name="Isolate device").click()
    card = page.locator("#card-isolate")
    expect(card.get_by_label("deviceIds *")).to_have_value(target["id"])
    expect(card.get_by_label("Tenant")).to_have_value(T1)
    card.get_by_label("Reason (required)").fill("found by hunting (browser test)")
    shot(page, "5b-respond-prefilled")
    card.get_by_role("button", name="Run IsolateDevice").click()
    wait_succeeded(page)
    assert machine(T1, target["id"])["isolated"] is True, "the hunted device is isolated in its tenant"


def metrics_and_health_show_real_numbers(page: Page) -> None:
    """The 24 h metrics and the health sidebar render with real numbers after these actions."""
    sign_in(page, KEYS["admin"], "all")
    expected = 0
    for tenant in (T0, T1):
        expected += get_json(f"{GATEWAY}/api/v1/mdr/actions?since=24h&limit=1000&tenant_id={tenant}", KEYS["admin"])["count"]
    assert expected >= 5, f"the scenarios' actions are in the audit ({expected})"
    page.goto(f"{GATEWAY}/#/metrics")
    expect(page.locator("#kpi-actions b")).to_have_text(str(expected), timeout=TIMEOUT_MS)
    succeeded = int(page.locator("#kpi-succeeded b").inner_text())
    assert 0 < succeeded <= expected, succeeded
    assert page.locator("svg rect.bar").count() >= 2, "bars drawn"
    expect(page.locator("main")).to_contain_text("isolate")
    health = page.locator("#health")
    expect(health).to_contain_text("MDE")
    expect(health).to_contain_text("token OK")
    expect(health).to_contain_text("last call 200")
    # The numbers are the sandbox's: every isolate the UI ran is an Isolate machine action there.
    isolates = sum(
        1 for t in (T0, T1) for a in state(t)["machineActions"] if a["type"] == "Isolate" and a["status"] == "Succeeded"
    )
    assert isolates >= 2, isolates
    shot(page, "6-metrics-and-health")
    page.evaluate("localStorage.setItem('riposte.theme', 'dark'); applyTheme('dark')")
    shot(page, "6b-metrics-dark")


SCENARIOS = [
    analyst_isolates_from_the_card,
    analyst_disables_a_user_then_undoes_it,
    analyst_previews_an_isolation_as_a_dry_run,
    reader_is_not_offered_contain_and_a_forced_request_is_403,
    offboard_needs_the_typed_confirmation,
    hunt_across_tenants_then_respond,
    metrics_and_health_show_real_numbers,
]


def main() -> int:
    failures = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CFG["chromium"], args=["--no-sandbox", "--disable-dev-shm-usage"])
        for scenario in SCENARIOS:
            context = browser.new_context(viewport={"width": 1400, "height": 900}, accept_downloads=True)
            page = context.new_page()
            page.set_default_timeout(TIMEOUT_MS)
            errors: list[str] = []
            page.on("pageerror", lambda e, errors=errors: errors.append(str(e)))
            started = time.monotonic()
            try:
                scenario(page)
                if errors:
                    raise AssertionError(f"JavaScript errors: {errors}")
                print(f"ok   {scenario.__name__} ({time.monotonic() - started:.1f} s)", flush=True)
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
