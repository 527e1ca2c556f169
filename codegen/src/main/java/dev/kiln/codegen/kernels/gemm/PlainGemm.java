package dev.kiln.codegen.kernels.gemm;

import dev.kiln.codegen.CTypes;
import dev.kiln.codegen.CudaSource;
import dev.kiln.codegen.KernelSpec;

import java.util.ArrayList;
import java.util.List;

/**
 * A standalone GEMM kernel without an epilogue, {@code C[b, m, n] = sum_k A B} stored row-major in the
 * operand dtype (16-byte runs of columns when N allows, as MatMul's), for micro-benchmarks and engine tests: parameters {@code in0} (A), {@code in1} (B),
 * {@code out0} (C; buffer values named "A", "B", "C"), then the config's workspaces.
 */
public final class PlainGemm {
    private PlainGemm() {}

    public static KernelSpec kernel(GemmProblem p, GemmConfig c, String entry) {
        CudaSource src = new CudaSource();
        src.comment("plain GEMM");
        for (String l : CTypes.PRELUDE.strip().split("\n")) src.line(l);
        String st = CTypes.storage(p.math().dtype);
        GemmKernels.Launch l = GemmKernels.emit(src, p, c, new GemmOutput() {
            @Override public String signature(String e, String bounds, List<String> extra) {
                List<String> ps = new ArrayList<>(List.of("const " + st + "* __restrict__ in0", "const " + st + "* __restrict__ in1", st + "* out0"));
                ps.addAll(extra);
                return "extern \"C\" __global__ void __launch_bounds__(" + bounds + ") " + e + "(" + String.join(", ", ps) + ")";
            }

            @Override public void store(CudaSource s, String acc, String bz, String row, String col) {
                s.line("out0[%s * %dLL + %s * %dLL + %s] = %s;", bz, p.m() * p.n(), row, p.n(), col, CTypes.store(p.math().dtype, acc));
            }

            @Override public int runWidth() { return p.math().dtype.bits() <= 32 ? 128 / p.math().dtype.bits() : 1; }

            @Override public void storeRun(CudaSource s, String acc, String bz, String row, String col, int w) {
                s.line("__align__(16) %s kiln_o[%d];", st, w);
                for (int e = 0; e < w; e++) s.line("kiln_o[%d] = %s;", e, CTypes.store(p.math().dtype, acc + "[" + e + "]"));
                s.line("*reinterpret_cast<uint4*>(out0 + %s * %dLL + %s * %dLL + %s) = *reinterpret_cast<const uint4*>(kiln_o);",
                        bz, p.m() * p.n(), row, p.n(), col);
            }
        }, entry);
        List<KernelSpec.Param> params = new ArrayList<>(List.of(new KernelSpec.Param.Buffer("A"), new KernelSpec.Param.Buffer("B"), new KernelSpec.Param.Buffer("C")));
        params.addAll(l.params(GemmKernels::inputParam));
        return new KernelSpec(entry, src.toString(), entry, l.grid(), l.block(), l.sharedBytes(), params, List.of());
    }
}
