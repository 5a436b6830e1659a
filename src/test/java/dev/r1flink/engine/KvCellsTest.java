package dev.r1flink.engine;

import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.*;

class KvCellsTest {

    private static int[] tokens(int n, int salt) {
        int[] t = new int[n];
        for (int i = 0; i < n; i++) t[i] = (i * 7 + salt) % 100;
        return t;
    }

    @Test
    void ensureTakesWholeBlocksAndReleaseReturnsThem() {
        KvCells cells = new KvCells(8, 4, 2, 32, true);
        assertTrue(cells.ensure(0, 5)); // 2 blocks
        assertEquals(2, cells.blocksOf(0));
        assertEquals(6, cells.available());
        assertTrue(cells.ensure(0, 8)); // still 2
        assertEquals(2, cells.blocksOf(0));
        assertNotEquals(cells.cell(0, 3) / 4, cells.cell(0, 4) / 4, "positions 3 and 4 are in different blocks");
        assertEquals(cells.cell(0, 4) + 1, cells.cell(0, 5), "cells of a block are contiguous");
        cells.checkInvariants();
        cells.release(0);
        assertEquals(8, cells.available());
        assertEquals(8, cells.freeBlocks(), "nothing was committed, so nothing is cached");
        cells.checkInvariants();
        assertThrows(IllegalStateException.class, () -> cells.cell(0, 0));
    }

    @Test
    void ensureFailsWhenThePoolIsEmptyAndKeepsWhatItTook() {
        KvCells cells = new KvCells(3, 4, 2, 32, true);
        assertTrue(cells.ensure(0, 8));
        assertFalse(cells.ensure(1, 12));
        assertEquals(1, cells.blocksOf(1));
        assertEquals(0, cells.available());
        cells.checkInvariants();
        cells.release(1);
        assertEquals(1, cells.available());
        cells.checkInvariants();
    }

    @Test
    void committedFullBlocksAreReusedByAMatchingPrompt() {
        KvCells cells = new KvCells(16, 4, 3, 64, true);
        int[] a = tokens(14, 0);
        assertTrue(cells.ensure(0, 14));
        cells.commit(0, a, 14); // blocks 0..2 full (12 cells), block 3 partial
        cells.checkInvariants();

        // same first 10 tokens, then different: blocks 0 and 1 (8 cells) match, block 2 differs
        int[] b = tokens(14, 0);
        b[10] = 99;
        int reused = cells.matchPrefix(1, b, b.length);
        assertEquals(8, reused);
        assertEquals(cells.cell(0, 0), cells.cell(1, 0), "shared block");
        assertEquals(cells.cell(0, 7), cells.cell(1, 7));
        cells.checkInvariants();

        // identical prompt of 13: blocks 0..2 match (12 cells); the last token's block is never matched
        int reusedSame = cells.matchPrefix(2, a, 13);
        assertEquals(12, reusedSame);
        int reusedExact = 0;
        cells.release(2);
        reusedExact = cells.matchPrefix(2, a, 12); // 12 tokens: the block of token 11 must be recomputed
        assertEquals(8, reusedExact);
        cells.checkInvariants();
    }

    @Test
    void releasedHashedBlocksStayCachedUntilEvicted() {
        KvCells cells = new KvCells(4, 2, 2, 8, true);
        int[] a = tokens(5, 3);
        assertTrue(cells.ensure(0, 5));
        cells.commit(0, a, 5); // 2 full blocks hashed
        cells.release(0);
        assertEquals(2, cells.cachedBlocks());
        assertEquals(2, cells.freeBlocks());
        cells.checkInvariants();

        // a prompt with the same head finds them
        assertEquals(4, cells.matchPrefix(0, a, 5));
        assertEquals(0, cells.cachedBlocks());
        cells.release(0);

        // a different sequence needing all 4 blocks evicts the cached ones
        assertTrue(cells.ensure(1, 8));
        assertEquals(0, cells.cachedBlocks());
        cells.checkInvariants();
        cells.release(1);
        assertEquals(0, cells.matchPrefix(0, a, 5), "evicted: no longer found");
        cells.checkInvariants();
    }

    @Test
    void disabledPrefixCachingNeverMatches() {
        KvCells cells = new KvCells(8, 2, 2, 16, false);
        int[] a = tokens(6, 0);
        assertTrue(cells.ensure(0, 6));
        cells.commit(0, a, 6);
        assertEquals(0, cells.matchPrefix(1, a, 6));
        cells.release(0);
        assertEquals(8, cells.freeBlocks());
        cells.checkInvariants();
    }

    @Test
    void matchPrefixOnASequenceHoldingBlocksIsAContractViolation() {
        KvCells cells = new KvCells(8, 2, 2, 16, true);
        assertTrue(cells.ensure(0, 2));
        assertThrows(IllegalStateException.class, () -> cells.matchPrefix(0, tokens(4, 0), 4));
    }

    @Test
    void randomOperationsKeepTheInvariants() {
        Random r = new Random(5);
        int seqs = 6;
        KvCells cells = new KvCells(24, 4, seqs, 40, true);
        int[][] toks = new int[seqs][];
        int[] len = new int[seqs];
        for (int step = 0; step < 3000; step++) {
            int s = r.nextInt(seqs);
            switch (r.nextInt(4)) {
                case 0 -> { // start with a prompt from a small family, so prefixes repeat
                    if (toks[s] == null) {
                        int n = 1 + r.nextInt(30);
                        toks[s] = tokens(40, r.nextInt(3));
                        len[s] = cells.matchPrefix(s, toks[s], n);
                        assertTrue(len[s] < n);
                        assertEquals(len[s], cells.cellsOf(s));
                    }
                }
                case 1, 2 -> { // compute some tokens
                    if (toks[s] != null && len[s] < 40) {
                        int to = Math.min(40, len[s] + 1 + r.nextInt(6));
                        if (cells.ensure(s, to)) {
                            len[s] = to;
                            cells.commit(s, toks[s], to);
                        }
                    }
                }
                default -> {
                    if (toks[s] != null) {
                        cells.release(s);
                        toks[s] = null;
                        len[s] = 0;
                    }
                }
            }
            cells.checkInvariants();
        }
    }
}
