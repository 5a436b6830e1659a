-- The SQL twin of jobs/local-demo.yaml: prompt events (JSON) from Kafka -> ML_PREDICT with R1 in the task slots
-- -> results and dead letters, written to Kafka exactly once, in one statement set.
--
--   ./r1-flink demo --sql                                  embedded broker + local Flink, sample prompts
--   ./r1-flink sql jobs/local-demo.sql -D bootstrap-servers=kafka:9092 -D model-path=/models/x.gguf [-m host:8081]
--
-- ${name:default} is filled from -D name=value; the demo sets the broker and the topics.

SET 'execution.checkpointing.interval' = '1 s';     -- results become visible (read_committed) at each checkpoint
SET 'parallelism.default' = '${parallelism:1}';

CREATE TABLE prompts (
  id      STRING,
  prompt  STRING,
  `system` STRING,
  params  ROW<maxTokens INT, maxReasoningTokens INT, temperature FLOAT, topP FLOAT, seed BIGINT>
) WITH (
  'connector' = 'kafka',
  'topic' = '${prompts-topic:r1.prompts}',
  'properties.bootstrap.servers' = '${bootstrap-servers:localhost:9092}',
  'properties.group.id' = '${group-id:r1-sql}',
  'properties.isolation.level' = 'read_committed',
  'scan.startup.mode' = '${startup-mode:group-offsets}',
  'properties.auto.offset.reset' = 'earliest',
  'scan.bounded.mode' = '${bounded-mode:unbounded}',
  'format' = 'json'
);

-- One column per model input: the prompt first, the rest bound by name (see docs/sql.md).
CREATE TEMPORARY VIEW prompt_rows AS
SELECT id, prompt, `system` AS system_prompt, params.maxTokens AS max_tokens,
       params.maxReasoningTokens AS max_reasoning_tokens, params.temperature AS temperature,
       params.topP AS top_p, params.seed AS row_seed
FROM prompts;

CREATE TABLE results (
  id STRING, reasoning STRING, answer STRING, finish_reason STRING, error STRING,
  prompt_tokens INT, reasoning_tokens INT, answer_tokens INT, ttft_ms BIGINT, total_ms BIGINT, seed BIGINT
) WITH (
  'connector' = 'kafka',
  'topic' = '${results-topic:r1.results}',
  'properties.bootstrap.servers' = '${bootstrap-servers:localhost:9092}',
  'properties.transaction.timeout.ms' = '600000',
  'sink.delivery-guarantee' = 'exactly-once',
  'sink.transactional-id-prefix' = '${transactional-id-prefix:r1-sql}-results',
  'format' = 'json'
);

CREATE TABLE dead_letters (id STRING, prompt STRING, error STRING) WITH (
  'connector' = 'kafka',
  'topic' = '${dead-letter-topic:r1.dead-letters}',
  'properties.bootstrap.servers' = '${bootstrap-servers:localhost:9092}',
  'properties.transaction.timeout.ms' = '600000',
  'sink.delivery-guarantee' = 'exactly-once',
  'sink.transactional-id-prefix' = '${transactional-id-prefix:r1-sql}-dead-letters',
  'format' = 'json'
);

-- tiny-r1-arith: the 1.8M-parameter reasoning model shipped in the jar (context 256 tokens; greedy suits
-- arithmetic). A real R1 GGUF: -D model-path=/models/DeepSeek-R1-Distill-Qwen-7B-Q4_0.gguf.
CREATE MODEL r1
INPUT (prompt STRING, id STRING, system_prompt STRING, max_tokens INT, max_reasoning_tokens INT, temperature FLOAT,
       top_p FLOAT, seed BIGINT)
OUTPUT (reasoning STRING, answer STRING, finish_reason STRING, error STRING, prompt_tokens INT,
        reasoning_tokens INT, answer_tokens INT, ttft_ms BIGINT, total_ms BIGINT, seed BIGINT)
WITH (
  'provider' = 'r1',
  'model.path' = '${model-path:bundled:tiny-r1-arith}',
  'model.name' = '${model-name:tiny-r1-arith}',
  'engine.max-sequences' = '${max-sequences:8}',
  'engine.kv-cache-bytes' = '${kv-cache-bytes:256mb}',
  'engine.threads' = '${engine-threads:0}',
  'max-tokens' = '${max-tokens:224}',
  'max-reasoning-tokens' = '${max-reasoning-tokens:192}',
  'temperature' = '${temperature:0}'
);

-- max-concurrent-operations is the batch: twice engine.max-sequences, so a finished sequence's replacement
-- already waits in the engine. Unordered output: results leave as they finish.
CREATE TEMPORARY VIEW predictions AS
SELECT * FROM ML_PREDICT(
  TABLE prompt_rows, MODEL r1,
  DESCRIPTOR(prompt, id, system_prompt, max_tokens, max_reasoning_tokens, temperature, top_p, row_seed),
  MAP['async', 'true', 'max-concurrent-operations', '${capacity:16}', 'output-mode', 'ALLOW_UNORDERED',
      'timeout', '10 min']);

EXECUTE STATEMENT SET
BEGIN
  INSERT INTO results
  SELECT id, reasoning, answer, finish_reason, error, prompt_tokens, reasoning_tokens, answer_tokens, ttft_ms,
         total_ms, seed
  FROM predictions WHERE finish_reason <> 'REJECTED';
  INSERT INTO dead_letters
  SELECT id, prompt, error FROM predictions WHERE finish_reason = 'REJECTED';
END;
