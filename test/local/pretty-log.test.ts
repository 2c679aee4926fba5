/**
 * scripts/local/pretty-log.ts: the functions' JSON log lines made readable for `npm start --
 * --pretty`, line by line, without losing or mangling anything that is not such a line.
 */
import { Readable } from 'node:stream';
import { colorWanted, installPrettyStdout, prettyLine, prettyStream, prettyWriter } from '../../scripts/local/pretty-log';

const plain = { color: false, utc: true } as const;
const ANSI = /\x1b\[[0-9;]*m/;

/** A line as the consumer writes it (functions/commons/logger.ts), EMF block and metric included. */
const PROCESSED = JSON.stringify({
  timestamp: '2026-12-01T02:57:55.485Z',
  level: 'INFO',
  message: 'crisp event processed',
  requestId: 'e634a01f-ee80-4439-bd5e-aef5aa8c6633',
  event: 'message:send',
  dedupeKey: 'v1:1f8e9e99834c029dea03823d038fc1600835619d72d8e8e734e585ff390588c5',
  attempt: 1,
  duplicate: false,
  handler: 'none',
  service: 'consumer',
  EventProcessed: 1,
  _aws: { Timestamp: 1796093875485, CloudWatchMetrics: [{ Namespace: 'CrispBridge', Dimensions: [['service']], Metrics: [{ Name: 'EventProcessed', Unit: 'Count' }] }] },
});

const FAILED = JSON.stringify({
  timestamp: '2026-12-01T02:57:56.007Z',
  level: 'ERROR',
  message: 'crisp event failed',
  dedupeKey: 'v1:ab',
  error: {
    name: 'TypeError',
    message: "Cannot read properties of undefined (reading 'id')",
    stack: "TypeError: Cannot read properties of undefined (reading 'id')\n    at onMessage (/app/handlers/index.ts:12:7)\n    at run (/app/consumer.ts:40:3)\n    [truncated]",
  },
  service: 'consumer',
});

describe('prettyLine', () => {
  test('a log line: time, level, service, message, then the fields as key=value (requestId last); no EMF block, no metric counter', () => {
    expect(prettyLine(PROCESSED, plain)).toBe(
      '02:57:55.485 INFO  consumer      crisp event processed  event=message:send ' +
        'dedupeKey=v1:1f8e9e99834c029dea03823d038fc1600835619d72d8e8e734e585ff390588c5 attempt=1 duplicate=false handler=none ' +
        'requestId=e634a01f-ee80-4439-bd5e-aef5aa8c6633',
    );
  });

  test('an error: name and message on the line, the stack frames indented below it', () => {
    expect(prettyLine(FAILED, plain).split('\n')).toEqual([
      `02:57:56.007 ERROR consumer      crisp event failed  dedupeKey=v1:ab error="TypeError: Cannot read properties of undefined (reading 'id')"`,
      '      at onMessage (/app/handlers/index.ts:12:7)',
      '      at run (/app/consumer.ts:40:3)',
      '      [truncated]',
    ]);
  });

  test('values: strings with spaces or quotes quoted, objects as compact JSON, null and numbers as they are; no timestamp leaves the time blank', () => {
    const line = JSON.stringify({ level: 'warn', message: 'local api gateway: jwt authorizer refused the request', route: 'GET /ticket-center/url', reason: 'expired', n: 0, x: null, o: { a: [1, 'b'] }, e: 'Error: boom' });
    expect(prettyLine(line, plain)).toBe(
      `${' '.repeat(12)} WARN  ${' '.repeat(13)} local api gateway: jwt authorizer refused the request  route="GET /ticket-center/url" reason=expired n=0 x=null o={"a":[1,"b"]} e="Error: boom"`,
    );
  });

  test('the time is local by default', () => {
    const at = new Date('2026-12-01T02:57:55.485Z');
    const two = (n: number) => String(n).padStart(2, '0');
    expect(prettyLine(PROCESSED, { color: false })).toMatch(new RegExp(`^${two(at.getHours())}:${two(at.getMinutes())}:55\\.485 INFO `));
  });

  test.each([
    ['plain text', 'crisp-bridge local stack listening on http://127.0.0.1:3000'],
    ['an empty line', ''],
    ['indented text', '  Hook queue            http://sqs...'],
    ['broken JSON', '{"level":"INFO","message":"cut'],
    ['a JSON array', '[1,2,3]'],
    ['JSON without a message', '{"level":"INFO","msg":"other format"}'],
    ['a non-string message', '{"level":"INFO","message":42}'],
  ])('%s passes through unchanged', (_name, line) => {
    expect(prettyLine(line, { color: true })).toBe(line);
  });

  test('colours only when asked: the level coloured (ERROR red), nothing else changed', () => {
    expect(prettyLine(FAILED, plain)).not.toMatch(ANSI);
    const coloured = prettyLine(FAILED, { color: true, utc: true });
    expect(coloured).toContain('\x1b[31mERROR\x1b[0m');
    expect(coloured.replace(/\x1b\[[0-9;]*m/g, '')).toBe(prettyLine(FAILED, plain));
  });

  test('colorWanted: a terminal, unless NO_COLOR; FORCE_COLOR forces it', () => {
    expect(colorWanted({ isTTY: true }, {})).toBe(true);
    expect(colorWanted({ isTTY: false }, {})).toBe(false);
    expect(colorWanted({}, {})).toBe(false);
    expect(colorWanted({ isTTY: true }, { NO_COLOR: '1' })).toBe(false);
    expect(colorWanted({ isTTY: false }, { FORCE_COLOR: '1' })).toBe(true);
    expect(colorWanted({ isTTY: true }, { FORCE_COLOR: '0' })).toBe(true);
    expect(colorWanted({ isTTY: false }, { FORCE_COLOR: '0' })).toBe(false);
  });
});

describe('prettyWriter, prettyStream', () => {
  test('lines split across chunks, several lines in one chunk, a UTF-8 character split across byte chunks', () => {
    const out: string[] = [];
    const writer = prettyWriter((text) => out.push(text), plain);
    const utf8Line = JSON.stringify({ timestamp: '2026-12-01T02:57:55.485Z', level: 'INFO', message: 'visitor message', content: 'colis 📦 arrivé' });
    const bytes = Buffer.from(`${utf8Line}\n`, 'utf8');
    const split = bytes.indexOf(Buffer.from('📦')) + 2; // inside the emoji
    writer.write(PROCESSED.slice(0, 40));
    expect(out).toEqual([]); // a partial JSON line waits for its end
    writer.write(`${PROCESSED.slice(40)}\nstarting\n${FAILED.slice(0, 10)}`);
    writer.write(`${FAILED.slice(10)}\n`);
    writer.write(bytes.subarray(0, split));
    writer.write(bytes.subarray(split));
    writer.flush();
    expect(out.join('')).toBe(`${prettyLine(PROCESSED, plain)}\nstarting\n${prettyLine(FAILED, plain)}\n${prettyLine(utf8Line, plain)}\n`);
    expect(out.join('')).toContain('content="colis 📦 arrivé"');
  });

  test('a partial line that is not JSON (a prompt) goes out at once; a partial JSON line goes out as it is after partialLineMs, or on flush', async () => {
    const out: string[] = [];
    const writer = prettyWriter((text) => out.push(text), { ...plain, partialLineMs: 20 });
    writer.write('Waiting...');
    expect(out).toEqual(['Waiting...']);
    writer.write(' done\n');
    expect(out.join('')).toBe('Waiting... done\n');
    writer.write('{"level":"INFO",');
    expect(out.join('')).toBe('Waiting... done\n');
    await new Promise((resolve) => setTimeout(resolve, 60));
    writer.write('"message":"late"}\n');
    expect(out.join('')).toBe('Waiting... done\n{"level":"INFO","message":"late"}\n');
    writer.write('{"message":"no newline at the end"}');
    writer.flush();
    expect(out.join('')).toBe(`Waiting... done\n{"level":"INFO","message":"late"}\n${prettyLine('{"message":"no newline at the end"}', plain)}`);
    out.length = 0;
    writer.write('{"message":"cut');
    writer.flush();
    expect(out).toEqual(['{"message":"cut']);
  });

  test('prettyStream transforms a stream line by line, the last line without a newline included', async () => {
    const source = Readable.from([Buffer.from(PROCESSED.slice(0, 7)), Buffer.from(`${PROCESSED.slice(7)}\nplain\n`), Buffer.from(FAILED)]);
    let out = '';
    for await (const chunk of source.pipe(prettyStream(plain))) out += String(chunk);
    expect(out).toBe(`${prettyLine(PROCESSED, plain)}\nplain\n${prettyLine(FAILED, plain)}`);
  });
});

describe('installPrettyStdout', () => {
  test('process.stdout.write is pretty until restore(): partial lines joined, callbacks called, the original back after', async () => {
    const original = process.stdout.write;
    const written: string[] = [];
    const capture = ((chunk: string | Uint8Array, ...rest: unknown[]): boolean => {
      written.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'));
      rest.find((arg): arg is () => void => typeof arg === 'function')?.();
      return true;
    }) as typeof process.stdout.write;
    process.stdout.write = capture;
    try {
      const pretty = installPrettyStdout(plain);
      expect(installPrettyStdout(plain)).toBe(pretty); // installing twice: the same installation
      const called = new Promise<void>((resolve) => process.stdout.write(PROCESSED.slice(0, 25), () => resolve()));
      process.stdout.write(`${PROCESSED.slice(25)}\n`, 'utf8');
      process.stdout.write(Buffer.from(`${FAILED}\nplain text\n{"message":"pending"`));
      process.stdout.write('another write\n');
      await called;
      pretty.restore();
      expect(process.stdout.write).toBe(capture);
      process.stdout.write('after restore\n');
      expect(written.join('')).toBe(
        `${prettyLine(PROCESSED, plain)}\n${prettyLine(FAILED, plain)}\nplain text\n{"message":"pending"another write\nafter restore\n`,
      );
    } finally {
      process.stdout.write = original;
    }
  });
});
