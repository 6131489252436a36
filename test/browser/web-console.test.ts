import { expect } from "chai";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type { Locator, Page } from "playwright-core";
import { buildBaseFeed, buildPayloadRpm } from "../lib/base-feed.js";
import { runCli } from "../lib/cli.js";
import { DEV_KEY } from "../lib/controller-harness.js";
import type { AgentSpec } from "../lib/cluster-harness.js";
import { SCREENSHOTS, startConsoleRig, startDropProxy, type ConsoleRig, type DropProxy } from "./console-harness.js";

/** Two controllers, a worker and two storage hosts (a storage stage needs two): quick to provision. */
const HOSTS: AgentSpec[] = [
  { hostname: "controller-0", personality: "controller", mgmtIp: "192.178.204.2" },
  { hostname: "controller-1", personality: "controller", mgmtIp: "192.178.204.3" },
  { hostname: "compute-0", personality: "worker", mgmtIp: "192.178.204.7" },
  { hostname: "storage-0", personality: "storage", mgmtIp: "192.178.204.9" },
  { hostname: "storage-1", personality: "storage", mgmtIp: "192.178.204.10" },
];

/**
 * The web console end to end: Debian's chromium (playwright-core) against the console server
 * over a real controller with real agents; CLI changes show up live in the open page.
 */
describe("web console in a real browser (real controller, real agents)", function () {
  this.timeout(240_000);
  let rig: ConsoleRig;
  let work: string;
  let page: Page;
  /** The admin's page goes through this proxy, so the test can cut its connection. */
  let proxy: DropProxy;
  const files: Record<string, string> = {};
  const sw = (...args: string[]) => runCli("sw-patch", args, { endpoint: rig.endpoint, token: rig.adminToken });
  const shot = (name: string) => page.screenshot({ path: path.join(SCREENSHOTS, `${name}.png`), fullPage: true });

  const hostRow = (p: Page, hostname: string): Locator =>
    p
      .getByRole("table", { name: "Hosts" })
      .locator("tbody tr")
      .filter({ has: p.getByRole("rowheader", { name: hostname, exact: true }) });
  const patchRow = (p: Page, id: string): Locator =>
    p
      .getByRole("table", { name: "Patches" })
      .locator("tbody tr")
      .filter({ has: p.getByRole("rowheader", { name: id, exact: true }) });
  /** Waits until `locator`'s text matches. */
  const waitText = async (locator: Locator, want: string | RegExp, timeout = 30_000) => {
    const until = Date.now() + timeout;
    let last = "";
    for (;;) {
      last = (await locator.textContent({ timeout: Math.max(1, until - Date.now()) }).catch(() => "")) ?? "";
      if (typeof want === "string" ? last.includes(want) : want.test(last)) return last;
      if (Date.now() > until) throw new Error(`text ${JSON.stringify(last)} never matched ${String(want)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  };
  const signIn = async (p: Page, token: string) => {
    await p.goto(rig.url);
    await p.getByLabel("Token").fill(token);
    await p.getByRole("button", { name: "Sign in" }).click();
    await p.getByRole("link", { name: "Patches" }).waitFor();
  };
  const nav = async (p: Page, name: "Patches" | "Hosts" | "Patch Orchestration") => {
    await p.getByRole("link", { name, exact: true }).click();
    await p.getByRole("heading", { level: 1, name }).waitFor();
  };

  before(async function () {
    this.timeout(300_000);
    const feed = await buildBaseFeed();
    work = mkdtempSync(path.join(os.tmpdir(), "swpatch-webtest-"));
    const build = async (id: string, rpm: string, rr: "Y" | "N", summary: string) => {
      const r = await runCli("patch_build", [
        "--id",
        id,
        "--release",
        "19.09",
        "--reboot-required",
        rr,
        "--status",
        "REL",
        "--summary",
        summary,
        "--key",
        DEV_KEY,
        "--output-dir",
        work,
        rpm,
      ]);
      expect(r.rc, r.stderr).to.equal(0);
      files[id] = path.join(work, `${id}.patch`);
    };
    await build("INSVC", (await buildPayloadRpm({ name: "sysinv", version: "1.0", release: "7" })).file, "N", "sysinv in-service fix");
    await build("RR", (await buildPayloadRpm({ name: "pkg-a", version: "1.0", release: "7" })).file, "Y", "pkg-a reboot-required fix");
    files.junk = path.join(work, "JUNK.patch");
    writeFileSync(files.junk, "this is not a patch file\n");
    rig = await startConsoleRig({ hosts: HOSTS, baseFeed: feed.dir });
    proxy = await startDropProxy(Number(new URL(rig.url).port));
    page = await (await rig.browser.newContext({ viewport: { width: 1440, height: 900 } })).newPage();
  });

  after(async () => {
    await proxy?.close();
    await rig?.close();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it("signs in with a token in a password field labelled Token; a bad token is refused in words", async () => {
    await page.goto(proxy.url);
    const token = page.getByLabel("Token");
    expect(await token.getAttribute("type")).to.equal("password");
    await token.fill("swp_0000000000000000_" + "0".repeat(64));
    await page.getByRole("button", { name: "Sign in" }).click();
    await waitText(page.getByRole("alert"), "Sign-in failed: invalid token");
    await shot("signin");
    await token.fill(rig.adminToken);
    await page.getByRole("button", { name: "Sign in" }).click();
    for (const name of ["Patches", "Hosts", "Patch Orchestration"]) await page.getByRole("link", { name, exact: true }).waitFor();
    await waitText(page.locator("header"), "role admin");
  });

  it("uploads .patch files with a progress bar; each file's outcome is shown", async () => {
    await page.getByLabel("Patch files").setInputFiles([files.INSVC!, files.junk!]);
    await page.getByRole("button", { name: "Upload", exact: true }).click();
    const result = page.getByLabel("Upload result");
    await waitText(result, "INSVC is now available");
    expect(await result.getByRole("alert").textContent()).to.match(/^JUNK\.patch: Error: .+/);
    expect(await page.getByRole("progressbar", { name: "Upload progress" }).getAttribute("value")).to.equal("100");
    await waitText(patchRow(page, "INSVC"), "Available");
    const headers = await page.getByRole("table", { name: "Patches" }).getByRole("columnheader").allTextContents();
    expect(headers).to.include.members(["Patch ID", "RR", "Release", "Patch State"]);
  });

  it("applies a patch (Partial-Apply) and shows its details", async () => {
    await page.getByLabel("Select INSVC").check();
    await page.getByRole("button", { name: "Apply", exact: true }).click();
    await waitText(page.getByLabel("Patch action result"), "INSVC is now in the repo");
    await waitText(patchRow(page, "INSVC"), "Partial-Apply");
    await patchRow(page, "INSVC").getByRole("button", { name: "INSVC" }).click();
    const details = page.getByRole("region", { name: "Patch INSVC" });
    await waitText(details, "sysinv in-service fix");
    expect(await details.textContent()).to.include("sysinv-1.0-7.noarch.rpm");
    await shot("patches");
    await details.getByRole("button", { name: "Close" }).click();
  });

  it("installs a host: the live bar reaches the end with the reference's closing message", async () => {
    await nav(page, "Hosts");
    const headers = await page.getByRole("table", { name: "Hosts" }).getByRole("columnheader").allTextContents();
    expect(headers).to.include.members([
      "Hostname",
      "IP Address",
      "Patch Current",
      "Reboot Required",
      "Release",
      "State",
      "Administrative",
      "Operational",
      "Availability",
    ]);
    const row = hostRow(page, "controller-0");
    await waitText(row, /192\.178\.204\.2\s*No/);
    // Record every value the bar shows while the install runs.
    await page.evaluate(() => {
      const seen: number[] = [];
      (window as unknown as { seen: number[] }).seen = seen;
      setInterval(() => {
        const el = document.querySelector<HTMLProgressElement>('progress[aria-label="Install progress controller-0"]');
        if (el && seen[seen.length - 1] !== el.value) seen.push(el.value);
      }, 10);
    });
    await row.getByRole("button", { name: "Install" }).click();
    await waitText(row, "Installation was successful.", 60_000);
    expect(await row.getByRole("progressbar").getAttribute("value")).to.equal("100");
    const seen = await page.evaluate(() => (window as unknown as { seen: number[] }).seen);
    expect(seen[0], seen.join(" ")).to.be.below(100);
    expect(seen[seen.length - 1]).to.equal(100);
    if (process.env.SWPATCH_WEB_DEBUG) console.log("install bar values seen:", seen.join(" "));
    await waitText(row, /192\.178\.204\.2\s*Yes/);
    await shot("hosts");
  });

  it("shows changes made with the CLI live, without a reload", async () => {
    // A host-install from the CLI: the open page follows it to the end.
    const row = hostRow(page, "controller-1");
    const cli = sw("host-install", "controller-1");
    await waitText(row, "Installation was successful.", 60_000);
    const r = await cli;
    expect(r.stdout.trimEnd().endsWith("Installation was successful."), r.stdout + r.stderr).to.equal(true);
    await waitText(row, /192\.178\.204\.3\s*Yes/);
    // An upload from the CLI appears in the patches table.
    await nav(page, "Patches");
    expect(await patchRow(page, "RR").count()).to.equal(0);
    const up = await sw("upload", files.RR!);
    expect(up.rc, up.stderr).to.equal(0);
    await waitText(patchRow(page, "RR"), "Available");
  });

  it("after a lost connection the page resumes from the last event it saw and shows what it missed", async () => {
    const live = page.locator("header .live");
    await waitText(live, "Live");
    const before = Number(await live.getAttribute("data-last-seq"));
    proxy.down();
    await waitText(live, "Reconnecting");
    // Changed while the page is cut off: a patch is applied with the CLI.
    const r = await sw("apply", "RR");
    expect(r.stdout).to.include("RR is now in the repo");
    expect(await patchRow(page, "RR").textContent()).to.include("Available");
    proxy.up();
    await waitText(live, "Live", 30_000);
    expect(await live.getAttribute("data-resumed")).to.equal("yes");
    await waitText(patchRow(page, "RR"), "Partial-Apply");
    expect(Number(await live.getAttribute("data-last-seq"))).to.be.above(before);
    const rm = await sw("remove", "RR");
    expect(rm.stdout).to.include("RR has been removed from the repo");
    await rig.waitHosts((hs) => hs.every((h) => h.patchCurrent !== "Pending"));
    await waitText(patchRow(page, "RR"), "Available");
  });

  it("Apply, Remove and Delete answer like the CLI; a refusal is shown next to the action", async () => {
    const result = page.getByLabel("Patch action result");
    await page.getByLabel("Select RR").check();
    await page.getByRole("button", { name: "Apply", exact: true }).click();
    await waitText(result, "RR is now in the repo");
    await waitText(patchRow(page, "RR"), "Partial-Apply");
    await page.getByRole("button", { name: "Remove", exact: true }).click();
    await waitText(result, "RR has been removed from the repo");
    await rig.waitHosts((hs) => hs.every((h) => h.patchCurrent !== "Pending"));
    await waitText(patchRow(page, "RR"), "Available");
    await page.getByRole("button", { name: "Delete", exact: true }).click();
    await waitText(result, "RR has been deleted");
    await patchRow(page, "RR").waitFor({ state: "detached" });
    await page.getByLabel("Select INSVC").check();
    await page.getByRole("button", { name: "Delete", exact: true }).click();
    await waitText(page.getByLabel("Patch action result").getByRole("alert"), "Error: Patch INSVC not in Available state");
    await page.getByLabel("Select INSVC").uncheck();
  });

  it("locks and unlocks a host; a refused lock says why", async () => {
    await nav(page, "Hosts");
    const row = hostRow(page, "compute-0");
    const administrative = row.locator("td").nth(5);
    await row.getByRole("button", { name: "Lock", exact: true }).click();
    await waitText(administrative, /^locked$/);
    await row.getByRole("button", { name: "Unlock", exact: true }).click();
    await waitText(administrative, /^unlocked$/);
    const c0 = hostRow(page, "controller-0");
    await c0.getByRole("button", { name: "Lock", exact: true }).click();
    await waitText(c0.getByRole("alert"), "Error: Rejected: Can not lock an active controller. Swact controller-0 first");
  });

  it("shows the plan hash and, while it waits for a maintenance window, the window state (issue 20)", async () => {
    const sm = (...args: string[]) => runCli("sw-manager", args, { endpoint: rig.endpoint, token: rig.adminToken });
    await nav(page, "Patch Orchestration");
    await page.getByText("No strategy available").waitFor();
    // A one-hour window that opens in a day: the strategy waits for it and starts no host.
    const later = new Date(Date.now() + 86_400_000);
    const day = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"][later.getUTCDay()]!;
    const hh = String(later.getUTCHours()).padStart(2, "0");
    const created = await sm("patch-strategy", "create", "--window", `${day} ${hh}:00-${hh}:59`, "--window-tz", "UTC", "--cutoff", "10");
    expect(created.rc, created.stderr).to.equal(0);
    const hash = /plan-hash: ([0-9a-f]{64})\n$/.exec(created.stdout)?.[1];
    expect(hash, created.stdout).to.be.a("string");
    const plan = page.getByRole("region", { name: "Plan and safety" });
    await waitText(plan.getByLabel("Plan hash"), hash!);
    expect(await plan.getByLabel("Windows").textContent()).to.equal(`${day} ${hh}:00-${hh}:59 (UTC, cutoff 10 min)`);
    expect(await plan.getByLabel("Window state").textContent()).to.equal("hosts start only inside a window");
    const applied = await sm("patch-strategy", "apply", "--plan-hash", hash!);
    expect(applied.rc, applied.stderr).to.equal(0);
    await waitText(plan.getByLabel("Window state"), `waiting for window ${day} ${hh}:00 UTC`);
    await shot("orchestration-window-wait");
    expect(await page.getByLabel("Strategy state").textContent()).to.equal("applying");
    expect((await sm("patch-strategy", "abort")).rc).to.equal(0);
    await waitText(page.getByLabel("Strategy state"), "aborted");
    expect((await sm("patch-strategy", "delete")).rc).to.equal(0);
    await page.getByText("No strategy available").waitFor();
  });

  it("creates a strategy with the reference defaults and runs it to applied, live", async () => {
    await nav(page, "Patch Orchestration");
    await page.getByText("No strategy available").waitFor();
    for (const [label, value] of [
      ["Controller apply type", "serial"],
      ["Storage apply type", "serial"],
      ["Worker apply type", "serial"],
      ["Instance action", "stop-start"],
      ["Alarm restrictions", "strict"],
    ]) {
      expect(await page.getByLabel(label!).inputValue(), label).to.equal(value);
    }
    await page.getByRole("button", { name: "Create strategy" }).click();
    const state = page.getByLabel("Strategy state");
    await waitText(state, /^(ready-to-apply|build-failed)$/, 60_000);
    expect(await state.textContent(), (await page.locator("main").textContent()) ?? "").to.equal("ready-to-apply");
    // The tree: the build phase's query stage, then one apply stage per host still to patch.
    const tree = page.getByRole("region", { name: "Phases, stages and steps" });
    await waitText(tree, "sw-patch-storage-hosts");
    expect(await tree.textContent()).to.include("sw-patch-worker-hosts");
    expect(await tree.getByRole("table", { name: "apply stage 0 steps" }).getByRole("columnheader").allTextContents()).to.include.members([
      "Step",
      "Name",
      "State",
      "Timeout",
    ]);
    await shot("orchestration-ready");
    // Ready to apply: the apply phase has not started (not "100% complete"); Abort is not offered.
    expect(await tree.textContent()).to.match(/Apply phase\s*initial\s*\d+ stages · timeout 0 s · not started/);
    expect(await page.getByRole("button", { name: "Abort", exact: true }).isDisabled()).to.equal(true);
    expect(await page.getByRole("button", { name: "Apply strategy" }).isDisabled()).to.equal(false);
    // Times carry the date and the zone.
    expect(await tree.textContent()).to.match(/query-alarmssuccess60 s\d{4}-\d\d-\d\d \d\d:\d\d:\d\d [A-Z][A-Za-z0-9+:-]*\d{4}-/);
    const seen = new Set<string>();
    const watch = setInterval(
      () =>
        void state
          .textContent()
          .then((t) => t && seen.add(t))
          .catch(() => undefined),
      50,
    );
    await page.getByRole("button", { name: "Apply strategy" }).click();
    try {
      await waitText(state, /^(applied|apply-failed|aborted)$/, 120_000);
    } finally {
      clearInterval(watch);
    }
    expect(await state.textContent(), (await tree.textContent()) ?? "").to.equal("applied");
    expect([...seen]).to.include("applying");
    await shot("orchestration-applied");
    // Applied: only Delete is left.
    expect(await page.getByRole("button", { name: "Apply strategy" }).isDisabled()).to.equal(true);
    expect(await page.getByRole("button", { name: "Abort", exact: true }).isDisabled()).to.equal(true);
    await page.getByRole("button", { name: "Delete strategy" }).click();
    await page.getByText("No strategy available").waitFor();
    await rig.waitHosts((hs) => hs.every((h) => h.patchCurrent === "Yes"));
  });

  it("fits a 420 px screen (only tables scroll) and asks the server for nothing that is not there (no favicon 404)", async () => {
    const ctx = await rig.browser.newContext({ viewport: { width: 420, height: 800 } });
    const p = await ctx.newPage();
    const missing: string[] = [];
    p.on("response", (r) => {
      if (r.status() === 404) missing.push(r.url());
    });
    try {
      await signIn(p, rig.operatorToken);
      // Each panel with its content loaded (what would be widest), not an empty frame.
      const loaded = { Patches: () => patchRow(p, "INSVC"), Hosts: () => hostRow(p, "controller-0"), "Patch Orchestration": () => p.getByText("No strategy available") };
      for (const name of ["Patches", "Hosts", "Patch Orchestration"] as const) {
        await nav(p, name);
        await loaded[name]().waitFor();
        const overflow = await p.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
        expect(overflow, `${name}: the page is ${overflow} px wider than the window`).to.be.at.most(0);
        await p.screenshot({ path: path.join(SCREENSHOTS, `narrow-${name.toLowerCase().replace(/ /g, "-")}.png`), fullPage: true });
      }
      expect(missing).to.deep.equal([]);
    } finally {
      await ctx.close();
    }
  });

  it("commits after the CLI's confirmation: the list, the dry run and the warning", async () => {
    await nav(page, "Patches");
    await waitText(patchRow(page, "INSVC"), "Applied");
    await page.getByLabel("Select INSVC").check();
    await page.getByRole("button", { name: "Commit", exact: true }).click();
    const dialog = page.getByRole("dialog", { name: "Commit patches" });
    await waitText(dialog, "The following patches will be committed:");
    expect(await dialog.textContent()).to.include("This commit operation would free");
    expect(await dialog.textContent()).to.include("WARNING: Committing a patch is an irreversible operation.");
    await dialog.getByRole("button", { name: "Commit" }).click();
    await waitText(page.getByLabel("Patch action result"), "The patches have been committed.");
    await waitText(patchRow(page, "INSVC"), "Committed");
  });

  it("a reader sees everything and is offered no action", async () => {
    const ctx = await rig.browser.newContext({ viewport: { width: 1440, height: 900 } });
    const p = await ctx.newPage();
    try {
      await signIn(p, rig.readerToken);
      await waitText(p.locator("header"), "role reader");
      await waitText(patchRow(p, "INSVC"), "Committed");
      for (const name of ["Upload", "Apply", "Remove", "Delete", "Commit"]) expect(await p.getByRole("button", { name, exact: true }).count(), name).to.equal(0);
      await p.screenshot({ path: path.join(SCREENSHOTS, "reader-patches.png"), fullPage: true });
      await nav(p, "Hosts");
      await waitText(hostRow(p, "storage-0"), "storage-0");
      expect(await p.getByRole("table", { name: "Hosts" }).locator("tbody tr").count()).to.equal(HOSTS.length);
      for (const name of ["Install", "Lock", "Unlock"]) expect(await p.getByRole("button", { name, exact: true }).count(), name).to.equal(0);
      await nav(p, "Patch Orchestration");
      await p.getByText("No strategy available").waitFor();
      expect(await p.getByRole("button", { name: "Create strategy" }).count()).to.equal(0);
      // The API refuses the reader too, in words.
      const r = await p.evaluate(async () => {
        const res = await fetch("/api/patches/apply", {
          method: "POST",
          headers: { "content-type": "application/json", "x-sw-patch-console": "1" },
          body: JSON.stringify({ ids: ["INSVC"] }),
        });
        return { status: res.status, body: (await res.json()) as { error: string } };
      });
      expect(r.status).to.equal(403);
      expect(r.body.error).to.equal("Forbidden: role reader may not call ApplyPatches");
    } finally {
      await ctx.close();
    }
  });

  it("the event stream resumes after Last-Event-ID; the API refuses foreign and unsigned requests in JSON", async () => {
    const auth = { authorization: `Bearer ${rig.adminToken}` };
    const from = rig.controller.events.lastSequence - 3;
    const ac = new AbortController();
    const res = await fetch(`${rig.url}/api/events`, { headers: { ...auth, "last-event-id": String(from) }, signal: ac.signal });
    expect(res.headers.get("content-type")).to.match(/^text\/event-stream/);
    const reader = res.body!.getReader();
    let text = "";
    while ((text.match(/event: domain/g) ?? []).length < 3) text += new TextDecoder().decode((await reader.read()).value);
    ac.abort();
    const ids = [...text.matchAll(/^id: (\d+)$/gm)].map((m) => Number(m[1]));
    expect(ids.slice(0, 4)).to.deep.equal([from, from + 1, from + 2, from + 3]);
    expect(text).to.match(/event: ready\ndata: \{"seq":\d+,"resumed":true\}/);

    const noHeader = await fetch(`${rig.url}/api/patches/apply`, { method: "POST", headers: { ...auth, "content-type": "application/json" }, body: "{}" });
    expect(noHeader.status).to.equal(403);
    const foreign = await fetch(`${rig.url}/api/patches/apply`, {
      method: "POST",
      headers: { ...auth, "x-sw-patch-console": "1", origin: "http://evil.example", "content-type": "application/json" },
      body: "{}",
    });
    expect(foreign.status).to.equal(403);
    expect(((await foreign.json()) as { error: string }).error).to.equal("Forbidden: cross-origin request refused");
    const post = (url: string, body: unknown, method = "POST") =>
      fetch(`${rig.url}${url}`, { method, headers: { ...auth, "x-sw-patch-console": "1", "content-type": "application/json" }, body: JSON.stringify(body) });
    const noStrategy = await post("/api/strategy/apply", {});
    expect([noStrategy.status, await noStrategy.json()]).to.deep.equal([404, { error: "Strategy apply failed", reason: "STRATEGY_NOT_FOUND" }]);
    const badStage = await post("/api/strategy/abort", { stageId: "x1" });
    expect([badStage.status, ((await badStage.json()) as { error: string }).error]).to.deep.equal([400, "argument --stage-id: invalid value: 'x1'"]);
    const badMax = await post("/api/strategy", { maxParallelWorkerHosts: 1 });
    expect(((await badMax.json()) as { error: string }).error).to.equal("argument --max-parallel-worker-hosts: invalid choice: 1 (choose from 2..100)");
    const noDelete = await fetch(`${rig.url}/api/strategy`, { method: "DELETE", headers: { ...auth, "x-sw-patch-console": "1" } });
    expect(((await noDelete.json()) as { error: string }).error).to.equal("Strategy delete failed");
    const anon = await fetch(`${rig.url}/api/hosts`);
    expect(anon.status).to.equal(401);
    const unknown = await fetch(`${rig.url}/api/nothing-here`, { headers: auth });
    expect(unknown.status).to.equal(404);
    expect(await unknown.json()).to.have.property("error");
    const spa = await fetch(`${rig.url}/hosts/some/route`);
    expect(spa.status).to.equal(200);
    expect(spa.headers.get("content-security-policy")).to.include("script-src 'self'");
    expect(await spa.text()).to.include('<div id="root">');
  });

  // Last: it restarts the console server, which ends every open session (the other tests' pages included).
  it("after a controller restart (sessions gone) the page shows the sign-in page by itself, within seconds", async () => {
    const p = await (await rig.browser.newContext({ viewport: { width: 1280, height: 800 } })).newPage();
    try {
      await signIn(p, rig.operatorToken);
      await waitText(p.locator("header .live"), "Live");
      await rig.restartWeb();
      await p.getByLabel("Token").waitFor({ timeout: 15_000 });
      expect(await p.getByText("Your session has ended. Sign in again.").count()).to.equal(1);
      // And signing in again works on the new server.
      await p.getByLabel("Token").fill(rig.operatorToken);
      await p.getByRole("button", { name: "Sign in" }).click();
      await waitText(p.locator("header .live"), "Live");
    } finally {
      await p.context().close();
    }
  });
});
