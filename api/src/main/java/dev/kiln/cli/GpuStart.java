package dev.kiln.cli;

import dev.kiln.runtime.Background;
import dev.kiln.runtime.Context;
import dev.kiln.runtime.Cuda;
import dev.kiln.runtime.CudaDriver;
import dev.kiln.runtime.Doctor;
import dev.kiln.runtime.Nvrtc;

import java.time.Instant;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.OptionalDouble;
import java.util.Queue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.function.LongFunction;
import java.util.stream.Collectors;

/**
 * CUDA's start begun before picocli parses the command line, for the commands that run on a GPU ({@code run},
 * {@code profile}): loading the driver, cuInit and retaining the device's primary context take 0.2-0.3 s on an
 * H200 host, and here they overlap the JVM's class loading, the CLI and the read of the bundle or plan instead of
 * following them. Threads of their own ({@link Background}, not the common pool, which has one thread on a two-core
 * machine): one opens the context, one loads NVRTC (a bundle of CUBINs never waits for it), and for an .onnx
 * model one runs the doctor's checks, by which its auto backend picks the GPU or the reference interpreter. A
 * bundle needs no doctor unless its load fails.
 *
 * <p>The device is read from the raw arguments ({@code --device N}); a command that parses another device just
 * opens its own context. The context held here is one more retain of the primary context that {@code
 * CompiledModel.load} retains again (then cheap: the context is up); {@link #close} releases it once the command
 * is done. Without a GPU the futures hold the failure; nothing is printed here, so the commands report as before.
 */
final class GpuStart implements AutoCloseable {
    /** No start: the command needs no GPU (or only asks for help). */
    static final GpuStart NONE = new GpuStart(-1, null, null, new long[4]);

    private final int device;
    private final CompletableFuture<Context> context;
    private final CompletableFuture<Doctor.Report> doctor;
    /** Wall clock (epoch ns) when begun, when libcuda was bound (the calls that start CUDA), cuInit done, the context up; 0 until then. */
    private final long[] marks;
    /** The command's own steps, in the order {@link #mark} saw them, for {@link #trace}. */
    private final Queue<Map.Entry<String, Long>> steps = new ConcurrentLinkedQueue<>();

    private GpuStart(int device, CompletableFuture<Context> context, CompletableFuture<Doctor.Report> doctor, long[] marks) {
        this.device = device;
        this.context = context;
        this.doctor = doctor;
        this.marks = marks;
    }

    /** Starts CUDA for {@code args} when its command will want a GPU; else {@link #NONE}. */
    static GpuStart begin(String... args) {
        List<String> a = Arrays.asList(args);
        String command = a.isEmpty() ? "" : a.getFirst();
        if (!command.equals("run") && !command.equals("profile")) return NONE;
        if (a.contains("--help") || a.contains("-h") || a.contains("--version") || a.contains("-V")) return NONE;
        if (command.equals("run") && value(a, "--backend", "auto").equals("reference")) return NONE;
        int device;
        try {
            device = Integer.parseInt(value(a, "--device", "0"));
        } catch (NumberFormatException e) {
            return NONE; // picocli will say what is wrong with it
        }
        boolean bundle = a.stream().anyMatch(s -> s.endsWith(".kiln"));
        long[] marks = {epochNanos(), 0, 0, 0};
        CompletableFuture<Context> context = Background.start("kiln-gpu-start", () -> {
            try {
                CudaDriver.startLoaded(); // binds the calls that start CUDA
                marks[1] = epochNanos();
            } catch (LinkageError e) { // Context.open says why
            }
            if (Cuda.available()) marks[2] = epochNanos();
            Context c = Context.open(device);
            marks[3] = epochNanos();
            return c;
        });
        // NVRTC loads on its own thread: a bundle of CUBINs never waits for it behind the context (the H200 showed
        // bundles waiting 140-250 ms for a context future that also loaded NVRTC); whoever compiles finds it loaded
        Background.start("kiln-nvrtc-load", () -> {
            try {
                return Nvrtc.get();
            } catch (RuntimeException e) { // reported by whoever needs it
                return null;
            }
        });
        CompletableFuture<Doctor.Report> doctor = command.equals("run") && !bundle ? Background.start("kiln-gpu-check", Doctor::report) : null;
        return new GpuStart(device, context, doctor, marks);
    }

    private static long epochNanos() {
        Instant now = Instant.now();
        return now.getEpochSecond() * 1_000_000_000L + now.getNano();
    }

    /** Notes that the command reached {@code step} now, for {@link #trace} (nothing when no start was begun). */
    void mark(String step) {
        if (context != null) steps.add(Map.entry(step, epochNanos()));
    }

    /**
     * {@code GPU start: main at 140 ms, libcuda bound at 200 ms, cuInit at 380 ms, context at 450 ms after the command
     * started; then, read at 300 ms, ...} with the steps {@link #mark} saw, for {@code -Dkiln.startTrace=true}: where a
     * bundle's first output waits. Null when nothing was begun or the launcher's start is unknown.
     */
    String trace() {
        if (context == null) return null;
        context.handle((c, e) -> null).join(); // asked for after the first output: the context is up or failed
        OptionalDouble since = LaunchTime.millisSinceStart(System.getenv(), Instant.now());
        if (since.isEmpty()) return null;
        long start = epochNanos() - (long) (since.getAsDouble() * 1e6);
        LongFunction<String> at = t -> t == 0 ? "never" : String.format(Locale.ROOT, "%.0f ms", (t - start) / 1e6);
        return "GPU start: main at " + at.apply(marks[0]) + ", libcuda bound at " + at.apply(marks[1]) + ", cuInit at " + at.apply(marks[2])
                + ", context at " + at.apply(marks[3]) + " after the command started"
                + steps.stream().map(e -> ", " + e.getKey() + " at " + at.apply(e.getValue())).collect(Collectors.joining("", steps.isEmpty() ? "" : "; then", ""));
    }

    /** The doctor's report: the one begun before parsing (waiting for it) when there is one, else made now. */
    Doctor.Report doctor() {
        return doctor != null ? doctor.join() : Doctor.report();
    }

    /** Whether the doctor begun here has already said that no GPU is usable (without a driver it says so at once). */
    boolean doctorFailed() {
        return doctor != null && doctor.isDone() && !doctor.join().ok();
    }

    /**
     * Waits until the context of {@code device} begun here is up (or failed: the caller's own open then says why);
     * returns the milliseconds waited. Nothing to wait for when none was begun for that device.
     */
    double awaitContext(int device) {
        if (context == null || device != this.device) return 0;
        long t0 = System.nanoTime();
        context.handle((c, e) -> null).join();
        return (System.nanoTime() - t0) / 1e6;
    }

    /** Releases the context begun here, now or when it comes up. */
    @Override public void close() {
        if (context != null) context.thenAccept(Context::close).exceptionally(e -> null);
    }

    /** The value after {@code --name} or in {@code --name=value}, else {@code otherwise}. */
    static String value(List<String> args, String name, String otherwise) {
        for (int i = 0; i < args.size(); i++) {
            String s = args.get(i);
            if (s.equals(name) && i + 1 < args.size()) return args.get(i + 1);
            if (s.startsWith(name + "=")) return s.substring(name.length() + 1);
        }
        return otherwise;
    }

}
