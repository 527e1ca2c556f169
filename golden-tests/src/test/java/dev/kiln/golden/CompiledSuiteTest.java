package dev.kiln.golden;

import dev.kiln.CompileOptions;
import dev.kiln.codegen.KernelSpec;
import dev.kiln.exec.ModelCompiler;
import dev.kiln.frontend.OnnxImporter;
import dev.kiln.ir.KilnException;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.fail;

/**
 * Without a GPU: compiles the model of every ONNX suite case (and the four models) down to kernels, runs the
 * final (fused) IR on the reference interpreter against the case's expected outputs (so every pass is checked
 * on real models), and compiles every kernel's CUDA C with {@code nvcc -ptx -arch=sm_90}. A wrong result or
 * any nvcc error fails the build. Kernels are
 * batched many to a file (each in a namespace of its own, includes hoisted) because nvcc's start-up dominates.
 * Skips when nvcc is not on PATH. Cases Kiln cannot compile for the GPU yet (a typed error) are counted, not failed.
 */
class CompiledSuiteTest {
    private static final int BATCH = 150;

    @Test
    void everyGeneratedKernelCompilesWithNvcc() throws Exception {
        Assumptions.assumeTrue(SuiteData.available(), SuiteData::missingMessage);
        boolean nvcc = nvccAvailable();
        if (!nvcc) System.out.println("nvcc is not on PATH: generated kernels are not compiled to PTX (results are still checked)");
        ExpectedFailures reference = ExpectedFailures.load("/expected-failures-reference.txt");
        List<String> wrong = new ArrayList<>();
        List<String[]> kernels = new ArrayList<>(); // {case, kernel name, source}, each distinct source once
        Set<String> sources = new java.util.HashSet<>();
        TreeMap<String, Integer> notCompiled = new TreeMap<>();
        int cases = 0, compiled = 0;
        for (SuiteData.Case c : SuiteData.cases()) {
            cases++;
            try {
                var m = new OnnxImporter().importModel(c.dir().resolve("model.onnx"));
                var bound = dev.kiln.exec.ShapeInputs.select(m.graph(), inputs(c));
                var r = ModelCompiler.compile(m.graph(), CompileOptions.defaults(), "sm_90", bound, null);
                for (KernelSpec k : r.kernels()) if (sources.add(k.source())) kernels.add(new String[] {c.id(), k.name(), k.source()});
                compiled++;
                if (!reference.contains(c.id())) {
                    String why = checkResults(c, r.graph(), bound, m.graph());
                    if (why != null) wrong.add(c.id() + ": " + why);
                }
            } catch (KilnException e) {
                notCompiled.merge(e.getClass().getSimpleName() + ": " + firstWords(e.detail()), 1, Integer::sum);
            }
        }
        System.out.printf("compiled IR on the interpreter: %d of %d compiled suite models match their expected outputs%n",
                compiled - wrong.size(), compiled);
        if (!wrong.isEmpty()) fail("the compiled (fused) IR gives wrong results:\n" + String.join("\n", wrong));
        Assumptions.assumeTrue(nvcc, "nvcc is not on PATH");
        Path dir = Files.createDirectories(Path.of("target/ptx-check"));
        List<String> errors = new ArrayList<>();
        for (int from = 0; from < kernels.size(); from += BATCH) {
            List<String[]> batch = kernels.subList(from, Math.min(kernels.size(), from + BATCH));
            Path cu = dir.resolve("batch" + from / BATCH + ".cu");
            Files.writeString(cu, bundle(batch, from), StandardCharsets.UTF_8);
            String log = nvcc(cu);
            if (log != null) errors.add(cu + ":\n" + log);
        }
        System.out.printf("PTX check: %d of %d suite models compiled to %d kernels, all through nvcc -ptx: %s%n",
                compiled, cases, kernels.size(), errors.isEmpty() ? "ok" : errors.size() + " batch(es) failed");
        notCompiled.forEach((why, n) -> System.out.println("  not compiled for the GPU (" + n + "): " + why));
        if (!errors.isEmpty()) fail("nvcc rejected generated kernels:\n" + String.join("\n", errors));
    }

    /** The final IR on the interpreter against output_K.pb; null when it matches. */
    private static String checkResults(SuiteData.Case c, dev.kiln.ir.Graph compiled, java.util.Map<String, dev.kiln.ir.Tensor> bound,
                                       dev.kiln.ir.Graph imported) throws IOException {
        List<Path> sets = c.dataSets();
        if (sets.isEmpty() || c.name().startsWith("test_training_dropout")) return null;
        List<dev.kiln.ir.Tensor> in = inputs(c);
        List<dev.kiln.ir.Tensor> actual = dev.kiln.ir.ref.Interpreter.run(compiled, dev.kiln.exec.ShapeInputs.remaining(imported, in, bound));
        List<Path> outs = SuiteData.numbered(sets.get(0), "output");
        for (int k = 0; k < outs.size(); k++) {
            dev.kiln.ir.Tensor want = dev.kiln.frontend.TensorCodec.readFile(outs.get(k));
            Tolerance tol = c.suite().equals("models") ? Tolerance.forModel(want.dtype()) : Tolerance.forCase(want.dtype());
            Comparison cmp = Comparison.compare(actual.get(k), want, tol);
            if (!cmp.passed()) return "output " + k + ": " + cmp.reason();
        }
        return null;
    }

    private static List<dev.kiln.ir.Tensor> inputs(SuiteData.Case c) throws IOException {
        List<dev.kiln.ir.Tensor> in = new ArrayList<>();
        List<Path> sets = c.dataSets();
        if (sets.isEmpty()) return in;
        for (Path p : SuiteData.numbered(sets.get(0), "input")) in.add(dev.kiln.frontend.TensorCodec.readFile(p));
        return in;
    }

    /** One file: every kernel in its own namespace, extern "C" dropped (names would clash), includes hoisted. */
    static String bundle(List<String[]> kernels, int base) {
        Set<String> includes = new LinkedHashSet<>();
        StringBuilder body = new StringBuilder();
        for (int i = 0; i < kernels.size(); i++) {
            String[] k = kernels.get(i);
            body.append("// ").append(k[0]).append(" / ").append(k[1]).append('\n');
            body.append("namespace kiln_k").append(base + i).append(" {\n");
            for (String line : k[2].split("\n")) {
                if (line.strip().startsWith("#include")) includes.add(line.strip());
                else body.append(line.replace("extern \"C\"", "")).append('\n');
            }
            body.append("}\n");
        }
        return String.join("\n", includes) + "\n" + body;
    }

    private static String nvcc(Path cu) throws IOException, InterruptedException {
        Process p = new ProcessBuilder("nvcc", "-ptx", "-arch=sm_90", "-w", cu.toString(), "-o", cu + ".ptx")
                .redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(600, TimeUnit.SECONDS)) { p.destroyForcibly(); return "nvcc timed out"; }
        return p.exitValue() == 0 ? null : out;
    }

    private static boolean nvccAvailable() {
        try {
            Process p = new ProcessBuilder("nvcc", "--version").redirectErrorStream(true).start();
            p.getInputStream().readAllBytes();
            return p.waitFor(60, TimeUnit.SECONDS) && p.exitValue() == 0;
        } catch (IOException | InterruptedException e) {
            return false;
        }
    }

    private static String firstWords(String s) {
        String t = s.replaceAll("\\s+", " ");
        return t.length() > 90 ? t.substring(0, 90) : t;
    }
}
