// The fault rows CSV: a header, one CRLF line per row, RFC 4180 quoting of text with commas and quotes,
// hazards with their unmap, and blocks joined without a seam (rows past one encoding block).
import { describe, expect, it } from 'vitest';
import type { FaultRow } from '../shared/api';
import { faultRowsCsv } from './fault-rows-csv';

const fault: FaultRow = {
  row: 0,
  kind: 'fault',
  index: 0,
  time: 4100,
  bdf: '0000:00:14.0',
  pasid: null,
  access: 'read',
  address: '0x3e300000',
  reason: 6,
  reasonText: 'PTE Read access is not set',
  stage: 'second-level',
  recording: 'recorded',
  classes: ['firmware-reserved-memory', 'unknown-requester'],
  dmesg: 'DMAR: [DMA Read NO_PASID] Request device [00:14.0] fault addr 0x3e300000, "quoted"',
  profile: 'vtd-spec',
};
const hazard: FaultRow = {
  ...fault,
  row: 1,
  kind: 'hazard',
  index: 0,
  pasid: 3,
  access: 'write',
  reason: 0,
  reasonText: 'use-after-unmap (stale IOTLB)',
  stage: 'iotlb',
  recording: 'not-recorded',
  classes: [],
  dmesg: 'x',
  hazard: { unmapOrigin: 'trace.jsonl:26', unmapTime: 9000, age: 500 },
};

const text = (b: Uint8Array): string => new TextDecoder().decode(b);

describe('faultRowsCsv', () => {
  it('writes a header and one quoted line per fault or hazard', () => {
    const lines = text(faultRowsCsv(2, (k) => [fault, hazard][k]!)).split('\r\n');
    expect(lines).toEqual([
      'row,kind,index,time_ns,bdf,pasid,access,address,reason,reason_text,stage,recording,classes,unmap_origin,unmap_time_ns,dmesg',
      '0,fault,0,4100,0000:00:14.0,,read,0x3e300000,0x06,PTE Read access is not set,second-level,recorded,' +
        'firmware-reserved-memory;unknown-requester,,,' +
        '"DMAR: [DMA Read NO_PASID] Request device [00:14.0] fault addr 0x3e300000, ""quoted"""',
      '1,hazard,0,4100,0000:00:14.0,3,write,0x3e300000,0x00,use-after-unmap (stale IOTLB),iotlb,not-recorded,,trace.jsonl:26,9000,x',
      '',
    ]);
  });

  it('is only the header for no rows, and has every row past a block', () => {
    expect(text(faultRowsCsv(0, () => fault))).toBe(
      'row,kind,index,time_ns,bdf,pasid,access,address,reason,reason_text,stage,recording,classes,unmap_origin,unmap_time_ns,dmesg\r\n',
    );
    const n = 40_000;
    const lines = text(faultRowsCsv(n, (k) => ({ ...fault, row: k, index: k, dmesg: 'd' }))).split('\r\n');
    expect(lines).toHaveLength(n + 2);
    expect(lines[n]).toMatch(/^39999,fault,39999,/);
    expect(lines.slice(1, -1).every((l, k) => l.startsWith(`${k},fault,${k},`))).toBe(true);
  });
});
