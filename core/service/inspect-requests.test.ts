// Inspector queries between the service and a worker: answers settle by sequence number, refusals
// keep their code, and a worker that goes away fails its open queries instead of leaving them hanging.

import { EventEmitter } from 'node:events';
import type { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { ServiceError } from './errors';
import { InspectRequests } from './inspect-requests';
import type { CountersView } from './inspector-types';
import type { ToWorker } from './worker-protocol';

class FakeWorker extends EventEmitter {
  sent: ToWorker[] = [];
  postMessage(msg: ToWorker): void {
    this.sent.push(msg);
  }
}

function seqOf(w: FakeWorker, i: number): number {
  const m = w.sent[i]!;
  if (m.type !== 'inspect') throw new Error('not an inspect message');
  return m.seq;
}

describe('InspectRequests', () => {
  it('settles each query with the reply of its own sequence number', async () => {
    const req = new InspectRequests();
    const w = new FakeWorker();
    const a = req.send(w as unknown as Worker, { kind: 'counters' });
    const b = req.send(w as unknown as Worker, { kind: 'memory', space: 'physical', address: 0, length: 4 });
    expect(w.sent.map((m) => m.type)).toEqual(['inspect', 'inspect']);
    expect(seqOf(w, 0)).not.toBe(seqOf(w, 1));
    const counters = { budgetExits: 7 } as CountersView;
    req.settle(seqOf(w, 1), { ok: false, code: 'out-of-range', message: 'outside guest RAM' });
    req.settle(seqOf(w, 0), { ok: true, result: counters });
    req.settle(999, { ok: true, result: counters }); // unknown: ignored
    await expect(a).resolves.toBe(counters);
    const err = await b.catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ServiceError);
    expect(err).toMatchObject({ code: 'out-of-range', message: 'outside guest RAM' });
  });

  it("fails only the gone worker's open queries, with bad-state", async () => {
    const req = new InspectRequests();
    const gone = new FakeWorker();
    const alive = new FakeWorker();
    const lost = req.send(gone as unknown as Worker, { kind: 'registers' });
    const kept = req.send(alive as unknown as Worker, { kind: 'descriptors' });
    req.dropWorker(gone as unknown as Worker, 'machine "demo" stopped before answering');
    await expect(lost).rejects.toMatchObject({ code: 'bad-state', message: 'machine "demo" stopped before answering' });
    req.settle(seqOf(alive, 0), { ok: true, result: { budgetExits: 1 } as CountersView });
    await expect(kept).resolves.toMatchObject({ budgetExits: 1 });
  });
});
