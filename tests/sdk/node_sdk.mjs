// The official TypeScript SDK (npm `telnyx`) against the emulator.
//
// Run by scripts/conformance.sh with TELNYX_BASE_URL and TELNYX_API_KEY pointing at a running
// `telnyx-edge storage kv serve`. Exits non-zero, naming the step, on the first mismatch.

import Telnyx from 'telnyx';

const client = new Telnyx({
  apiKey: process.env.TELNYX_API_KEY,
  baseURL: process.env.TELNYX_BASE_URL,
  maxRetries: 0,
});
const kvs = client.storage.kvs;

function check(step, got, want) {
  const a = JSON.stringify(got);
  const b = JSON.stringify(want);
  if (a !== b) {
    console.error(`node sdk: ${step}: got ${a}, want ${b}`);
    process.exit(1);
  }
}

const created = (await kvs.create({ name: 'node-sdk' })).data;
check('create status', created.status, 'pending');
const id = created.id;

const deadline = Date.now() + 20_000;
while ((await kvs.retrieve(id)).data.status !== 'provision_ok') {
  if (Date.now() > deadline) {
    console.error('node sdk: the namespace never reached provision_ok');
    process.exit(1);
  }
  await new Promise((resolve) => setTimeout(resolve, 100));
}

// More than the default page of 20, so auto-pagination must follow page[number].
for (let i = 0; i < 24; i++) {
  await kvs.create({ name: `node-sdk-${String(i).padStart(2, '0')}` });
}
const names = [];
for await (const ns of kvs.list()) {
  if (ns.name.startsWith('node-sdk')) names.push(ns.name);
}
check('namespace list length', names.length, 25);

const value = Uint8Array.from({ length: 256 }, (_, i) => i);
await kvs.keys.update('user/123', value, { id });
await kvs.keys.update('expiring', 'soon', { id, ttl_secs: 60 });
const response = await kvs.keys.retrieve('user/123', { id });
const bytes = new Uint8Array(await response.arrayBuffer());
check('value bytes', Array.from(bytes), Array.from(value));

for (let i = 0; i < 5; i++) {
  await kvs.keys.update(`group/${i}`, 'x', { id });
}
const keys = [];
for await (const key of kvs.keys.list(id, { prefix: 'group/', limit: 2 })) {
  keys.push(key.key);
}
check('key list', keys, ['group/0', 'group/1', 'group/2', 'group/3', 'group/4']);

await kvs.keys.delete('user/123', { id });
try {
  await kvs.keys.retrieve('user/123', { id });
  console.error('node sdk: a deleted key was still readable');
  process.exit(1);
} catch (err) {
  check('deleted key status', err.status, 404);
}

try {
  await kvs.create({ name: 'node-sdk' });
  console.error('node sdk: a duplicate name was accepted');
  process.exit(1);
} catch (err) {
  check('duplicate status', err.status, 409);
  check('duplicate code', err.error.errors[0].code, '10012');
}

check('delete status', (await kvs.delete(id)).data.status, 'deleting');
console.log('node sdk: ok');
