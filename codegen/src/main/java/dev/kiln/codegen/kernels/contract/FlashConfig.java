package dev.kiln.codegen.kernels.contract;

import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The tile shape of one tensor-core attention kernel ({@link FlashAttention}): each warp owns
 * {@code 16 * mTiles} query rows, a block has {@code warps} warps (so {@code blockM} query rows) and walks
 * the keys {@code blockN} at a time; {@code qInRegs} keeps the Q fragments in registers for the whole
 * kernel, otherwise Q stays in shared memory and is re-read with ldmatrix per key tile (fewer registers,
 * which larger tiles need). {@code lean} selects the lean softmax: P is rounded to 16 bits as soon as it is
 * exponentiated (32-bit pairs instead of fp32 scores live across the rescale, fewer registers at the peak),
 * and O is rescaled only when some row of the warp raised its max (a warp vote; on long sequences the max
 * rarely moves after the first tiles). {@code vote} keeps only the second half of that: O rescaled behind the
 * warp vote, but P stays fp32 in the score registers and is rounded per 16-key step of P V, as in the plain
 * softmax (no packed copy of P beside the scores: what lets 64-key tiles of 32-row warps fit at head size 128).
 * {@code deferLoads} issues the next K/V tile's cp.async after the softmax, just before P V, instead of
 * right after the barrier: its addresses are then live beside O and P only, not beside the score
 * accumulators at the register peak of Q K^T (the load still has P V and the next barrier to land). A
 * config is data: {@link #choose} picks one per shape by a heuristic, {@link #candidates} lists the ones a
 * benchmark or autotuner may time.
 *
 * <p>{@code wgmma} selects the Hopper kernel instead ({@link FlashWgmma}, sm_90a only, text letter {@code g}, e.g.
 * {@code m128w8n128g}): a warpgroup of 4 warps owns 64 query rows (so {@code mTiles} is 1 and {@code warps} 4 or 8),
 * Q K^T and P V run on wgmma; Q is in shared memory, the softmax is the lean one (P packed at the exponent); with
 * three K/V stages ({@code p3}) a tile's P V stays in flight across the next barrier, with four ({@code p4}, loads two
 * tiles ahead) a tile's softmax runs during the previous tile's P V (FlashAttention-3's intra-warpgroup overlap). It is
 * timed by name only (not among {@link #candidates}, which ptxas checks for plain sm_90), until a GPU run shows
 * where it wins.
 */
public record FlashConfig(int mTiles, int warps, int blockN, boolean qInRegs, int qKept, int stages, boolean lean, boolean vote, boolean deferLoads,
                          boolean wgmma) {
    /** Registers a thread may use without spilling, and shared memory a block may opt in to (sm_80..sm_90). */
    static final int MAX_REGS = 255;
    static final long MAX_SHARED = 227 * 1024;
    /**
     * What fills an H100/H200 (132 SMs): a block on every SM and about 8 warps per SM, enough to overlap one
     * warp's softmax with another's mma. Guesses until autotuning measures them.
     */
    static final long SMS = 132, FILL_WARPS = 8 * SMS;
    /**
     * Registers beyond the tiles and the loads: pointers, loop state, fragments in flight. Calibrated on
     * ptxas -v for sm_90 at D=64 and 128 (FlashCandidatesTest compiles every candidate and checks that none
     * spills; AttentionTemplateTest checks the heuristic's picks).
     */
    static final int OVERHEAD_REGS = 31;

    public FlashConfig {
        if (mTiles < 1 || mTiles > 2 || warps < 1 || warps > 8 || blockN < 16 || blockN % 16 != 0 || qKept < 0 || qInRegs && qKept > 0
                || stages < 2 || stages > 4 || lean && vote
                || wgmma && (mTiles != 1 || warps % 4 != 0 || qInRegs || qKept > 0 || lean || vote || deferLoads))
            throw new IllegalArgumentException("flash config m" + mTiles + " w" + warps + " n" + blockN + " r" + qKept + " p" + stages
                    + (lean && vote ? ": lean and vote are two softmax forms, not both" : "")
                    + (wgmma ? ": the wgmma tile is whole warpgroups of 64 rows, Q in shared memory, no softmax letters" : ""));
    }

    /** The mma.sync kernel ({@link FlashAttention}) with every option given. */
    public FlashConfig(int mTiles, int warps, int blockN, boolean qInRegs, int qKept, int stages, boolean lean, boolean vote, boolean deferLoads) {
        this(mTiles, warps, blockN, qInRegs, qKept, stages, lean, vote, deferLoads, false);
    }

    /** Loads issued at the top of the key loop, plain or lean softmax. */
    public FlashConfig(int mTiles, int warps, int blockN, boolean qInRegs, int qKept, int stages, boolean lean) {
        this(mTiles, warps, blockN, qInRegs, qKept, stages, lean, false, false);
    }

    /** Q wholly in registers or wholly re-read from shared memory; the plain softmax (P rounded when packed for P V, O rescaled every tile). */
    public FlashConfig(int mTiles, int warps, int blockN, boolean qInRegs) { this(mTiles, warps, blockN, qInRegs, 0, 2, false, false, false); }

    /** The 16-wide steps of the head dimension whose Q fragments live in registers: all, or {@link #qKept} when Q is staged. */
    public int qSteps(long d) { return qInRegs ? (int) (d / 16) : qKept; }

    public int blockM() { return 16 * mTiles * warps; }

    public int threads() { return 32 * warps; }

    /** Dynamic shared memory: {@link #stages} stages of K [blockN][d+8] and V [blockN][dv+8], plus Q [blockM][d+8] unless in registers. */
    public long sharedBytes(long d, long dv) {
        if (wgmma) return FlashWgmma.sharedBytes(this, d, dv);
        return (long) stages * blockN * (d + 8 + dv + 8) * 2 + (qInRegs ? 0 : (long) blockM() * (d + 8) * 2);
    }

    /**
     * Estimated registers per thread: O, S and Q fragments (fp32 accumulators, packed f16 pairs); S counts
     * half again, for the exponentials and packed P that are live beside the scores during the softmax; a
     * register per 16-byte cp.async a thread issues per K/V tile (addresses and bounds: what makes one-warp
     * blocks with many keys spill); the lean softmax's corrections (2 per m-tile); plus overhead. The vote
     * softmax has no packed P beside the scores, so S counts once; its corrections count as the lean ones.
     * Deferred loads are issued when S is dead (O and P are live, P half of S), so they add only what
     * exceeds that half. Calibrated against ptxas -v at D128 for the deferred vote tiles (m128w4n64sdv: 255
     * registers, no spill; FlashCandidatesTest holds every candidate to that).
     */
    public int registers(long d, long dv) {
        if (wgmma) return FlashWgmma.registers(this, d, dv);
        long o = mTiles * dv / 8 * 4, s = mTiles * blockN / 8 * 4, q = mTiles * qSteps(d) * 4 + (qInRegs ? 0 : mTiles * 4);
        long loads = Index.ceilDiv(blockN * (d + dv) / 8, threads());
        if (deferLoads) loads = Math.max(0, loads - s / 2);
        return (int) (o + (vote ? s : s * 3 / 2) + q + loads + (lean || vote ? 2L * mTiles : 0) + OVERHEAD_REGS);
    }

    /** Whether this config suits head sizes d, dv (multiples of 16) without spilling or too much shared memory. */
    public boolean fits(long d, long dv) {
        if (wgmma) return FlashWgmma.fits(this, d, dv);
        return qKept < d / 16 && registers(d, dv) <= MAX_REGS && sharedBytes(d, dv) <= MAX_SHARED;
    }

    /** What {@link #parse} reads; before {@link #WIDE_128}, which is parsed at class initialization. */
    private static final Pattern TEXT = Pattern.compile("m(\\d+)w(\\d+)n(\\d+)(q|g|s(?:r(\\d+))?)(?:p(\\d))?(d?)([lv]?)");

    /**
     * The tile at head size 128 for 4 warps of 32 rows with Q in shared memory (B1 H32 S8192 D128, issue 7): the
     * fastest measured. Its rivals, all free of spills at D128 (ptxas -v, FlashCandidatesTest), timed side by side
     * by AttentionBench: m128w4n32sdl, m128w4n32sdv, m128w4n32sv, m128w4n48sv, m128w4n48sdv; set the winner here.
     */
    static final FlashConfig WIDE_128 = parse("m128w4n32sl");

    /** The query tiles tried from large to small: (mTiles, warps). */
    private static final int[][] SHAPES = {{2, 4}, {1, 4}, {1, 2}, {1, 1}};

    /**
     * The heuristic choice for {@code bh} (batch x query heads) problems of s queries and l keys: the largest
     * query tile whose grid still puts a block on every SM and {@link #FILL_WARPS} warps on the GPU; if none
     * does (short sequences), the tile that comes closest, blocks first (BERT's 12 heads x 128 queries get
     * 96 blocks of one warp and 16 rows). 64 keys per tile (32 past head size 128, or when 64 would not fit
     * the registers: head size 128 with 128 query rows); Q in registers when that costs at most 32
     * registers, else in shared memory.
     */
    public static FlashConfig choose(long bh, long s, long l, long d, long dv) {
        int n = (int) Math.min(Math.max(d, dv) > 128 ? 32 : 64, Math.max(16, Index.ceilDiv(l, 16) * 16));
        FlashConfig best = null;
        long bestBlocks = -1, bestWarps = -1;
        for (int[] sh : SHAPES) {
            FlashConfig c = fitting(sh[0], sh[1], n, d, dv);
            if (c == null && n > 32) c = fitting(sh[0], sh[1], n / 2, d, dv);
            if (c == null) continue;
            // warps that have query rows: a short sequence leaves some of a large block's warps idle
            long blocks = bh * Index.ceilDiv(s, c.blockM()), warps = bh * Index.ceilDiv(s, 16L * c.mTiles());
            if (blocks >= SMS && warps >= FILL_WARPS) return leanAt128(c, l, d, dv);
            long fb = Math.min(blocks, SMS), fw = Math.min(warps, FILL_WARPS);
            // on a tie, a larger tile shares its K/V loads among more warps once every SM has a block;
            // before that, a tie means the sequence fits one block either way and a smaller one idles less
            boolean tie = fb == bestBlocks && fw == bestWarps;
            if (fb > bestBlocks || fb == bestBlocks && fw > bestWarps || tie && fb < SMS) {
                best = c;
                bestBlocks = fb;
                bestWarps = fw;
            }
        }
        if (best == null) throw new IllegalArgumentException("no flash attention tile fits head sizes " + d + "/" + dv);
        return leanAt128(best, l, d, dv);
    }

    /**
     * The lean softmax for head size 128 in blocks of 4+ warps: measured on an H200 (2026-11-29, B1 H32 S8192 D128)
     * m128w4n32sl 324 TFLOP/s against m128w4n32s 306 (causal 292 against 273); other sizes are not measured yet.
     * The 32-row, 4-warp tile with Q in shared memory (what long sequences get) becomes {@link #WIDE_128}.
     */
    private static FlashConfig leanAt128(FlashConfig c, long l, long d, long dv) {
        if (Math.max(d, dv) != 128 || c.warps() < 4 || c.lean()) return c;
        if (c.mTiles() == 2 && c.warps() == 4 && !c.qInRegs() && c.qKept() == 0 && c.stages() == 2 && c.blockN() == 32
                && l >= WIDE_128.blockN() && WIDE_128.fits(d, dv)) return WIDE_128;
        FlashConfig lean = new FlashConfig(c.mTiles(), c.warps(), c.blockN(), c.qInRegs(), c.qKept(), c.stages(), true, false, c.deferLoads());
        return lean.fits(d, dv) ? lean : c;
    }

    /** (mTiles, warps, blockN) with Q in registers if that is cheap and fits, else in shared memory; null if neither fits. */
    private static FlashConfig fitting(int mt, int w, int n, long d, long dv) {
        FlashConfig reg = new FlashConfig(mt, w, n, true), smem = new FlashConfig(mt, w, n, false);
        if (mt * d / 16 * 4 <= 32 && reg.fits(d, dv)) return reg;
        return smem.fits(d, dv) ? smem : null;
    }

    /**
     * The query tiles only timed, never guessed: eight warps share one K/V tile in shared memory, 16 rows each
     * (Q in registers, half the registers of 32-row warps) or 32 rows each (256 rows per block).
     */
    private static final int[][] WIDE = {{2, 8}, {1, 8}};

    /**
     * Every config worth timing for head sizes d, dv that fits: the tile shapes (and the eight-warp ones)
     * x 16/32/64/128 keys x Q in registers, in shared memory, or (32-row warps) in shared memory with its
     * first half also in registers x plain or lean softmax. 16 keys only with Q in registers: re-reading Q
     * from shared memory for every 16 keys would cost more than the ldmatrix traffic a short tile saves.
     * 16-key tiles and the lean softmax only in blocks of 4 or more warps: the one- and two-warp blocks serve
     * short sequences, where a row max has few tiles to settle over. The half-kept Q only with the plain softmax: both compete for the last registers, and ptxas spills
     * some of the pairs. Three K/V stages (two tiles in flight) only for short key tiles (16, 32) of
     * 32-row warps in blocks of 4 or more warps: there one tile of compute is shorter than a load's latency.
     */
    public static List<FlashConfig> candidates(long d, long dv) {
        List<FlashConfig> r = new ArrayList<>();
        for (int[][] shapes : new int[][][] {SHAPES, WIDE})
            for (int[] sh : shapes)
                for (int n : new int[] {16, 32, 64, 128})
                    for (int placement = 0; placement < 3; placement++)
                        for (boolean lean : new boolean[] {false, true})
                            for (int stages = 2; stages <= 3; stages++) {
                                if (n == 16 && placement != 0 || placement == 2 && (sh[0] == 1 || lean)) continue;
                                if ((n == 16 || lean) && sh[1] < 4) continue; // small blocks are for short sequences
                                if (stages == 3 && (n > 32 || sh[0] == 1 || sh[1] < 4)) continue;
                                if (stages == 3 && placement == 2 && sh[1] == 8) continue; // ptxas spills m256w8n32sr4p3 at D128
                                FlashConfig c = new FlashConfig(sh[0], sh[1], n, placement == 0, placement == 2 ? (int) (d / 32) : 0, stages, lean);
                                if (c.fits(d, dv)) r.add(c);
                            }
        // the vote softmax and deferred loads, only for 32-row warps in blocks of 4 with Q in shared memory (the
        // long sequences' tile at large head sizes): 32 keys with either, 48 keys (what the vote softmax's registers
        // buy over the lean one) with the vote softmax; at D128 ptxas spills 64 keys of either form, and 48 keys of
        // the lean one with deferred loads
        for (String t : new String[] {"m128w4n32sdl", "m128w4n32sdv", "m128w4n32sv", "m128w4n48sv", "m128w4n48sdv"}) {
            FlashConfig c = parse(t);
            if (c.fits(d, dv) && !r.contains(c)) r.add(c);
        }
        return r;
    }

    /**
     * {@code m128w4n64q} (Q in registers) or {@code m128w4n64s} (Q in shared memory): rows, warps, keys; {@code d}:
     * deferred loads; {@code l}: lean softmax, {@code v}: vote softmax; {@code m128w8n128g}: the wgmma kernel.
     */
    @Override public String toString() {
        return "m" + blockM() + "w" + warps + "n" + blockN + (wgmma ? "g" : qInRegs ? "q" : "s") + (qKept > 0 ? "r" + qKept : "")
                + (stages != 2 ? "p" + stages : "") + (deferLoads ? "d" : "") + (lean ? "l" : vote ? "v" : "");
    }

    public static FlashConfig parse(String s) {
        Matcher m = TEXT.matcher(s.trim());
        if (!m.matches()) throw new IllegalArgumentException("flash config '" + s + "' is not like m128w4n64q");
        int rows = Integer.parseInt(m.group(1)), w = Integer.parseInt(m.group(2));
        if (rows % (16 * w) != 0) throw new IllegalArgumentException("flash config '" + s + "': rows are not 16 x warps x m-tiles");
        return new FlashConfig(rows / (16 * w), w, Integer.parseInt(m.group(3)), m.group(4).equals("q"),
                m.group(5) == null ? 0 : Integer.parseInt(m.group(5)), m.group(6) == null ? 2 : Integer.parseInt(m.group(6)),
                m.group(8).equals("l"), m.group(8).equals("v"), !m.group(7).isEmpty(), m.group(4).equals("g"));
    }
}
