package dev.kiln.bench;

import dev.kiln.bundle.Json;
import dev.kiln.frontend.TensorCodec;
import dev.kiln.ir.Tensor;
import dev.kiln.runtime.Cuda;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;
import static org.junit.jupiter.api.Assumptions.assumeFalse;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** ModelBench's plumbing on the CPU: jobs in, results and output files out, through the reference interpreter. */
class ModelBenchTest {
    static Path model(String name) {
        Path d = Path.of("").toAbsolutePath();
        while (d != null && !Files.exists(d.resolve("mvnw"))) d = d.getParent();
        Path m = (d == null ? Path.of("") : d).resolve("../shared/onnx-tests/models").resolve(name).normalize();
        assumeTrue(Files.isDirectory(m), "shared models not found at " + m);
        return m;
    }

    static Map<String, Object> job(Path model, Path out, String backend, String dtype) {
        Map<String, Object> j = new LinkedHashMap<>();
        j.put("id", model.getFileName() + "-" + dtype);
        j.put("onnx", model.resolve("model.onnx").toString());
        j.put("dtype", dtype);
        List<Object> inputs = new java.util.ArrayList<>();
        for (int i = 0; Files.exists(model.resolve("test_data_set_0/input_" + i + ".pb")); i++)
            inputs.add(model.resolve("test_data_set_0/input_" + i + ".pb").toString());
        j.put("inputs", inputs);
        j.put("outputs_dir", out.toString());
        j.put("backend", backend);
        j.put("runs", 2L);
        return j;
    }

    @Test void referenceJobsWriteResultsAndOutputsThatMatchTheModelsExpectedOutputs(@TempDir Path dir) throws Exception {
        Path bert = model("bert_tiny"), vit = model("vit_tiny");
        Path jobs = dir.resolve("jobs.json"), results = dir.resolve("results.json");
        Files.writeString(jobs, Json.write(Map.of("jobs", List.of(job(bert, dir.resolve("bert"), "reference", "fp32"),
                job(vit, dir.resolve("vit"), "reference", "fp32")))));
        ModelBench.runFile(jobs, results);
        List<?> rs = (List<?>) Json.parse(Files.readString(results));
        assertEquals(2, rs.size());
        for (int k = 0; k < 2; k++) {
            Map<?, ?> r = (Map<?, ?>) rs.get(k);
            Path model = k == 0 ? bert : vit;
            assertEquals("ok", r.get("status"), r.toString());
            assertTrue((Double) r.get("cold_start_s") >= (Double) r.get("compile_s"));
            assertTrue((Long) r.get("launches") > 10, "launch count of the compiled plan");
            List<?> outs = (List<?>) r.get("outputs");
            for (int i = 0; i < outs.size(); i++) {
                Tensor got = TensorCodec.readFile(Path.of((String) outs.get(i)));
                Tensor want = TensorCodec.readFile(model.resolve("test_data_set_0/output_" + i + ".pb"));
                assertArrayEquals(want.shape(), got.shape());
                double[] w = want.toDoubles(), g = got.toDoubles();
                for (int j = 0; j < w.length; j++) assertEquals(w[j], g[j], 1e-4 * (1 + Math.abs(w[j])), "output " + i + " [" + j + "]");
            }
        }
    }

    @Test void serveAnswersEachLineAndSurvivesABadJob(@TempDir Path dir) throws Exception {
        Path bert = model("bert_tiny");
        Map<String, Object> bad = job(bert, dir.resolve("bad"), "reference", "fp32");
        bad.put("onnx", dir.resolve("missing.onnx").toString());
        String in = Json.write(bad).replace("\n", " ") + "\nnot json\n" + Json.write(job(bert, dir.resolve("ok"), "reference", "fp16")).replace("\n", " ") + "\n";
        var out = new ByteArrayOutputStream();
        ModelBench.serve(new ByteArrayInputStream(in.getBytes(StandardCharsets.UTF_8)), new PrintStream(out, true, StandardCharsets.UTF_8));
        List<String> lines = out.toString(StandardCharsets.UTF_8).lines().toList();
        assertEquals(3, lines.size(), lines.toString());
        List<Map<?, ?>> rs = lines.stream().<Map<?, ?>>map(l -> {
            assertTrue(l.startsWith("RESULT {"), l);
            return (Map<?, ?>) Json.parse(l.substring("RESULT ".length()));
        }).toList();
        assertEquals("error", rs.get(0).get("status"));
        assertTrue(((String) rs.get(0).get("error")).contains("missing.onnx"), rs.get(0).toString());
        assertEquals("error", rs.get(1).get("status"));
        assertEquals("ok", rs.get(2).get("status"), rs.get(2).toString());
        assertEquals("fp16", rs.get(2).get("dtype"));
    }

    @Test void aGpuJobWithoutAGpuIsAnErrorThatSaysWhy(@TempDir Path dir) {
        assumeFalse(Cuda.available());
        Map<String, Object> r = ModelBench.run(job(model("bert_tiny"), dir, "gpu", "fp16"));
        assertEquals("error", r.get("status"));
        assertTrue(((String) r.get("error")).contains(Cuda.unavailableReason()), r.toString());
    }
}
