// The contract through openapi-typescript (types only: ../generated/openapi-fetch/schema.ts)
// and openapi-fetch (a typed wrapper around fetch). Every path, body and answer is checked by the
// compiler against openapi.yaml; errors come back as values, not exceptions.
import createClient from 'openapi-fetch';
import type { components, paths } from '../generated/openapi-fetch/schema.js';
import {
  POLL,
  UNKNOWN_BACKUP_ID,
  check,
  downloadArchive,
  expectData,
  faults,
  injectFault,
  newPassword,
  sandboxFromEnv,
  sleep,
} from './common.js';

type Backup = components['schemas']['Backup'];
type ErrorBody = components['schemas']['ErrorBody'];

const sandbox = sandboxFromEnv();
const database_id = sandbox.database;

// 1. Token flow. openapi-typescript keeps only paths, not the per-path `servers`: the caller knows
// that /v1/... lives on the root (auth and main API hosts) and /databases/... under /api, and
// makes one client per host. Security schemes are not generated either: headers are set by hand.
const auth = createClient<paths>({ baseUrl: sandbox.url });

const userToken = expectData(
  'exchange_api_token',
  await auth.POST('/v1/tokens/exchange', {
    // HTTP Basic with an empty user and the API token as the password.
    headers: { Authorization: `Basic ${Buffer.from(`:${sandbox.apiToken}`).toString('base64')}` },
  }),
).token;
check(userToken.length > 0, 'exchange_api_token answers a user token');

const addon = expectData(
  'get_addon_token',
  await auth.POST('/v1/apps/{app}/addons/{addon_id}/token', {
    params: { path: { app: sandbox.app, addon_id: database_id } },
    headers: { Authorization: `Bearer ${userToken}` },
  }),
).addon;
check(addon.id === database_id, `get_addon_token answers the addon ${database_id}, got ${addon.id}`);

const api = createClient<paths>({
  baseUrl: `${sandbox.url}/api`,
  headers: { Authorization: `Bearer ${addon.token}` },
});
const db = { params: { path: { database_id } } };

// 2. Users.
const names = { withPassword: 'poly-ts-fetch-1', generated: 'poly-ts-fetch-2' };
const listUserNames = async (): Promise<string[]> =>
  expectData('list_users', await api.GET('/databases/{database_id}/users', db))['database-users'].map((u) => u.name);

const before = expectData('list_users', await api.GET('/databases/{database_id}/users', db))['database-users'];
check(before.some((u) => u.protected), 'list_users shows the protected default user');

const password = newPassword();
const created = expectData(
  'create_user',
  await api.POST('/databases/{database_id}/users', {
    ...db,
    body: {
      database_user: {
        database_id,
        name: names.withPassword,
        read_only: true,
        password,
        password_confirmation: password,
      },
    },
  }),
).database_user;
check(created.name === names.withPassword, `create_user answers the user ${names.withPassword}`);
check(created.read_only === true, 'the created user is read-only');

// 4 (422), here while the name is taken: the typed `errors` map, field -> messages.
const taken = await api.POST('/databases/{database_id}/users', {
  ...db,
  body: { database_user: { name: names.withPassword } },
});
check(taken.response.status === 422, `a taken name answers 422, got ${taken.response.status}`);
// The error type is `ErrorBody | string`: JSON errors, and the text of a 429 or a gateway.
check(typeof taken.error === 'object', '422 answers a JSON ErrorBody');
const nameErrors = taken.error.errors?.['name'] ?? [];
check(nameErrors.length > 0, `422 lists messages for "name": ${JSON.stringify(taken.error)}`);

const generated = expectData(
  'create_user without a password',
  await api.POST('/databases/{database_id}/users', { ...db, body: { database_user: { name: names.generated } } }),
).database_user;
check(typeof generated.password === 'string' && generated.password.length > 0, 'a generated password is answered');

const newOne = newPassword();
const updated = expectData(
  'update_user_password',
  await api.PATCH('/databases/{database_id}/users/{username}', {
    params: { path: { database_id, username: names.withPassword } },
    body: { database_user: { password: newOne, password_confirmation: newOne } },
  }),
).database_user;
check(updated.name === names.withPassword, 'update_user_password answers the user');

const reset = expectData(
  'reset_user_password',
  await api.POST('/databases/{database_id}/users/{username}/reset_password', {
    params: { path: { database_id, username: names.generated } },
  }),
).database_user;
check(!!reset.password && reset.password !== generated.password, 'reset_user_password answers a new password');

for (const username of [names.withPassword, names.generated]) {
  const { response } = await api.DELETE('/databases/{database_id}/users/{username}', {
    params: { path: { database_id, username } },
  });
  check(response.status === 204, `delete_user ${username}: HTTP ${response.status}`);
}
const after = await listUserNames();
check(!after.includes(names.withPassword) && !after.includes(names.generated), 'list_users no longer shows them');

// 3. Backups.
expectData('list_backups', await api.GET('/databases/{database_id}/backups', db));
let backup: Backup = expectData('create_backup', await api.POST('/databases/{database_id}/backups', db)).database_backup;
check(backup.status === 'scheduled', `create_backup answers a scheduled backup, got ${backup.status}`);

const backupPath = { params: { path: { database_id, backup_id: backup.id } } };
for (let tries = 1; backup.status !== 'done'; tries++) {
  check(tries <= POLL.tries && backup.status !== 'error', `backup ${backup.id} is ${backup.status} after ${tries} tries`);
  await sleep(POLL.intervalMs);
  backup = expectData('get_backup', await api.GET('/databases/{database_id}/backups/{backup_id}', backupPath)).database_backup;
}
check(typeof backup.size === 'number' && backup.size > 0, `a done backup has a size, got ${backup.size}`);

const link = expectData(
  'get_backup_archive_url',
  await api.GET('/databases/{database_id}/backups/{backup_id}/archive', backupPath),
);
// The link is followed with plain fetch, not through the client: it is absolute, may point at
// another host, and must not get the client's Authorization header.
const downloaded = await downloadArchive(link.download_url, backup.size);

// 4. Error paths.
const missing = await api.GET('/databases/{database_id}/backups/{backup_id}', {
  params: { path: { database_id, backup_id: UNKNOWN_BACKUP_ID } },
});
check(missing.response.status === 404, `an unknown backup answers 404, got ${missing.response.status}`);
check(typeof missing.error === 'object', '404 answers a JSON ErrorBody');
const notFound: ErrorBody = missing.error;
check(notFound.resource === 'database_backup', `404 names the resource: ${JSON.stringify(notFound)}`);

await injectFault(sandbox, 'list_users', faults.tooManyRequests);
const limited = await api.GET('/databases/{database_id}/users', db);
check(limited.response.status === 429, `429 expected, got ${limited.response.status}`);
// The text/plain alternative is in the error type, so a string is a typed answer here.
check(limited.error === 'Retry later', `429 answers its text: ${JSON.stringify(limited.error)}`);
// Response headers are not typed by openapi-fetch (schema.ts has them, the client does not use them).
const retryAfter = limited.response.headers.get('Retry-After');
check(retryAfter === '1', `429 says Retry-After: 1, got ${retryAfter}`);

await injectFault(sandbox, 'list_backups', faults.badGateway);
const gateway = await api.GET('/databases/{database_id}/backups', db);
check(gateway.response.status === 502, `502 expected, got ${gateway.response.status}`);
check(typeof gateway.error === 'string' && gateway.error.includes('502 Bad Gateway'), 'the 502 page is answered as text');

await injectFault(sandbox, 'list_backups', faults.unavailable);
const unavailable = await api.GET('/databases/{database_id}/backups', db);
check(unavailable.response.status === 503, `503 expected, got ${unavailable.response.status}`);
// Awkward: with `Content-Length: 0` openapi-fetch answers { error: undefined }, which its types
// do not allow (they promise `ErrorBody | string`), so `if (error)` would take this for a success.
check(unavailable.error === undefined && unavailable.data === undefined, 'an empty 503 has neither data nor error');

console.log(
  `openapi-fetch: token flow, ${before.length} user(s) then 2 created/updated/reset/deleted, ` +
    `backup ${backup.id} done (${downloaded} bytes, gzip), 404/422/429/502/503 handled`,
);
