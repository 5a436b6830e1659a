// Single-sequence llama.cpp speed (node-llama-cpp 3.21.1 = llama.cpp v0.4.0, prebuilt CPU binary) as the peer
// figure for docs/benchmarks.md, section "Single-sequence runtime (issue 2)".
//
//   prefill: one sequence, --prefill tokens evaluated in one call (batchSize 512 = one ubatch), no output token;
//   decode:  --decode tokens generated greedily one at a time after a short prompt (batch 1), timed per token.
// Each figure is the best of --repeat runs after one warm-up run (the warm-up also pages in the mmapped file).
// Token ids are a fixed pseudo-random sequence, so the figures do not depend on the tokenizer or the prompt.
//
// Usage: node bench.mjs --model M.gguf [--threads 2] [--prefill 512] [--decode 64] [--repeat 3]
//                       [--flash-attention on|off|auto]
import {getLlama, LlamaLogLevel} from "node-llama-cpp";

const args = {threads: 2, prefill: 512, decode: 64, repeat: 3, flashAttention: "auto"};
for (let i = 2; i < process.argv.length; i += 2) {
    const [k, v] = [process.argv[i], process.argv[i + 1]];
    if (k === "--model") args.model = v;
    else if (k === "--threads") args.threads = Number(v);
    else if (k === "--prefill") args.prefill = Number(v);
    else if (k === "--decode") args.decode = Number(v);
    else if (k === "--repeat") args.repeat = Number(v);
    else if (k === "--flash-attention") args.flashAttention = v === "on" ? true : v === "off" ? false : "auto";
    else throw new Error(`unknown argument ${k}`);
}

const llama = await getLlama({gpu: false, build: "never", skipDownload: true, logLevel: LlamaLogLevel.error,
    maxThreads: args.threads});
const model = await llama.loadModel({modelPath: args.model, gpuLayers: 0});
const context = await model.createContext({contextSize: 1024, batchSize: 512, sequences: 1,
    threads: {ideal: args.threads, min: args.threads}, flashAttention: args.flashAttention});
const sequence = context.getSequence();

let seed = 12345;
const rand = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff);
const ids = n => Array.from({length: n}, () => 1000 + rand() % 30000);

async function prefill() {
    await sequence.clearHistory();
    const tokens = ids(args.prefill);
    const t0 = process.hrtime.bigint();
    await sequence.evaluateWithoutGeneratingNewTokens(tokens);
    return args.prefill / (Number(process.hrtime.bigint() - t0) / 1e9);
}

async function decode() {
    await sequence.clearHistory();
    let input = ids(8);
    let res = await sequence.controlledEvaluate(input.map((t, i) =>
        i === input.length - 1 ? [t, {generateNext: {token: true}}] : t));
    let token = res[input.length - 1].next.token;
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < args.decode; i++) {
        res = await sequence.controlledEvaluate([[token, {generateNext: {token: true}}]]);
        token = res[0].next.token;
    }
    return args.decode / (Number(process.hrtime.bigint() - t0) / 1e9);
}

await prefill();
await decode();
let bestPrefill = 0, bestDecode = 0;
for (let r = 0; r < args.repeat; r++) {
    bestPrefill = Math.max(bestPrefill, await prefill());
    bestDecode = Math.max(bestDecode, await decode());
}
console.log(JSON.stringify({model: args.model, threads: args.threads, flashAttention: context.flashAttention,
    prefillTokens: args.prefill, prefillTps: Number(bestPrefill.toFixed(2)),
    decodeTokens: args.decode, decodeTps: Number(bestDecode.toFixed(2))}));
await context.dispose();
await model.dispose();
