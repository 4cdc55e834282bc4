// Boot-time lines that describe the platform, as PlatformHints. Pure recogniser. Contract (formats from
// drivers/iommu/intel/dmar.c, intel/iommu.c, intel/irq_remapping.c, iommu.c, amd/init.c, the e820 code,
// and Xen's AMD-Vi IVMD checks):
// - 'haw'        "DMAR: Host address width 39"
// - 'drhd'       "DMAR: DRHD base: 0x000000fed90000 flags: 0x0"
// - 'dmar-unit'  "DMAR: dmar0: reg_base_addr fed90000 ver 1:0 cap … ecap …" (also "IOMMU 0: …" and
//                "dmar: IOMMU 0: …" of 3.x/4.0)
// - 'rmrr'       "DMAR: RMRR base: 0x… end: 0x…" (end inclusive)
// - 'ioapic' / 'hpet'  "DMAR-IR: IOAPIC id 2 under DRHD base  0xfed91000 IOMMU 1" (two spaces; the
//                3.x form has no DMAR-IR: tag), "DMAR-IR: HPET id 0 under DRHD base 0xfed91000"
// - 'no-structure'     "DMAR: No ATSR found" (ATSR, SATC, RMRR)
// - 'firmware-bug'     "[Firmware Bug]: …" after DMAR:/DMAR-IR:/AMD-Vi:/iommu: (or none), with the RMRR
//                range when it names one; the "BIOS vendor: …; Ver: …; Product Version: …" line that
//                follows such warnings; Xen "IVHD Error: …" and "AMD-Vi: Error initialization"
// - 'ineligible'       "<drv> <bdf>: [DMAR: ]Device is ineligible for IOMMU domain attach due to platform
//                RMRR requirement.  Contact your platform vendor." and the iommu-core wording "Firmware has
//                requested this device have a 1:1 IOMMU mapping, rejecting configuring the device without
//                a 1:1 mapping. Contact your platform vendor."
// - 'relaxable-rmrr'   "DMAR: Intel-IOMMU: assuming all RMRRs are relaxable…" (out-of-tree patch)
// - 'identity-map'     "IOMMU: Setting identity map for device 0000:00:1a.0 [0x… - 0x…]" (3.x/4.x)
// - 'group'            "<drv> <dev>: Adding to iommu group N" / "Removing from iommu group N"
// - 'e820'             "BIOS-e820: [mem 0x…-0x…] reserved" (also e820:/BIOS-e801: and the pre-2.6.37
//                "BIOS-e820: 000000000009fc00 - 00000000000a0000 (reserved)" whose end is exclusive;
//                `end` is always inclusive)
// - 'amd-iommu', 'amd-efr', 'ivrs-hid', 'ivrs-special'  AMD-Vi IOMMU and IVRS lines; 'ivmd' Xen IVMD errors.
import { partial, rec, type Outcome } from './items';
import type { Detail, HintKind } from './types';
import { bigHex, decNum, hexAddr, hexBig, pciName } from './values';

const H = '[0-9a-fA-F]';
const hint = (kind: HintKind, fields: Detail): Outcome => rec({ type: 'hint', kind, fields });

const RE = {
  haw: /^Host address width (\d{1,3})$/,
  drhd: new RegExp(`^DRHD base: 0x(${H}{1,16}) flags: 0x(${H}{1,8})$`),
  unit: new RegExp(
    `^(?:(dmar\\d{1,4})|IOMMU (\\d{1,4})): reg_base_addr (${H}{1,16}) ver (\\d{1,3}):(\\d{1,3}) cap (${H}{1,16}) ecap (${H}{1,16})$`,
  ),
  rmrr: new RegExp(`^RMRR base: 0x(${H}{1,16}) end: 0x(${H}{1,16})$`),
  ioapic: new RegExp(`^IOAPIC id (\\d{1,4}) under DRHD base {1,2}0x(${H}{1,16}) IOMMU (\\d{1,4})$`),
  hpet: new RegExp(`^HPET id (\\d{1,4}) under DRHD base {1,2}0x(${H}{1,16})$`),
  none: /^No (ATSR|SATC|RMRR|DRHD|RHSA) (?:found|structure found in DMAR table)$/,
  fwbug: /^\[Firmware (Bug|Warn|Info)\]: ?(.*)$/,
  range: new RegExp(`\\[0x(${H}{1,16}) ?- ?0x(${H}{1,16})\\]`),
  bios: /^BIOS vendor: (.{0,80}); Ver: (.{0,80}); Product Version: (.{0,80})$/,
  ineligible:
    /^Device is ineligible for IOMMU domain attach due to platform RMRR requirement\. {1,2}Contact your platform vendor\.$/,
  identityRequired:
    /^Firmware has requested this device have a 1:1 IOMMU mapping, rejecting configuring the device without a 1:1 mapping\. Contact your platform vendor\.$/,
  identity: new RegExp(`^Setting identity map for device (\\S{1,64}) \\[0x(${H}{1,16}) - 0x(${H}{1,16})\\]$`),
  group: /^(Adding to|Removing from) iommu group (\d{1,6})$/,
  e820: new RegExp(
    `^(BIOS-e820|e820|BIOS-e801|BIOS-88|user|extra): \\[mem 0x(${H}{1,16})-0x(${H}{1,16})\\] (.{1,60})$`,
  ),
  e820old: new RegExp(`^(BIOS-e820|user): (${H}{16}) - (${H}{16}) \\((.{1,60})\\)$`),
  amdCap: /^AMD-Vi: Found IOMMU cap 0x([0-9a-fA-F]{1,8})$/,
  amdAt: /^AMD-Vi: Found IOMMU at (\S{7,12}) cap 0x([0-9a-fA-F]{1,8})$/,
  amdPerf: /^AMD-Vi: IOMMU performance counters supported$/,
  amdEfr: new RegExp(`^AMD-Vi: Extended features \\(0x(${H}{1,16})(?:, 0x(${H}{1,16}))?\\):(.{0,200})$`),
  amdGlobalEfr: new RegExp(`^AMD-Vi: Using global IVHD EFR:0x(${H}{1,16}), EFR2:0x(${H}{1,16})$`),
  ivrsHid: /^AMD-Vi: ivrs, add hid:(\S{1,16}), uid:(\S{0,16}), rdevid:(0x[0-9a-fA-F]{1,4}|\d{1,5})$/,
  ivrsSpecial:
    /^(?:AMD-Vi: ){1,2}[ \t]{0,8}DEV_SPECIAL\((IOAPIC|HPET)\[(\d{1,4})\]\)[ \t]{1,40}devid: (\S{1,16})$/,
  ivmdRange: new RegExp(`^IVMD: \\[(${H}{1,16}), (${H}{1,16})\\] is not \\(entirely\\) in reserved memory$`),
  ivmdPage: new RegExp(`^IVMD: page at (${H}{1,16}) can't be converted$`),
  ivhdError: /^IVHD Error: (.{1,160})$/,
  amdInitError: /^AMD-Vi: Error initialization$/,
};

function addr(h: string): string {
  return hexAddr(h)!;
}

/** Recognises one logical kernel-log body (envelope already stripped). */
export function recogniseHint(body: string): Outcome {
  // device-prefixed lines: groups, ineligible devices, AMD-Vi IOMMU PCI functions
  const dp = /^([\w.-]{1,64}) ([\w.:/@-]{1,96}): (.*)$/.exec(body);
  if (dp) {
    const [, drv, dev, msg] = dp;
    const pci = pciName(dev!);
    let m = RE.group.exec(msg!);
    if (m) {
      return hint('group', {
        device: dev!,
        bdf: pci?.bdf ?? null,
        driver: drv!,
        group: +m[2]!,
        action: m[1] === 'Adding to' ? 'add' : 'remove',
      });
    }
    const text = msg!.replace(/^DMAR: ?/, '');
    if (RE.ineligible.test(text))
      return hint('ineligible', { device: dev!, bdf: pci?.bdf ?? null, driver: drv!, reason: 'rmrr' });
    if (RE.identityRequired.test(text))
      return hint('ineligible', {
        device: dev!,
        bdf: pci?.bdf ?? null,
        driver: drv!,
        reason: 'identity-required',
      });
    if (text.startsWith('Device is ineligible') || text.startsWith('Firmware has requested this device'))
      return partial('ineligible-device line cut short');
    if (pci && msg!.startsWith('AMD-Vi: ')) {
      m = RE.amdCap.exec(msg!);
      if (m) return hint('amd-iommu', { bdf: pci.bdf, cap: addr(m[1]!) });
      if (RE.amdPerf.test(msg!)) return hint('amd-iommu', { bdf: pci.bdf, perfCounters: true });
      m = RE.amdEfr.exec(msg!);
      if (m) return efr(m, pci.bdf);
    }
    if (msg!.startsWith('Firmware has requested') || msg!.startsWith('Device is ineligible'))
      return partial('ineligible-device line cut short');
  }

  let m: RegExpExecArray | null;
  if (body.startsWith('AMD-Vi: ')) {
    if ((m = RE.amdEfr.exec(body))) return efr(m, null);
    if ((m = RE.amdGlobalEfr.exec(body)))
      return hint('amd-efr', { bdf: null, efr: addr(m[1]!), efr2: addr(m[2]!), features: null });
    if ((m = RE.amdAt.exec(body))) {
      const p = pciName(m[1]!);
      return hint('amd-iommu', { bdf: p?.bdf ?? m[1]!, cap: addr(m[2]!) });
    }
    if ((m = RE.ivrsHid.exec(body))) {
      const r = m[3]!.startsWith('0x') ? parseInt(m[3]!, 16) : decNum(m[3]!);
      return hint('ivrs-hid', { hid: m[1]!, uid: m[2]!, rdevid: r });
    }
    if ((m = RE.ivrsSpecial.exec(body))) {
      const p = pciName(m[3]!);
      return hint('ivrs-special', { variety: m[1]!, handle: +m[2]!, devid: m[3]!, bdf: p?.bdf ?? null });
    }
    if (RE.amdInitError.test(body)) return hint('firmware-bug', { message: 'AMD-Vi: Error initialization' });
    const fw = RE.fwbug.exec(body.slice(8));
    if (fw) return firmwareBug(fw);
    return null;
  }
  if ((m = RE.ivmdRange.exec(body)))
    return hint('ivmd', { start: addr(m[1]!), end: addr(m[2]!), problem: 'not in reserved memory' });
  if ((m = RE.ivmdPage.exec(body)))
    return hint('ivmd', { pfn: addr(m[1]!), problem: "page can't be converted" });
  if ((m = RE.ivhdError.exec(body))) return hint('firmware-bug', { message: `IVHD Error: ${m[1]!}` });
  if ((m = RE.e820.exec(body))) {
    return hint('e820', { start: addr(m[2]!), end: addr(m[3]!), type: m[4]!, source: m[1]! });
  }
  if ((m = RE.e820old.exec(body))) {
    const end = hexBig(m[3]!)!;
    return hint('e820', {
      start: addr(m[2]!),
      end: bigHex(end > 0n ? end - 1n : 0n),
      type: m[4]!,
      source: m[1]!,
    });
  }
  if ((m = RE.bios.exec(body))) {
    return hint('firmware-bug', { biosVendor: m[1]!, biosVersion: m[2]!.trim(), productVersion: m[3]! });
  }

  const tag = /^(DMAR|DMAR-IR|dmar|IOMMU|iommu|Intel-IOMMU): ?/.exec(body);
  const rest = tag ? body.slice(tag[0].length) : body;
  if ((m = RE.fwbug.exec(rest))) return firmwareBug(m);
  if (!tag && !/^(?:IOMMU \d|IOAPIC id|HPET id)/.test(body)) return null;
  if ((m = RE.haw.exec(rest))) return hint('haw', { bits: +m[1]! });
  if ((m = RE.drhd.exec(rest))) return hint('drhd', { base: addr(m[1]!), flags: parseInt(m[2]!, 16) });
  if ((m = RE.unit.exec(rest))) {
    return hint('dmar-unit', {
      iommu: m[1] ?? `dmar${m[2]!}`,
      base: addr(m[3]!),
      version: `${m[4]!}:${m[5]!}`,
      cap: addr(m[6]!),
      ecap: addr(m[7]!),
    });
  }
  if ((m = RE.rmrr.exec(rest))) return hint('rmrr', { base: addr(m[1]!), end: addr(m[2]!) });
  if (rest.startsWith('RMRR base:') || rest.startsWith('DRHD base:'))
    return partial('DMAR boot line cut short');
  if ((m = RE.ioapic.exec(rest))) return hint('ioapic', { id: +m[1]!, drhdBase: addr(m[2]!), iommu: +m[3]! });
  if ((m = RE.hpet.exec(rest))) return hint('hpet', { id: +m[1]!, drhdBase: addr(m[2]!) });
  if ((m = RE.none.exec(rest))) return hint('no-structure', { structure: m[1]! });
  if ((m = RE.identity.exec(rest))) {
    const p = pciName(m[1]!);
    return hint('identity-map', { device: m[1]!, bdf: p?.bdf ?? null, start: addr(m[2]!), end: addr(m[3]!) });
  }
  if (rest.startsWith('Intel-IOMMU: assuming all RMRRs are relaxable'))
    return hint('relaxable-rmrr', { message: rest });
  return null;
}

function efr(m: RegExpExecArray, bdf: string | null): Outcome {
  return hint('amd-efr', {
    bdf,
    efr: addr(m[1]!),
    efr2: m[2] !== undefined ? addr(m[2]) : null,
    features: m[3]!.trim(),
  });
}

function firmwareBug(m: RegExpExecArray): Outcome {
  const message = m[2]!;
  const r = RE.range.exec(message);
  return hint('firmware-bug', {
    level: m[1]!,
    message,
    start: r ? addr(r[1]!) : null,
    end: r ? addr(r[2]!) : null,
  });
}
