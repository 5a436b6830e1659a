package dev.r1flink.job;

import java.nio.charset.StandardCharsets;

/** Default sampling seeds: a hash of the event id, so replaying an event after a failure samples the same tokens. */
public final class Seeds {

    private Seeds() {
    }

    /** 64-bit FNV-1a of the id's UTF-8 bytes, then a murmur3 finalizer so near ids get far-apart seeds. */
    public static long ofEventId(String id) {
        long h = 0xcbf29ce484222325L;
        for (byte b : id.getBytes(StandardCharsets.UTF_8)) {
            h ^= b & 0xff;
            h *= 0x100000001b3L;
        }
        h ^= h >>> 33;
        h *= 0xff51afd7ed558ccdL;
        h ^= h >>> 33;
        h *= 0xc4ceb9fe1a85ec53L;
        h ^= h >>> 33;
        return h;
    }
}
