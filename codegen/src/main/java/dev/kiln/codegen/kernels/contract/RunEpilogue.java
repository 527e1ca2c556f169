package dev.kiln.codegen.kernels.contract;

import dev.kiln.codegen.CTypes;
import dev.kiln.codegen.CudaSource;
import dev.kiln.codegen.ExprEmitter;
import dev.kiln.ir.DType;
import dev.kiln.ir.Node;
import dev.kiln.ir.Tensor;
import dev.kiln.ir.Value;

import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A Fused body's epilogue over a run of {@code width} consecutive elements of the main output (row-major
 * linear indices {@code base .. base + width - 1}, base a multiple of width, the run inside one row of the
 * last axis): every operand the epilogue reads is either contiguous along the run (its last axis is the
 * output's; read as 16-byte or smaller vectors) or the same for the whole run (its last axis is 1 or absent:
 * one broadcast read); then the per-element math of {@link FusedBody#emitEpilogue}, and one 16-byte store
 * per body output. Alignment follows from the base being a multiple of width and the buffers being 16-byte
 * aligned (which the GEMM engine's cp.async staging assumes too).
 */
final class RunEpilogue {
    private RunEpilogue() {}

    /** Elements per run for this body (16 bytes of its outputs), or 1 when it has no run epilogue. */
    static int width(FusedBody fb) {
        if (fb.hasStoreView()) return 1; // writes through strides (a head merge...): element stores
        int bytes = 0;
        for (int i = 0; i < fb.body().outputs().size(); i++) {
            if (fb.fused().output(i).isNone()) continue;
            DType d = fb.body().outputs().get(i).dtype();
            if (d != DType.F16 && d != DType.BF16 && d != DType.F32) return 1;
            if (bytes != 0 && bytes != d.bits() / 8) return 1; // one run width must suit every output
            bytes = d.bits() / 8;
        }
        long[] out = fb.main().output(0).shape().sizes();
        if (bytes == 0 || out.length == 0) return 1;
        int w = 16 / bytes;
        return out[out.length - 1] % w == 0 ? w : 1;
    }

    /**
     * Emits the run: {@code acc} a C array of {@code width} accumulators, {@code base} the run's first linear
     * index, {@code col} its first GEMM column and {@code bias} (or null) a per-column body input added first.
     */
    static void emit(FusedBody fb, CudaSource src, String acc, String base, String col, int width, Value bias) {
        long[] out = fb.main().output(0).shape().sizes();
        Map<String, String[]> elems = new HashMap<>(); // operand name -> C expression of each run element
        int[] vectors = {0};
        java.util.function.BiFunction<Value, String, String[]> read = (v, idx) -> {
            String name = fb.in(v);
            String[] e = new String[width];
            if (v.dtype() == DType.F16 || v.dtype() == DType.BF16 || v.dtype() == DType.F32) { // else element reads
                String arr = "kiln_r" + vectors[0]++;
                src.line("__align__(16) %s %s[%d];", CTypes.storage(v.dtype()), arr, width);
                VecIo.copy(src, v.dtype(), width, arr, name + " + " + idx);
                for (int i = 0; i < width; i++) e[i] = CTypes.load(v.dtype(), arr + "[" + i + "]");
            } else {
                for (int i = 0; i < width; i++) e[i] = CTypes.load(v.dtype(), name + "[" + idx + " + " + i + "]");
            }
            return e;
        };
        Set<String> made = new HashSet<>();
        made.add(fb.main().output(0).name());
        for (Node n : fb.epilogue()) {
            for (Value in : n.inputs()) {
                if (in.isNone() || made.contains(in.name()) || elems.containsKey(in.name())) continue;
                elems.put(in.name(), operand(fb, in, out, base, width, read));
            }
            for (Value o : n.outputs()) made.add(o.name());
        }
        String[] biases = bias == null ? null : read.apply(bias, col);
        var outs = fb.body().outputs();
        for (int i = 0; i < outs.size(); i++)
            if (!fb.fused().output(i).isNone()) src.line("__align__(16) %s kiln_o%d[%d];", CTypes.storage(outs.get(i).dtype()), i, width);
        for (int e = 0; e < width; e++) {
            try (var b = src.block("")) { // each element's temporaries in their own scope
                src.line("const float r = %s[%d]%s;", acc, e, biases == null ? "" : " + " + biases[e]);
                int at = e;
                List<String> r = fb.epilogueValues(src, "r", in -> elems.get(in.name())[at]);
                for (int i = 0; i < outs.size(); i++) if (r.get(i) != null) src.line("kiln_o%d[%d] = %s;", i, e, r.get(i));
            }
        }
        for (int i = 0; i < outs.size(); i++)
            if (!fb.fused().output(i).isNone()) VecIo.copy(src, outs.get(i).dtype(), width, "out" + i + " + " + base, "kiln_o" + i);
    }

    /** Each run element of an epilogue operand: a scalar literal, a baked table or a body input, read by broadcast. */
    private static String[] operand(FusedBody fb, Value v, long[] out, String base, int width,
                                    java.util.function.BiFunction<Value, String, String[]> read) {
        long[] s = v.shape().sizes();
        boolean along = s.length > 0 && s[s.length - 1] != 1; // then its last axis is the output's: contiguous
        String idx = "(" + Index.broadcast(s, out, base) + ")";
        String[] e = new String[width];
        Tensor c = fb.constants().get(v.name());
        if (c != null && c.numel() == 1) {
            java.util.Arrays.fill(e, fb.epilogueOperand(v, out, base)); // a literal
        } else if (c != null) {
            String t = fb.epilogueTables().get(v.name());
            for (int i = 0; i < width; i++) e[i] = t + "[" + idx + (along ? " + " + i : "") + "]";
        } else if (along) {
            return read.apply(v, idx);
        } else {
            java.util.Arrays.fill(e, fb.epilogueOperand(v, out, base)); // one element for the whole run
        }
        return e;
    }
}
