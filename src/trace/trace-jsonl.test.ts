import { describe, expect, it } from 'vitest';
import { parseTraceJsonl } from './trace-jsonl';

const header = '{"format":"iommu-lab/trace-jsonl","version":1,"platform":"p.json"}';

describe('parseTraceJsonl', () => {
  it('reads the header and events', () => {
    const t = parseTraceJsonl(
      [
        header,
        '{"op":"dma_map","t":0,"bdf":"0000:00:14.0","iova":"0x10000","length":"0x1000","prot":"rw"}',
        '{"op":"dma","t":5,"bdf":"0000:00:14.0","addr":"0x10010","len":64,"access":"write","pasid":3}',
      ].join('\n'),
      'x.jsonl',
    );
    expect(t.errors).toEqual([]);
    expect(t.header.platform).toBe('p.json');
    expect(t.events).toEqual([
      {
        kind: 'control',
        time: 0,
        origin: 'x.jsonl:2',
        event: { op: 'dma_map', t: 0, bdf: '0000:00:14.0', iova: 0x10000n, length: 0x1000n, prot: 'rw' },
      },
      {
        kind: 'dma',
        time: 5,
        requesterId: 0xa0,
        pasid: 3,
        addr: 0x10010,
        len: 64,
        write: true,
        atomic: false,
        tbit: 0,
        at: 0,
        exec: false,
        priv: false,
      },
    ]);
  });
  it('reads the TLP attributes: atomic, T bit, AT, execute and privileged', () => {
    const t = parseTraceJsonl(
      [
        header,
        '{"op":"dma","t":1,"bdf":"16:00.0","addr":"0x1000","len":8,"access":"atomic","tbit":1,"at":"translated","exec":true,"priv":true}',
      ].join('\n'),
      'a.jsonl',
    );
    expect(t.errors).toEqual([]);
    expect(t.events[0]).toMatchObject({ write: true, atomic: true, tbit: 1, at: 2, exec: true, priv: true });
  });
  it('reports each bad line with file and line number and keeps the lines after it', () => {
    const t = parseTraceJsonl(
      [
        header,
        '{"op":"dma","t":1,"bdf":"00:14.0","addr":"0x1000","len":4,"access":"read"}',
        '{"op":"dma",',
        '{"op":"fly","t":2}',
        '{"op":"dma","t":3,"bdf":"00:99.0","addr":"0x1000","len":4,"access":"read"}',
        '{"op":"dma","t":4,"bdf":"00:14.0","addr":"0x20000000000000","len":4,"access":"read"}',
        '{"op":"dma","t":0,"bdf":"00:14.0","addr":"0x1000","len":4,"access":"read"}',
        '{"op":"dma","t":9,"bdf":"00:14.0","addr":"0x1000","len":4,"access":"write"}',
      ].join('\n'),
      'bad.jsonl',
    );
    expect(t.errors.map((e) => [e.file, e.line])).toEqual([
      ['bad.jsonl', 3],
      ['bad.jsonl', 4],
      ['bad.jsonl', 5],
      ['bad.jsonl', 6],
      ['bad.jsonl', 7],
    ]);
    expect(t.errors[2]!.message).toContain('not a PCI address');
    expect(t.errors[3]!.message).toContain('below 2^53');
    expect(t.errors[4]!.message).toContain('goes back');
    expect(t.events.map((e) => e.time)).toEqual([1, 9]);
  });
  it('says so when the header is missing', () => {
    const t = parseTraceJsonl('{"op":"dma","t":1}', 'h.jsonl');
    expect(t.errors[0]).toMatchObject({ line: 1 });
    expect(t.errors[0]!.message).toContain('header');
  });
});
