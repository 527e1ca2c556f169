package dev.kiln.codegen.kernels.gemm;

import dev.kiln.codegen.CudaSource;
import dev.kiln.codegen.KernelSpec;
import dev.kiln.codegen.kernels.tile.TileOps;

import java.util.ArrayList;
import java.util.List;

/**
 * The contraction engine's entry: emits the kernel for one {@link GemmProblem} with one {@link GemmConfig}
 * (chosen by {@link GemmHeuristic} or passed in by an autotuner) into a source that already holds the
 * caller's header, and says how to launch it. The caller builds the {@link KernelSpec}: its own parameters,
 * then {@link Launch#params} (the workspaces, then the TMA path's tensor maps) in order.
 */
public final class GemmKernels {
    private GemmKernels() {}

    /**
     * Grid, block, dynamic shared memory, the workspaces appended to the kernel parameters, and the tensor maps
     * a {@link GemmConfig.Path#WGMMA_TMA} kernel reads through its last parameter ({@code kiln_tmap}; empty otherwise).
     */
    public record Launch(KernelSpec.Dim3 grid, KernelSpec.Dim3 block, int sharedBytes, List<KernelSpec.Param.Workspace> workspaces, List<TmaMap> tensorMaps) {
        public Launch {
            workspaces = List.copyOf(workspaces);
            tensorMaps = List.copyOf(tensorMaps);
        }

        /**
         * The parameters after the caller's own: the workspaces, then one {@link KernelSpec.Param.TensorMaps} when
         * there are maps. {@code paramIndex} gives the index among the kernel's parameters of the C parameter an
         * operand names ({@link StridedOperand#pointer}, e.g. {@code in0}): the buffer each map is based on.
         */
        public List<KernelSpec.Param> params(java.util.function.ToIntFunction<String> paramIndex) {
            List<KernelSpec.Param> out = new ArrayList<>(workspaces);
            if (!tensorMaps.isEmpty())
                out.add(new KernelSpec.Param.TensorMaps(tensorMaps.stream().map(m -> m.spec(paramIndex.applyAsInt(m.pointer()))).toList()));
            return out;
        }
    }

    /** The index of C parameter {@code in<i>}: {@code i}, for callers whose first parameters are the inputs {@code in0, in1...} in order. */
    public static int inputParam(String name) {
        if (!name.matches("in\\d+")) throw new IllegalArgumentException("operand pointer " + name + " is not an input parameter in<i>");
        return Integer.parseInt(name.substring(2));
    }

    public static Launch emit(CudaSource src, GemmProblem p, GemmConfig c, GemmOutput out, String entry) {
        String why = c.invalidReason(p);
        if (why != null) throw new IllegalArgumentException("GEMM config " + c + " cannot run " + p + ": " + why);
        src.comment("GEMM " + p + ", config " + c + " (" + c.splits(p) + " k split(s)"
                + (c.path() == GemmConfig.Path.SKINNY ? ")" : c.tma() ? ", A and B by TMA)" : ", A " + (p.asyncA() ? "cp.async" : "register loads") + ", B " + (p.asyncB() ? "cp.async" : "register loads") + ")"));
        for (String l : TileOps.PRELUDE.strip().split("\n")) src.line(l);
        src.line("");
        return switch (c.path()) {
            case MMA -> TiledKernel.emit(src, p, c, new MmaMath(p, c), out, entry);
            case SIMT -> TiledKernel.emit(src, p, c, new SimtMath(p, c), out, entry);
            case SKINNY -> SkinnyKernel.emit(src, p, c, out, entry);
            case WGMMA, WGMMA_TMA, WGMMA_TMA_T -> WgmmaKernel.emit(src, p, c, out, entry); // wgmma hook
        };
    }

    static Launch launch(GemmProblem p, GemmConfig c, long tilesPerBatch, int splits) { return launch(p, c, tilesPerBatch, splits, List.of()); }

    static Launch launch(GemmProblem p, GemmConfig c, long tilesPerBatch, int splits, List<TmaMap> tensorMaps) {
        List<KernelSpec.Param.Workspace> ws = new ArrayList<>();
        if (splits > 1) {
            long tiles = tilesPerBatch * p.batches(), regs = (long) c.bm() * c.bn();
            if (c.path() == GemmConfig.Path.SKINNY) regs = (long) ((Math.max(1, p.m()) * c.bn() + c.threads() - 1) / c.threads()) * c.threads();
            ws.add(new KernelSpec.Param.Workspace(tiles * splits * regs * p.math().accBytes(), false));
            ws.add(new KernelSpec.Param.Workspace(tiles * 4, true));
        }
        return new Launch(KernelSpec.Dim3.of(tilesPerBatch, splits, Math.min(p.batches(), 65535)), KernelSpec.Dim3.of(c.threads()),
                c.sharedBytes(p), ws, tensorMaps);
    }
}
