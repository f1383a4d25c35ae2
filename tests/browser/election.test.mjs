// A whole election through Tabella's web pages only, in headless Debian chromium driven by
// playwright-core (issue 16): the council creates and opens it in its console, three trustees
// run the key ceremony in theirs, three voters register in their booths (the request, response
// and note move between the booth, the identity validator's console and the registrar's console
// as text), vote (one audits a ballot first, one votes again), a juror authorizes an in-person
// voter who votes at the kiosk booth, the council closes, two trustees decrypt, the council
// publishes, and the node's public pages show the right numbers per table. Mistakes in forms
// (wrong passphrase, malformed manifest, wrong phase, exhausted quota) show a clear message and
// submit nothing. Every page is saved as a screenshot in target/browser/.
//
// Run by scripts/test after `cargo test` (TABELLA_BIN: the debug binary). Only the command line
// sets up what is not an election action: the node, the officials' keys and the manifest file.

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { chromium } from 'playwright-core';
import { AxeBuilder } from '@axe-core/playwright';

const ROOT = resolve(import.meta.dirname, '../..');
const BIN = process.env.TABELLA_BIN ?? join(ROOT, 'target/debug/tabella');
const SHOTS = join(ROOT, 'target/browser');
const DOCS = process.env.TABELLA_DOC_SCREENSHOTS === '1' ? join(ROOT, 'docs') : null;
const PW = 'correct horse';
const dir = mkdtempSync(join(tmpdir(), 'tabella-browser-'));
const children = [];
let shot = 0;
let browser;

after(async () => {
  await browser?.close().catch(() => {});
  for (const c of children) {
    if (c.exitCode === null) c.kill('SIGTERM');
  }
  await new Promise((r) => setTimeout(r, 500));
  for (const c of children) {
    if (c.exitCode === null) c.kill('SIGKILL');
  }
  rmSync(dir, { recursive: true, force: true });
});

const env = (extra = {}) => ({
  ...process.env,
  TABELLA_KDF_FAST: '1',
  TABELLA_PASSPHRASE: PW,
  TABELLA_NODE_PASSPHRASE: 'node passphrase',
  ...extra,
});

function tabella(args, cwd = dir) {
  return execFileSync(BIN, args, { cwd, env: env(), encoding: 'utf8' });
}

function freePort() {
  return new Promise((res) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => res(port));
    });
  });
}

/** Starts `tabella ARGS` (a booth or a console) and resolves with the link it prints. */
function local(args, cwd = dir) {
  return new Promise((res, rej) => {
    const c = spawn(BIN, args, { cwd, env: env({ TABELLA_PASSPHRASE: '' }) });
    children.push(c);
    let out = '';
    let err = '';
    c.stdout.on('data', (d) => {
      out += d;
      const m = out.match(/http:\/\/127\.0\.0\.1:\d+\/start\?token=[0-9a-f]+/);
      if (m) res(m[0]);
    });
    c.stderr.on('data', (d) => (err += d));
    c.on('exit', (code) => rej(new Error(`tabella ${args.join(' ')} exited ${code}: ${err}`)));
  });
}

async function waitFor(what, f, secs = 60) {
  const end = Date.now() + secs * 1000;
  for (;;) {
    try {
      if (await f()) return;
    } catch {
      /* not yet */
    }
    if (Date.now() > end) throw new Error(`timed out: ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

test('a whole election through the pages', { timeout: 20 * 60 * 1000 }, async () => {
  mkdirSync(SHOTS, { recursive: true });
  // --- set-up by the command line: a node, the officials' keys, the manifest file
  const api = `127.0.0.1:${await freePort()}`;
  const p2p = `127.0.0.1:${await freePort()}`;
  const nodeUrl = `http://${api}`;
  tabella(['node', 'init', '--dev', '--home', 'node', '--api', api, '--p2p', p2p]);
  const node = spawn(BIN, ['node', 'run', '--home', 'node'], { cwd: dir, env: env() });
  children.push(node);
  await waitFor('the node', async () => (await fetch(`${nodeUrl}/v1/status`)).ok);
  const keys = ['council c', 'trustee t1', 'trustee t2', 'trustee t3', 'identity-validator v', 'registrar r', 'juror j'];
  for (const k of keys) {
    const [role, name] = k.split(' ');
    tabella(['keys', 'new', '--role', role, '--name', name, '--token-bits', '2048']);
  }
  tabella([
    'election', 'manifest', '--id', 'web', '--title', 'Student union 2026', '--council', 'c',
    '--trustee', 't1', '--trustee', 't2', '--trustee', 't3', '--threshold', '2',
    '--identity-validator', 'v', '--registrar', 'r', '--table', 'j=1',
    '--voter', 'ann@example.org', '--voter', 'bob@example.org', '--voter', 'cy@example.org',
    '--min-group-size', '1',
  ]);
  const manifest = readFileSync(join(dir, 'manifest.json'), 'utf8');
  const accepted = async () => {
    const r = await fetch(`${nodeUrl}/v1/elections/web`);
    return r.ok ? (await r.json()).accepted : 0;
  };

  // --- the browser: every request stays on 127.0.0.1, and the pages run no script
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  const ctx = await browser.newContext({ viewport: { width: 1100, height: 800 } });
  const blocked = [];
  await ctx.route('**/*', (r) => {
    if (new URL(r.request().url()).hostname === '127.0.0.1') return r.continue();
    blocked.push(r.request().url());
    return r.abort();
  });
  const scriptErrors = [];
  const open = async (link) => {
    const page = await ctx.newPage();
    page.on('pageerror', (e) => scriptErrors.push(e));
    await page.goto(link);
    return page;
  };
  const snap = async (page, name, doc) => {
    shot += 1;
    const file = join(SHOTS, `${String(shot).padStart(2, '0')}-${name}.png`);
    await page.screenshot({ path: file, fullPage: true });
    if (DOCS && doc) await page.screenshot({ path: join(DOCS, doc), fullPage: false });
  };
  // Accessibility: axe-core's WCAG 2 A and AA rules on the page as it is now.
  const a11y = [];
  const axe = async (page, name) => {
    const r = await new AxeBuilder({ page }).withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']).analyze();
    console.log(`  axe: ${name}: ${r.passes.length} rules pass, ${r.violations.length} violations`);
    for (const v of r.violations) {
      a11y.push(`${name}: ${v.id} (${v.impact}): ${v.help} — ${v.nodes.map((n) => n.target.join(' ')).slice(0, 3).join(', ')}`);
    }
  };
  const flash = async (page) => {
    const f = (await page.locator('#flash').textContent({ timeout: 120000 })).trim();
    console.log(`  ${new URL(page.url()).port}: ${f.slice(0, 160)}`);
    return f;
  };
  const console_ = async (name, extra = []) => {
    const page = await open(await local(['console', '--as', name, '--election', 'web', '--node', nodeUrl, ...extra]));
    await page.fill('#passphrase', PW);
    await page.click('text=Open my key');
    assert.match(await flash(page), /opened/);
    return page;
  };
  const act = async (page, id) => {
    await page.click(`#act-${id}`);
    return flash(page);
  };

  // --- council: a wrong passphrase, a malformed manifest, then the election is created
  const council = await open(await local(['console', '--as', 'c', '--node', nodeUrl]));
  await snap(council, 'council-sign-in');
  await council.fill('#passphrase', 'wrong horse');
  await council.click('text=Open my key');
  assert.match(await flash(council), /wrong passphrase for key 'c'/);
  await council.fill('#passphrase', PW);
  await council.click('text=Open my key');
  await council.fill('#manifest', '{');
  await council.click('text=Create the election');
  assert.match(await flash(council), /Refused: .*manifest/);
  assert.equal(await accepted(), 0);
  await council.fill('#manifest', manifest);
  await council.click('text=Create the election');
  assert.match(await flash(council), /election 'web' created/);
  assert.equal(await accepted(), 1);
  // Closing in the setup phase: wrong phase, nothing submitted.
  assert.match(await act(council, 'close'), /wrong phase/);
  assert.equal(await accepted(), 1);
  assert.match(await act(council, 'open'), /key ceremony of 'web' started/);
  await snap(council, 'council-console', 'web-console.png');
  await axe(council, 'council console');

  // --- trustees: the key ceremony, round by round
  const trustees = [];
  for (const t of ['t1', 't2', 't3']) trustees.push(await console_(t));
  // Each press runs the trustee's next step (or says what it waits for), until all are done.
  const finished = new Set();
  for (let round = 0; round < 6 && finished.size < trustees.length; round += 1) {
    for (const [i, t] of trustees.entries()) {
      if (finished.has(i)) continue;
      const said = await act(t, 'dkg');
      assert.doesNotMatch(said, /Refused/);
      if (/ceremony .*complete/.test(said)) finished.add(i);
    }
  }
  assert.equal(finished.size, 3, 'every trustee finished the key ceremony');
  await snap(trustees[0], 'trustee-console');

  // --- three voters register in their booths, through the identity validator and registrar
  const validator = await console_('v');
  const registrar = await console_('r');
  const voters = {};
  for (const [w, identity] of [['ann', 'ann@example.org'], ['bob', 'bob@example.org'], ['cy', 'cy@example.org']]) {
    const home = join(dir, w);
    mkdirSync(home);
    const booth = await open(await local(['booth', '--election', 'web', '--node', nodeUrl, '--keystore', join(home, 'keys')], home));
    await booth.fill('#r-wallet', w);
    await booth.fill('#r-pass', PW);
    await booth.fill('#r-identity', identity);
    await booth.click('#register-1');
    assert.match(await flash(booth), /blinded request written/);
    const request = await booth.locator('#output').inputValue();
    if (w === 'ann') await snap(booth, 'booth-register');
    await validator.fill('#identity', identity);
    await validator.fill('#request', request);
    await validator.click('text=Check the identity and sign');
    assert.match(await flash(validator), /./);
    const response = await validator.locator('#output').inputValue();
    await booth.fill('#r2-wallet', w);
    await booth.fill('#r2-pass', PW);
    await booth.fill('#r2-response', response);
    await booth.click('#register-2');
    assert.match(await flash(booth), /anonymous note written/);
    const note = await booth.locator('#output').inputValue();
    assert.doesNotMatch(note, /example\.org/, 'the note names no one');
    await registrar.fill('#note', note);
    await registrar.click('text=Check and queue the note');
    assert.match(await flash(registrar), /queued/);
    voters[w] = booth;
  }
  await registrar.check('#close_registration');
  assert.match(await act(registrar, 'flush'), /registration is closed/);
  assert.match(await act(council, 'open'), /voting is open/);

  // --- voting: ann casts; bob audits first, then casts a fresh encryption; cy votes twice
  const vote = async (booth, w, { c1, c2, c3, audit = false }) => {
    await booth.goto(new URL('/', booth.url()).href);
    if (await booth.locator('#passphrase').count()) {
      await booth.fill('#wallet', w);
      await booth.fill('#passphrase', PW);
      await booth.click('text=Open my wallet');
    }
    await booth.waitForSelector('text=Your ballot');
    await booth.check(`#c1-${c1}`);
    for (const c of c2) await booth.check(`#c2-${c}`);
    for (const [i, c] of c3.entries()) await booth.selectOption(`#c3r${i + 1}`, String(c));
    if (w === 'ann') {
      await snap(booth, 'booth-ballot', 'web-booth.png');
      await axe(booth, 'booth ballot');
    }
    await booth.click('text=Review and encrypt');
    const tracker = (await booth.locator('#tracker').textContent()).trim();
    assert.match(tracker, /^[0-9a-f]{64}$/);
    if (audit) {
      await snap(booth, 'booth-sealed');
      await axe(booth, 'booth sealed');
      await booth.click('#audit');
      await booth.waitForSelector('text=This ballot encrypts exactly these choices');
      await snap(booth, 'booth-audited');
      await axe(booth, 'booth audited');
      // The node's public audit page checks the same file independently.
      const file = await (await booth.request.get(new URL(`/audit/${tracker}.json`, booth.url()).href)).text();
      const check = await open(`${nodeUrl}/elections/web/audit`);
      await check.fill('#audit', file);
      await check.click('button:has-text("Check")');
      await check.waitForSelector('text=encrypts exactly these choices');
      await snap(check, 'node-audit-check');
      await check.close();
      await booth.click('#again');
      return vote(booth, w, { c1, c2, c3 });
    }
    await booth.click('#cast');
    const receipt = (await booth.locator('#receipt').textContent()).trim();
    assert.equal(receipt, tracker, 'the receipt is the tracker shown before casting');
    assert.match(await booth.locator('#status').textContent(), /On the chain and counted/);
    return receipt;
  };
  await vote(voters.ann, 'ann', { c1: 1, c2: [2, 4], c3: [2, 1, 3] });
  await snap(voters.ann, 'booth-cast');
  await vote(voters.bob, 'bob', { c1: 2, c2: [1], c3: [1, 2, 3], audit: true });
  const cyFirst = await vote(voters.cy, 'cy', { c1: 1, c2: [3], c3: [3, 2, 1] });
  const cySecond = await vote(voters.cy, 'cy', { c1: 3, c2: [3, 5], c3: [5, 4, 3] });

  // --- the juror authorizes an in-person voter, who votes at the kiosk; the quota is then used
  const juror = await console_('j', ['--workdir', join(dir, 'jury')]);
  assert.match(await act(juror, 'authorize'), /booth file/i);
  await snap(juror, 'juror-console');
  const before = await accepted();
  assert.match(await act(juror, 'authorize'), /quota/);
  assert.equal(await accepted(), before, 'an exhausted quota submits nothing');
  await juror.click('text=Open the kiosk booth for it');
  assert.match(await flash(juror), /kiosk booth started/);
  await juror.click('a.kiosk');
  await juror.waitForSelector('text=Your ballot').catch(async (e) => {
    console.log(juror.url(), await juror.content());
    throw e;
  });
  await juror.check('#c1-4');
  await juror.check('#c2-1');
  for (const [i, c] of [4, 5, 1].entries()) await juror.selectOption(`#c3r${i + 1}`, String(c));
  await juror.click('text=Review and encrypt');
  await juror.click('#cast');
  assert.match(await juror.locator('#status').textContent(), /On the chain and counted/);
  await snap(juror, 'kiosk-cast');

  // --- close, two of three trustees decrypt, publish
  assert.match(await act(council, 'close'), /voting closed/);
  assert.match(await act(trustees[0], 'decrypt'), /./);
  assert.match(await act(trustees[2], 'decrypt'), /./);
  assert.match(await act(council, 'publish'), /results of 'web' published/);

  // --- the node's public pages
  const pub = await open(`${nodeUrl}/elections/web`);
  await snap(pub, 'results', 'web-results.png');
  await axe(pub, 'results');
  const text = await pub.locator('main').textContent();
  assert.match(text, /4 ballots counted: remote voters 3, Table 1 1/);
  // Rector: Ada (ann), Grace (bob), Alan (cy's second ballot), Edsger (kiosk): 1 each.
  const rector = pub.locator('table', { hasText: 'Rector' }).first();
  for (const name of ['Ada', 'Grace', 'Alan', 'Edsger']) {
    await assert.doesNotReject(rector.locator('tr', { hasText: name }).first().textContent());
  }
  const rowOf = async (name) => (await rector.locator('tr', { hasText: name }).first().locator('td').allTextContents()).map((s) => s.trim());
  assert.deepEqual(await rowOf('Alan'), ['1', '1', '0']);
  assert.deepEqual(await rowOf('Edsger'), ['1', '0', '1']);
  assert.match(text, /✓ balanced/);
  await pub.fill('#r', cyFirst);
  await pub.click('button:has-text("Check")');
  await pub.waitForSelector('text=replaced by a later ballot');
  await snap(pub, 'receipt-replaced');
  await pub.goto(`${nodeUrl}/elections/web/receipt?r=${cySecond}`);
  await pub.waitForSelector('text=On the chain and counted');
  for (const [path, name, want] of [
    ['/', 'elections', 'Student union 2026'],
    ['/elections/web/verify', 'verifier', 'Every check passed'],
    ['/elections/web/verdicts', 'verdicts', 'Verdict bitmaps'],
    ['/blocks', 'blocks', 'Blocks, newest first'],
    ['/blocks/1', 'block', 'Commit certificate'],
    ['/light/5', 'light-client', 'Verified from genesis'],
  ]) {
    await pub.goto(nodeUrl + path);
    assert.match(await pub.locator('main').textContent(), new RegExp(want));
    await snap(pub, name);
    await axe(pub, name);
  }
  // The results page on a phone.
  const phone = await browser.newContext({ viewport: { width: 390, height: 844 } });
  const small = await phone.newPage();
  await small.goto(`${nodeUrl}/elections/web`);
  const wide = await small.evaluate(() => document.documentElement.scrollWidth);
  assert.ok(wide <= 400, `the page fits a phone's width (${wide}px)`);
  await snap(small, 'results-phone');

  // A form posted from another origin (the node's page) does nothing, even with the session's
  // cookie (the console's Origin check).
  const n = await accepted();
  const forged = await ctx.request.post(new URL('/act', council.url()).href, {
    headers: { Origin: nodeUrl },
    form: { action: 'close' },
  });
  assert.equal(forged.status(), 403);
  assert.equal(await accepted(), n);

  assert.deepEqual(a11y, [], 'axe-core finds no WCAG 2 A/AA violation');
  assert.deepEqual(blocked, [], 'no request left 127.0.0.1');
  assert.deepEqual(scriptErrors, []);
  await browser.close();
  console.log(`screenshots: ${SHOTS} (${shot} pages)`);
});
