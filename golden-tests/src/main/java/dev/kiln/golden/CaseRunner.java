package dev.kiln.golden;

import dev.kiln.frontend.ImportedModel;
import dev.kiln.frontend.OnnxImporter;
import dev.kiln.frontend.TensorCodec;
import dev.kiln.ir.DType;
import dev.kiln.ir.KilnException;
import dev.kiln.ir.Tensor;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * Runs one suite case: import {@code model.onnx}, feed {@code input_K.pb} to runtime input K, compare output K
 * with {@code output_K.pb} under the case's tolerance. A case that takes longer than the time limit fails.
 */
public final class CaseRunner implements AutoCloseable {
    private final Backend backend;
    private final ExpectedFailures expected;
    private final long timeLimitSeconds;
    private final ExecutorService pool = Executors.newSingleThreadExecutor(r -> {
        Thread t = new Thread(r, "golden-case");
        t.setDaemon(true);
        return t;
    });

    public CaseRunner(Backend backend, ExpectedFailures expected, long timeLimitSeconds) {
        this.backend = backend;
        this.expected = expected;
        this.timeLimitSeconds = timeLimitSeconds;
    }

    public CaseResult run(SuiteData.Case c) {
        long t0 = System.nanoTime();
        Outcome o;
        Future<Outcome> f = pool.submit(() -> evaluate(c));
        try {
            o = f.get(timeLimitSeconds, TimeUnit.SECONDS);
        } catch (TimeoutException e) {
            f.cancel(true);
            o = new Outcome(false, Double.NaN, "timed out after " + timeLimitSeconds + " s");
        } catch (ExecutionException e) {
            Throwable cause = e.getCause();
            o = new Outcome(false, Double.NaN, (cause instanceof KilnException ? "" : cause.getClass().getSimpleName() + ": ") + cause.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            o = new Outcome(false, Double.NaN, "interrupted");
        }
        long ms = (System.nanoTime() - t0) / 1_000_000;
        boolean listed = expected.contains(c.id());
        CaseResult.Status s = o.passed ? (listed ? CaseResult.Status.XPASS : CaseResult.Status.PASS)
                : (listed ? CaseResult.Status.XFAIL : CaseResult.Status.FAIL);
        String reason = o.passed ? (listed ? "listed as expected failure (" + expected.reason(c.id()) + ") but passed" : "")
                : listed ? o.reason + " [expected: " + expected.reason(c.id()) + "]" : o.reason;
        return new CaseResult(c.id(), s, o.maxError, oneLine(reason), ms);
    }

    private record Outcome(boolean passed, double maxError, String reason) {}

    private Outcome evaluate(SuiteData.Case c) throws Exception {
        ImportedModel m = new OnnxImporter().importModel(c.dir().resolve("model.onnx"));
        double worst = 0;
        for (Path set : c.dataSets()) {
            List<Tensor> inputs = new ArrayList<>();
            for (Path p : SuiteData.numbered(set, "input")) inputs.add(TensorCodec.readFile(p));
            List<Path> outFiles = SuiteData.numbered(set, "output");
            List<Tensor> actual = backend.run(m, inputs);
            if (actual.size() != outFiles.size())
                return new Outcome(false, Double.NaN, "produced " + actual.size() + " outputs, expected " + outFiles.size());
            for (int k = 0; k < outFiles.size(); k++) {
                Tensor want = TensorCodec.readFile(outFiles.get(k));
                Comparison cmp = isTrainingDropout(c)
                        ? DropoutCheck.check(inputs.get(0), actual, k, want)
                        : Comparison.compare(actual.get(k), want, tolerance(c, want.dtype()));
                worst = Math.max(worst, Double.isNaN(cmp.maxError()) ? 0 : cmp.maxError());
                if (!cmp.passed()) return new Outcome(false, cmp.maxError(), "output " + k + ": " + cmp.reason());
            }
        }
        return new Outcome(true, worst, "");
    }

    private static boolean isTrainingDropout(SuiteData.Case c) {
        return c.name().startsWith("test_training_dropout") && !c.name().contains("zero_ratio");
    }

    private static Tolerance tolerance(SuiteData.Case c, DType t) {
        return c.suite().equals("models") ? Tolerance.forModel(t) : Tolerance.forCase(t);
    }

    private static String oneLine(String s) {
        String r = s == null ? "" : s.replace('\n', ' ');
        return r.length() > 400 ? r.substring(0, 400) + "..." : r;
    }

    @Override public void close() { pool.shutdownNow(); }
}
