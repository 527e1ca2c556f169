package dev.kiln.cli;

import dev.kiln.CompileOptions;
import dev.kiln.CompiledModel;
import dev.kiln.Kiln;
import dev.kiln.exec.RandomInputs;
import dev.kiln.frontend.OnnxImporter;
import dev.kiln.ir.Graph;
import dev.kiln.passes.PassContext;
import dev.kiln.passes.SpecializeShapes;
import dev.kiln.profile.Profile;
import dev.kiln.profile.ProfileOptions;
import dev.kiln.runtime.Cuda;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.Callable;

/**
 * {@code kiln profile MODEL}: every kernel of the compiled plan timed alone on the GPU, with its FLOPs, bytes
 * and share of the roofline; a text table of the slowest, and optionally an HTML report.
 */
@Command(name = "profile", description = "Time every kernel of a compiled model on the GPU; print the slowest with FLOPs, bytes and %% of roofline.")
final class ProfileCommand implements Callable<Integer> {
    @Parameters(paramLabel = "MODEL", description = "a .onnx model or a .kiln bundle") Path model;

    @Option(names = "--dtype", description = "fp32, fp16 or bf16 (an .onnx model; a bundle keeps its own; default fp32)") String dtype;

    @Option(names = "--html", paramLabel = "FILE", description = "also write an HTML report (sortable table, roofline chart)") Path html;

    @Option(names = "--runs", defaultValue = "20", description = "timed launches of each kernel (the median is reported)") int runs;

    @Option(names = "--top", defaultValue = "20", description = "how many of the slowest kernels to print") int top;

    @Option(names = "--dim", paramLabel = "NAME=SIZE", description = "size of a symbolic input dim (default 1)")
    Map<String, Long> dims = new HashMap<>();

    @Option(names = "--warm-l2", description = "do not flush the L2 cache before each timed launch") boolean warmL2;

    @Option(names = "--seed", defaultValue = "0", description = "seed for the random inputs") long seed;

    @Option(names = "--device", defaultValue = "0", description = "which GPU (CUDA device index)") int device;

    @Override public Integer call() {
        if (!Cuda.available()) {
            System.err.println("kiln: error: profile needs a GPU: " + Cuda.unavailableReason() + " (see `kiln doctor`)");
            return 1;
        }
        System.setProperty("kiln.device", Integer.toString(device));
        try (CompiledModel m = load()) {
            ProfileOptions o = ProfileOptions.defaults().withRuns(runs).withFlushL2(!warmL2)
                    .withInputs(RandomInputs.of(m.graph(), dims, seed));
            System.err.println("profiling " + m.plan().launches().size() + " launches ...");
            Profile p = m.profile(o);
            System.out.print(p.text(top));
            if (html != null) {
                try {
                    Files.writeString(html, p.html(), StandardCharsets.UTF_8);
                } catch (IOException e) {
                    throw new UncheckedIOException("cannot write " + html + ": " + e.getMessage(), e);
                }
                System.out.println("wrote " + html);
            }
        }
        return 0;
    }

    private CompiledModel load() {
        if (model.toString().endsWith(".kiln")) {
            if (dtype != null) System.err.println("kiln: a bundle keeps the precision it was compiled with; --dtype is ignored");
            return Kiln.load(model);
        }
        Graph g = new OnnxImporter().importModel(model).graph();
        if (!g.inputs().allSatisfy(v -> v.shape().isStatic()))
            g = new SpecializeShapes(RandomInputs.shapes(g, dims)).run(g, new PassContext());
        System.err.println("compiling " + model + " ...");
        return Kiln.compile(g, CompileOptions.defaults().withPrecision(CompileOptions.Precision.parse(dtype == null ? "fp32" : dtype)));
    }
}
