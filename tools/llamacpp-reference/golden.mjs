// Golden next-token data from llama.cpp (through node-llama-cpp 3.21.1, llama.cpp release v0.4.0, ggml CPU backend)
// for the parity tests in src/test/java/dev/r1flink/model/*ParityTest.java.
//
// For one GGUF and one prompt it writes JSON with:
//   promptIds   the prompt as llama.cpp tokenizes it: BOS prepended iff the file says so
//               (tokenizer.ggml.add_bos_token), special tokens such as <｜User｜> parsed as single tokens;
//   ids         the continuation: llama.cpp's greedy choices (--mode greedy) or the ids given with --forced;
//   steps[i]    the top-k after the prompt plus ids[0..i-1] as [[id, relLogit], ...], best first, where
//               relLogit = ln(p / pmax) = logit - maxLogit. node-llama-cpp gives no raw logits, only the
//               softmax over the full vocabulary, which it computes in float from llama.cpp's logits, so
//               ln(p/pmax) equals the logit difference to ~1e-6.
// In both modes the continuation token fed at step i is ids[i-1], so a Java test can feed exactly llama.cpp's
// tokens (teacher forcing) and compare its own top-k against steps[i] at every step.
//
// Settings that are pinned because they change the numbers (checked on the tiny synthetic models):
//   - flashAttention false. llama.cpp's default here ("auto", node-llama-cpp's default too) turns flash
//     attention ON for this CPU backend: --flash-attention-auto gives the same output as --flash-attention.
//     It moves relative logits by up to ~1e-2 against the non-flash path (ggml's CPU flash attention rounds Q to
//     F16 and accumulates V*softmax differently), so the goldens use the plain path:
//     kq = mul_mat(K_f16, q), softmax, kqv = mul_mat(V_f16, kq), which rounds q and the softmax weights to F16.
//   - KV cache F16 (llama.cpp's default): K and V are rounded to F16 when stored, as our KvCache does.
//   - batchSize 512, contextSize 512, one sequence: the prompt is one ubatch.
//   - threads 2. 1 and 2 threads gave byte-identical output (ggml splits rows between threads, never a row's
//     reduction), so the thread count does not matter; it is pinned anyway.
//   - greedy sampling, no penalties: without temperature node-llama-cpp's sampler chain is
//     llama_sampler_init_greedy alone, which does not change logits, and the probabilities it returns are the
//     softmax over all logits (AddonContext.cpp SampleToken).
//   - GPU off, no build from source, no download (getLlama({gpu: false, build: "never", skipDownload: true})): the
//     prebuilt CPU binary of @node-llama-cpp/linux-x64 is used; ggml loads the best CPU variant at run time.
//     `npm ci --ignore-scripts` is enough to install it (the postinstall step only checks for binaries).
//
// Usage:
//   node golden.mjs --model M.gguf --prompt TEXT [--steps 32] [--top-k 10] [--mode greedy|forced]
//                   [--forced 1,2,3] [--describe JSON] [--flash-attention | --flash-attention-auto]
//                   [--threads 2] [--digits 4] [--out FILE]
//   node golden.mjs --model M.gguf --tokenize TEXT          prints the prompt ids only
import {getLlama, LlamaLogLevel} from "node-llama-cpp";
import fs from "node:fs";

function parseArgs(argv) {
    const args = {steps: 32, topK: 10, mode: "greedy", threads: 2, flashAttention: false, batchSize: 512,
        contextSize: 512, describe: "{}", digits: 4};
    for (let i = 2; i < argv.length; i++) {
        const a = argv[i];
        const next = () => {
            if (i + 1 >= argv.length) throw new Error(`${a} needs a value`);
            return argv[++i];
        };
        switch (a) {
            case "--model": args.model = next(); break;
            case "--prompt": args.prompt = next(); break;
            case "--tokenize": args.tokenize = next(); break;
            case "--steps": args.steps = Number(next()); break;
            case "--top-k": args.topK = Number(next()); break;
            case "--mode": args.mode = next(); break;
            case "--forced": args.forced = next().split(",").filter(s => s.length > 0).map(Number); break;
            case "--describe": args.describe = next(); break;
            case "--flash-attention": args.flashAttention = true; break;
            case "--flash-attention-auto": args.flashAttention = "auto"; break;
            case "--threads": args.threads = Number(next()); break;
            case "--digits": args.digits = Number(next()); break;
            case "--out": args.out = next(); break;
            default: throw new Error(`unknown argument ${a}`);
        }
    }
    if (args.model == null) throw new Error("--model is required");
    if (args.mode !== "greedy" && args.mode !== "forced") throw new Error("--mode is greedy or forced");
    if (args.mode === "forced" && args.forced == null) throw new Error("--mode forced needs --forced ids");
    return args;
}

const args = parseArgs(process.argv);
const llama = await getLlama({gpu: false, build: "never", skipDownload: true, usePrebuiltBinaries: true,
    logLevel: LlamaLogLevel.error, maxThreads: args.threads});

if (args.tokenize != null) {
    const model = await llama.loadModel({modelPath: args.model, vocabOnly: true});
    console.log(JSON.stringify(tokenizePrompt(model, args.tokenize)));
    await model.dispose();
    process.exit(0);
}

/** As llama.cpp's common_tokenize(vocab, text, add_special = true, parse_special = true). */
function tokenizePrompt(model, text) {
    const ids = model.tokenize(text, true);
    if (model.tokens.shouldPrependBosToken && model.tokens.bos != null) ids.unshift(model.tokens.bos);
    return ids;
}

const model = await llama.loadModel({modelPath: args.model, gpuLayers: 0, useMmap: true});
const context = await model.createContext({
    contextSize: args.contextSize,
    batchSize: args.batchSize,
    sequences: 1,
    threads: {ideal: args.threads, min: args.threads},
    flashAttention: args.flashAttention,
});
const sequence = context.getSequence();

const promptIds = tokenizePrompt(model, args.prompt);
const round = x => Number(x.toFixed(args.digits));

function topK(probabilities) {
    const out = [];
    let pmax = 0;
    for (const [id, p] of probabilities) { // sorted best first
        if (out.length === 0) pmax = p;
        if (out.length === args.topK) break;
        out.push([id, round(Math.log(p / pmax))]);
    }
    return out;
}

const steps = [];
const ids = [];
const nSteps = args.mode === "forced" ? args.forced.length : args.steps;
let input = promptIds;
for (let step = 0; step < nSteps; step++) {
    const items = input.map((t, i) => i === input.length - 1
        ? [t, {generateNext: {token: true, probabilities: true}}]
        : t);
    const res = await sequence.controlledEvaluate(items);
    const next = res[input.length - 1].next;
    steps.push(topK(next.probabilities));
    const chosen = args.mode === "forced" ? args.forced[step] : next.token;
    ids.push(chosen);
    input = [chosen];
}

const golden = {
    reference: {
        engine: "llama.cpp via node-llama-cpp",
        nodeLlamaCpp: "3.21.1",
        llamaCppRelease: llama.llamaCppRelease.release,
        threads: args.threads,
        batchSize: args.batchSize,
        contextSize: sequence.contextSize,
        flashAttention: context.flashAttention,
        kvCacheType: "F16",
        sampler: "greedy",
    },
    model: JSON.parse(args.describe),
    mode: args.mode,
    topK: args.topK,
    prompt: args.prompt,
    promptIds,
    ids,
    steps,
};
const json = formatGolden(golden);
if (args.out) fs.writeFileSync(args.out, json); else process.stdout.write(json);

await context.dispose();
await model.dispose();

/** Pretty JSON, except that number arrays stay on one line per step so the files stay small and diffable. */
function formatGolden(g) {
    const {steps: s, ids: i, promptIds: p, ...head} = g;
    const lines = JSON.stringify(head, null, 2).split("\n");
    lines.pop(); // closing brace
    lines[lines.length - 1] += ",";
    lines.push(`  "promptIds": ${JSON.stringify(p)},`);
    lines.push(`  "ids": ${JSON.stringify(i)},`);
    lines.push(`  "steps": [`);
    s.forEach((st, k) => lines.push(`    ${JSON.stringify(st)}${k === s.length - 1 ? "" : ","}`));
    lines.push("  ]", "}", "");
    return lines.join("\n");
}
