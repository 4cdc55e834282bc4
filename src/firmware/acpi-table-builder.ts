// Builds ACPI DMAR and IVRS tables byte by byte from a description: used by tests (tables with exactly
// the defects a lint check looks for), by the iasl comparison (binaries covering every structure and
// entry kind, disassembled by iasl -d) and by the fuzz tests. Lengths and the checksum are computed;
// `fixLength: false` / `checksum` let a test write wrong ones on purpose. Pure.

export interface HeaderOptions {
  revision?: number;
  oemId?: string;
  oemTableId?: string;
  oemRevision?: number;
  creatorId?: string;
  creatorRevision?: number;
  /** override the computed checksum byte */
  checksum?: number;
  /** override the Length field */
  length?: number;
}

class Out {
  bytes: number[] = [];
  u8(v: number): this {
    this.bytes.push(v & 0xff);
    return this;
  }
  u16(v: number): this {
    return this.u8(v).u8(v >> 8);
  }
  u32(v: number): this {
    return this.u16(v & 0xffff).u16(v >>> 16);
  }
  u64(v: bigint | number): this {
    const b = BigInt(v);
    return this.u32(Number(b & 0xffffffffn)).u32(Number((b >> 32n) & 0xffffffffn));
  }
  text(s: string, n: number): this {
    for (let i = 0; i < n; i++) this.u8(i < s.length ? s.charCodeAt(i) : 0);
    return this;
  }
  raw(b: ArrayLike<number>): this {
    for (let i = 0; i < b.length; i++) this.u8(b[i]!);
    return this;
  }
  done(): Uint8Array {
    return Uint8Array.from(this.bytes);
  }
}

export function acpiTable(signature: string, body: Uint8Array, o: HeaderOptions = {}): Uint8Array {
  const t = new Out()
    .text(signature, 4)
    .u32(o.length ?? 36 + body.length)
    .u8(o.revision ?? 1)
    .u8(0)
    .text(o.oemId ?? 'IOMMUL', 6)
    .text(o.oemTableId ?? 'TESTTBL ', 8)
    .u32(o.oemRevision ?? 1)
    .text(o.creatorId ?? 'TEST', 4)
    .u32(o.creatorRevision ?? 1)
    .raw(body)
    .done();
  let sum = 0;
  for (const b of t) sum = (sum + b) & 0xff;
  t[9] = o.checksum ?? (0x100 - sum) & 0xff;
  return t;
}

// ---------------------------------------------------------------------------------------------------
// DMAR

export interface ScopeSpec {
  type: number;
  bus: number;
  path: [number, number][];
  enumerationId?: number;
  flags?: number;
  /** override the entry length */
  length?: number;
}

export function scope(s: ScopeSpec): Uint8Array {
  const o = new Out()
    .u8(s.type)
    .u8(s.length ?? 6 + 2 * s.path.length)
    .u8(s.flags ?? 0)
    .u8(0)
    .u8(s.enumerationId ?? 0)
    .u8(s.bus);
  for (const [d, f] of s.path) o.u8(d).u8(f);
  return o.done();
}

function structure(type: number, fixed: Out, scopes: Uint8Array[] = [], length?: number): Uint8Array {
  const body = new Out().raw(fixed.done());
  for (const s of scopes) body.raw(s);
  const b = body.done();
  return new Out()
    .u16(type)
    .u16(length ?? 4 + b.length)
    .raw(b)
    .done();
}

export function drhd(o: {
  flags?: number;
  size?: number;
  segment?: number;
  base: bigint;
  scopes?: Uint8Array[];
  length?: number;
}): Uint8Array {
  return structure(
    0,
    new Out()
      .u8(o.flags ?? 0)
      .u8(o.size ?? 0)
      .u16(o.segment ?? 0)
      .u64(o.base),
    o.scopes,
    o.length,
  );
}

export function rmrr(o: {
  segment?: number;
  base: bigint;
  end: bigint;
  scopes?: Uint8Array[];
  length?: number;
}): Uint8Array {
  return structure(
    1,
    new Out()
      .u16(0)
      .u16(o.segment ?? 0)
      .u64(o.base)
      .u64(o.end),
    o.scopes,
    o.length,
  );
}

export function atsr(o: { flags?: number; segment?: number; scopes?: Uint8Array[] }): Uint8Array {
  return structure(
    2,
    new Out()
      .u8(o.flags ?? 0)
      .u8(0)
      .u16(o.segment ?? 0),
    o.scopes,
  );
}

export function rhsa(o: { base: bigint; proximityDomain?: number }): Uint8Array {
  return structure(
    3,
    new Out()
      .u32(0)
      .u64(o.base)
      .u32(o.proximityDomain ?? 0),
  );
}

export function andd(o: { deviceNumber: number; name: string; terminate?: boolean }): Uint8Array {
  const f = new Out().u8(0).u8(0).u8(0).u8(o.deviceNumber);
  f.text(o.name, o.name.length);
  if (o.terminate !== false) f.u8(0);
  return structure(4, f);
}

export function satc(o: { flags?: number; segment?: number; scopes?: Uint8Array[] }): Uint8Array {
  return structure(
    5,
    new Out()
      .u8(o.flags ?? 0)
      .u8(0)
      .u16(o.segment ?? 0),
    o.scopes,
  );
}

export function sidp(o: { segment?: number; scopes?: Uint8Array[] }): Uint8Array {
  return structure(6, new Out().u16(0).u16(o.segment ?? 0), o.scopes);
}

/** A structure of any type (for unknown types), with `payload` after the 4-byte header. */
export function rawStructure(type: number, payload: ArrayLike<number>, length?: number): Uint8Array {
  return structure(type, new Out().raw(payload), [], length);
}

export function dmar(
  o: { haw?: number; flags?: number; structures: Uint8Array[] } & HeaderOptions,
): Uint8Array {
  const body = new Out()
    .u8(o.haw ?? 38)
    .u8(o.flags ?? 1)
    .raw(new Uint8Array(10));
  for (const s of o.structures) body.raw(s);
  return acpiTable('DMAR', body.done(), o);
}

// ---------------------------------------------------------------------------------------------------
// IVRS

/** A 4-byte device entry (types 00h-3Fh). */
export function dev4(type: number, devid: number, setting = 0): Uint8Array {
  return new Out().u8(type).u16(devid).u8(setting).done();
}

/** An 8-byte device entry (types 40h-7Fh): 4 bytes after type, devid, setting. */
export function dev8(type: number, devid: number, setting: number, ext: number): Uint8Array {
  return new Out().u8(type).u16(devid).u8(setting).u32(ext).done();
}

/** Alias entries (42h select, 43h range start): byte 4 reserved, bytes 5-6 the source devid. */
export function alias(type: 0x42 | 0x43, devid: number, setting: number, source: number): Uint8Array {
  return new Out().u8(type).u16(devid).u8(setting).u8(0).u16(source).u8(0).done();
}

/** Special device (48h): handle, source devid, variety 1 IOAPIC / 2 HPET. */
export function special(handle: number, source: number, variety: number, setting = 0): Uint8Array {
  return new Out().u8(0x48).u16(0).u8(setting).u8(handle).u16(source).u8(variety).done();
}

/** ACPI HID device (F0h): HID and CID 8 bytes each, UID format and length, UID. */
export function hidEntry(o: {
  devid: number;
  setting?: number;
  hid: string | bigint;
  cid?: string | bigint;
  uidFormat: number;
  uid?: string | bigint;
  uidLength?: number;
}): Uint8Array {
  const out = new Out()
    .u8(0xf0)
    .u16(o.devid)
    .u8(o.setting ?? 0);
  const id = (v: string | bigint | undefined) => (typeof v === 'string' ? out.text(v, 8) : out.u64(v ?? 0n));
  id(o.hid);
  id(o.cid);
  let uidBytes: number[] = [];
  if (typeof o.uid === 'string') uidBytes = Array.from(o.uid, (c) => c.charCodeAt(0));
  else if (typeof o.uid === 'bigint') {
    const n = o.uidLength ?? 8;
    for (let i = 0; i < n; i++) uidBytes.push(Number((o.uid >> BigInt(8 * i)) & 0xffn));
  }
  out
    .u8(o.uidFormat)
    .u8(o.uidLength ?? uidBytes.length)
    .raw(uidBytes);
  return out.done();
}

export function ivhd(o: {
  type: 0x10 | 0x11 | 0x40 | number;
  flags?: number;
  devid: number;
  capOffset?: number;
  base: bigint;
  segment?: number;
  info?: number;
  /** type 10h: IOMMU feature reporting; 11h/40h: IOMMU attributes */
  attributes?: number;
  efr?: bigint;
  efr2?: bigint;
  entries?: Uint8Array[];
  length?: number;
}): Uint8Array {
  const body = new Out()
    .u16(o.devid)
    .u16(o.capOffset ?? 0x40)
    .u64(o.base)
    .u16(o.segment ?? 0)
    .u16(o.info ?? 0)
    .u32(o.attributes ?? 0);
  if (o.type !== 0x10) body.u64(o.efr ?? 0n).u64(o.efr2 ?? 0n);
  for (const e of o.entries ?? []) body.raw(e);
  const b = body.done();
  return new Out()
    .u8(o.type)
    .u8(o.flags ?? 0)
    .u16(o.length ?? 4 + b.length)
    .raw(b)
    .done();
}

export function ivmd(o: {
  type: 0x20 | 0x21 | 0x22 | number;
  flags: number;
  devid?: number;
  aux?: number;
  segment?: number;
  start: bigint;
  length: bigint;
}): Uint8Array {
  return new Out()
    .u8(o.type)
    .u8(o.flags)
    .u16(32)
    .u16(o.devid ?? 0)
    .u16(o.aux ?? 0)
    .u16(o.segment ?? 0)
    .raw(new Uint8Array(6))
    .u64(o.start)
    .u64(o.length)
    .done();
}

export function ivrs(o: { ivinfo?: number; blocks: Uint8Array[] } & HeaderOptions): Uint8Array {
  const body = new Out().u32(o.ivinfo ?? 0x00203041).u64(0);
  for (const b of o.blocks) body.raw(b);
  return acpiTable('IVRS', body.done(), { revision: 2, ...o });
}
