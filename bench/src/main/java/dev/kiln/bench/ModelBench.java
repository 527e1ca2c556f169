package dev.kiln.bench;

import dev.kiln.CompileOptions;
import dev.kiln.CompiledModel;
import dev.kiln.Kiln;
import dev.kiln.bundle.Json;
import dev.kiln.frontend.TensorCodec;
import dev.kiln.ir.Tensor;
import dev.kiln.profile.Profile;
import dev.kiln.profile.ProfileOptions;
import dev.kiln.runtime.Cuda;
import dev.kiln.runtime.DeviceBuffer;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Compiles and runs several ONNX models in one JVM for the side-by-side harness (bench/harness/side_by_side.py,
 * docs/performance.md) and reports, per model: cold start (import + compile, then the first run with kernel
 * loading and graph capture), the median device time of a graph replay, the kernel count, and the outputs
 * (written as ONNX TensorProto files for the harness to compare with ONNX Runtime).
 *
 * <p>A job is a JSON object: {@code id}, {@code onnx}, {@code dtype} (fp32/fp16/bf16), {@code inputs} (paths of
 * TensorProto files, graph input order), {@code outputs_dir}, and optionally {@code runs} (50), {@code warmup}
 * (10), {@code allow_tf32} (false), {@code backend} ({@code gpu}, or {@code reference}: the CPU interpreter, for
 * checking the plumbing without a GPU), {@code profile_top} (0: with K > 0 also write profile.txt/.html, into {@code profile_dir} if given).
 *
 * <p>Two modes. {@code ModelBench JOBS.json OUT.json}: runs the jobs of {"jobs": [...]} in order and rewrites
 * OUT.json (a list of results) after each. {@code ModelBench --serve}: reads one job per line on standard input
 * and answers each with one line {@code RESULT {...}} on standard output, so a driver can interleave other work.
 * A failing job is a result with status "error"; the others still run.
 */
public final class ModelBench {
    private ModelBench() {}

    /** What the timing covers, written into every result. */
    static final String TIMING = "device time of one CUDA graph replay (CUDA events around cuGraphLaunch), inputs and outputs "
            + "already on the device (the graph's own copies between them and the arena included, no host transfers)";

    public static void main(String[] args) throws Exception {
        PrintStream out = System.out;
        System.setOut(System.err); // keep the protocol stream clean of anything else that prints
        if (args.length == 1 && args[0].equals("--serve")) {
            serve(System.in, out);
            return;
        }
        if (args.length != 2) {
            System.err.println("usage: ModelBench JOBS.json OUT.json | ModelBench --serve");
            System.exit(2);
        }
        runFile(Path.of(args[0]), Path.of(args[1]));
    }

    /** Runs the jobs of {"jobs": [...]} in order, rewriting {@code results} (a JSON list) after each. */
    static void runFile(Path jobs, Path results) throws IOException {
        Map<String, Object> spec = map(Json.parse(Files.readString(jobs)));
        List<Object> done = new ArrayList<>();
        for (Object job : (List<?>) spec.get("jobs")) {
            done.add(run(map(job)));
            writeAtomically(results, Json.write(done));
        }
    }

    static void serve(java.io.InputStream stdin, PrintStream out) throws IOException {
        BufferedReader in = new BufferedReader(new InputStreamReader(stdin, StandardCharsets.UTF_8));
        for (String line; (line = in.readLine()) != null; ) {
            if (line.isBlank()) continue;
            Map<String, Object> result;
            try {
                result = run(map(Json.parse(line)));
            } catch (IllegalArgumentException e) {
                result = new LinkedHashMap<>(Map.of("status", "error", "error", "bad job line: " + e.getMessage()));
            }
            out.println("RESULT " + Json.write(result).replace("\n", " "));
            out.flush();
        }
    }

    /** One job; never throws (an error becomes the result). */
    static Map<String, Object> run(Map<String, Object> job) {
        Map<String, Object> r = new LinkedHashMap<>();
        r.put("id", job.getOrDefault("id", ""));
        r.put("backend", job.getOrDefault("backend", "gpu"));
        r.put("dtype", job.getOrDefault("dtype", "fp32"));
        try {
            runJob(job, r);
            r.put("status", "ok");
        } catch (Throwable e) { // OutOfMemoryError too: report it and go on with the next job
            r.put("status", "error");
            r.put("error", e.getClass().getSimpleName() + ": " + e.getMessage());
            if (Boolean.getBoolean("kiln.debug")) e.printStackTrace();
        }
        return r;
    }

    private static void runJob(Map<String, Object> job, Map<String, Object> r) throws IOException {
        Path onnx = Path.of(str(job, "onnx"));
        Path outDir = Path.of(str(job, "outputs_dir"));
        int runs = (int) num(job, "runs", 50), warmup = (int) num(job, "warmup", 10);
        boolean reference = "reference".equals(job.get("backend"));
        if (!reference && !Cuda.available()) throw new IllegalStateException("no usable GPU: " + Cuda.unavailableReason());
        List<Tensor> inputs = new ArrayList<>();
        for (Object p : (List<?>) job.get("inputs")) inputs.add(TensorCodec.readFile(Path.of((String) p)));
        CompileOptions o = CompileOptions.defaults().withPrecision(CompileOptions.Precision.parse(str(job, "dtype")))
                .withAllowTf32(Boolean.TRUE.equals(job.get("allow_tf32"))).withPlanCache(false); // its cold-start column is a compile
        long t0 = System.nanoTime();
        try (CompiledModel m = Kiln.compile(onnx, o)) {
            long t1 = System.nanoTime();
            List<Tensor> outputs = reference ? m.runReference(inputs) : m.run(inputs);
            long t2 = System.nanoTime();
            r.put("compile_s", (t1 - t0) / 1e9);
            r.put("first_run_s", (t2 - t1) / 1e9);
            r.put("cold_start_s", (t2 - t0) / 1e9);
            r.put("launches", (long) m.plan().launches().size());
            r.put("kernels", (long) m.plan().kernels().size());
            double[] ms = reference ? timeReference(m, inputs, runs) : timeOnDevice(m, inputs, runs, warmup);
            Arrays.sort(ms);
            r.put("median_ms", ms[ms.length / 2]);
            r.put("min_ms", ms[0]);
            r.put("runs", (long) ms.length);
            r.put("timing", reference ? "wall time of the CPU reference interpreter" : TIMING);
            if (!reference) r.put("device", m.executor().context().device().name());
            Files.createDirectories(outDir);
            List<Object> written = new ArrayList<>();
            for (int i = 0; i < outputs.size(); i++) {
                Path f = outDir.resolve("output_" + i + ".pb");
                TensorCodec.writeFile(f, outputs.get(i), m.graph().outputs().get(i).name());
                written.add(f.toString());
            }
            r.put("outputs", written);
            int top = (int) num(job, "profile_top", 0);
            if (top > 0 && !reference) {
                Profile p = m.profile(ProfileOptions.defaults().withInputs(inputs));
                Path dir = job.get("profile_dir") instanceof String d ? Path.of(d) : outDir;
                Files.createDirectories(dir);
                Files.writeString(dir.resolve("profile.txt"), p.text(top));
                Files.writeString(dir.resolve("profile.html"), p.html());
                r.put("profile", dir.resolve("profile.txt").toString());
            }
        }
    }

    /** Graph replays on device buffers (no host transfers), timed by the executor's events. */
    private static double[] timeOnDevice(CompiledModel m, List<Tensor> inputs, int runs, int warmup) {
        List<DeviceBuffer> in = new ArrayList<>(), out = new ArrayList<>();
        try {
            for (int i = 0; i < inputs.size(); i++) {
                DeviceBuffer b = m.allocateInput(i);
                in.add(b);
                if (inputs.get(i).storage().length > 0) b.upload(inputs.get(i).storage());
            }
            for (int i = 0; i < m.plan().outputs().size(); i++) out.add(m.allocateOutput(i));
            for (int w = 0; w < warmup; w++) m.runOnDevice(in, out);
            double[] ms = new double[Math.max(1, runs)];
            for (int r = 0; r < ms.length; r++) {
                m.runOnDevice(in, out);
                ms[r] = m.executor().lastRunMillis();
            }
            return ms;
        } finally {
            for (DeviceBuffer b : in) b.close();
            for (DeviceBuffer b : out) b.close();
        }
    }

    private static double[] timeReference(CompiledModel m, List<Tensor> inputs, int runs) {
        double[] ms = new double[Math.max(1, Math.min(runs, 3))]; // the interpreter is slow; a few runs say enough
        for (int r = 0; r < ms.length; r++) {
            long t = System.nanoTime();
            m.runReference(inputs);
            ms[r] = (System.nanoTime() - t) / 1e6;
        }
        return ms;
    }

    static void writeAtomically(Path file, String text) throws IOException {
        Path dir = file.toAbsolutePath().getParent();
        Files.createDirectories(dir);
        Path tmp = Files.createTempFile(dir, ".bench", ".tmp");
        Files.writeString(tmp, text);
        Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> map(Object o) {
        if (o instanceof Map<?, ?> m) return (Map<String, Object>) m;
        throw new IllegalArgumentException("expected a JSON object, got " + o);
    }

    private static String str(Map<String, Object> m, String key) {
        if (m.get(key) instanceof String s) return s;
        throw new IllegalArgumentException("job needs a string '" + key + "'");
    }

    private static long num(Map<String, Object> m, String key, long dflt) {
        Object v = m.get(key);
        return v instanceof Long l ? l : v instanceof Double d ? d.longValue() : dflt;
    }
}
