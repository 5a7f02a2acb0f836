// The lguest console (hvc0, device type 1, key 0): output DMAs go to the terminal, and keyboard
// input is queued and handed to the guest's bound buffer with GETDMA, used_len and an IRQ.

import { LGUEST_DEVICE_T_CONSOLE, type DeviceDescriptor } from './device-table';
import type { DeviceContext, LauncherDevice } from './device';
import { gatherDma, getUsedLen, readLauncherDma, scatterDma, setUsedLen, type LauncherDma } from './launcher-dma';

export const LGUEST_CONSOLE_DMA_KEY = 0;
export const CONSOLE_DEVICE_TYPE = LGUEST_DEVICE_T_CONSOLE;

/** The console's part of the machine state (for snapshots): undelivered input and its buffer. */
export interface ConsoleState {
  pendingInput: Uint8Array;
  lastFilled: number | null;
}

export class ConsoleDevice implements LauncherDevice {
  readonly watchKey = LGUEST_CONSOLE_DMA_KEY;
  /** Input not yet delivered, oldest first. Part of the machine's state. */
  private pending: Uint8Array[] = [];
  /**
   * The buffer we last filled. 2.6.23's GETDMA hands back the last buffer even when it is still
   * full (and overwrites its used_len), which loses unread input; we wait for the guest to empty
   * it instead.
   */
  private lastFilled: number | null = null;

  constructor(
    readonly desc: DeviceDescriptor,
    private readonly onOutput: (bytes: Uint8Array) => void,
  ) {}

  handleOutput(dma: LauncherDma, ctx: DeviceContext): number {
    const bytes = gatherDma(ctx.ram, dma);
    if (bytes.length > 0) this.onOutput(bytes);
    return bytes.length;
  }

  queueInput(bytes: Uint8Array): void {
    if (bytes.length > 0) this.pending.push(bytes.slice());
  }

  exportState(): ConsoleState {
    return { pendingInput: this.take(this.pendingInputBytes, false), lastFilled: this.lastFilled };
  }

  importState(state: ConsoleState): void {
    this.pending = state.pendingInput.length > 0 ? [state.pendingInput.slice()] : [];
    this.lastFilled = state.lastFilled;
  }

  get pendingInputBytes(): number {
    return this.pending.reduce((n, b) => n + b.length, 0);
  }

  /**
   * Delivers queued input into one free guest buffer, as much as its sections hold; the rest waits
   * for a later call. Returns true if an IRQ was raised. Throws InvalidGuestAddress for a buffer
   * whose sections lie outside guest memory.
   */
  deliverInput(ctx: DeviceContext): boolean {
    if (this.pending.length === 0) return false;
    if (
      this.lastFilled !== null &&
      this.lastFilled + 4 <= ctx.view.byteLength &&
      getUsedLen(ctx.view, this.lastFilled) !== 0
    ) {
      return false;
    }
    const gpa = ctx.file.getDma(LGUEST_CONSOLE_DMA_KEY);
    if (gpa < 0) return false; // no buffer bound yet: keep the input queued
    const dma = readLauncherDma(ctx.view, gpa, ctx.top);
    const irq = getUsedLen(ctx.view, gpa); // GETDMA left the IRQ number in used_len
    if (dma.capacity === 0) {
      ctx.log(`console: guest input buffer at 0x${gpa.toString(16)} has no room; input stays queued`);
      setUsedLen(ctx.view, gpa, 0);
      ctx.written(gpa, 4);
      return false;
    }
    const chunk = this.take(dma.capacity);
    const n = scatterDma(ctx.ram, dma, chunk);
    for (const s of dma.sections) ctx.written(s.addr, s.len);
    setUsedLen(ctx.view, gpa, n);
    ctx.written(gpa, 4);
    this.lastFilled = gpa;
    const r = ctx.file.sendIrq(irq);
    if (r < 0) ctx.log(`console: LHREQ_IRQ ${irq} failed (${r})`);
    return true;
  }

  /** The first max queued bytes, removed from the queue unless consume is false. */
  private take(max: number, consume = true): Uint8Array {
    const out = new Uint8Array(Math.min(max, this.pendingInputBytes));
    let at = 0;
    if (!consume) {
      for (const chunk of this.pending) {
        const n = Math.min(chunk.length, out.length - at);
        out.set(chunk.subarray(0, n), at);
        at += n;
      }
      return out;
    }
    while (at < out.length) {
      const head = this.pending[0]!;
      const n = Math.min(head.length, out.length - at);
      out.set(head.subarray(0, n), at);
      at += n;
      if (n === head.length) this.pending.shift();
      else this.pending[0] = head.subarray(n);
    }
    return out;
  }
}
