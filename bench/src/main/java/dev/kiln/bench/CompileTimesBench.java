package dev.kiln.bench;

import dev.kiln.CompileOptions;
import dev.kiln.exec.ModelCompiler;
import dev.kiln.frontend.OnnxImporter;
import dev.kiln.ir.Graph;
import dev.kiln.passes.PassManager;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Where compile time goes on the CPU, pass by pass, for full-size models: import (ONNX file to IR), every pass,
 * codegen and plan. No GPU needed. Usage:
 * {@code CompileTimesBench [--dtype fp16] [--verify] [--repeat N] MODEL...}, MODEL being an .onnx file or a
 * synthetic model ({@link SyntheticModels}: bert-base, bert-base-L, vit-l32-384). With {@code --repeat N} the
 * compile runs N times and the last is printed (the first pays for JIT warm-up).
 */
public final class CompileTimesBench {
    private CompileTimesBench() {}

    public static void main(String[] args) throws Exception {
        CompileOptions options = CompileOptions.defaults().withArch("sm_90");
        int repeat = 1;
        List<String> models = new ArrayList<>();
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--dtype" -> options = options.withPrecision(CompileOptions.Precision.parse(args[++i]));
                case "--verify" -> options = options.withVerifyEach(true);
                case "--repeat" -> repeat = Integer.parseInt(args[++i]);
                default -> models.add(args[i]);
            }
        }
        if (models.isEmpty()) models = List.of("bert-base", "vit-l32-384");
        Path tmp = Files.createTempDirectory("kiln-compile-bench");
        for (String name : models) {
            Path file = SyntheticModels.known(name) ? SyntheticModels.write(name, tmp) : Path.of(name);
            ModelCompiler.Result r = null;
            double importMs = 0;
            for (int k = 0; k < repeat; k++) {
                long t0 = System.nanoTime();
                Graph g = new OnnxImporter().importModel(file).graph();
                importMs = (System.nanoTime() - t0) / 1e6;
                r = ModelCompiler.compile(g, options, "sm_90");
            }
            print(name, Files.size(file), importMs, r, options);
            if (SyntheticModels.known(name)) Files.delete(file);
        }
    }

    static void print(String name, long fileBytes, double importMs, ModelCompiler.Result r, CompileOptions options) {
        System.out.printf(Locale.ROOT, "%s (%s%s, %.0f MB file): %d launches of %d distinct kernels%n", name, options.precision().text(),
                options.verifyEach() ? ", verify each pass" : "", fileBytes / 1e6, r.plan().launches().size(), r.plan().kernels().size());
        System.out.printf(Locale.ROOT, "  %-22s %9.1f ms%n", "import", importMs);
        double passes = 0;
        for (PassManager.Record p : r.report().passes()) {
            passes += p.micros() / 1e3;
            System.out.printf(Locale.ROOT, "  %-22s %9.1f ms  %5d -> %5d nodes%n", p.pass(), p.micros() / 1e3, p.nodesBefore(), p.nodesAfter());
        }
        System.out.printf(Locale.ROOT, "  %-22s %9.1f ms%n", "passes", passes);
        // the rest of the compile: verification, memory plan, codegen, plan
        System.out.printf(Locale.ROOT, "  %-22s %9.1f ms  (verify, memory plan, codegen, plan)%n", "codegen", r.report().compileMillis() - passes);
        System.out.printf(Locale.ROOT, "  %-22s %9.1f ms%n", "total", importMs + r.report().compileMillis());
    }
}
