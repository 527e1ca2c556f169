package dev.kiln.profile;

import dev.kiln.runtime.DevicePeaks;

import java.util.Comparator;
import java.util.List;
import java.util.Objects;

/**
 * A per-kernel profile of one compiled model on one GPU: every launch of its plan timed alone, with what the
 * IR says it computes and moves, and how close it came to this GPU's roofline. Immutable; made by {@link
 * dev.kiln.CompiledModel#profile}. {@link #text} and {@link #html} render it.
 *
 * @param precision     the compiled precision (fp32, fp16, bf16)
 * @param graphMs       median device time of one replay of the whole CUDA graph
 * @param emptyLaunchMs median time of a launch that does nothing, measured like the kernels: a floor included in
 *                      every kernel's time
 * @param kernels       in plan (launch) order
 */
public record Profile(String model, String device, String arch, String precision, DevicePeaks peaks, double graphMs,
                      int graphReplays, double emptyLaunchMs, int runs, boolean flushedL2, List<Kernel> kernels) {

    public Profile {
        Objects.requireNonNull(peaks, "peaks");
        kernels = List.copyOf(kernels);
    }

    /**
     * One launch of the plan.
     *
     * @param launch     its index in the plan
     * @param entry      the kernel's entry point
     * @param nodes      the ONNX nodes it absorbed (comma separated; the launch's label)
     * @param irValue    first output of the IR node that made it; "" if none (its cost is then unknown)
     * @param kind       the fused group kind (matmul, attention, elementwise...) or "?"
     * @param dtype      the dtype its compute ceiling is taken for
     * @param tensorCore whether that ceiling is the tensor cores' (a contraction in f16/bf16)
     * @param ms         median time of one launch alone; {@code minMs} the fastest
     * @param peakTFlops the compute ceiling used for it; {@code peakGBs} the memory one
     */
    public record Kernel(int launch, String entry, String nodes, String irValue, String kind, String dtype, boolean tensorCore,
                         String grid, String block, double ms, double minMs, double flops, long bytes, double peakTFlops,
                         double peakGBs) {

        public boolean costKnown() { return !irValue.isEmpty(); }

        public double tflops() { return flops / (ms * 1e-3) / 1e12; }

        public double gbs() { return bytes / (ms * 1e-3) / 1e9; }

        /** FLOPs per byte moved. */
        public double intensity() { return bytes == 0 ? 0 : flops / bytes; }

        /** The least time the roofline allows: max(FLOPs / compute peak, bytes / bandwidth), in ms. */
        public double boundMs() {
            double compute = peakTFlops > 0 ? flops / (peakTFlops * 1e12) : 0, memory = peakGBs > 0 ? bytes / (peakGBs * 1e9) : 0;
            return Math.max(compute, memory) * 1e3;
        }

        /** How close to the roofline: the bound over the measured time, in percent (0 when the cost is unknown). */
        public double rooflinePercent() { return ms > 0 ? 100 * boundMs() / ms : 0; }

        /** Whether the compute ceiling, not memory, bounds it. */
        public boolean computeBound() { return intensity() * peakGBs / 1e3 > peakTFlops; }
    }

    /** The sum of the kernels' times (each alone, so each with the launch floor): compare with {@link #graphMs}. */
    public double totalKernelMs() { return kernels.stream().mapToDouble(Kernel::ms).sum(); }

    /** The kernels, slowest first. */
    public List<Kernel> byTime() { return kernels.stream().sorted(Comparator.comparingDouble(Kernel::ms).reversed()).toList(); }

    /** A sorted text table of the {@code top} slowest kernels with totals. */
    public String text(int top) { return ProfileText.render(this, top); }

    /** One self-contained HTML page: sortable table and roofline chart, viewable offline. */
    public String html() { return ProfileHtml.render(this); }
}
