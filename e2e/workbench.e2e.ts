// The workbench in browser mode, driven in Chromium the way a person uses it: write a machine config
// in the form and in Monaco, save, reload, see schema errors at the fields, start a machine.

import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import NodeWebSocket from 'ws';
import { artifact, openWorkbench, type Workbench } from './helpers';

let wb: Workbench;
let page: Page;

beforeAll(async () => {
  wb = await openWorkbench('lguest-e2e-', {
    // Edits in Monaco are pasted, as a person replacing the document would (typing would auto-indent).
    clipboard: true,
  });
  page = wb.page;
});

afterAll(async () => {
  await wb?.close();
});

/** The text Monaco shows (its rendered lines; fine for documents that fit the viewport). */
async function monacoText(): Promise<string> {
  const lines = await page.locator('[data-testid="json-editor"] .view-line').allTextContents();
  return lines.join('\n').replace(/\u00a0/g, ' ');
}

/** Replaces the whole Monaco document as a user would: select all, paste. */
async function setMonacoText(text: string): Promise<void> {
  await page.evaluate((t) => navigator.clipboard.writeText(t), text);
  await page.locator('[data-testid="json-editor"] .view-lines').click();
  await page.keyboard.press('Control+A');
  await page.keyboard.press('Control+V');
}

function machineItem(id: string) {
  return page.locator(`[data-machine="${id}"]`);
}

describe('workbench in browser mode', () => {
  it('opens with the demo machine listed', async () => {
    await expect.poll(() => machineItem('demo').count(), { timeout: 20_000 }).toBe(1);
    await expect.poll(() => page.locator('[data-testid="machine-state"]').textContent()).toBe('stopped');
    await page.screenshot({ path: artifact('01-shell.png') });
  });

  it('creates a config in the form, shows it in Monaco, takes edits from Monaco back into the form, saves', async () => {
    await page.getByRole('button', { name: '+ New machine' }).click();
    await page.waitForSelector('[data-testid="json-editor"] .view-line');
    await page.fill('#f-name', 'alpha');
    await page.fill('#f-kernel', '/images/vmlinux-2.6.23');
    await page.fill('#f-symbols', '/images/System.map-2.6.23');
    await page.fill('#f-memory', '64');
    await page.fill('#f-cmdline', 'console=hvc0 root=/dev/lgba');
    await page.getByRole('button', { name: '+ Add disk' }).click();
    await page.getByLabel('Disk 1 image path').fill('/images/root.img');
    await page.getByRole('checkbox').first().check();
    await page.getByRole('button', { name: '+ Join network' }).click();

    await expect.poll(monacoText).toContain('"name": "alpha"');
    const shown = await monacoText();
    expect(shown).toContain('"memoryMB": 64');
    expect(shown).toContain('"path": "/images/root.img"');
    expect(shown).toContain('"readOnly": true');
    expect(shown).toContain('"lan0"');
    expect(shown).toContain('"symbols": "/images/System.map-2.6.23"');
    await page.screenshot({ path: artifact('02-config-form-and-monaco.png') });

    // Now edit in Monaco: the form follows.
    const edited = {
      name: 'alpha',
      kernel: '/images/vmlinux-2.6.23',
      memoryMB: 128,
      cmdline: 'console=hvc0 root=/dev/lgba init=/bin/sh',
      blockDevices: [{ path: '/images/root.img', readOnly: true }],
      networks: ['lan0'],
    };
    await setMonacoText(JSON.stringify(edited, null, 2));
    await expect.poll(() => page.inputValue('#f-memory')).toBe('128');
    expect(await page.inputValue('#f-cmdline')).toBe('console=hvc0 root=/dev/lgba init=/bin/sh');
    expect(await page.inputValue('#f-symbols')).toBe('');

    const create = page.getByRole('button', { name: 'Create', exact: true });
    await expect.poll(() => create.isEnabled()).toBe(true);
    await create.click();
    await expect.poll(() => machineItem('alpha').count()).toBe(1);
    const file = join(wb.mode.configDir, 'alpha.json');
    await expect.poll(() => existsSync(file)).toBe(true);
    expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual(edited);
  });

  it('lists the saved config after a reload', async () => {
    await page.reload();
    await expect.poll(() => machineItem('alpha').count(), { timeout: 20_000 }).toBe(1);
    await machineItem('alpha').locator('button').click();
    await page.getByRole('tab', { name: 'Config' }).click();
    await expect.poll(() => page.inputValue('#f-memory')).toBe('128');
    expect(await page.inputValue('#f-name')).toBe('alpha');
  });

  it('shows a schema error at the field for an invalid edit, and does not save it', async () => {
    const file = join(wb.mode.configDir, 'alpha.json');
    const before = readFileSync(file, 'utf8');
    await setMonacoText(before.replace('"memoryMB": 128', '"memoryMB": 5000'));
    const memoryField = page.locator('.field[data-pointer="/memoryMB"]');
    await expect.poll(() => memoryField.locator('.field-error').textContent()).toBe('must be <= 1024');
    const save = page.getByRole('button', { name: 'Save', exact: true });
    expect(await save.isDisabled()).toBe(true);
    // Monaco's JSON service knows the schema too: it squiggles the same value.
    await expect
      .poll(() => page.locator('[data-testid="json-editor"] .squiggly-error').count(), { timeout: 15_000 })
      .toBeGreaterThan(0);
    await page.screenshot({ path: artifact('03-invalid-field.png') });
    // Even a keyboard submit of the form is refused while invalid.
    await page.focus('#f-name');
    await page.keyboard.press('Enter');
    await new Promise((r) => setTimeout(r, 300));
    expect(readFileSync(file, 'utf8')).toBe(before);
    // A form-side fix clears it.
    await page.fill('#f-memory', '96');
    await expect.poll(() => memoryField.locator('.field-error').count()).toBe(0);
    await expect.poll(() => save.isEnabled()).toBe(true);
  });

  it('lists a corrupt config file with its error instead of dropping it', async () => {
    writeFileSync(join(wb.mode.configDir, 'broken.json'), '{ "name": "broken", "kernel": ');
    await page.reload();
    await expect.poll(() => machineItem('broken').count(), { timeout: 20_000 }).toBe(1);
    expect(await machineItem('broken').locator('.badge').textContent()).toBe('invalid');
    expect(await machineItem('broken').locator('.machine-error').textContent()).toMatch(/JSON syntax error/);
    expect(readFileSync(join(wb.mode.configDir, 'broken.json'), 'utf8')).toBe('{ "name": "broken", "kernel": ');
    // Opening it shows the file as it is, with the error, ready to be repaired.
    await machineItem('broken').locator('button').click();
    await expect.poll(monacoText).toContain('"name": "broken", "kernel":');
    expect(await page.locator('[data-testid="general-errors"]').textContent()).toMatch(/JSON syntax error/);
    await page.screenshot({ path: artifact('05-corrupt-config.png') });
  });

  it('deletes a config after confirmation', async () => {
    await machineItem('alpha').locator('button').click();
    await page.getByRole('tab', { name: 'Config' }).click();
    await page.getByRole('button', { name: 'Delete…' }).click();
    await page.getByRole('button', { name: 'Delete', exact: true }).click();
    await expect.poll(() => machineItem('alpha').count()).toBe(0);
    expect(existsSync(join(wb.mode.configDir, 'alpha.json'))).toBe(false);
  });

  it('starts the demo machine and reports what it really does', async () => {
    await machineItem('demo').locator('button').click();
    await page.getByRole('tab', { name: 'Console' }).click();
    await page.getByRole('button', { name: '▶ Start' }).click();
    const state = page.locator('[data-testid="machine-state"]');
    await expect.poll(() => state.textContent(), { timeout: 30_000 }).toMatch(/^(running|idle|halted|dead)$/);
    if ((await state.textContent()) === 'dead') {
      // The emulator is not complete yet: the app must say why instead of pretending.
      const note = await page.locator('.console-note-dead').textContent();
      expect(note).toMatch(/The machine is dead: \S/);
    }
    if ((await state.textContent()) !== 'dead') {
      // A live guest: keystrokes reach it and its answer streams back into the terminal.
      const rows = page.locator('[data-testid="terminal"] .xterm-rows');
      await expect.poll(() => rows.textContent(), { timeout: 30_000 }).toMatch(/\$\s*$/m);
      await page.locator('[data-testid="terminal"]').click();
      await page.keyboard.type('echo workbench-e2e-ok\r', { delay: 20 });
      await expect
        .poll(async () => ((await rows.textContent()) ?? '').split('workbench-e2e-ok').length - 1, { timeout: 20_000 })
        .toBeGreaterThanOrEqual(2);
      await page.getByRole('button', { name: 'Pause' }).click();
      await expect.poll(() => state.textContent()).toBe('paused');
      await page.getByRole('button', { name: 'Resume' }).click();
      await expect.poll(() => state.textContent()).not.toBe('paused');
    }
    await new Promise((r) => setTimeout(r, 500));
    await page.screenshot({ path: artifact('04-console.png') });
    if ((await state.textContent()) !== 'dead') {
      await page.getByRole('button', { name: '■ Stop' }).click();
      await expect.poll(() => state.textContent()).toBe('stopped');
    }
  });

  it('had no errors in the page (CSP included)', () => {
    expect(wb.pageErrors).toEqual([]);
  });
});

describe('browser-mode WebSocket guard', () => {
  function tryConnect(query: string): Promise<number> {
    return new Promise((resolve) => {
      const ws = new NodeWebSocket(`ws://127.0.0.1:${wb.mode.server.port}/api${query}`, {
        headers: { Origin: `http://127.0.0.1:${wb.mode.server.port}` },
      });
      ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
      ws.on('open', () => {
        ws.close();
        resolve(101);
      });
      ws.on('error', () => resolve(-1));
    });
  }

  it('rejects a missing or wrong token with 401 and accepts the right one', async () => {
    expect(await tryConnect('')).toBe(401);
    expect(await tryConnect('?token=wrong')).toBe(401);
    expect(await tryConnect(`?token=${wb.mode.server.token}`)).toBe(101);
  });

  it('keeps a page without the token from talking to the API', async () => {
    const result = await page.evaluate(async (port) => {
      return new Promise<string>((resolve) => {
        const ws = new WebSocket(`ws://127.0.0.1:${port}/api`);
        ws.onopen = () => resolve('open');
        ws.onerror = () => resolve('refused');
      });
    }, wb.mode.server.port);
    expect(result).toBe('refused');
  });
});
