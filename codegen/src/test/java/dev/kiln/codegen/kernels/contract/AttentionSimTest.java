package dev.kiln.codegen.kernels.contract;

import dev.kiln.codegen.CodegenContext;
import dev.kiln.codegen.CodegenOptions;
import dev.kiln.codegen.KernelSpec;
import dev.kiln.codegen.sim.SimKernel;
import dev.kiln.ir.Attr;
import dev.kiln.ir.DType;
import dev.kiln.ir.Graph;
import dev.kiln.ir.GraphBuilder;
import dev.kiln.ir.Node;
import dev.kiln.ir.Tensor;
import dev.kiln.ir.TensorType;
import dev.kiln.ir.Value;
import dev.kiln.ir.ref.Interpreter;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static dev.kiln.codegen.kernels.contract.Fixtures.type;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Both attention kernels run on the CPU simulator (whole grid, mma/ldmatrix/cp.async fragment-exact) and are
 * checked element by element against the reference interpreter on the same body: sequence lengths that are
 * not multiples of the tiles, every mask form, causal with S < L and S > L, GQA, softcap, scale, fully masked
 * rows, head split/merge views with an epilogue, an operand whose head dimension is not innermost (the
 * element-wise loader), and tiles from one warp of 16 rows to four warps of 32 rows. Shapes stay tiny: the
 * simulator runs one OS thread per CUDA thread.
 */
class AttentionSimTest {
    /** Tolerance against the double reference: the output's rounding plus P rounded to 16 bits for P V. */
    static double tolerance(DType t) {
        return t == DType.BF16 ? 2.5e-2 : t == DType.F16 ? 4e-3 : t == DType.F32 ? 2e-5 : 1e-12;
    }

    /** mask: "" or dtype:dims, e.g. bool:1x1x20x33 or f16:20x30 (shorter than L masks the rest). */
    @ParameterizedTest(name = "{0} Q{1} K{2} V{3} mask {4} causal {5} softcap {6} config {7}")
    @CsvSource(delimiter = '|', value = {
            // S and L not multiples of the tiles; one warp of 16 rows and one of 32
            "f16 | 1x2x20x32 | 1x2x37x32 | 1x2x37x32 | | 0 | 0 | m16w1n32q",
            "f16 | 1x1x45x64 | 1x1x70x64 | 1x1x70x64 | | 0 | 0 | m32w1n64q",
            // causal with S = L, S < L, S > L; warps skipping tiles past their rows; the heuristic tile
            "f16 | 1x2x40x64 | 1x2x40x64 | 1x2x40x64 | | 1 | 0 | m64w2n16q",
            "f16 | 1x1x24x32 | 1x1x50x32 | 1x1x50x32 | | 1 | 0 | m32w2n16s",
            "f16 | 2x1x50x32 | 2x1x21x32 | 2x1x21x32 | | 1 | 0 | m32w2n32q",
            "f16 | 1x3x33x128 | 1x3x33x128 | 1x3x33x128 | | 1 | 0 | ",
            // GQA, masks (bool keep-mask with fully masked rows; additive; shorter than L), causal with a mask
            "f16 | 2x4x19x32 | 2x2x23x32 | 2x2x23x32 | bool:2x1x19x23 | 0 | 0 | m32w1n16q",
            "f16 | 1x4x18x32 | 1x1x40x32 | 1x1x40x16 | f16:18x30 | 1 | 0 | m32w2n32s",
            "bf16 | 1x2x17x32 | 1x2x17x32 | 1x2x17x32 | bool:17x17 | 1 | 0 | m16w1n16q",
            "f16 | 1x2x5x32 | 1x2x9x32 | 1x2x9x32 | bool:1x2x1x9 | 0 | 0 | m16w1n32q",
            // bf16, odd head sizes, softcap, Q kept in shared memory; D = 256 with one m-tile
            "bf16 | 1x2x21x80 | 1x2x26x80 | 1x2x26x48 | | 0 | 20 | m32w2n32s",
            "f16 | 1x1x9x256 | 1x1x19x256 | 1x1x19x256 | f16:1x1x9x19 | 0 | 0 | m16w1n16s",
            // the lean softmax (P packed at the exponent, O rescaled behind a warp vote): ragged S and L, causal with
            // S < L and S > L, fully masked rows (a row max that stays -inf), GQA, bf16, softcap, D = 128
            "f16 | 1x2x45x64 | 1x2x70x64 | 1x2x70x64 | | 0 | 0 | m32w1n32ql",
            "f16 | 1x1x24x32 | 1x1x50x32 | 1x1x50x32 | | 1 | 0 | m32w2n16sl",
            "f16 | 2x1x50x32 | 2x1x21x32 | 2x1x21x32 | | 1 | 0 | m64w2n32ql",
            "f16 | 2x4x19x32 | 2x2x23x32 | 2x2x23x32 | bool:2x1x19x23 | 0 | 0 | m32w1n16ql",
            "f16 | 1x4x18x32 | 1x1x40x32 | 1x1x40x16 | f16:18x30 | 1 | 0 | m32w2n16sl",
            "bf16 | 1x2x21x80 | 1x2x26x80 | 1x2x26x48 | | 0 | 20 | m32w2n32sl",
            "f16 | 1x2x100x128 | 1x2x87x128 | 1x2x87x128 | | 1 | 0 | m128w4n16ql",
            // Q staged in shared memory with its first d-steps also in registers: D = 64 and 128, causal, GQA, a mask
            "f16 | 1x2x40x64 | 1x2x40x64 | 1x2x40x64 | | 1 | 0 | m64w2n32sr2",
            "f16 | 1x4x70x128 | 1x2x53x128 | 1x2x53x128 | | 0 | 0 | m128w4n32sr4",
            "bf16 | 1x2x17x32 | 1x2x17x32 | 1x2x17x32 | bool:17x17 | 1 | 0 | m32w1n16sr1",
            // eight warps of 16 rows (Q in registers) and of 32 rows (256 rows, most of them past S here)
            "f16 | 1x2x150x64 | 1x2x150x64 | 1x2x150x64 | | 1 | 0 | m128w8n16ql",
            "f16 | 1x1x70x128 | 1x1x45x128 | 1x1x45x128 | | 0 | 0 | m128w8n32q",
            "f16 | 1x1x40x128 | 1x1x40x128 | 1x1x40x128 | | 1 | 0 | m256w8n32sr4",
            // three K/V stages: fewer tiles than stages, ragged L, causal (blocks with one tile), GQA with a mask, D = 128
            "f16 | 1x2x40x64 | 1x2x12x64 | 1x2x12x64 | | 0 | 0 | m64w4n16qp3",
            "f16 | 1x2x70x64 | 1x2x85x64 | 1x2x85x64 | | 1 | 0 | m128w4n16qp3l",
            "f16 | 2x4x19x32 | 2x2x75x32 | 2x2x75x32 | bool:2x1x19x75 | 0 | 0 | m64w4n16qp3l",
            "f16 | 1x1x70x128 | 1x1x100x128 | 1x1x100x128 | | 1 | 0 | m128w4n32sr4p3",
            // the vote softmax (P kept fp32 until P V, O rescaled behind the warp vote) and deferred K/V loads (issued
            // after the softmax; tiles before the block's diagonal run without mask code): causal with S = L, S < L and
            // S > L, ragged S and L (warps past S, the key bound on the last tile), 48-key tiles, GQA with a mask (every
            // tile masked), bf16 with softcap and Dv != D, D = 128 with S a multiple of the block
            "f16 | 1x2x300x32 | 1x2x300x32 | 1x2x300x32 | | 1 | 0 | m128w4n32sdv",
            "f16 | 1x1x200x32 | 1x1x256x32 | 1x1x256x32 | | 1 | 0 | m128w4n32sdl",
            "f16 | 2x1x150x64 | 2x1x100x64 | 2x1x100x64 | | 1 | 0 | m128w4n48sdv",
            "f16 | 1x2x130x32 | 1x2x200x32 | 1x2x200x32 | | 0 | 0 | m128w4n48sv",
            "f16 | 2x4x129x32 | 2x2x150x32 | 2x2x150x32 | bool:2x1x129x150 | 0 | 0 | m128w4n32sdv",
            "bf16 | 1x2x140x48 | 1x2x160x48 | 1x2x160x32 | | 0 | 20 | m128w4n32sdl",
            "f16 | 1x1x256x128 | 1x1x256x128 | 1x1x256x128 | | 1 | 0 | m128w4n48sdv",
            "f16 | 1x1x256x128 | 1x1x256x128 | 1x1x256x128 | | 0 | 0 | m128w4n32sv",
            // the wgmma tile (FlashWgmma; the simulator runs wgmma, A from registers too): two warpgroups and one, D = 64 and 128,
            // ragged S and L (rows past S, keys past L zero-filled and masked), causal with S = L, S < L and S > L (warpgroups
            // skipping tiles), GQA with a bool mask and fully masked rows, an additive mask shorter than L, bf16 with softcap
            // and Dv != D, 176- and 64-key tiles
            "f16 | 1x2x150x128 | 1x2x300x128 | 1x2x300x128 | | 0 | 0 | m128w8n128g",
            "f16 | 1x1x200x128 | 1x1x200x128 | 1x1x200x128 | | 1 | 0 | m128w8n128g",
            "f16 | 1x1x90x64 | 1x1x140x64 | 1x1x140x64 | | 1 | 0 | m64w4n64g",
            "f16 | 1x1x140x64 | 1x1x70x64 | 1x1x70x64 | | 1 | 0 | m128w8n176g",
            "f16 | 2x4x19x64 | 2x2x75x64 | 2x2x75x64 | bool:2x1x19x75 | 0 | 0 | m64w4n64g",
            "f16 | 1x2x18x64 | 1x1x40x64 | 1x1x40x64 | f16:18x30 | 1 | 0 | m128w8n64g",
            "bf16 | 1x2x70x128 | 1x2x90x128 | 1x2x90x64 | | 0 | 20 | m128w8n64g",
            // three stages (P V left in flight across the barrier): the stage ring wraps, causal with warpgroups skipping, a mask
            "f16 | 1x2x130x128 | 1x2x600x128 | 1x2x600x128 | | 0 | 0 | m128w8n128gp3",
            "f16 | 1x1x300x64 | 1x1x300x64 | 1x1x300x64 | | 1 | 0 | m128w8n64gp3",
            "f16 | 2x4x19x64 | 2x2x175x64 | 2x2x175x64 | bool:2x1x19x175 | 0 | 0 | m64w4n64gp3",
            // four stages (the next tile's scores during this tile's softmax): one tile, two, ragged; causal S = L and S > L
            // (warpgroups stopping mid-block), a mask on every tile, bf16 with softcap and Dv != D
            "f16 | 1x2x130x128 | 1x2x500x128 | 1x2x500x128 | | 0 | 0 | m128w8n96gp4",
            "f16 | 1x1x300x64 | 1x1x300x64 | 1x1x300x64 | | 1 | 0 | m128w8n64gp4",
            "f16 | 1x1x150x64 | 1x1x60x64 | 1x1x60x64 | | 1 | 0 | m128w8n32gp4",
            "f16 | 2x4x19x64 | 2x2x175x64 | 2x2x175x64 | bool:2x1x19x175 | 0 | 0 | m64w4n64gp4",
            "bf16 | 1x2x70x128 | 1x2x90x128 | 1x2x90x64 | | 0 | 20 | m128w8n48gp4",
            // the exact SIMT kernel (f32, f64, and f16 head sizes the tensor cores do not take)
            "f32 | 1x2x20x32 | 1x1x37x32 | 1x1x37x24 | f32:1x2x20x30 | 1 | 0 | simt",
            "f64 | 1x2x9x16 | 1x2x12x16 | 1x2x12x16 | bool:9x12 | 0 | 5 | simt",
            "f16 | 1x2x9x24 | 1x2x12x24 | 1x2x12x24 | | 1 | 0 | ",
    })
    void matchesTheReference(String dt, String q, String k, String v, String mask, int causal, double softcap, String config) {
        Map<String, Attr> attrs = new HashMap<>();
        if (causal != 0) attrs.put("is_causal", Attr.of(1L));
        if (softcap > 0) attrs.put("softcap", Attr.of(softcap));
        Graph outer = AttentionTemplateTest.attention(dt, q, k, v, mask, attrs);
        check(outer, config, 11);
    }

    @Test void scaleAttributeAndAllMaskedBatch() {
        // batch 1's mask keeps nothing: every row of it is zeros
        GraphBuilder g = new GraphBuilder("body");
        Value q = g.input("q", type("f16", "2x2x18x32")), k = g.input("k", type("f16", "2x2x20x32")), v = g.input("v", type("f16", "2x2x20x32"));
        Value m = g.input("mask", type("bool", "2x1x1x20"));
        g.output(g.node("Attention", List.of(q, k, v, m), Map.of("scale", Attr.of(0.4)), null, "attn").get(0));
        Graph outer = Fixtures.outer("attention", "attn0", g.build());
        Map<String, Tensor> in = inputs(outer, 5);
        boolean[] keep = new boolean[40];
        for (int i = 0; i < 20; i++) keep[i] = i % 3 != 0;
        in.put("g_mask", Tensor.ofBools(new long[] {2, 1, 1, 20}, keep));
        Tensor got = compare(outer, "m32w2n16q", in);
        for (int i = 2 * 18 * 32; i < got.numel(); i++) assertEquals(0.0, got.getDouble(i), "fully masked batch 1 gives zeros");
    }

    /**
     * The head split before attention and the head merge after it, read and written through strides, with
     * an epilogue (x * 2 + residual on the merged layout would not be elementwise on [B,H,S,Dv], so the
     * epilogue multiplies by a constant before the merge).
     */
    @Test void headSplitAndMergeViewsWithEpilogue() {
        for (String config : new String[] {"m32w2n16q", "m32w1n32s", "simt"}) {
            String dt = config.equals("simt") ? "f32" : "f16";
            GraphBuilder g = new GraphBuilder("body");
            Value x = g.input("x", type(dt, "1x21x64")), kx = g.input("kx", type(dt, "1x26x64")), vx = g.input("vx", type(dt, "1x26x64"));
            Value[] heads = new Value[3];
            Value[] src = {x, kx, vx};
            for (int i = 0; i < 3; i++) {
                long len = i == 0 ? 21 : 26;
                Value r = g.op("Reshape", src[i], g.constant(Tensor.vector(1, len, 2, 32)));
                heads[i] = g.op("Transpose", Map.of("perm", Fixtures.ints("0,2,1,3")), r);
            }
            Value a = g.node("Attention", List.of(heads[0], heads[1], heads[2]), Map.of("is_causal", Attr.of(1L)), null, "attn").get(0);
            Value scaled = g.op("Mul", a, g.constant(Tensor.scalar(DType.fromText(dt), 2.0)));
            Value t = g.op("Transpose", Map.of("perm", Fixtures.ints("0,2,1,3")), scaled);
            g.output(g.op("Reshape", t, g.constant(Tensor.vector(1, 21, 64))));
            check(Fixtures.outer("attention", "attn0", g.build()), config, 3);
        }
    }

    /** K stored [B,H,D,L] and transposed: the head dimension is not innermost, so K loads element by element. */
    @Test void keysWithStridedHeadDimension() {
        GraphBuilder g = new GraphBuilder("body");
        Value q = g.input("q", type("f16", "1x2x20x32")), kt = g.input("kt", type("f16", "1x2x32x24")), v = g.input("v", type("f16", "1x2x24x32"));
        Value k = g.op("Transpose", Map.of("perm", Fixtures.ints("0,1,3,2")), kt);
        g.output(g.node("Attention", List.of(q, k, v), Map.of(), null, "attn").get(0));
        Graph outer = Fixtures.outer("attention", "attn0", g.build());
        KernelSpec ks = check(outer, "m32w2n16q", 4);
        assertTrue(ks.source().contains("kiln_attn_tile_strided<BN, D, KP, THREADS>(Ks"), "K goes through the element-wise loader");
    }

    // ---- helpers

    /** Emits {@code outer}'s kernel with {@code config} ("simt", a FlashConfig, or blank for the template's choice) and compares. */
    static KernelSpec check(Graph outer, String config, long seed) {
        KernelSpec ks = spec(outer, config);
        compare(outer, ks, inputs(outer, seed));
        return ks;
    }

    static KernelSpec spec(Graph outer, String config) {
        Node f = Fixtures.fused(outer);
        CodegenContext ctx = new CodegenContext(CodegenOptions.defaults());
        if (config == null || config.isBlank()) return Fixtures.emit(new AttentionTemplate(), outer);
        return AttentionTemplate.emit(f, ctx, config.equals("simt") ? null : FlashConfig.parse(config));
    }

    static Tensor compare(Graph outer, String config, Map<String, Tensor> in) { return compare(outer, spec(outer, config), in); }

    /** Runs the kernel on the simulator and the body on the interpreter; returns the kernel's output. */
    static Tensor compare(Graph outer, KernelSpec ks, Map<String, Tensor> in) {
        Node f = Fixtures.fused(outer);
        Graph body = ((Attr.GraphValue) f.attrs().get("body")).value();
        List<Tensor> bodyIn = new ArrayList<>();
        for (Value bv : body.inputs()) bodyIn.add(in.get("g_" + bv.name()));
        Tensor want = Interpreter.run(body, bodyIn).get(0);
        Value out = f.output(0);
        DType t = out.dtype();
        long bytes = (long) want.numel() * t.storageBytes();
        Tensor got = Tensor.ofBytes(t, out.shape().sizes(), SimKernel.run(ks, in, Map.of(out.name(), bytes)).get(out.name()));
        double tol = tolerance(t), worst = 0;
        for (int i = 0; i < want.numel(); i++) {
            double w = want.getDouble(i), g = got.getDouble(i), err = Math.abs(w - g);
            if (!(err <= tol * Math.max(1, Math.abs(w))))
                fail("element " + i + " of " + out.type() + ": kernel " + g + ", reference " + w + " (kernel " + ks.entry() + ", "
                        + ks.source().lines().skip(1).findFirst().orElse("") + ")");
            worst = Math.max(worst, err);
        }
        System.out.printf("%s: max error %.3g over %d elements%n", ks.source().lines().skip(1).findFirst().orElse(""), worst, want.numel());
        return got;
    }

    /** Random inputs: Q, K in [-2, 2] so scores spread, V in [-1, 1]; masks keep about 70% and drop whole rows. */
    static Map<String, Tensor> inputs(Graph outer, long seed) {
        Random r = new Random(seed);
        Map<String, Tensor> in = new HashMap<>();
        for (Value v : outer.inputs()) {
            TensorType tt = v.type();
            long[] shape = tt.shape().sizes();
            int n = (int) Tensor.numel(shape);
            if (tt.dtype().isBool()) {
                boolean[] keep = new boolean[n];
                long last = shape[shape.length - 1];
                for (int i = 0; i < n; i++) keep[i] = (i / last) % 7 != 3 && r.nextDouble() < 0.7; // every 7th row masked out
                in.put(v.name(), Tensor.ofBools(shape, keep));
                continue;
            }
            boolean mask = v.name().equals("g_mask");
            double span = v.name().contains("v") ? 1 : 2;
            double[] x = new double[n];
            for (int i = 0; i < n; i++)
                x[i] = mask ? (r.nextDouble() < 0.1 ? Double.NEGATIVE_INFINITY : -3 * r.nextDouble()) : span * (2 * r.nextDouble() - 1);
            in.put(v.name(), Tensor.ofDoubles(tt.dtype(), shape, x));
        }
        return in;
    }
}
