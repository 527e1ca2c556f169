package dev.kiln.codegen.kernels.contract;

import dev.kiln.codegen.CodegenContext;
import dev.kiln.codegen.CodegenOptions;
import dev.kiln.codegen.KernelSpec;
import dev.kiln.ir.Attr;
import dev.kiln.ir.DType;
import dev.kiln.ir.Graph;
import dev.kiln.ir.GraphBuilder;
import dev.kiln.ir.TensorType;
import dev.kiln.ir.UnsupportedException;
import dev.kiln.ir.Value;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static dev.kiln.codegen.kernels.contract.Fixtures.type;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class AttentionTemplateTest {
    private final AttentionTemplate t = new AttentionTemplate();

    static Graph attention(String dt, String q, String k, String v, String mask, Map<String, Attr> attrs) {
        GraphBuilder g = new GraphBuilder("body");
        List<Value> in = new ArrayList<>(List.of(g.input("q", type(dt, q)), g.input("k", type(dt, k)), g.input("v", type(dt, v))));
        if (mask != null && !mask.isBlank()) {
            String[] m = mask.trim().split(":");
            in.add(g.input("mask", type(m[0], m[1])));
        }
        g.output(g.node("Attention", in, attrs, null, "attn").get(0));
        return Fixtures.outer("attention", "attn0", g.build());
    }

    // SIMT tiles (query rows per block, keys per tile): the first of 16/64, 16/32, 8/32, 4/32, 4/16 whose
    // (QT D + KT (D + 1) + KT Dv) * 4 bytes (8 for f64) fit 48 KiB, worked out by hand
    @ParameterizedTest(name = "{0} Q{1} K{2} V{3} mask {4} causal {5}")
    @CsvSource(delimiter = '|', value = {
            "f32 | 1x2x7x16 | 1x2x9x16 | 1x2x9x16 | | 0 | 16 | 64",
            "f32 | 2x8x33x64 | 2x2x47x64 | 2x2x47x64 | | 1 | 16 | 64",
            "f32 | 1x4x20x32 | 1x4x20x32 | 1x4x20x32 | bool:20x20 | 0 | 16 | 64",
            "f32 | 2x4x5x32 | 2x1x6x32 | 2x1x6x24 | f32:2x1x5x6 | 1 | 16 | 64",
            "f32 | 1x4x3x32 | 1x4x10x32 | 1x4x10x32 | bool:1x4x1x7 | 0 | 16 | 64",
            "f16 | 1x2x100x40 | 1x2x77x40 | 1x2x77x40 | f16:100x77 | 1 | 16 | 64",
            "f64 | 1x1x9x64 | 1x1x9x64 | 1x1x9x64 | | 0 | 16 | 32",
            "f32 | 1x1x40x256 | 1x1x40x256 | 1x1x40x256 | | 0 | 4 | 16",
    })
    void emitsCompilingSimtKernels(String dt, String q, String k, String v, String mask, int causal, int rows, int keys) {
        Map<String, Attr> attrs = new HashMap<>();
        if (causal != 0) attrs.put("is_causal", Attr.of(1L));
        KernelSpec ks = Fixtures.emit(t, attention(dt, q, k, v, mask, attrs));
        long[] qs = type(dt, q).shape().sizes();
        assertEquals(new KernelSpec.Dim3((int) ((qs[2] + rows - 1) / rows), (int) qs[1], (int) qs[0]), ks.grid(), "one block per (query tile, head, batch)");
        assertTrue(ks.source().contains("QT = " + rows + ", KT = " + keys + ","), rows + " query rows, " + keys + " keys per tile");
        assertEquals(128, ks.block().x());
        Nvcc.compile(ks);
    }

    /** f16/bf16 with head sizes in multiples of 16 take the tensor cores: grid and block from the chosen tile. */
    @ParameterizedTest(name = "{0} Q{1} K{2} V{3} mask {4} causal {5}")
    @CsvSource(delimiter = '|', value = {
            "f16 | 1x2x100x128 | 1x2x77x128 | 1x2x77x128 | f16:100x77 | 1",
            "bf16 | 3x6x17x80 | 3x3x17x80 | 3x3x17x48 | | 1",
            "f16 | 8x16x1024x64 | 8x16x1024x64 | 8x16x1024x64 | | 0",
            "bf16 | 1x32x8192x128 | 1x8x8192x128 | 1x8x8192x128 | bool:1x1x1x8192 | 1",
            "f16 | 1x12x128x64 | 1x12x128x64 | 1x12x128x64 | f16:1x1x1x128 | 0",
            "f16 | 2x4x300x256 | 2x4x300x256 | 2x4x300x256 | | 0",
    })
    void emitsCompilingFlashKernels(String dt, String q, String k, String v, String mask, int causal) {
        Map<String, Attr> attrs = new HashMap<>();
        if (causal != 0) attrs.put("is_causal", Attr.of(1L));
        Graph outer = attention(dt, q, k, v, mask, attrs);
        KernelSpec ks = Fixtures.emit(t, outer);
        FlashConfig c = AttentionTemplate.chosenConfig(Fixtures.fused(outer), new CodegenContext(CodegenOptions.defaults()));
        long[] qs = type(dt, q).shape().sizes(), vs = type(dt, v).shape().sizes();
        assertEquals(new KernelSpec.Dim3((int) ((qs[2] + c.blockM() - 1) / c.blockM()), (int) qs[1], (int) qs[0]), ks.grid());
        assertEquals(c.threads(), ks.block().x());
        assertEquals(c.sharedBytes(qs[3], vs[3]), ks.sharedBytes());
        assertTrue(ks.source().contains("mma.sync") || ks.source().contains("kiln_mma_"), "tensor cores");
        Nvcc.compile(ks);
    }

    /**
     * The heuristic fills the GPU: the largest query tile that puts a block on every SM and FILL_WARPS warps
     * on the GPU, else the tile closest to that (short sequences get small tiles); its tiles fit registers
     * and shared memory; a longer sequence never gets a smaller tile.
     */
    @ParameterizedTest(name = "B{0} H{1} S{2} D{3}")
    @CsvSource({"8,16,1024,64", "1,32,8192,128", "1,12,128,64", "1,16,145,64", "1,12,577,64", "1,16,1024,64", "4,8,2000,96", "1,1,16,256"})
    void heuristicFillsTheGpu(long b, long h, long s, long d) {
        FlashConfig c = FlashConfig.choose(b * h, s, s, d, d);
        assertTrue(c.fits(d, d), c + " fits");
        long blocks = b * h * ((s + c.blockM() - 1) / c.blockM());
        boolean fills = blocks >= FlashConfig.SMS && b * h * ((s + 16 * c.mTiles() - 1) / (16 * c.mTiles())) >= FlashConfig.FILL_WARPS;
        for (FlashConfig other : FlashConfig.candidates(d, d)) {
            if (other.warps() > 4) continue; // eight-warp tiles are timed by the tuner, never guessed
            long ob = b * h * ((s + other.blockM() - 1) / other.blockM()), ow = b * h * ((s + 16 * other.mTiles() - 1) / (16 * other.mTiles()));
            if (fills) assertTrue(other.blockM() <= c.blockM() || ob < FlashConfig.SMS || ow < FlashConfig.FILL_WARPS,
                    other + " is a larger tile that fills the GPU too, not " + c);
            else assertTrue(Math.min(ob, FlashConfig.SMS) <= Math.min(blocks, FlashConfig.SMS), other + " covers more SMs than " + c);
        }
        FlashConfig longer = FlashConfig.choose(b * h, s * 2, s * 2, d, d);
        assertTrue(longer.blockM() >= c.blockM(), "a longer sequence never gets a smaller tile: " + longer + " vs " + c);
    }

    /** ptxas keeps the heuristic's tiles in registers (sm_90, no spills) at the head sizes that matter. */
    @ParameterizedTest(name = "D{0} S{1} causal {2}")
    @CsvSource({"64, 1024, 0", "64, 1024, 1", "128, 8192, 0", "128, 8192, 1", "64, 128, 0", "96, 577, 1", "80, 1024, 0", "256, 1024, 0"})
    void chosenTilesDoNotSpill(long d, long s, int causal) {
        String shape = "1x16x" + s + "x" + d;
        Graph outer = attention("f16", shape, shape, shape, null, causal != 0 ? Map.of("is_causal", Attr.of(1L)) : Map.of());
        KernelSpec ks = Fixtures.emit(t, outer);
        PtxasUsage u = PtxasUsage.of(ks.source());
        System.out.printf("D%d S%d causal %d: %s, %d registers%n", d, s, causal,
                AttentionTemplate.chosenConfig(Fixtures.fused(outer), new CodegenContext(CodegenOptions.defaults())), u.registers());
        assertTrue(!u.spills(), "spills:\n" + u.log());
    }

    @Test
    void scaleAndSoftcapAreBakedIn() {
        Graph outer = attention("f32", "1x2x5x8", "1x2x5x8", "1x2x5x8", null, Map.of("scale", Attr.of(0.25), "softcap", Attr.of(30.0)));
        KernelSpec k = Fixtures.emit(t, outer);
        assertTrue(k.source().contains("sc = s[i][c] * 0.25f;"), k.source());
        assertTrue(k.source().contains("sc = 30.0f * tanhf(sc / 30.0f);"), k.source());
        Nvcc.compile(k);
    }

    @Test
    void defaultScaleIsOneOverSqrtD() {
        KernelSpec k = Fixtures.emit(t, attention("f32", "1x1x3x16", "1x1x3x16", "1x1x3x16", null, Map.of()));
        assertTrue(k.source().contains("sc = s[i][c] * 0.25f;"), "1/sqrt(16) = 0.25");
    }

    @Test
    void kvCacheAndThreeDInputsAreUnsupported() {
        GraphBuilder g = new GraphBuilder("body");
        Value q = g.input("q", type("f32", "1x2x3x8")), k = g.input("k", type("f32", "1x2x3x8")), v = g.input("v", type("f32", "1x2x3x8"));
        Value pk = g.input("pk", type("f32", "1x2x4x8")), pv = g.input("pv", type("f32", "1x2x4x8"));
        g.output(g.node("Attention", List.of(q, k, v, Value.NONE, pk, pv), Map.of(), null, "a").get(0));
        Graph outer = Fixtures.outer("attention", "a", g.build());
        UnsupportedException e = assertThrows(UnsupportedException.class,
                () -> t.emit(Fixtures.fused(outer), outer, new CodegenContext(CodegenOptions.defaults())));
        assertTrue(e.getMessage().contains("past_key"), e.getMessage());

        GraphBuilder g3 = new GraphBuilder("body");
        Value q3 = g3.input("q", type("f32", "1x3x16")), k3 = g3.input("k", type("f32", "1x3x16")), v3 = g3.input("v", type("f32", "1x3x16"));
        g3.output(g3.op("Attention", Map.of("q_num_heads", Attr.of(2L), "kv_num_heads", Attr.of(2L)), q3, k3, v3));
        Graph outer3 = Fixtures.outer("attention", "a", g3.build());
        UnsupportedException e3 = assertThrows(UnsupportedException.class,
                () -> t.emit(Fixtures.fused(outer3), outer3, new CodegenContext(CodegenOptions.defaults())));
        assertTrue(e3.getMessage().contains("3-D"), e3.getMessage());
    }

    @Test
    void tileSizesFitStaticSharedMemory() {
        assertArrayEquals(new int[] {4, 64}, AttentionSimt.tile(64, 64, 4));   // 37 KB
        assertArrayEquals(new int[] {4, 32}, AttentionSimt.tile(64, 64, 8));   // f64: 64 keys would need 74 KB
        assertArrayEquals(new int[] {4, 32}, AttentionSimt.tile(128, 128, 4)); // 64 keys: 74 KB
        assertArrayEquals(new int[] {1, 16}, AttentionSimt.tile(256, 256, 4)); // 32 keys and one row per warp: 70 KB
        assertNull(AttentionSimt.tile(2048, 2048, 8));
        assertEquals((16 * 64 + 64 * 65 + 64 * 64) * 4, AttentionSimt.sharedBytes(4, 64, 64, 64, 4)); // Q, K padded, V
    }
}
