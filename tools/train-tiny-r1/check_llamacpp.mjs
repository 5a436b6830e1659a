// Checks that llama.cpp (through node-llama-cpp) runs a shipped tiny-r1-arith GGUF like the PyTorch model:
// same prompt token ids, and the same greedy continuation (token for token) on the problems that train.py
// wrote to pytorch_greedy.jsonl.
//
//   mkdir /tmp/nlc && cd /tmp/nlc && npm i -E node-llama-cpp@3.21.1
//   NODE_PATH=/tmp/nlc/node_modules node check_llamacpp.mjs MODEL.gguf [f32_ids|q8_0_ids] [N]
import fs from "node:fs";
import path from "node:path";
import { createRequire } from "node:module";

const require = createRequire(path.join(process.env.NODE_PATH ?? "/tmp/nlc/node_modules", "x.js"));
const { getLlama, LlamaLogLevel } = await import(require.resolve("node-llama-cpp"));

const [modelPath, field = "f32_ids", nArg = "1000"] = process.argv.slice(2);
const here = path.dirname(new URL(import.meta.url).pathname);
const rows = fs.readFileSync(path.join(here, "pytorch_greedy.jsonl"), "utf8").trim().split("\n")
  .map((l) => JSON.parse(l)).slice(0, Number(nArg));

const llama = await getLlama({ gpu: false, logLevel: LlamaLogLevel.error });
const model = await llama.loadModel({ modelPath });
const ctx = model.trainContextSize; // the model's own context (qwen2.context_length)
const context = await model.createContext({ contextSize: ctx, batchSize: ctx, threads: 1 });
const sequence = context.getSequence();
const BOS = "<｜begin▁of▁sentence｜>", USER = "<｜User｜>", ASSISTANT = "<｜Assistant｜>";

let promptSame = 0, same = 0, answerSame = 0;
for (const r of rows) {
  const prompt = model.tokenize(`${BOS}${USER}${r.problem}${ASSISTANT}<think>\n`, true);
  if (JSON.stringify(prompt) === JSON.stringify(r.prompt_ids)) promptSame++;
  else console.log(`#${r.id} prompt ids differ:\n  llama.cpp ${JSON.stringify(prompt)}\n  pytorch   ${JSON.stringify(r.prompt_ids)}`);
  await sequence.clearHistory();
  const out = [];
  for await (const t of sequence.evaluate(r.prompt_ids, { temperature: 0 })) {
    out.push(t);
    if (model.isEogToken(t) || r.prompt_ids.length + out.length >= ctx) break;
  }
  // node-llama-cpp ends the generator at an end-of-generation token without yielding it, so compare
  // against PyTorch's ids without its final <｜end▁of▁sentence｜> and require that llama.cpp stopped there too.
  const stopped = r.prompt_ids.length + out.length < ctx;
  const eos = model.tokens.eos;
  const want = r[field].at(-1) === eos ? r[field].slice(0, -1) : r[field];
  if (r[field].at(-1) === eos && !stopped) out.push(-1);
  const text = model.detokenize(out, true);
  const box = (s) => (s.split("</think>").pop().match(/\\boxed\{(-?\d+)\}/g) ?? []).pop();
  const wantText = model.detokenize(want, true);
  if (JSON.stringify(out) === JSON.stringify(want)) same++;
  else console.log(`#${r.id} continuation differs: llama.cpp ${out.length} tokens, pytorch ${want.length}, first difference at ${out.findIndex((t, i) => t !== want[i])}, last ${out.at(-1)} vs ${want.at(-1)}`);
  if (box(text) === box(wantText)) answerSame++;
  console.log(`#${r.id} [${r.kind}] ${r.problem} -> ${box(text)} (pytorch ${box(wantText)}, expected ${r.answer})`);
}
console.log(JSON.stringify({ model: path.basename(modelPath), compared: field, n: rows.length,
  promptIdsEqual: promptSame, continuationsEqual: same, boxedAnswersEqual: answerSame }));
await context.dispose();
await model.dispose();
