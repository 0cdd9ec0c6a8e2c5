// The contract through @hey-api/openapi-ts: one function per operation (../generated/hey-api),
// over the fetch client the generator bundles into its output. Errors come back as values
// (`throwOnError` is off), with the raw `response` beside them.
import { createClient, createConfig } from '../generated/hey-api/client/index.js';
import {
  createBackup,
  createUser,
  deleteUser,
  exchangeApiToken,
  getAddonToken,
  getBackup,
  getBackupArchiveUrl,
  listBackups,
  listUsers,
  resetUserPassword,
  updateUserPassword,
  type Backup,
  type ErrorBody,
} from '../generated/hey-api/index.js';
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

const sandbox = sandboxFromEnv();
const database_id = sandbox.database;

// Tokens, filled in as the flow gets them. The generated functions name the security scheme they
// need (`auth.key`), and the client's `auth` callback answers the matching credential.
let userToken = '';
let databaseToken = '';

// 1. Token flow. The generator ignores the per-path `servers` (the SDK has one base URL per
// client), so there is one client for the root (the /v1 token routes) and one for /api.
const auth = createClient(
  createConfig({
    baseUrl: sandbox.url,
    // exchange_api_token: HTTP Basic (the client base64-encodes "user:password", the user empty);
    // get_addon_token: the `userToken` bearer scheme.
    auth: (scheme) => (scheme.scheme === 'basic' ? `:${sandbox.apiToken}` : userToken),
  }),
);
const api = createClient(createConfig({ baseUrl: `${sandbox.url}/api`, auth: () => databaseToken }));

userToken = expectData('exchange_api_token', await exchangeApiToken({ client: auth })).token;
check(userToken.length > 0, 'exchange_api_token answers a user token');

const addon = expectData(
  'get_addon_token',
  await getAddonToken({ client: auth, path: { app: sandbox.app, addon_id: database_id } }),
).addon;
check(addon.id === database_id, `get_addon_token answers the addon ${database_id}, got ${addon.id}`);
databaseToken = addon.token;

const db = { client: api, path: { database_id } };

// 2. Users.
const names = { withPassword: 'poly-ts-heyapi-1', generated: 'poly-ts-heyapi-2' };

const before = expectData('list_users', await listUsers(db))['database-users'];
check(before.some((u) => u.protected), 'list_users shows the protected default user');

const password = newPassword();
const created = expectData(
  'create_user',
  await createUser({
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
const taken = await createUser({ ...db, body: { database_user: { name: names.withPassword } } });
check(taken.response?.status === 422, `a taken name answers 422, got ${taken.response?.status}`);
check(taken.error !== undefined && typeof taken.error !== 'string', '422 answers a JSON error body');
const nameErrors = taken.error.errors?.['name'] ?? [];
check(nameErrors.length > 0, `422 lists messages for "name": ${JSON.stringify(taken.error)}`);

const generated = expectData(
  'create_user without a password',
  await createUser({ ...db, body: { database_user: { name: names.generated } } }),
).database_user;
check(typeof generated.password === 'string' && generated.password.length > 0, 'a generated password is answered');

const newOne = newPassword();
const updated = expectData(
  'update_user_password',
  await updateUserPassword({
    client: api,
    path: { database_id, username: names.withPassword },
    body: { database_user: { password: newOne, password_confirmation: newOne } },
  }),
).database_user;
check(updated.name === names.withPassword, 'update_user_password answers the user');

const reset = expectData(
  'reset_user_password',
  await resetUserPassword({ client: api, path: { database_id, username: names.generated } }),
).database_user;
check(!!reset.password && reset.password !== generated.password, 'reset_user_password answers a new password');

for (const username of [names.withPassword, names.generated]) {
  const { response } = await deleteUser({ client: api, path: { database_id, username } });
  check(response?.status === 204, `delete_user ${username}: HTTP ${response?.status}`);
}
const after = expectData('list_users', await listUsers(db))['database-users'].map((u) => u.name);
check(!after.includes(names.withPassword) && !after.includes(names.generated), 'list_users no longer shows them');

// 3. Backups.
expectData('list_backups', await listBackups(db));
let backup: Backup = expectData('create_backup', await createBackup(db)).database_backup;
check(backup.status === 'scheduled', `create_backup answers a scheduled backup, got ${backup.status}`);

const backupPath = { client: api, path: { database_id, backup_id: backup.id } };
for (let tries = 1; backup.status !== 'done'; tries++) {
  check(tries <= POLL.tries && backup.status !== 'error', `backup ${backup.id} is ${backup.status} after ${tries} tries`);
  await sleep(POLL.intervalMs);
  backup = expectData('get_backup', await getBackup(backupPath)).database_backup;
}
check(typeof backup.size === 'number' && backup.size > 0, `a done backup has a size, got ${backup.size}`);

const link = expectData('get_backup_archive_url', await getBackupArchiveUrl(backupPath));
// The link is followed with plain fetch, not through the client: it is absolute, may point at
// another host, and must not get the client's Authorization header.
const downloaded = await downloadArchive(link.download_url, backup.size);

// 4. Error paths.
const missing = await getBackup({ client: api, path: { database_id, backup_id: UNKNOWN_BACKUP_ID } });
check(missing.response?.status === 404, `an unknown backup answers 404, got ${missing.response?.status}`);
check(missing.error !== undefined && typeof missing.error !== 'string', '404 answers a JSON error body');
const notFound: ErrorBody = missing.error;
check(notFound.resource === 'database_backup', `404 names the resource: ${JSON.stringify(notFound)}`);

// The plain-text 429 and a gateway's 502/503 are their own answers in the contract, so the error
// is typed `ErrorBody | string`, and here it is the string.
await injectFault(sandbox, 'list_users', faults.tooManyRequests);
const limited = await listUsers(db);
check(limited.response?.status === 429, `429 expected, got ${limited.response?.status}`);
check(limited.error === 'Retry later', `429 answers its text: ${JSON.stringify(limited.error)}`);
const retryAfter = limited.response.headers.get('Retry-After'); // headers are not typed
check(retryAfter === '1', `429 says Retry-After: 1, got ${retryAfter}`);

await injectFault(sandbox, 'list_backups', faults.badGateway);
const gateway = await listBackups(db);
check(gateway.response?.status === 502, `502 expected, got ${gateway.response?.status}`);
const page = gateway.error;
check(typeof page === 'string' && page.includes('502 Bad Gateway'), 'the 502 page is answered as text');

await injectFault(sandbox, 'list_backups', faults.unavailable);
const unavailable = await listBackups(db);
check(unavailable.response?.status === 503, `503 expected, got ${unavailable.response?.status}`);
// An empty error body becomes `{}` (the client's `error || {}`), which does pass for an ErrorBody.
check(JSON.stringify(unavailable.error) === '{}', `an empty 503 answers {}: ${JSON.stringify(unavailable.error)}`);

console.log(
  `hey-api: token flow, ${before.length} user(s) then 2 created/updated/reset/deleted, ` +
    `backup ${backup.id} done (${downloaded} bytes, gzip), 404/422/429/502/503 handled`,
);
