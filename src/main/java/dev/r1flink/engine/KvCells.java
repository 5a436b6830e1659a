package dev.r1flink.engine;

import java.util.Arrays;

/**
 * Metadata of the paged KV cache (the storage is {@link PagedKvCache}): a pool of {@code blockCount} blocks of
 * {@code blockSize} cells, a block table per sequence, a reference count per block, and the hashes of full blocks
 * for prefix caching.
 *
 * <p>Every block is in exactly one state:
 * <ul>
 *   <li><b>free</b>: refs == 0, no hash, on the free stack;</li>
 *   <li><b>cached</b>: refs == 0, hashed, on the LRU list (reusable by a matching prefix, evicted when the free
 *       stack is empty);</li>
 *   <li><b>used</b>: refs &gt; 0, in that many block tables; hashed iff full and registered.</li>
 * </ul>
 * Only full blocks are hashed, and a hashed block is never written again, so sharing needs no copy-on-write: a
 * sequence writes only into its own last, partial block. A block's hash chains its parent's, so equal hashes mean
 * equal whole prefixes. Not thread-safe: the scheduler thread owns it.
 */
final class KvCells {
    final int blockSize;
    final int blockCount;
    final int maxBlocksPerSequence;
    private final int shift;
    private final boolean prefixCaching;

    private final int[] refs;        // [blockCount] block tables holding the block
    private final long[] hash;       // [blockCount] chained hash of a registered full block; 0 = none
    private final int[] heldTokens;  // [blockCount * blockSize] tokens of registered blocks, to verify matches
    private final int[] freeStack;   // [blockCount]
    private int freeTop;
    private final int[] lruPrev;     // [blockCount] cached blocks, least recently released first
    private final int[] lruNext;     // [blockCount]
    private int lruHead = -1;
    private int lruTail = -1;
    private int cachedCount;
    private final long[] mapKeys;    // [mapCapacity] open addressing hash -> block; 0 = empty
    private final int[] mapBlocks;   // [mapCapacity]

    private final int[][] tables;    // [maxSequences][maxBlocksPerSequence]
    private final int[] tableSize;   // [maxSequences] blocks in each table
    private final int[] registered;  // [maxSequences] leading table blocks that are hashed
    private final long[] chainHash;  // [maxSequences] hash of the last registered block

    KvCells(int blockCount, int blockSize, int maxSequences, int maxCellsPerSequence, boolean prefixCaching) {
        if (blockCount < 1) throw new IllegalArgumentException("blockCount must be >= 1, got " + blockCount);
        if (Integer.bitCount(blockSize) != 1) throw new IllegalArgumentException("blockSize must be a power of two, got " + blockSize);
        this.blockSize = blockSize;
        this.blockCount = blockCount;
        this.shift = Integer.numberOfTrailingZeros(blockSize);
        this.maxBlocksPerSequence = (maxCellsPerSequence + blockSize - 1) / blockSize;
        this.prefixCaching = prefixCaching;
        refs = new int[blockCount];
        hash = new long[blockCount];
        heldTokens = prefixCaching ? new int[blockCount * blockSize] : new int[0];
        freeStack = new int[blockCount];
        for (int i = 0; i < blockCount; i++) {
            freeStack[i] = blockCount - 1 - i; // block 0 on top
        }
        freeTop = blockCount;
        lruPrev = new int[blockCount];
        lruNext = new int[blockCount];
        int cap = Integer.highestOneBit(Math.max(2, blockCount) * 2 - 1) * 2;
        mapKeys = new long[cap];
        mapBlocks = new int[cap];
        tables = new int[maxSequences][maxBlocksPerSequence];
        tableSize = new int[maxSequences];
        registered = new int[maxSequences];
        chainHash = new long[maxSequences];
    }

    // ---- queries

    /** The cell of position {@code pos} of sequence {@code seqId}; the position's block must be allocated. */
    int cell(int seqId, int pos) {
        int b = pos >>> shift;
        if (b >= tableSize[seqId]) {
            throw new IllegalStateException("sequence " + seqId + " has no cell for pos " + pos + " (" + tableSize[seqId] + " blocks)");
        }
        return (tables[seqId][b] << shift) | (pos & (blockSize - 1));
    }

    /** Blocks an allocation can take now: free plus cached (evictable). */
    int available() {
        return freeTop + cachedCount;
    }

    int freeBlocks() {
        return freeTop;
    }

    int cachedBlocks() {
        return cachedCount;
    }

    int blocksOf(int seqId) {
        return tableSize[seqId];
    }

    int cellsOf(int seqId) {
        return tableSize[seqId] << shift;
    }

    int blocksFor(int cells) {
        return (cells + blockSize - 1) >>> shift;
    }

    // ---- mutators

    /**
     * Starts {@code seqId}'s table with cached blocks matching its first tokens. Contract: the sequence holds no
     * blocks. Matches whole blocks only, and never the block of the last token ({@code tokens[n-1]}), which the
     * caller must still compute to get logits. Returns the number of positions whose K/V are now present.
     */
    int matchPrefix(int seqId, int[] tokens, int n) {
        if (tableSize[seqId] != 0) {
            throw new IllegalStateException("matchPrefix on sequence " + seqId + " which holds " + tableSize[seqId] + " blocks");
        }
        if (!prefixCaching) {
            return 0;
        }
        int fullBlocks = Math.min((n - 1) >>> shift, maxBlocksPerSequence);
        long h = 0;
        for (int b = 0; b < fullBlocks; b++) {
            long hb = blockHash(h, tokens, b << shift);
            int block = mapGet(hb);
            if (block < 0 || !holds(block, tokens, b << shift)) {
                break;
            }
            if (refs[block] == 0) {
                lruUnlink(block);
                cachedCount--;
            }
            refs[block]++;
            tables[seqId][tableSize[seqId]++] = block;
            registered[seqId] = b + 1;
            chainHash[seqId] = hb;
            h = hb;
        }
        return tableSize[seqId] << shift;
    }

    /**
     * Grows {@code seqId}'s table until it has cells for positions {@code 0 .. cells-1}. Contract:
     * {@code cells <= maxBlocksPerSequence * blockSize}. Returns false when the pool ran out; blocks taken before
     * that stay with the sequence (release returns them).
     */
    boolean ensure(int seqId, int cells) {
        int need = blocksFor(cells);
        if (need > maxBlocksPerSequence) {
            throw new IllegalStateException("sequence " + seqId + " asks for " + cells + " cells, more than " + maxBlocksPerSequence * blockSize);
        }
        while (tableSize[seqId] < need) {
            int block = allocate();
            if (block < 0) {
                return false;
            }
            refs[block] = 1;
            tables[seqId][tableSize[seqId]++] = block;
        }
        return true;
    }

    /**
     * Records that positions {@code 0 .. computed-1} of {@code seqId} hold the K/V of {@code tokens[0 .. computed)}:
     * its newly full blocks become reusable by other prompts. Contract: those positions were written by a finished
     * forward step (a hashed block is immutable from here on).
     */
    void commit(int seqId, int[] tokens, int computed) {
        if (!prefixCaching) {
            return;
        }
        while ((registered[seqId] + 1) << shift <= computed) {
            int b = registered[seqId];
            long hb = blockHash(chainHash[seqId], tokens, b << shift);
            int block = tables[seqId][b];
            if (hash[block] == 0 && mapGet(hb) < 0) {
                hash[block] = hb;
                System.arraycopy(tokens, b << shift, heldTokens, block << shift, blockSize);
                mapPut(hb, block);
            }
            // else: another sequence registered the same prefix first; ours stays private and is freed on release
            registered[seqId] = b + 1;
            chainHash[seqId] = hb;
        }
    }

    /**
     * Drops {@code seqId}'s blocks: each loses a reference; unreferenced hashed blocks become cached, the rest free.
     * Released last block first, so a prompt's head stays cached longest (it is the part others share).
     */
    void release(int seqId) {
        for (int i = tableSize[seqId] - 1; i >= 0; i--) {
            int block = tables[seqId][i];
            if (--refs[block] == 0) {
                if (hash[block] != 0) {
                    lruAppend(block);
                    cachedCount++;
                } else {
                    freeStack[freeTop++] = block;
                }
            }
            if (refs[block] < 0) {
                throw new IllegalStateException("block " + block + " released more often than taken");
            }
        }
        tableSize[seqId] = 0;
        registered[seqId] = 0;
        chainHash[seqId] = 0;
    }

    private int allocate() {
        if (freeTop > 0) {
            return freeStack[--freeTop];
        }
        if (lruHead < 0) {
            return -1;
        }
        int block = lruHead; // evict the least recently released cached block
        lruUnlink(block);
        cachedCount--;
        mapRemove(hash[block]);
        hash[block] = 0;
        return block;
    }

    // ---- invariants (tests)

    /** Throws if the block states are inconsistent; {@code liveSeqIds} are the sequences holding tables. */
    void checkInvariants() {
        int[] seen = new int[blockCount];
        for (int s = 0; s < tables.length; s++) {
            for (int i = 0; i < tableSize[s]; i++) {
                seen[tables[s][i]]++;
            }
            if (registered[s] > tableSize[s]) throw new IllegalStateException("sequence " + s + " registered past its table");
        }
        boolean[] onFree = new boolean[blockCount];
        for (int i = 0; i < freeTop; i++) {
            int b = freeStack[i];
            if (onFree[b]) throw new IllegalStateException("block " + b + " twice on the free stack");
            onFree[b] = true;
        }
        boolean[] onLru = new boolean[blockCount];
        int lruLen = 0;
        for (int b = lruHead; b >= 0; b = lruNext[b]) {
            onLru[b] = true;
            lruLen++;
        }
        if (lruLen != cachedCount) throw new IllegalStateException("LRU holds " + lruLen + " blocks, count says " + cachedCount);
        int mapped = 0;
        for (long k : mapKeys) {
            if (k != 0) mapped++;
        }
        int hashed = 0;
        for (int b = 0; b < blockCount; b++) {
            if (refs[b] != seen[b]) throw new IllegalStateException("block " + b + " refs " + refs[b] + " but in " + seen[b] + " tables");
            int states = (onFree[b] ? 1 : 0) + (onLru[b] ? 1 : 0) + (refs[b] > 0 ? 1 : 0);
            if (states != 1) throw new IllegalStateException("block " + b + " is in " + states + " states");
            if (onFree[b] && hash[b] != 0) throw new IllegalStateException("free block " + b + " is hashed");
            if (onLru[b] && hash[b] == 0) throw new IllegalStateException("cached block " + b + " has no hash");
            if (hash[b] != 0) {
                hashed++;
                if (mapGet(hash[b]) != b) throw new IllegalStateException("block " + b + " hash not mapped to it");
            }
        }
        if (hashed != mapped) throw new IllegalStateException(mapped + " map entries for " + hashed + " hashed blocks");
    }

    // ---- hashing

    private boolean holds(int block, int[] tokens, int from) {
        return Arrays.equals(heldTokens, block << shift, (block << shift) + blockSize, tokens, from, from + blockSize);
    }

    private long blockHash(long parent, int[] tokens, int from) {
        long h = parent * 0x9E3779B97F4A7C15L + 0x2545F4914F6CDD1DL;
        for (int i = from; i < from + blockSize; i++) {
            h = mix(h ^ tokens[i]);
        }
        return h == 0 ? 1 : h; // 0 marks "no hash"
    }

    private static long mix(long z) {
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }

    private int mapGet(long key) {
        int mask = mapKeys.length - 1;
        for (int i = (int) mix(key) & mask; ; i = (i + 1) & mask) {
            if (mapKeys[i] == 0) return -1;
            if (mapKeys[i] == key) return mapBlocks[i];
        }
    }

    private void mapPut(long key, int block) {
        int mask = mapKeys.length - 1;
        int i = (int) mix(key) & mask;
        while (mapKeys[i] != 0) {
            i = (i + 1) & mask;
        }
        mapKeys[i] = key;
        mapBlocks[i] = block;
    }

    /** Linear-probing delete with backward shift, so lookups never need tombstones. */
    private void mapRemove(long key) {
        int mask = mapKeys.length - 1;
        int i = (int) mix(key) & mask;
        while (mapKeys[i] != key) {
            if (mapKeys[i] == 0) return;
            i = (i + 1) & mask;
        }
        int j = i;
        while (true) {
            j = (j + 1) & mask;
            if (mapKeys[j] == 0) break;
            int home = (int) mix(mapKeys[j]) & mask;
            // move j back to the hole at i unless its home lies cyclically in (i, j]
            boolean stays = i <= j ? (home > i && home <= j) : (home > i || home <= j);
            if (!stays) {
                mapKeys[i] = mapKeys[j];
                mapBlocks[i] = mapBlocks[j];
                i = j;
            }
        }
        mapKeys[i] = 0;
    }

    private void lruAppend(int b) {
        lruPrev[b] = lruTail;
        lruNext[b] = -1;
        if (lruTail >= 0) lruNext[lruTail] = b; else lruHead = b;
        lruTail = b;
    }

    private void lruUnlink(int b) {
        int p = lruPrev[b], n = lruNext[b];
        if (p >= 0) lruNext[p] = n; else lruHead = n;
        if (n >= 0) lruPrev[n] = p; else lruTail = p;
    }
}
