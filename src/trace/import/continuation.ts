// Rejoins records that a mail client or terminal wrapped over several physical lines. Contract:
// - push() takes each physical line after cleanLine()/parseEnvelope(). A line that a recogniser calls
//   `partial` is held; the next physical lines are joined to it while they carry no envelope of their
//   own (no timestamp, syslog or trace columns) and are not themselves a known record: first with a
//   space (the space the wrap replaced), then without one (a wrap inside a token); a trailing "="
//   (quoted-printable soft break) joins without a space. At most `maxJoins` lines are joined.
// - When nothing more continues it, a held line is released with its usable items (marked truncated),
//   or reported as a bad line when it has none. Blank lines end a held record.
// - Pure bookkeeping: the recogniser decides what is complete; this module never throws.
import type { Envelope } from './kernel-prefix';
import type { Item, Outcome } from './items';

export interface Logical {
  line: number;
  raw: string;
  env: Envelope;
  body: string;
}

export interface ContinuationOut {
  items(items: Item[], at: Logical, truncated: boolean): void;
  bad(line: number, reason: string, raw: string): void;
  ignored(at: Logical): void;
}

type Recognise = (body: string, env: Envelope) => Outcome;

interface Held {
  at: Logical;
  joins: number;
  outcome: Extract<NonNullable<Outcome>, { status: 'partial' }>;
}

export class Continuation {
  private held: Held | null = null;

  constructor(
    private readonly recognise: Recognise,
    private readonly maxJoins = 4,
  ) {}

  push(line: number, raw: string, env: Envelope, out: ContinuationOut): void {
    if (this.held) {
      const h = this.held;
      if (!env.stamped && env.body !== '' && this.recognise(env.body, env) === null) {
        const joined = this.tryJoin(h, env.body);
        if (joined) {
          const at: Logical = { ...h.at, raw: `${h.at.raw}\n${raw}`, body: joined.body };
          if (joined.outcome.status === 'complete') {
            this.held = null;
            out.items(joined.outcome.items, at, false);
            return;
          }
          if (h.joins + 1 < this.maxJoins) {
            this.held = { at, joins: h.joins + 1, outcome: joined.outcome };
            return;
          }
          this.held = { at, joins: h.joins + 1, outcome: joined.outcome };
          this.release(out);
          return;
        }
      }
      this.release(out);
    }
    const at: Logical = { line, raw, env, body: env.body };
    const o = env.body === '' ? null : this.recognise(env.body, env);
    if (o === null) out.ignored(at);
    else if (o.status === 'complete') out.items(o.items, at, false);
    else this.held = { at, joins: 0, outcome: o };
  }

  end(out: ContinuationOut): void {
    this.release(out);
  }

  private tryJoin(
    h: Held,
    next: string,
  ): { body: string; outcome: Extract<NonNullable<Outcome>, { status: 'complete' | 'partial' }> } | null {
    const prev = h.at.body;
    const candidates = prev.endsWith('=') ? [prev.slice(0, -1) + next] : [`${prev} ${next}`, prev + next];
    let fallback: { body: string; outcome: Extract<NonNullable<Outcome>, { status: 'partial' }> } | null =
      null;
    for (const body of candidates) {
      const o = this.recognise(body, h.at.env);
      if (o === null) continue;
      if (o.status === 'complete') return { body, outcome: o };
      fallback ??= { body, outcome: o };
    }
    return fallback;
  }

  private release(out: ContinuationOut): void {
    const h = this.held;
    if (!h) return;
    this.held = null;
    if (h.outcome.items) out.items(h.outcome.items, h.at, true);
    else out.bad(h.at.line, h.outcome.why, h.at.raw);
  }
}
