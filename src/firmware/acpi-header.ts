// The 36-byte ACPI system description table header (ACPI 6.5, 5.2.6) that starts DMAR, IVRS, MCFG and
// every other data table: signature, length, revision, checksum, OEM ids, creator id and revision.
// decodeAcpiHeader reads it with bounds checks and reports, as findings with byte offsets: a table too
// short for its header, a Length field that disagrees with the bytes given (the kernel maps Length
// bytes, so a short file is truncated and extra bytes are ignored), and a checksum that does not sum to
// zero, quoting ACPICA's warning (acpi_tb_verify_checksum / acpi_ut_verify_checksum):
//   "Incorrect checksum in table [DMAR] - 0x94, should be 0x95"
import { byteSum, ByteReader, hex2 } from './bytes';
import { finding, type Finding, type Severity } from './findings';

export const ACPI_HEADER_SIZE = 36;

export interface AcpiHeader {
  signature: string;
  /** the Length field */
  length: number;
  revision: number;
  checksum: number;
  /** true when the bytes [0, min(Length, bytes given)) sum to 0 mod 256 and the table is complete */
  checksumValid: boolean;
  /** the checksum byte that would make the table valid */
  expectedChecksum: number;
  oemId: string;
  oemTableId: string;
  oemRevision: number;
  creatorId: string;
  creatorRevision: number;
}

export interface HeaderResult {
  header: AcpiHeader | null;
  /** the number of table bytes to decode: min(Length, bytes given) */
  end: number;
  findings: Finding[];
}

/** True when the bytes start with a printable 4-character ACPI signature. */
export function looksLikeAcpiTable(bytes: Uint8Array): boolean {
  if (bytes.length < 8) return false;
  for (let i = 0; i < 4; i++) {
    const c = bytes[i]!;
    if (!((c >= 0x41 && c <= 0x5a) || (c >= 0x30 && c <= 0x39) || c === 0x5f || c === 0x21)) return false;
  }
  return true;
}

/**
 * Decodes the header of `bytes`. `checksumSeverity` is how bad a checksum mismatch is for this table
 * (the ACPI core only warns for DMAR; the AMD driver refuses an IVRS whose checksum is wrong).
 */
export function decodeAcpiHeader(
  bytes: Uint8Array,
  table: string,
  checksumSeverity: Severity = 'warning',
): HeaderResult {
  const r = new ByteReader(bytes);
  const findings: Finding[] = [];
  const at = (offset: number) => ({ offset, table });
  if (!r.has(0, ACPI_HEADER_SIZE)) {
    findings.push(
      finding(
        'error',
        'acpi-header-truncated',
        `the table is ${bytes.length} bytes, shorter than the 36-byte ACPI table header; the dump is cut off, extract the table again (acpidump -n ${table}, or copy /sys/firmware/acpi/tables/${table})`,
        at(bytes.length),
      ),
    );
    return { header: null, end: bytes.length, findings };
  }
  const length = r.u32(4);
  let end = bytes.length;
  if (length < ACPI_HEADER_SIZE) {
    findings.push(
      finding(
        'error',
        'acpi-length-invalid',
        `the header's Length field is ${length}, less than the 36-byte header itself; firmware must set Length to the size of the whole table`,
        at(4),
      ),
    );
  } else if (length > bytes.length) {
    findings.push(
      finding(
        'error',
        'acpi-table-truncated',
        `the header says the table is ${length} bytes but only ${bytes.length} are present; the dump is cut off (or Length is wrong): decoding stops at byte ${bytes.length}`,
        at(bytes.length),
      ),
    );
  } else {
    end = length;
    if (length < bytes.length)
      findings.push(
        finding(
          'info',
          'acpi-trailing-bytes',
          `${bytes.length - length} bytes follow the ${length} bytes the Length field covers; they are not part of the table and are ignored`,
          at(length),
        ),
      );
  }
  const checksum = r.u8(9);
  const sum = byteSum(bytes, end);
  const expectedChecksum = (checksum - sum) & 0xff;
  const complete = length >= ACPI_HEADER_SIZE && length <= bytes.length;
  const checksumValid = complete && sum === 0;
  if (complete && sum !== 0) {
    const consequence =
      checksumSeverity === 'error'
        ? 'the kernel refuses the table'
        : 'the kernel warns and uses the table anyway';
    findings.push(
      finding(
        checksumSeverity,
        'acpi-checksum',
        `ACPI BIOS Warning (bug): Incorrect checksum in table [${table}] - 0x${hex2(checksum).toUpperCase()}, should be 0x${hex2(expectedChecksum).toUpperCase()}: the bytes do not sum to zero, so ${consequence}; the firmware must recompute the checksum after it patches the table`,
        at(9),
      ),
    );
  }
  const header: AcpiHeader = {
    signature: r.ascii(0, 4),
    length,
    revision: r.u8(8),
    checksum,
    checksumValid,
    expectedChecksum,
    oemId: r.ascii(10, 6),
    oemTableId: r.ascii(16, 8),
    oemRevision: r.u32(24),
    creatorId: r.ascii(28, 4),
    creatorRevision: r.u32(32),
  };
  return { header, end: Math.max(end, 0), findings };
}
