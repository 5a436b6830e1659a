package dev.r1flink.job;

import org.junit.jupiter.api.Test;

import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;

class ModelRegistryTest {

    @Test
    void slotsShareOneLoadAndTheLastReleaseUnloads() throws Exception {
        EngineFactory f = new ScriptedEngineFactory();
        Map<String, String> opts = Map.of("scripted.context", "99");
        int loads = ScriptedEngineFactory.LOADS.get();
        int loaded = ScriptedEngineFactory.LOADED.get();
        ModelRegistry.Lease a = ModelRegistry.acquire(f, "/m/registry-test.gguf", opts);
        ModelRegistry.Lease b = ModelRegistry.acquire(f, "/m/registry-test.gguf", opts);
        assertSame(a.model(), b.model());
        assertEquals(loads + 1, ScriptedEngineFactory.LOADS.get());
        assertEquals(2, ModelRegistry.holders(f, "/m/registry-test.gguf", opts));
        a.close();
        a.close(); // idempotent: must not release b's hold
        assertEquals(1, ModelRegistry.holders(f, "/m/registry-test.gguf", opts));
        assertEquals(loaded + 1, ScriptedEngineFactory.LOADED.get());
        b.close();
        assertEquals(0, ModelRegistry.holders(f, "/m/registry-test.gguf", opts));
        assertEquals(loaded, ScriptedEngineFactory.LOADED.get());
        ModelRegistry.Lease c = ModelRegistry.acquire(f, "/m/registry-test.gguf", opts);
        assertNotSame(a.model(), c.model(), "loaded afresh after the last release");
        c.close();
    }

    @Test
    void differentPathsAreDifferentModels() throws Exception {
        EngineFactory f = new ScriptedEngineFactory();
        try (ModelRegistry.Lease a = ModelRegistry.acquire(f, "/m/one.gguf", Map.of());
             ModelRegistry.Lease b = ModelRegistry.acquire(f, "/m/two.gguf", Map.of())) {
            assertNotSame(a.model(), b.model());
        }
    }
}
