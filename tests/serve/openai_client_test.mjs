// The official `openai` npm client (pinned in tests/serve/npm) against `alltools serve`: streaming, a tool-call
// round trip with role "tool", raw completions, and errors surfacing as the client's typed exceptions.
// The server plays a scripted model (--scripted): request k (in order) gets reply k.
// Usage: node openai_client_test.mjs /path/to/alltools WORKDIR
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { writeFileSync, mkdirSync } from 'node:fs';
import assert from 'node:assert/strict';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(path.join(here, 'npm', 'package.json'));
let OpenAI;
try {
  OpenAI = require('openai').default;
} catch (e) {
  console.error('openai npm package missing: run scripts/test-setup.sh (installs tests/serve/npm)');
  process.exit(1);
}

const [alltools, work] = process.argv.slice(2);
mkdirSync(work, { recursive: true });
const KEY = 'sk-test-0123456789abcdef';
writeFileSync(path.join(work, 'keys'), `# test key\n${KEY}\n`);
writeFileSync(path.join(work, 'script.json'), JSON.stringify([
  '\nHello from alltools serve.',
  'get_weather\n{"city": "Paris"}',
  '\nIt is sunny in Paris, 24 degrees.',
  'get_weather\n{"city": "Rome"}',
  'four five six',
]));

const server = spawn(alltools, ['serve', '--port', '0', '--scripted', path.join(work, 'script.json'),
  '--api-key-file', path.join(work, 'keys'), '--no-runs'], { stdio: ['ignore', 'ignore', 'pipe'] });
const port = await new Promise((resolve, reject) => {
  let err = '';
  const timer = setTimeout(() => reject(new Error('server did not start: ' + err)), 20000);
  server.stderr.on('data', (d) => {
    err += d;
    const m = /listening on http:\/\/[^:]+:(\d+)/.exec(err);
    if (m) { clearTimeout(timer); resolve(Number(m[1])); }
  });
  server.on('exit', (code) => reject(new Error(`server exited ${code}: ${err}`)));
});

const client = new OpenAI({ apiKey: KEY, baseURL: `http://127.0.0.1:${port}/v1`, maxRetries: 0, timeout: 20000 });
const tools = [{ type: 'function', function: {
  name: 'get_weather', description: 'Current weather of a city',
  parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] } } }];
let failures = 0;
async function check(name, fn) {
  try { await fn(); console.log(`ok   ${name}`); } catch (e) { failures++; console.log(`FAIL ${name}: ${e.stack || e}`); }
}

await check('models', async () => {
  const list = await client.models.list();
  assert.equal(list.data.length, 1);
  assert.equal(list.data[0].object, 'model');
});

await check('streaming chat', async () => {
  const stream = await client.chat.completions.create({
    model: 'glm4', stream: true, stream_options: { include_usage: true },
    messages: [{ role: 'user', content: 'Say hello' }] });
  let text = '', finish = null, usage = null, chunks = 0;
  for await (const chunk of stream) {
    chunks++;
    if (chunk.usage) usage = chunk.usage;
    const c = chunk.choices[0];
    if (!c) continue;
    text += c.delta.content ?? '';
    if (c.finish_reason) finish = c.finish_reason;
  }
  assert.equal(text, 'Hello from alltools serve.');
  assert.equal(finish, 'stop');
  assert.ok(chunks > 3, `only ${chunks} chunks`);
  assert.ok(usage && usage.completion_tokens > 0 && usage.total_tokens === usage.prompt_tokens + usage.completion_tokens);
});

await check('tool call round trip with role tool', async () => {
  const messages = [{ role: 'user', content: 'Weather in Paris?' }];
  const first = await client.chat.completions.create({ model: 'glm4', messages, tools });
  const msg = first.choices[0].message;
  assert.equal(first.choices[0].finish_reason, 'tool_calls');
  assert.equal(msg.tool_calls.length, 1);
  const call = msg.tool_calls[0];
  assert.equal(call.function.name, 'get_weather');
  assert.deepEqual(JSON.parse(call.function.arguments), { city: 'Paris' });
  messages.push(msg);
  messages.push({ role: 'tool', tool_call_id: call.id, content: JSON.stringify({ sky: 'sunny', temp_c: 24 }) });
  const second = await client.chat.completions.create({ model: 'glm4', messages, tools });
  assert.equal(second.choices[0].message.content, 'It is sunny in Paris, 24 degrees.');
  assert.equal(second.choices[0].finish_reason, 'stop');
});

await check('streamed tool call', async () => {
  const stream = await client.chat.completions.create({
    model: 'glm4', stream: true, tools, messages: [{ role: 'user', content: 'Weather in Rome?' }] });
  let name = '', args = '', id = '', finish = null;
  for await (const chunk of stream) {
    const c = chunk.choices[0];
    if (!c) continue;
    for (const tc of c.delta.tool_calls ?? []) {
      if (tc.id) id = tc.id;
      if (tc.function?.name) name += tc.function.name;
      args += tc.function?.arguments ?? '';
    }
    if (c.finish_reason) finish = c.finish_reason;
  }
  assert.match(id, /^call_/);
  assert.equal(name, 'get_weather');
  assert.deepEqual(JSON.parse(args), { city: 'Rome' });
  assert.equal(finish, 'tool_calls');
});

await check('raw completion', async () => {
  const out = await client.completions.create({ model: 'glm4', prompt: 'one two three', max_tokens: 8, stop: ['six'] });
  assert.equal(out.choices[0].text, 'four five ');
  assert.equal(out.choices[0].finish_reason, 'stop');
});

await check('bad request is a BadRequestError naming the param', async () => {
  await assert.rejects(
    client.chat.completions.create({ model: 'glm4', temperature: 7, messages: [{ role: 'user', content: 'x' }] }),
    (e) => e instanceof OpenAI.BadRequestError && e.status === 400 && e.param === 'temperature' &&
           e.type === 'invalid_request_error');
});

await check('wrong key is an AuthenticationError', async () => {
  const bad = new OpenAI({ apiKey: 'sk-wrong-0123456789abcdef', baseURL: `http://127.0.0.1:${port}/v1`, maxRetries: 0 });
  await assert.rejects(bad.chat.completions.create({ model: 'glm4', messages: [{ role: 'user', content: 'x' }] }),
    (e) => e instanceof OpenAI.AuthenticationError && e.status === 401);
});

server.kill('SIGTERM');
const code = await new Promise((resolve) => server.on('exit', resolve));
if (code !== 0) { failures++; console.log(`FAIL server exit code ${code}`); }
console.log(failures === 0 ? 'all passed' : `${failures} failed`);
process.exit(failures === 0 ? 0 : 1);
