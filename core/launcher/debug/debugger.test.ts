// The debugger on the real demo guest: stopping, stepping and resuming change nothing (the state
// equals an undisturbed run's, byte for byte), breakpoints and watchpoints stop where they should,
// and reverse execution returns to earlier instructions exactly.

import { readFileSync } from 'node:fs';
import { describe, expect, it, vi } from 'vitest';
import { encodeMachineState, machineStateOf } from '../../snapshot/machine-snapshot';
import { resolveGuestFile } from '../kernel-path';
import { launchGuest, type Launcher } from '../launch';
import { Debugger, GRID, type DebugStatus } from './debugger';
import { disassemble } from './disassemble';
import { elfSymbols } from '../symbol-table';
import { readGdbRegister, readVirtual } from './guest-access';

const symbols = elfSymbols(new Uint8Array(readFileSync(resolveGuestFile('builtin:demo'))));
const addr = (name: string) => symbols.named(name)!.address;

/** Boot to well past the first prompt (about 0.96M instructions). */
const PROMPT = 1_500_000;
const END = 3_000_000;
const TYPED_AT = PROMPT;

async function boot(): Promise<{ guest: Launcher; output: () => string }> {
  let text = '';
  const guest = await launchGuest(
    { name: 'demo', kernel: 'builtin:demo', memoryMB: 32 },
    { consoleOutput: (b) => (text += new TextDecoder().decode(b)) },
    { bootEpochSeconds: 1_191_888_000 },
  );
  return { guest, output: () => text };
}

function stateBytes(g: Launcher): Uint8Array {
  return encodeMachineState(machineStateOf(g.exportMachineState()));
}

/** Runs a debugger until it stops (or the guest halts, when `idleOk`). */
function runUntilStop(d: Debugger, idleOk = false): DebugStatus {
  for (;;) {
    const r = d.run();
    if (r.state === 'stopped') return r;
    if (r.state === 'idle') {
      if (idleOk) return r;
      if (r.wakeAtNs === null) throw new Error(`halted for input at ${d.count}`);
      d.advanceClock(r.wakeAtNs);
    }
  }
}

/** Without a debugger: the same grid of steps, the same input, the same clock policy. */
function runPlain(g: Launcher, target: number, typed: { at: number; text: string }[]): void {
  const queue = [...typed];
  for (;;) {
    const now = g.instructionCount!;
    while (queue.length > 0 && queue[0]!.at <= now) g.consoleInput(new TextEncoder().encode(queue.shift()!.text));
    if (now >= target) return;
    const step = g.step(Math.min(GRID - (now % GRID), target - now));
    if (step.kind === 'dead') throw new Error(step.reason);
    if (step.kind === 'idle') {
      if (step.wakeAtNs === null) throw new Error('halted for input');
      g.advanceClockTo(step.wakeAtNs);
    }
  }
}

/** With a debugger attached: runs to the grid point `target` (stops on the way are answered). */
function runDebugged(d: Debugger, target: number, onStop: (d: Debugger) => void): void {
  d.runTo(0xffffffff);
  for (;;) {
    if (d.count >= target) return;
    const r = d.run(1);
    if (r.state === 'stopped') {
      onStop(d);
      continue;
    }
    if (r.state === 'idle') d.advanceClock(r.wakeAtNs!);
  }
}

describe('debugger', () => {
  it('is invisible: stops, steps and resumes leave the state byte-identical to an undisturbed run', async () => {
    const plain = await boot();
    runPlain(plain.guest, END, [{ at: TYPED_AT, text: 'echo hi\n' }]);

    const dbg = await boot();
    const d = new Debugger(dbg.guest, { events: { consoleOutput: () => {} }, timeline: null });
    runDebugged(d, TYPED_AT, () => d.runTo(0xffffffff));
    d.consoleInput(new TextEncoder().encode('echo hi\n'));
    // Break in the console driver every time it writes, and single-step a few instructions there.
    d.addBreakpoint(addr('console_write'));
    let stops = 0;
    runDebugged(d, END, () => {
      stops++;
      for (let i = 0; i < 3; i++) {
        d.stepInstruction();
        expect(runUntilStop(d).state).toBe('stopped');
      }
      d.resume();
    });
    expect(stops).toBeGreaterThan(2);
    expect(d.count).toBe(plain.guest.instructionCount);
    expect(dbg.output()).toBe(plain.output());
    expect(dbg.output()).toContain('hi');
    expect(Buffer.compare(stateBytes(d.machine), stateBytes(plain.guest))).toBe(0);
  }, 120_000);

  it('stops at breakpoints (with conditions and per address space) and steps over calls', async () => {
    const { guest } = await boot();
    const d = new Debugger(guest, { events: { consoleOutput: () => {} }, timeline: null });
    const bp = d.addBreakpoint(addr('console_write'));
    d.resume();
    const r = runUntilStop(d);
    expect(r).toEqual({ state: 'stopped', reason: { kind: 'breakpoint', id: bp.id, address: addr('console_write') } });
    expect(readGdbRegister(d.processor, 8)).toBe(addr('console_write'));
    // The same breakpoint does not fire again at the boundary it stopped at.
    const first = d.count;
    d.resume();
    runUntilStop(d);
    expect(d.count).toBeGreaterThan(first);
    // Step over: walk to the next CALL, then one step lands after it with the same stack.
    d.removeBreakpointsAt(addr('console_write'));
    while (readVirtual(d.lguest, d.processor.eip, 1)![0] !== 0xe8) {
      d.stepInstruction();
      runUntilStop(d);
    }
    const [eip, esp, callCount] = [d.processor.eip, readGdbRegister(d.processor, 4), d.count];
    d.stepOver();
    expect(runUntilStop(d)).toEqual({ state: 'stopped', reason: { kind: 'step' } });
    expect(d.processor.eip).toBe(eip + 5);
    expect(readGdbRegister(d.processor, 4)).toBe(esp);
    expect(d.count).toBeGreaterThan(callCount + 2);
    // A false condition never stops; a breakpoint in another address space neither.
    d.addBreakpoint(addr('console_write'), { condition: 'esp == 1' });
    d.addBreakpoint(addr('console_write'), { cr3: 0x12345000 });
    const target = d.count + 400_000;
    d.runTo(0xffffffff);
    while (d.count < target) {
      const s = d.run(1);
      expect(s.state).not.toBe('stopped');
      if (s.state === 'idle') break;
    }
  }, 60_000);

  for (const [mode, threshold] of [
    ['eager', 1],
    ['off', Infinity],
  ] as const) {
    it(`breakpoints stop at the counts a check at every instruction finds (compiler ${mode})`, async () => {
      /**
       * The first stops, resuming after each, and how many pieces the CPU ran in;
       * `perInstruction` adds a watchpoint that never fires (the hook then sees every instruction).
       */
      const stopsOf = async (perInstruction: boolean): Promise<{ stops: [number, number][]; pieces: number }> => {
        const { guest } = await boot();
        const d = new Debugger(guest, { events: { consoleOutput: () => {} }, timeline: null });
        d.processor.blockThreshold = threshold;
        const pieces = vi.spyOn(d.processor, 'run');
        d.addBreakpoint(addr('console_write'));
        d.addBreakpoint(addr('frame_alloc'));
        d.addBreakpoint(addr('console_write') + 5, { condition: 'esp != 0' });
        if (perInstruction) d.addWatchpoint(addr('cmd_halt'), 4, 'write');
        const out: [number, number][] = [];
        d.resume();
        while (out.length < 12) {
          const r = runUntilStop(d);
          if (r.state !== 'stopped' || r.reason.kind !== 'breakpoint') throw new Error(JSON.stringify(r));
          out.push([d.count, r.reason.address]);
          d.resume();
        }
        return { stops: out, pieces: pieces.mock.calls.length };
      };
      const fast = await stopsOf(false);
      const slow = await stopsOf(true);
      expect(fast.stops).toEqual(slow.stops);
      expect(new Set(fast.stops.map(([, a]) => a)).size).toBe(3);
      // Checked at every instruction: a piece each; the CPU's own breakpoints: a few per stop.
      expect(slow.pieces).toBeGreaterThan(fast.stops.at(-1)![0] - fast.stops[0]![0]);
      expect(fast.pieces).toBeLessThan(2000);
    }, 120_000);
  }

  it('watches a variable: the stop reports its old and new value', async () => {
    const { guest } = await boot();
    const d = new Debugger(guest, { events: { consoleOutput: () => {} }, timeline: null });
    d.addWatchpoint(addr('jiffies'), 4, 'write');
    d.resume();
    const r = runUntilStop(d);
    expect(r.state).toBe('stopped');
    if (r.state !== 'stopped' || r.reason.kind !== 'watchpoint') throw new Error(`stopped for ${JSON.stringify(r)}`);
    const old = new DataView(r.reason.old.buffer).getUint32(0, true);
    const now = new DataView(r.reason.now.buffer).getUint32(0, true);
    expect(now).toBe(old + 1);
    expect(readVirtual(d.lguest, addr('jiffies'), 4)).toEqual(r.reason.now);
  }, 60_000);

  it('breaks on a hypercall number and on an exit vector, before the host acts on them', async () => {
    const { guest } = await boot();
    const d = new Debugger(guest, { events: { consoleOutput: () => {} }, timeline: null });
    d.hypercallBreaks.add(13); // LHCALL_SEND_DMA: the console driver's output
    d.resume();
    expect(runUntilStop(d)).toEqual({ state: 'stopped', reason: { kind: 'hypercall', call: 13 } });
    expect(readGdbRegister(d.processor, 0)).toBe(13);
    d.hypercallBreaks.clear();
    d.exitBreaks.add(14); // a page fault the host sees (a shadow miss or the guest's own)
    d.resume();
    expect(runUntilStop(d)).toEqual({ state: 'stopped', reason: { kind: 'exit', vector: 14 } });
    const count = d.count;
    d.exitBreaks.clear();
    d.stepInstruction();
    expect(runUntilStop(d).state).toBe('stopped');
    expect(d.count).toBeGreaterThanOrEqual(count);
  }, 60_000);

  it('read watchpoints stop at an instruction whose memory operand reads the range', async () => {
    const { guest } = await boot();
    const d = new Debugger(guest, { events: { consoleOutput: () => {} }, timeline: null });
    d.addWatchpoint(addr('jiffies'), 4, 'read');
    d.resume();
    const r = runUntilStop(d);
    expect(r).toMatchObject({ state: 'stopped', reason: { kind: 'watchpoint', access: 'read' } });
    // The instruction about to run has a memory operand and is no plain store to it.
    const [ins] = disassemble(readVirtual(d.lguest, d.processor.eip, 16)!, d.processor.eip, 1, 'intel');
    expect(ins!.text).toContain('[');
    expect(ins!.text).not.toMatch(/^mov\s+(\w+ ptr )?\[/);
  }, 60_000);

  it('read and access watchpoints see stack operands: a RET reading the return address, a PUSH', async () => {
    const { guest } = await boot();
    const d = new Debugger(guest, { events: { consoleOutput: () => {} }, timeline: null });
    const entry = addr('console_write');
    d.addBreakpoint(entry);
    d.resume();
    runUntilStop(d);
    d.removeBreakpointsAt(entry);
    const esp = readGdbRegister(d.processor, 4);
    const count = d.count;
    // The second instruction pushes into the word 8 bytes below the entry's stack pointer.
    const pushes = d.addWatchpoint(esp - 8, 4, 'access');
    d.resume();
    expect(runUntilStop(d)).toMatchObject({ reason: { kind: 'watchpoint', id: pushes.id, access: 'access' } });
    expect([d.count, d.processor.eip]).toEqual([count + 1, entry + 1]);
    expect(readVirtual(d.lguest, entry + 1, 1)![0]! & 0xf8).toBe(0x50); // PUSH r32
    d.removeWatchpointsAt(esp - 8, 4, 'access');
    // Nothing else in console_write reads its return address: the RET does.
    const ret = d.addWatchpoint(esp, 4, 'read');
    d.resume();
    expect(runUntilStop(d)).toMatchObject({ reason: { kind: 'watchpoint', id: ret.id, access: 'read' } });
    expect(readVirtual(d.lguest, d.processor.eip, 1)![0]).toBe(0xc3);
    expect(readGdbRegister(d.processor, 4)).toBe(esp);
  }, 60_000);

  it('reverse-steps over a call to its CALL, and seeks to any count of the recorded window', async () => {
    const { guest } = await boot();
    const d = new Debugger(guest, {
      events: { consoleOutput: () => {} },
      timeline: { spacing: 300_000, budgetBytes: 64 * 1024 * 1024 },
    });
    d.addBreakpoint(addr('console_write'));
    d.resume();
    runUntilStop(d);
    d.removeBreakpointsAt(addr('console_write'));
    while (readVirtual(d.lguest, d.processor.eip, 1)![0] !== 0xe8) {
      d.stepInstruction();
      runUntilStop(d);
    }
    const atCall = { count: d.count, eip: d.processor.eip, state: stateBytes(d.machine) };
    d.stepOver();
    runUntilStop(d);
    expect(d.count).toBeGreaterThan(atCall.count + 2);
    const afterCall = { count: d.count, state: stateBytes(d.machine) };
    expect(d.reverseStepOver()).toEqual({ state: 'stopped', reason: { kind: 'step' } });
    expect([d.count, d.processor.eip]).toEqual([atCall.count, atCall.eip]);
    expect(Buffer.compare(stateBytes(d.machine), atCall.state)).toBe(0);
    // Without a call in the way it is one instruction back.
    d.stepInstruction();
    runUntilStop(d);
    d.reverseStepOver();
    expect(d.count).toBe(atCall.count);

    // Back into the past and forward again: the states are those the machine had there.
    expect(d.seek(afterCall.count)).toMatchObject({ state: 'stopped' });
    expect(d.count).toBe(afterCall.count);
    expect(Buffer.compare(stateBytes(d.machine), afterCall.state)).toBe(0);
    d.seek(atCall.count);
    expect(Buffer.compare(stateBytes(d.machine), atCall.state)).toBe(0);
    const early = d.timeline!.checkpoints[0]!.count + 12_345;
    d.seek(early);
    expect(d.count).toBe(early);
    d.seek(afterCall.count);
    expect(Buffer.compare(stateBytes(d.machine), afterCall.state)).toBe(0);
    expect(() => d.seek(d.recordedUntil + 1)).toThrow(/outside the recorded window/);
  }, 120_000);

  it('reverse-steps to the previous instruction exactly, and reverse-continues to the last hit', async () => {
    const { guest } = await boot();
    const d = new Debugger(guest, {
      events: { consoleOutput: () => {} },
      timeline: { spacing: 300_000, budgetBytes: 64 * 1024 * 1024 },
    });
    d.addBreakpoint(addr('console_write'));
    d.resume();
    runUntilStop(d);
    d.resume();
    runUntilStop(d);
    const hitAt = d.count;
    const hitState = stateBytes(d.machine);
    d.removeBreakpointsAt(addr('console_write'));
    const before: { count: number; eip: number; state: Uint8Array }[] = [];
    for (let i = 0; i < 5; i++) {
      before.push({ count: d.count, eip: d.processor.eip, state: stateBytes(d.machine) });
      d.stepInstruction();
      runUntilStop(d);
    }
    for (let i = 4; i >= 0; i--) {
      expect(d.reverseStep().state).toBe('stopped');
      expect(d.count).toBe(before[i]!.count);
      expect(d.processor.eip).toBe(before[i]!.eip);
      expect(Buffer.compare(stateBytes(d.machine), before[i]!.state)).toBe(0);
    }
    // Two more hits forward, a few steps past the second; reverse-continue finds them newest first.
    d.addBreakpoint(addr('console_write'));
    const hits: { count: number; state: Uint8Array }[] = [];
    for (let i = 0; i < 2; i++) {
      d.resume();
      expect(runUntilStop(d)).toMatchObject({ reason: { kind: 'breakpoint' } });
      hits.push({ count: d.count, state: stateBytes(d.machine) });
    }
    for (let i = 0; i < 3; i++) {
      d.stepInstruction();
      runUntilStop(d);
    }
    for (const hit of [hits[1]!, hits[0]!, { count: hitAt, state: hitState }]) {
      expect(d.reverseContinue()).toMatchObject({ reason: { kind: 'breakpoint', address: addr('console_write') } });
      expect(d.count).toBe(hit.count);
      expect(Buffer.compare(stateBytes(d.machine), hit.state)).toBe(0);
    }
  }, 120_000);
});
