// A flat list of the fields a decoder read, each with its byte offset and size in the table, a name
// and the value, so a decode can be compared field by field with another decoder's output (iasl -d
// prints "[offset size] name : value" lines for the same bytes). Numbers up to 32 bits are numbers,
// 64-bit fields bigint, strings Latin-1 text, byte lists (PCI paths, reserved arrays) number arrays.

export type FieldValue = number | bigint | string | number[];

export interface TableField {
  offset: number;
  size: number;
  name: string;
  value: FieldValue;
}

export class FieldLog {
  readonly fields: TableField[] = [];

  push(offset: number, size: number, name: string, value: FieldValue): void {
    this.fields.push({ offset, size, name, value });
  }
}

/** The 36-byte ACPI table header's fields, named as iasl names them (shared by every table decoder). */
export function pushAcpiHeaderFields(
  fields: FieldLog,
  header: {
    signature: string;
    length: number;
    revision: number;
    checksum: number;
    oemId: string;
    oemTableId: string;
    oemRevision: number;
    creatorId: string;
    creatorRevision: number;
  },
): void {
  fields.push(0, 4, 'Signature', header.signature);
  fields.push(4, 4, 'Table Length', header.length);
  fields.push(8, 1, 'Revision', header.revision);
  fields.push(9, 1, 'Checksum', header.checksum);
  fields.push(10, 6, 'Oem ID', header.oemId);
  fields.push(16, 8, 'Oem Table ID', header.oemTableId);
  fields.push(24, 4, 'Oem Revision', header.oemRevision);
  fields.push(28, 4, 'Asl Compiler ID', header.creatorId);
  fields.push(32, 4, 'Asl Compiler Revision', header.creatorRevision);
}
