// DMA aliases on the server sample: the UART at 02:01.0 sits behind the AST1150 PCIe-to-PCI bridge
// 01:00.0 whose secondary bus is 2, so its DMA also arrives as 02:00.0 (bus 2, devfn 0); a device
// below PCIe ports only has its own ID.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { dmaAliasRids } from './dma-alias';
import { loadPlatform } from './index';

const r = loadPlatform(JSON.parse(readFileSync('traces/platforms/server.platform.json', 'utf8')));
if (!r.ok) throw new Error(JSON.stringify(r.errors));
const p = r.value;

describe('dmaAliasRids', () => {
  it('adds the PCIe-to-PCI bridge alias (secondary bus, devfn 0)', () => {
    expect(dmaAliasRids(p, p.functions.get('0000:02:01.0')!)).toEqual([0x0208, 0x0200]);
  });
  it('gives a device below PCIe ports only its own ID', () => {
    expect(dmaAliasRids(p, p.functions.get('0000:1a:00.0')!)).toEqual([0x1a00]);
  });
});
