// Data Link Layer Packets (PCIe Base Specification §3.5, non-Flit Mode): the 4 bytes between SDP and the
// CRC-16, decoded to a type name and its fields. Pure.
//
// Contract: decodeDllp(b0, b1, b2, b3) never throws. Types: 00h Ack and 10h Nak (AckNak_Seq_Num[11:0] in
// bytes 2–3), 20h PM_Enter_L1, 21h PM_Enter_L23, 23h PM_Active_State_Request_L1, 24h PM_Request_Ack,
// 30h Vendor-specific, 31h NOP, 01h MRInit, 02h Data_Link_Feature, 4xh/5xh/6xh InitFC1-P/NP/Cpl,
// Cxh/Dxh/Exh InitFC2-P/NP/Cpl, 8xh/9xh/Axh UpdateFC-P/NP/Cpl (x: VC ID 0–7; HdrFC = byte 1[5:0]:byte
// 2[7:6], DataFC = byte 2[3:0]:byte 3, with the scale fields of byte 1[7:6] and byte 2[5:4]), 7xh/Bxh/Fxh
// MR-IOV flow control. Anything else is "reserved (type XXh)".

export interface Dllp {
  /** byte 0 */
  type: number;
  name: string;
  /** Ack/Nak: the sequence number acknowledged; FC DLLPs: vc, hdrFc, dataFc, hdrScale, dataScale */
  fields: Record<string, number>;
}

const hex2 = (n: number): string => n.toString(16).padStart(2, '0');

const FIXED: Record<number, string> = {
  0x00: 'Ack',
  0x01: 'MRInit',
  0x02: 'Data_Link_Feature',
  0x10: 'Nak',
  0x20: 'PM_Enter_L1',
  0x21: 'PM_Enter_L23',
  0x23: 'PM_Active_State_Request_L1',
  0x24: 'PM_Request_Ack',
  0x30: 'Vendor-specific',
  0x31: 'NOP',
};

const FC: Record<number, string> = {
  0x4: 'InitFC1-P',
  0x5: 'InitFC1-NP',
  0x6: 'InitFC1-Cpl',
  0x7: 'MRInitFC1',
  0xc: 'InitFC2-P',
  0xd: 'InitFC2-NP',
  0xe: 'InitFC2-Cpl',
  0xf: 'MRInitFC2',
  0x8: 'UpdateFC-P',
  0x9: 'UpdateFC-NP',
  0xa: 'UpdateFC-Cpl',
  0xb: 'MRUpdateFC',
};

export function decodeDllp(b0: number, b1: number, b2: number, b3: number): Dllp {
  const fixed = FIXED[b0];
  if (fixed !== undefined) {
    const fields: Record<string, number> = {};
    if (b0 === 0x00 || b0 === 0x10) fields.seq = ((b2 & 0x0f) << 8) | b3;
    return { type: b0, name: fixed, fields };
  }
  const fc = (b0 & 0x08) === 0 ? FC[b0 >>> 4] : undefined;
  if (fc !== undefined) {
    return {
      type: b0,
      name: fc,
      fields: {
        vc: b0 & 7,
        hdrFc: ((b1 & 0x3f) << 2) | (b2 >>> 6),
        dataFc: ((b2 & 0x0f) << 8) | b3,
        hdrScale: b1 >>> 6,
        dataScale: (b2 >>> 4) & 3,
      },
    };
  }
  return { type: b0, name: `reserved (type ${hex2(b0)}h)`, fields: {} };
}
