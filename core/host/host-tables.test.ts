import { describe, expect, it } from 'vitest';
import { PhysicalMemory } from '../cpu/memory';
import { HostTables } from './host-tables';
import { i386Factory, LguestHost } from './lguest-user';
import { FakeCpu } from './testing/fake-cpu';
import { initedFakeGuest, writeDma, type FakeGuest } from './testing/fake-guest';

// Two LguestHost handles on one set of tables are what two worker threads of the workbench hold:
// each runs its own guest; the other's guest is only reachable through the tables and shared RAM.
function twoThreads(): { a: FakeGuest; b: FakeGuest; hostA: LguestHost; hostB: LguestHost } {
  const hostA = new LguestHost((m, o) => new FakeCpu(m, o));
  const hostB = new LguestHost((m, o) => new FakeCpu(m, o), HostTables.attach(hostA.tables.buffer));
  // Each thread's Launcher takes its guest's peer slot on the network first.
  expect(hostA.tables.acquirePeer(hostA.tables.region('net'))).toBe(0);
  expect(hostB.tables.acquirePeer(hostB.tables.region('net'))).toBe(1);
  const a = initedFakeGuest({
    host: hostA,
    sharedRam: true,
    sharedPages: [{ gpa: 0x10000, region: 'net', peerSlot: 0 }],
  });
  const b = initedFakeGuest({
    host: hostB,
    sharedRam: true,
    sharedPages: [{ gpa: 0x20000, region: 'net', peerSlot: 1 }],
  });
  for (const [host, g] of [
    [hostA, b],
    [hostB, a],
  ] as const) {
    const id = g.lg.state.guestid;
    host.addRemoteGuest(id, host.tables.guestGeneration(id), g.mem.ram);
  }
  return { a, b, hostA, hostB };
}

const dma = writeDma;

/** a binds one 64-byte receive buffer at 0x6000 on its page's key for irq 2; b sends 16 bytes to it. */
function bindAndSend(a: FakeGuest, b: FakeGuest, text = 'frame for a!!!!!'): void {
  dma(a, 0x30000, [[0x6000, 64]]);
  a.cpu.hypercall(12, 0x10008, 0x30000, (1 << 8) | 2);
  a.file.run({ budget: 2 });
  b.mem.ram.set(new TextEncoder().encode(text), 0x7000);
  dma(b, 0x30000, [[0x7000, 16]]);
  b.cpu.hypercall(13, 0x20008, 0x30000);
  b.file.run({ budget: 2 });
}

describe('one host, Guests on different threads (host tables)', () => {
  it('guest ids come from the one table: the second handle gets slot 1', () => {
    const { a, b, hostA } = twoThreads();
    expect([a.lg.state.guestid, b.lg.state.guestid]).toEqual([0, 1]);
    expect(hostA.tables.guestsInUse).toBe(2);
  });

  it("a send copies into the other thread's guest RAM; its interrupt waits for that thread", () => {
    const { a, b, hostA } = twoThreads();
    bindAndSend(a, b);
    expect(new TextDecoder().decode(a.mem.ram.subarray(0x6000, 0x6010))).toBe('frame for a!!!!!');
    expect(b.mem.ramView.getUint32(0x30000, true)).toBe(16); // sender's used_len
    expect(a.mem.ramView.getUint32(0x30000, true)).toBe(16); // receiver's used_len
    // Not yet in a's state: a's own thread folds it in (hasPendingWork, or its next run).
    expect(a.lg.state.irqsPending & 4).toBe(0);
    expect(a.file.hasPendingWork()).toBe(true);
    expect(a.lg.state.irqsPending & 4).toBe(4);
    const members = hostA.tables.members(hostA.tables.region('net'));
    expect(members.map((m) => [m.peerSlot, m.guestid, m.txFrames, m.txBytes, m.rxFrames, m.rxBytes])).toEqual([
      [0, 0, 0, 0, 1, 16],
      [1, 1, 1, 16, 0, 0],
    ]);
    expect(hostA.exportState().bindingSeq).toBe(1);
  });

  it('a receiver whose memory this thread was not shown is as good as unbound: nothing is copied', () => {
    const { a, b, hostB } = twoThreads();
    const id = a.lg.state.guestid;
    hostB.removeRemoteGuest(id, hostB.tables.guestGeneration(id));
    bindAndSend(a, b);
    expect(b.mem.ramView.getUint32(0x30000, true)).toBe(0);
    expect(a.mem.ramView.getUint32(0x30000, true)).toBe(0);
    a.lg.host.collectRemoteEvents(a.lg);
    expect(a.lg.state.irqsPending & 4).toBe(0);
  });

  it('a receiver that leaves frees its slot and bindings; the sender keeps running, its DMA finds nobody', () => {
    const { a, b, hostA } = twoThreads();
    dma(a, 0x30000, [[0x6000, 64]]);
    a.cpu.hypercall(12, 0x10008, 0x30000, (1 << 8) | 2);
    a.file.run({ budget: 2 });
    a.file.close();
    expect(hostA.tables.guestsInUse).toBe(1);
    dma(b, 0x30000, [[0x7000, 16]]);
    b.cpu.hypercall(13, 0x20008, 0x30000);
    b.file.run({ budget: 2 });
    expect(b.mem.ramView.getUint32(0x30000, true)).toBe(0); // as 2.6.23: used_len left as the sender set it
    expect(b.lg.state.dead).toBeNull();
  });

  it("a bad receive buffer kills the receiver on its own thread, with 2.6.23's message", () => {
    const { a, b } = twoThreads();
    dma(a, 0x30000, [[0x5f80, 256]]); // crosses a page
    a.cpu.hypercall(12, 0x10008, 0x30000, (1 << 8) | 2);
    a.file.run({ budget: 2 });
    dma(b, 0x30000, [[0x7000, 16]]);
    b.cpu.hypercall(13, 0x20008, 0x30000);
    b.file.run({ budget: 2 });
    expect(b.lg.state.dead).toBeNull();
    expect(a.lg.state.dead).toBeNull();
    expect(a.file.run({ budget: 2 })).toEqual({ kind: 'dead', reason: 'bad DMA entry: 256@0x5f80' });
  });

  it('16 guests across threads fill the host; the 17th gets ENOSPC', () => {
    const hostA = new LguestHost((m, o) => new FakeCpu(m, o));
    const hostB = new LguestHost((m, o) => new FakeCpu(m, o), HostTables.attach(hostA.tables.buffer));
    for (let i = 0; i < 16; i++) initedFakeGuest({ host: i % 2 ? hostA : hostB, ramBytes: 0x10000 });
    expect(() => initedFakeGuest({ host: hostB, ramBytes: 0x10000 })).toThrow('initialize failed: -28');
  });

  it('the service frees what a terminated thread held: the lock, its guest slots and peer slots', () => {
    const { a, b, hostA, hostB } = twoThreads();
    const t = hostA.tables;
    const r = t.region('net');
    // hostB's thread dies holding the lock.
    expect(Atomics.compareExchange(t.words, 0, 0, hostB.tables.owner)).toBe(0);
    expect(t.releaseOwner(hostB.tables.owner)).toEqual([b.lg.state.guestid]);
    expect(t.guestsInUse).toBe(1);
    expect(t.members(r).map((m) => m.owner)).toEqual([t.owner]);
    expect(a.lg.state.dead).toBeNull();
  });

  it('shared network pages merge: each thread keeps the entries the other wrote meanwhile', () => {
    const { a, b } = twoThreads();
    a.file.run({ budget: 1 }); // refresh
    b.file.run({ budget: 1 });
    a.mem.ram.set([2, 0, 0, 0, 0, 0], 0x10000); // a writes peer[0] during its run
    b.mem.ram.set([2, 0, 1, 0, 0, 0], 0x20006); // b writes peer[1] at the same time
    a.lg.host.publishSharedPages(a.lg);
    b.lg.host.publishSharedPages(b.lg);
    a.lg.host.refreshSharedPages(a.lg);
    b.lg.host.refreshSharedPages(b.lg);
    expect([...a.mem.ram.subarray(0x10000, 0x1000c)]).toEqual([2, 0, 0, 0, 0, 0, 2, 0, 1, 0, 0, 0]);
    expect([...b.mem.ram.subarray(0x20000, 0x2000c)]).toEqual([2, 0, 0, 0, 0, 0, 2, 0, 1, 0, 0, 0]);
  });
});

describe('a network member snapshotted and restored on the shared host (group snapshots)', () => {
  it("settling a paused guest brings in what the other thread left: the raised interrupt and the page's new entries", () => {
    const { a, b, hostA } = twoThreads();
    a.file.run({ budget: 1 });
    bindAndSend(a, b); // the frame is in a's RAM, its interrupt only in the tables
    b.mem.ram.set([2, 0, 1, 0, 0, 0], 0x20006);
    b.lg.host.publishSharedPages(b.lg);
    expect(a.file.exportState()!.guest.irqsPending & 4).toBe(0);
    expect([...a.mem.ram.subarray(0x10006, 0x1000c)]).toEqual([0, 0, 0, 0, 0, 0]);
    hostA.settleRemoteEvents(a.lg);
    expect(a.file.exportState()!.guest.irqsPending & 4).toBe(4);
    expect([...a.mem.ram.subarray(0x10006, 0x1000c)]).toEqual([2, 0, 1, 0, 0, 0]);
    // Folded once: the tables hold nothing more for a.
    expect(hostA.tables.takeIrqs(a.lg.state.guestid)).toBe(0);
  });

  it("a late 'left' for a guest slot that a restored guest took again leaves the new guest reachable", () => {
    const { a, b, hostB } = twoThreads();
    const id = a.lg.state.guestid;
    // The leaving guest had the slot one generation before a (the service's notice came late).
    hostB.removeRemoteGuest(id, hostB.tables.guestGeneration(id) - 1);
    bindAndSend(a, b);
    expect(new TextDecoder().decode(a.mem.ram.subarray(0x6000, 0x6010))).toBe('frame for a!!!!!');
  });

  it('a restored member takes its saved guest and peer slot; only its own network page is loaded', () => {
    const { a, hostA } = twoThreads();
    const t = hostA.tables;
    const net = t.region('net');
    t.loadRegion('other', new Uint8Array(4096).fill(7)); // another network, live on the host
    const saved = {
      host: hostA.exportState(),
      file: a.file.exportState()!,
      mem: a.mem.exportState(),
    };
    saved.host.regions = saved.host.regions.map((r) => ({
      name: r.name,
      bytes: new Uint8Array(4096).fill(r.name === 'net' ? 5 : 9),
    }));
    a.file.close();
    t.releasePeer(net, 0);
    expect(t.acquirePeer(net, 1)).toBe(-1); // b's
    t.bindingSeq = 40; // bindings made since the snapshot keep their order

    // A new thread (a restored worker) with a real CPU: the fake one has no state to carry over.
    const hostC = new LguestHost(i386Factory, HostTables.attach(t.buffer));
    expect(hostC.tables.acquirePeer(net, 0)).toBe(0);
    hostC.joinState(saved.host, ['net']);
    const f = hostC.open();
    const memory = PhysicalMemory.fromState(saved.mem);
    const cpu = i386Factory(memory, { readTsc: () => 0 }).exportState();
    expect(f.restore({ memory, state: saved.file, cpu, peerSlots: [0] })).toBe(16);
    expect(f.guest!.state.guestid).toBe(0);
    expect(t.members(net).map((m) => [m.peerSlot, m.guestid])).toEqual([
      [0, 0],
      [1, 1],
    ]);
    expect(t.page(net)[0]).toBe(5);
    expect(t.page(t.region('other'))[0]).toBe(7);
    expect(t.bindingSeq).toBe(40);
  });
});
