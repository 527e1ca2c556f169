package dev.kiln.profile;

import dev.kiln.CompiledModel;
import dev.kiln.exec.RandomInputs;
import dev.kiln.ir.Node;
import dev.kiln.ir.Tensor;
import dev.kiln.runtime.Cuda;
import dev.kiln.runtime.DevicePeaks;
import dev.kiln.runtime.KernelCache;
import dev.kiln.runtime.plan.ExecutionPlan;
import dev.kiln.runtime.plan.PlanExecutor;
import dev.kiln.runtime.plan.PlanProfiler;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Makes a {@link Profile}: runs the whole graph once (so the arena holds real data), times graph replays, times
 * each launch alone ({@link PlanProfiler}), costs each launch from the IR node that made it ({@link KernelCost})
 * and puts it against this GPU's peaks ({@link DevicePeaks}, measured once and cached).
 */
public final class Profiler {
    private Profiler() {}

    public static Profile profile(CompiledModel model, ProfileOptions o) {
        Cuda.require();
        List<Tensor> in = o.inputs().isEmpty() ? RandomInputs.of(model.graph(), Map.of(), o.seed()) : o.inputs();
        PlanExecutor ex = model.executor();
        DevicePeaks peaks = DevicePeaks.cachedOrMeasure(ex.context(), KernelCache.standard());
        model.run(in); // captures the graph on the first run
        double[] replay = new double[o.replays()];
        for (int r = 0; r < replay.length; r++) {
            model.run(in);
            replay[r] = ex.lastRunMillis();
        }
        PlanProfiler.Result times = PlanProfiler.profile(ex, new PlanProfiler.Options(o.runs(), o.warmup(), o.flushL2()));
        return assemble(model, ex.context().device().name(), peaks, median(replay), o.replays(), times);
    }

    /** The profile from measured times; separate from the measuring so tests can feed it times. */
    static Profile assemble(CompiledModel model, String device, DevicePeaks peaks, double graphMs, int replays, PlanProfiler.Result times) {
        Map<String, Node> byOutput = new HashMap<>();
        for (Node n : model.graph().nodes()) if (!n.outputs().isEmpty()) byOutput.put(n.output(0).name(), n);
        ExecutionPlan plan = model.plan();
        List<String> nodes = model.launchNodes();
        List<Profile.Kernel> kernels = new ArrayList<>();
        String previous = null;
        for (PlanProfiler.LaunchTime t : times.launches()) {
            ExecutionPlan.Launch l = plan.launches().get(t.launch());
            String value = nodes.get(t.launch());
            Node n = byOutput.get(value);
            KernelCost c = n == null ? KernelCost.UNKNOWN : KernelCost.of(n);
            // a node that made several launches (split-K and its reduction) carries its cost on the first one
            if (n != null && value.equals(previous)) c = c.withoutWork();
            previous = value;
            boolean tensorCore = c.contraction() && !c.computeDtype().equals("f32") && !c.computeDtype().equals("f64");
            kernels.add(new Profile.Kernel(t.launch(), plan.kernels().get(l.kernel()).entry(), l.label(), n == null ? "" : value,
                    c.kind(), c.computeDtype(), tensorCore, dims(l.grid()), dims(l.block()), t.medianMs(), t.minMs(), c.flops(), c.bytes(),
                    tensorCore ? peaks.tflops(c.computeDtype()) : peaks.f32TFlops(), peaks.memoryGBs()));
        }
        return new Profile(model.name(), device, model.arch(), model.report().precision().text(), peaks, graphMs, replays,
                times.emptyLaunchMs(), times.runs(), times.flushedL2(), kernels);
    }

    static String dims(ExecutionPlan.Dims d) {
        return d.y() == 1 && d.z() == 1 ? Integer.toString(d.x()) : d.x() + "x" + d.y() + (d.z() == 1 ? "" : "x" + d.z());
    }

    private static double median(double[] xs) {
        double[] c = xs.clone();
        Arrays.sort(c);
        return c.length % 2 == 1 ? c[c.length / 2] : (c[c.length / 2 - 1] + c[c.length / 2]) / 2;
    }
}
