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
 * which larger tiles need). A config is data: {@link #choose} picks one per shape by a heuristic,
 * {@link #candidates} lists the ones a benchmark or autotuner may time.
 */
public record FlashConfig(int mTiles, int warps, int blockN, boolean qInRegs) {
    /** Registers a thread may use without spilling, and shared memory a block may opt in to (sm_80..sm_90). */
    static final int MAX_REGS = 255;
    static final long MAX_SHARED = 227 * 1024;
    /**
     * What fills an H100/H200 (132 SMs): a block on every SM and about 8 warps per SM, enough to overlap one
     * warp's softmax with another's mma. Guesses until autotuning measures them.
     */
    static final long SMS = 132, FILL_WARPS = 8 * SMS;
    /**
     * Registers beyond the tiles: pointers, loop state, fragments in flight. Calibrated on ptxas -v for sm_90
     * (tiles that the estimate puts above 255 spilled; AttentionTemplateTest checks the heuristic's picks).
     */
    static final int OVERHEAD_REGS = 60;

    public FlashConfig {
        if (mTiles < 1 || mTiles > 2 || warps < 1 || warps > 8 || blockN < 16 || blockN % 16 != 0)
            throw new IllegalArgumentException("flash config m" + mTiles + " w" + warps + " n" + blockN);
    }

    public int blockM() { return 16 * mTiles * warps; }

    public int threads() { return 32 * warps; }

    /** Dynamic shared memory: two stages of K [blockN][d+8] and V [blockN][dv+8], plus Q [blockM][d+8] unless in registers. */
    public long sharedBytes(long d, long dv) {
        return 2L * blockN * (d + 8 + dv + 8) * 2 + (qInRegs ? 0 : (long) blockM() * (d + 8) * 2);
    }

    /** Estimated registers per thread: O, S and Q fragments (fp32 accumulators, packed f16 pairs) plus overhead. */
    public int registers(long d, long dv) {
        long o = mTiles * dv / 8 * 4, s = mTiles * blockN / 8 * 4, q = qInRegs ? mTiles * d / 16 * 4 : mTiles * 4;
        return (int) (o + s + q + OVERHEAD_REGS);
    }

    /** Whether this config suits head sizes d, dv (multiples of 16) without spilling or too much shared memory. */
    public boolean fits(long d, long dv) {
        return registers(d, dv) <= MAX_REGS && sharedBytes(d, dv) <= MAX_SHARED;
    }

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
            if (blocks >= SMS && warps >= FILL_WARPS) return c;
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
        return best;
    }

    /** (mTiles, warps, blockN) with Q in registers if that is cheap and fits, else in shared memory; null if neither fits. */
    private static FlashConfig fitting(int mt, int w, int n, long d, long dv) {
        FlashConfig reg = new FlashConfig(mt, w, n, true), smem = new FlashConfig(mt, w, n, false);
        if (mt * d / 16 * 4 <= 32 && reg.fits(d, dv)) return reg;
        return smem.fits(d, dv) ? smem : null;
    }

    /** Every config worth timing for head sizes d, dv (the tile shapes x 32/64/128 keys x Q placement) that fits. */
    public static List<FlashConfig> candidates(long d, long dv) {
        List<FlashConfig> r = new ArrayList<>();
        for (int[] sh : SHAPES)
            for (int n : new int[] {32, 64, 128})
                for (boolean q : new boolean[] {true, false}) {
                    FlashConfig c = new FlashConfig(sh[0], sh[1], n, q);
                    if (c.fits(d, dv)) r.add(c);
                }
        return r;
    }

    /** {@code m128w4n64q} (Q in registers) or {@code m128w4n64s} (Q in shared memory): rows, warps, keys. */
    @Override public String toString() { return "m" + blockM() + "w" + warps + "n" + blockN + (qInRegs ? "q" : "s"); }

    private static final Pattern TEXT = Pattern.compile("m(\\d+)w(\\d+)n(\\d+)([qs])");

    public static FlashConfig parse(String s) {
        Matcher m = TEXT.matcher(s.trim());
        if (!m.matches()) throw new IllegalArgumentException("flash config '" + s + "' is not like m128w4n64q");
        int rows = Integer.parseInt(m.group(1)), w = Integer.parseInt(m.group(2));
        if (rows % (16 * w) != 0) throw new IllegalArgumentException("flash config '" + s + "': rows are not 16 x warps x m-tiles");
        return new FlashConfig(rows / (16 * w), w, Integer.parseInt(m.group(3)), m.group(4).equals("q"));
    }
}
