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
