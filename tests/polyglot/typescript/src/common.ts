// What both TypeScript flows share: the sandbox's variables, assertions, fault injection and
// the archive check. Nothing here comes from a generated client.

/** The variables tests/polyglot/run.sh gives every flow. */
export interface Sandbox {
  /** The root: the token flow is under /v1, the Database API under /api. */
  url: string;
  apiToken: string;
  app: string;
  database: string;
}

export function sandboxFromEnv(): Sandbox {
  const get = (name: string): string => {
    const value = process.env[name];
    if (!value) throw new Error(`${name} is not set (run through tests/polyglot/run.sh)`);
    return value;
  };
  return {
    url: get('SANDBOX_URL').replace(/\/$/, ''),
    apiToken: get('SANDBOX_API_TOKEN'),
    app: get('SANDBOX_APP'),
    database: get('SANDBOX_DATABASE'),
  };
}

/** Fails the flow with `message` unless `condition` holds; narrows like any assertion. */
export function check(condition: unknown, message: string): asserts condition {
  if (!condition) throw new Error(`check failed: ${message}`);
}

/** Fails with what came back when a call that should have succeeded did not. */
export function expectData<T>(
  step: string,
  result: { data?: T | undefined; error?: unknown; response?: Response | undefined },
): T {
  const { data, error, response } = result;
  // Branch on the status, not on `error`: an error answer with an empty body has no `error`.
  if (!response?.ok || data === undefined) {
    throw new Error(`${step}: HTTP ${response?.status ?? '(no answer)'}: ${JSON.stringify(error)}`);
  }
  return data;
}

/** A fault as the sandbox's control route takes it (crates/scalingo-db-sandbox/src/faults.rs). */
export type Fault =
  | { kind: 'status'; status: number; body: string; content_type?: string; headers?: [string, string][] }
  | { kind: 'delay'; millis: number }
  | { kind: 'drop_connection' }
  | { kind: 'truncate_body'; after_bytes: number };

/** Makes the next call of `operation` (an operationId of the contract) fail with `fault`. */
export async function injectFault(sandbox: Sandbox, operation: string, fault: Fault): Promise<void> {
  const response = await fetch(`${sandbox.url}/_sandbox/faults`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ operation, times: 1, fault }),
  });
  check(response.ok, `injecting a fault on ${operation}: HTTP ${response.status} ${await response.text()}`);
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Follows a pre-signed archive link as the contract says: a plain GET of the absolute URL, with
 * no Authorization header (the link carries its own token). Checks the gzip magic and the size.
 */
export async function downloadArchive(downloadUrl: string, expectedSize: number): Promise<number> {
  const response = await fetch(downloadUrl);
  check(response.ok, `downloading the archive: HTTP ${response.status}`);
  const bytes = new Uint8Array(await response.arrayBuffer());
  check(bytes[0] === 0x1f && bytes[1] === 0x8b, 'the archive starts with the gzip magic 1f 8b');
  check(bytes.length === expectedSize, `the archive has ${bytes.length} bytes, the backup says ${expectedSize}`);
  return bytes.length;
}

/** The three faults of step 4 that are not real refusals. */
export const faults = {
  tooManyRequests: {
    kind: 'status',
    status: 429,
    body: 'Retry later',
    content_type: 'text/plain',
    headers: [['Retry-After', '1']],
  },
  badGateway: {
    kind: 'status',
    status: 502,
    body: '<html><body><h1>502 Bad Gateway</h1></body></html>',
    content_type: 'text/html',
  },
  // No content type, no body: what a load balancer sends while the service restarts.
  unavailable: { kind: 'status', status: 503, body: '' },
} satisfies Record<string, Fault>;

/** The id no backup has, for the 404. */
export const UNKNOWN_BACKUP_ID = '000000000000000000000000';

/** How get_backup is polled: at most 50 tries, 100 ms apart. */
export const POLL = { tries: 50, intervalMs: 100 };

/** A password the contract accepts (24 to 64 characters). */
export function newPassword(): string {
  return `Pw-${crypto.randomUUID()}`; // 39 characters
}
