// The line importer for text logs: kernel logs (dmesg, journalctl, syslog, serial consoles, mail
// quotes of them), ftrace output and QEMU trace logs. Contract:
// - implements LineImporter: line(text, no, sink) per physical line, then end(sink); never throws;
// - every text kind recognises every family of lines, because real captures mix them (a console log
//   with tp_printk trace lines, a mail quoting dmesg next to a QEMU trace); the kind only names what
//   the file mostly is;
// - per physical line: cleanLine() → parseEnvelope() → Continuation (rejoins wrapped lines) → the
//   recognisers → Assembler (joins multi-line records) → sink;
// - a line longer than MAX_LINE characters is a bad line (and ends any record being rejoined).
import { Assembler } from './assemble';
import { recogniseAerTlp } from './aer-tlp';
import { recogniseAmd } from './amd-vi';
import { recogniseSmmu } from './arm-smmu';
import { recogniseHint } from './boot-hints';
import { Continuation, type ContinuationOut } from './continuation';
import { recogniseIommuEvent, recogniseTpPrintk } from './ftrace-iommu';
import { recogniseDmar } from './intel-dmar';
import type { Outcome } from './items';
import { ClockState, cleanLine, parseEnvelope, type Envelope } from './kernel-prefix';
import { recogniseQemuBody, recogniseVtdEvent } from './qemu-vtd';
import type { LineImporter, Sink } from './types';

export const MAX_LINE = 65536;

// trace-cmd report pads the event name column with spaces
const FTRACE_BODY = /^([\w]{1,64}):[ \t]{0,64}(.*)$/;

/** Every recogniser, for one logical line body and the envelope it came in. */
export function recogniseLine(body: string, env: Envelope): Outcome {
  const first = env.layers[0];
  if (first === 'qemu-log') return recogniseVtdEvent(env.event ?? '', body, env.thread);
  if (first === 'ftrace') {
    const m = FTRACE_BODY.exec(body);
    return m ? recogniseIommuEvent(m[1]!, m[2]!, 'ftrace', env.task) : null;
  }
  return (
    recogniseDmar(body) ??
    recogniseAmd(body) ??
    recogniseSmmu(body) ??
    recogniseTpPrintk(body) ??
    recogniseAerTlp(body) ??
    recogniseQemuBody(body, env) ??
    recogniseHint(body)
  );
}

export class TextLogImporter implements LineImporter {
  private readonly clock = new ClockState();
  private readonly cont = new Continuation(recogniseLine);
  private asm: Assembler | null = null;
  private out: ContinuationOut | null = null;

  line(text: string, no: number, sink: Sink): void {
    const out = this.outFor(sink);
    if (text.length > MAX_LINE) {
      this.cont.end(out);
      sink.bad(no, `line longer than ${MAX_LINE} characters`, text);
      return;
    }
    const raw = text.endsWith('\r') ? text.slice(0, -1) : text;
    this.cont.push(no, raw, parseEnvelope(cleanLine(raw), this.clock), out);
  }

  end(sink: Sink): void {
    const out = this.outFor(sink);
    this.cont.end(out);
    this.asm!.end();
  }

  private outFor(sink: Sink): ContinuationOut {
    if (this.out && this.asm) return this.out;
    const asm = new Assembler(sink);
    this.asm = asm;
    this.out = {
      items: (items, at, truncated) => asm.items(items, at, truncated),
      bad: (line, reason, raw) => sink.bad(line, reason, raw),
      ignored: (at) => asm.ignored(at),
    };
    return this.out;
  }
}
