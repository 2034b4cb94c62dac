// The official `openai` npm client against `alltools serve`: a streamed answer, then a tool-call round trip
// (the client runs the function and sends the result back as a `tool` message).
//
//   alltools serve --port 8080 &          # the embedded model; add --api-key-file F to require keys
//   npm install openai@7.55.0
//   node chat.mjs                          # ALLTOOLS_URL / ALLTOOLS_KEY override the defaults
import OpenAI from 'openai';

const client = new OpenAI({
  baseURL: process.env.ALLTOOLS_URL ?? 'http://127.0.0.1:8080/v1',
  apiKey: process.env.ALLTOOLS_KEY ?? 'none',  // the server ignores it unless started with --api-key-file
});

// 1. Streaming chat.
const stream = await client.chat.completions.create({
  model: 'glm4', stream: true, temperature: 0,
  messages: [{ role: 'user', content: 'Hello! What can you do?' }],
});
for await (const chunk of stream) process.stdout.write(chunk.choices[0]?.delta?.content ?? '');
process.stdout.write('\n');

// 2. Function calling: GLM-4 function tools behind the OpenAI tools API.
const tools = [{
  type: 'function',
  function: {
    name: 'get_weather',
    description: 'Current weather of a city',
    parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
  },
}];
const messages = [{ role: 'user', content: 'What is the weather in Paris?' }];
const first = await client.chat.completions.create({ model: 'glm4', messages, tools, temperature: 0 });
const reply = first.choices[0].message;
messages.push(reply);
for (const call of reply.tool_calls ?? []) {
  const args = JSON.parse(call.function.arguments);
  console.log(`model called ${call.function.name}(${JSON.stringify(args)})`);
  messages.push({ role: 'tool', tool_call_id: call.id, content: JSON.stringify({ city: args.city, sky: 'sunny', temp_c: 24 }) });
}
if (reply.tool_calls?.length) {
  const second = await client.chat.completions.create({ model: 'glm4', messages, tools, temperature: 0 });
  console.log(second.choices[0].message.content);
} else {
  console.log(reply.content);
}
