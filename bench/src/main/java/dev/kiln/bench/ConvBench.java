package dev.kiln.bench;

import dev.kiln.codegen.CodegenContext;
import dev.kiln.codegen.CodegenOptions;
import dev.kiln.codegen.KernelSpec;
import dev.kiln.codegen.kernels.contract.ConvTemplate;
import dev.kiln.codegen.kernels.contract.PoolTemplate;
import dev.kiln.codegen.kernels.gemm.GemmConfig;
import dev.kiln.codegen.kernels.gemm.GemmProblem;
import dev.kiln.ir.Attr;
import dev.kiln.ir.DType;
import dev.kiln.ir.Graph;
import dev.kiln.ir.GraphBuilder;
import dev.kiln.ir.Node;
import dev.kiln.ir.TensorType;
import dev.kiln.ir.Value;
import dev.kiln.runtime.Context;
import dev.kiln.runtime.Cuda;
import dev.kiln.runtime.CudaModule;
import dev.kiln.runtime.DeviceBuffer;
import dev.kiln.runtime.Dim3;
import dev.kiln.runtime.Doctor;
import dev.kiln.runtime.Event;
import dev.kiln.runtime.GraphExec;
import dev.kiln.runtime.Kernel;
import dev.kiln.runtime.KernelArgs;
import dev.kiln.runtime.KernelCache;
import dev.kiln.runtime.NvrtcCompiler;
import dev.kiln.runtime.Stream;
import dev.kiln.runtime.plan.CompileFlags;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Channels-last conv and pool micro-benchmark (f16, batch 1 and ResNet-50's big convs at batch 32, the layers of ResNet-50, MobileNetV2, ConvNeXt and
 * ResNeXt): each layer is a Fused conv group (NhwcConv + bias + Relu) or pool group, emitted by ConvTemplate /
 * PoolTemplate exactly as codegen would (the default config, then every autotuning candidate), compiled with
 * NVRTC, checked on the GPU against the direct NHWC kernel (output poisoned with NaN first; checked again after
 * the timed launches, so split-K counters that are not reset show up) and timed like GemmBench (launches
 * captured in a CUDA graph, median per launch). bench/harness/conv_torch.py times torch conv2d / pools on
 * channels_last fp16 tensors the same way, under the same keys; {@code --torch FILE} adds Kiln/torch ratios.
 * Writes {@code conv.json} to {@code --out}.
 *
 * <p>Usage: {@code ConvBench [--reps 20] [--out DIR] [--torch FILE] [--only SUBSTRING]}
 */
public final class ConvBench {
    private ConvBench() {}

    /** A layer: op "conv" (x NHWC, w [M,kh,kw,C/g]) or "maxpool"/"avgpool" (kernel k); stride, pad, group. */
    record Layer(String name, String op, long[] x, long[] w, long k, long stride, long pad, long group) {
        /** Shared with conv_torch.py. */
        String key() {
            String xs = x[0] + "x" + x[1] + "x" + x[2] + "x" + x[3];
            return op.equals("conv") ? "conv_" + xs + "_" + w[0] + "x" + w[1] + "x" + w[2] + "x" + w[3] + "_s" + stride + "p" + pad + "g" + group
                    : op + "_" + xs + "_k" + k + "s" + stride + "p" + pad;
        }
    }

    static Layer conv(String name, String x, String w, long stride, long pad, long group) {
        return new Layer(name, "conv", dims(x), dims(w), 0, stride, pad, group);
    }

    static long[] dims(String s) {
        String[] p = s.split("x");
        long[] d = new long[p.length];
        for (int i = 0; i < p.length; i++) d[i] = Long.parseLong(p[i]);
        return d;
    }

    static final List<Layer> LAYERS = List.of(
            conv("resnet stem 7x7/2 C=3", "1x224x224x3", "64x7x7x3", 2, 3, 1),
            conv("resnet stem, C padded to 8", "1x224x224x8", "64x7x7x8", 2, 3, 1),
            conv("resnet 3x3 64 56x56", "1x56x56x64", "64x3x3x64", 1, 1, 1),
            conv("resnet 1x1 64->256 56x56", "1x56x56x64", "256x1x1x64", 1, 0, 1),
            conv("resnet 1x1 256->64 56x56", "1x56x56x256", "64x1x1x256", 1, 0, 1),
            conv("resnet 3x3/2 128 56->28", "1x56x56x128", "128x3x3x128", 2, 1, 1),
            conv("resnet 3x3 256 14x14", "1x14x14x256", "256x3x3x256", 1, 1, 1),
            conv("resnet 3x3 512 7x7", "1x7x7x512", "512x3x3x512", 1, 1, 1),
            conv("resnet 1x1/2 1024->2048", "1x14x14x1024", "2048x1x1x1024", 2, 0, 1),
            conv("mobilenet 1x1 384->64 14x14", "1x14x14x384", "64x1x1x384", 1, 0, 1),
            conv("mobilenet 1x1 96->24 56x56", "1x56x56x96", "24x1x1x96", 1, 0, 1),
            conv("mobilenet dw 3x3 112x112x32", "1x112x112x32", "32x3x3x1", 1, 1, 32),
            conv("mobilenet dw 3x3/2 112x112x96", "1x112x112x96", "96x3x3x1", 2, 1, 96),
            conv("mobilenet dw 3x3 56x56x144", "1x56x56x144", "144x3x3x1", 1, 1, 144),
            conv("mobilenet dw 3x3 14x14x384", "1x14x14x384", "384x3x3x1", 1, 1, 384),
            conv("mobilenet dw 3x3 7x7x960", "1x7x7x960", "960x3x3x1", 1, 1, 960),
            conv("convnext dw 7x7 56x56x96", "1x56x56x96", "96x7x7x1", 1, 3, 96),
            conv("resnext 3x3 g32 128 56x56", "1x56x56x128", "128x3x3x4", 1, 1, 32),
            // ResNet-50 at batch 32 (issue 8): the compute-bound convs, thousands of output pixels
            conv("b32 resnet stem, C padded to 8", "32x224x224x8", "64x7x7x8", 2, 3, 1),
            conv("b32 resnet 3x3 64 56x56", "32x56x56x64", "64x3x3x64", 1, 1, 1),
            conv("b32 resnet 3x3/2 128 56->28", "32x56x56x128", "128x3x3x128", 2, 1, 1),
            conv("b32 resnet 3x3 128 28x28", "32x28x28x128", "128x3x3x128", 1, 1, 1),
            conv("b32 resnet 3x3 256 14x14", "32x14x14x256", "256x3x3x256", 1, 1, 1),
            conv("b32 resnet 3x3 512 7x7", "32x7x7x512", "512x3x3x512", 1, 1, 1),
            conv("b32 resnet 1x1 256->64 56x56", "32x56x56x256", "64x1x1x256", 1, 0, 1),
            conv("b32 resnet 1x1 256->128 56x56", "32x56x56x256", "128x1x1x256", 1, 0, 1),
            new Layer("resnet maxpool 3x3/2", "maxpool", dims("1x112x112x64"), null, 3, 2, 1, 1),
            new Layer("resnet avgpool 7x7", "avgpool", dims("1x7x7x2048"), null, 7, 1, 0, 1));

    /** The Fused group of a layer, as the fusion pass would make it. */
    static Graph group(Layer l) {
        GraphBuilder g = new GraphBuilder("body");
        Value x = g.input("x", TensorType.of(DType.F16, l.x()));
        Value y;
        String kind;
        if (l.op().equals("conv")) {
            Value w = g.input("w", TensorType.of(DType.F16, l.w())), b = g.input("b", TensorType.of(DType.F16, l.w()[0]));
            Value c = g.op("NhwcConv", Map.of("strides", Attr.ints(l.stride(), l.stride()), "pads", Attr.ints(l.pad(), l.pad(), l.pad(), l.pad()),
                    "group", Attr.of(l.group())), x, w, b);
            y = g.op("Relu", c);
            kind = "conv";
        } else {
            y = g.op(l.op().equals("maxpool") ? "NhwcMaxPool" : "NhwcAveragePool", Map.of("kernel_shape", Attr.ints(l.k(), l.k()),
                    "strides", Attr.ints(l.stride(), l.stride()), "pads", Attr.ints(l.pad(), l.pad(), l.pad(), l.pad())), x);
            kind = "pool";
        }
        Graph body = g.output(y).build();
        List<Value> ins = new ArrayList<>(), outs = new ArrayList<>();
        for (Value v : body.inputs()) ins.add(new Value("g_" + v.name(), v.type()));
        for (Value v : body.outputs()) outs.add(new Value("g_" + v.name(), v.type()));
        Node f = Node.of("Fused", ins, outs, Map.of("kind", Attr.of(kind), "body", new Attr.GraphValue(body)), l.name());
        return new Graph("outer", ins, List.of(f), outs);
    }

    static final String CHECK = "#include <cuda_fp16.h>\n" + """
            extern "C" __global__ void fill(__half* p, long long n, unsigned seed) {
              for (long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x; i < n; i += (long long)gridDim.x * blockDim.x) {
                unsigned h = (unsigned)i * 2654435761u ^ seed; h ^= h >> 15; h *= 2246822519u; h ^= h >> 13;
                p[i] = __float2half_rn((float)(h & 0xffff) / 32768.0f - 1.0f);
              }
            }
            extern "C" __global__ void compare(const __half* C, const __half* R, long long n, float tol, unsigned* bad, unsigned* worst) {
              for (long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x; i < n; i += (long long)gridDim.x * blockDim.x) {
                const float c = __half2float(C[i]), r = __half2float(R[i]), e = fabsf(c - r) / (1.f + fabsf(r));
                if (!(e <= tol)) atomicAdd(bad, 1u);
                if (e == e) atomicMax(worst, __float_as_uint(e));
                else atomicMax(worst, 0x7f800000u);
              }
            }
            """;

    record Timed(String config, double ms, float maxError, long bad) {}

    public static void main(String[] args) throws Exception {
        int reps = 20;
        Path out = Path.of("."), torchFile = null;
        String only = "";
        for (int i = 0; i < args.length; i++)
            switch (args[i]) {
                case "--reps" -> reps = Integer.parseInt(args[++i]);
                case "--out" -> out = Path.of(args[++i]);
                case "--torch" -> torchFile = Path.of(args[++i]);
                case "--only" -> only = args[++i];
                default -> throw new IllegalArgumentException("unknown argument " + args[i]);
            }
        if (!Cuda.available()) {
            System.out.println(Doctor.report());
            System.exit(2);
        }
        Map<String, Double> torch = TorchFigures.read(torchFile);
        StringBuilder json = new StringBuilder("{\n");
        List<String> summary = new ArrayList<>();
        int failures = 0;
        try (Context ctx = Context.open(0); Stream s = ctx.createStream()) {
            String arch = ctx.device().arch();
            int sms = ctx.device().multiprocessors();
            System.out.println("Kiln conv bench, " + LocalDate.now() + ", " + ctx.device().label() + ", " + sms + " SMs, " + NvrtcCompiler.standard().version());
            var cache = new KernelCache(Files.createTempDirectory("kiln-conv-bench"), NvrtcCompiler.standard());
            List<String> flags = CompileFlags.standard();
            CodegenOptions o = new CodegenOptions(false, arch, sms);
            try (CudaModule check = cache.load(ctx, CHECK, "conv_check.cu", flags)) {
                for (Layer l : LAYERS) {
                    if (!l.name().contains(only) && !l.key().contains(only)) continue;
                    Graph outer = group(l);
                    Node f = outer.nodes().get(0);
                    boolean isConv = l.op().equals("conv");
                    // variants: the default, then every autotuning candidate (engine convs only)
                    Map<String, KernelSpec> variants = new LinkedHashMap<>();
                    KernelSpec def = (isConv ? new ConvTemplate() : new PoolTemplate()).emit(f, outer, new CodegenContext(o)).get(0);
                    variants.put("default", def);
                    GemmProblem p = isConv ? ConvTemplate.problem(f, o) : null;
                    if (p != null)
                        for (String c : new ConvTemplate().candidates(f, outer, new CodegenContext(o)))
                            variants.put(c, new ConvTemplate().emit(f, o, "conv_" + variants.size(), GemmConfig.parse(c)).get(0));
                    Map<String, DeviceBuffer> bufs = new HashMap<>();
                    try {
                        int seed = 1;
                        for (Value v : f.inputs()) {
                            long n = v.shape().numel();
                            DeviceBuffer d = ctx.allocate(n * 2);
                            check.kernel("fill").launch(s, Dim3.of(1024), Dim3.of(256), 0, new KernelArgs(3).pointer(d).i64(n).i32(seed++ * 7919));
                            bufs.put(v.name(), d);
                        }
                        Value y = f.output(0);
                        long n = y.shape().numel();
                        bufs.put(y.name(), ctx.allocate(n * 2));
                        DeviceBuffer ref = ctx.allocate(n * 2), flagsBuf = ctx.allocate(8);
                        try {
                            // the reference: the direct kernel for convs; the default kernel itself for pools (checked on the CPU simulator)
                            KernelSpec r = isConv ? ConvTemplate.directNhwc(f, "conv_ref") : def;
                            launchOnce(ctx, s, cache, flags, r, bufs, y.name(), ref);
                            List<Timed> timed = new ArrayList<>();
                            for (var e : variants.entrySet()) {
                                Timed t = run(ctx, s, cache, flags, check, e.getKey(), e.getValue(), bufs, y.name(), ref, flagsBuf, n, reps);
                                timed.add(t);
                                if (t.bad() > 0) failures++;
                                System.out.printf(Locale.ROOT, "%-32s %-44s %9.2f us %8.1f GB/s %9.2e %s%n", l.name(), e.getKey() + (e.getKey().equals("default") ? " " + label(def) : ""),
                                        t.ms() * 1e3, bytes(l, f) / (t.ms() * 1e-3) / 1e9, t.maxError(), t.bad() > 0 ? "WRONG (" + t.bad() + ")" : "");
                            }
                            Timed mine = timed.get(0);
                            Timed best = timed.stream().filter(t -> t.bad() == 0).min((a, b) -> Double.compare(a.ms(), b.ms())).orElse(mine);
                            Double tms = torch.get(l.key() + "_ms");
                            String line = String.format(Locale.ROOT, "%-32s default %8.2f us, best %8.2f us (%s)%s", l.name(), mine.ms() * 1e3, best.ms() * 1e3, best.config(),
                                    tms == null ? "" : String.format(Locale.ROOT, ", torch %8.2f us, kiln/torch %.2fx default %.2fx best", tms * 1e3, mine.ms() / tms, best.ms() / tms));
                            System.out.println("  => " + line);
                            summary.add(line);
                            json.append(String.format(Locale.ROOT, "  \"%s\": {\"name\": \"%s\", \"default\": \"%s\", \"default_ms\": %.6f, \"best\": \"%s\", \"best_ms\": %.6f, \"torch_ms\": %s, \"variants\": {",
                                    l.key(), l.name(), label(def), mine.ms(), best.config(), best.ms(), tms == null ? "null" : tms.toString()));
                            for (int i = 0; i < timed.size(); i++)
                                json.append(String.format(Locale.ROOT, "%s\"%s\": {\"ms\": %.6f, \"max_error\": %.3e, \"wrong\": %d}", i == 0 ? "" : ", ",
                                        timed.get(i).config(), timed.get(i).ms(), timed.get(i).maxError(), timed.get(i).bad()));
                            json.append("}},\n");
                        } finally {
                            ref.close();
                            flagsBuf.close();
                        }
                    } finally {
                        for (DeviceBuffer d : bufs.values()) d.close();
                    }
                }
            }
        }
        System.out.println("\nsummary:");
        summary.forEach(System.out::println);
        if (json.length() > 2) json.setLength(json.length() - 2);
        json.append("\n}\n");
        Files.createDirectories(out);
        Files.writeString(out.resolve("conv.json"), json);
        System.out.println("wrote " + out.resolve("conv.json") + (failures > 0 ? "; " + failures + " variant(s) gave WRONG results" : "; all results match the reference"));
        if (failures > 0) System.exit(1);
    }

    /** The kernel description of a generated source's second comment line, after the shapes. */
    static String label(KernelSpec k) {
        String what = k.source().lines().skip(1).findFirst().orElse("");
        return what.substring(what.lastIndexOf(", ") + 2);
    }

    /** Input, weights and output once (the memory-bound floor). */
    static double bytes(Layer l, Node f) {
        double b = 0;
        for (Value v : f.inputs()) b += v.shape().numel() * 2.0;
        return b + f.output(0).shape().numel() * 2.0;
    }

    private static KernelArgs args(Context ctx, Stream s, KernelSpec spec, Map<String, DeviceBuffer> bufs, String outName, DeviceBuffer out, List<DeviceBuffer> ws) {
        KernelArgs a = new KernelArgs(spec.params().size());
        for (KernelSpec.Param q : spec.params())
            switch (q) {
                case KernelSpec.Param.Buffer b -> a.pointer(b.value().equals(outName) ? out : bufs.get(b.value()));
                case KernelSpec.Param.Workspace w -> {
                    DeviceBuffer d = ctx.allocate(w.bytes());
                    if (w.zeroed()) d.fillAsync((byte) 0, s);
                    ws.add(d);
                    a.pointer(d);
                }
                default -> throw new IllegalStateException("unexpected kernel parameter " + q);
            }
        return a;
    }

    private static void launchOnce(Context ctx, Stream s, KernelCache cache, List<String> flags, KernelSpec spec, Map<String, DeviceBuffer> bufs, String outName, DeviceBuffer out) {
        List<DeviceBuffer> ws = new ArrayList<>();
        try (CudaModule m = cache.load(ctx, spec.source(), "conv_ref.cu", flags)) {
            Kernel k = m.kernel(spec.entry());
            if (spec.sharedBytes() > 48 * 1024) k.setMaxDynamicSharedBytes(spec.sharedBytes());
            out.fillAsync((byte) 0xff, s);
            k.launch(s, dim(spec.grid()), dim(spec.block()), spec.sharedBytes(), args(ctx, s, spec, bufs, outName, out, ws));
            s.synchronize();
        } finally {
            for (DeviceBuffer d : ws) d.close();
        }
    }

    static Dim3 dim(KernelSpec.Dim3 d) { return new Dim3(d.x(), d.y(), d.z()); }

    static Timed run(Context ctx, Stream s, KernelCache cache, List<String> flags, CudaModule check, String config, KernelSpec spec,
                     Map<String, DeviceBuffer> bufs, String outName, DeviceBuffer ref, DeviceBuffer flagsBuf, long n, int reps) {
        List<DeviceBuffer> ws = new ArrayList<>();
        DeviceBuffer out = bufs.get(outName);
        try (CudaModule m = cache.load(ctx, spec.source(), "conv.cu", flags); Event a = ctx.createEvent(); Event b = ctx.createEvent()) {
            Kernel k = m.kernel(spec.entry());
            if (spec.sharedBytes() > 48 * 1024) k.setMaxDynamicSharedBytes(spec.sharedBytes());
            KernelArgs args = args(ctx, s, spec, bufs, outName, out, ws);
            Dim3 grid = dim(spec.grid()), block = dim(spec.block());
            out.fillAsync((byte) 0xff, s);
            k.launch(s, grid, block, spec.sharedBytes(), args);
            float[] first = compare(s, check, out, ref, flagsBuf, n);
            a.record(s);
            k.launch(s, grid, block, spec.sharedBytes(), args);
            b.record(s);
            b.synchronize();
            double once = b.elapsedMillis(a);
            int perGraph = (int) Math.max(1, Math.min(50, Math.ceil(0.5 / Math.max(once, 1e-4))));
            s.beginCapture();
            for (int i = 0; i < perGraph; i++) k.launch(s, grid, block, spec.sharedBytes(), args);
            try (var g = s.endCapture(); GraphExec ge = g.instantiate()) {
                for (int i = 0; i < 3; i++) ge.launch(s);
                double[] ms = new double[reps];
                for (int r = 0; r < reps; r++) {
                    a.record(s);
                    ge.launch(s);
                    b.record(s);
                    b.synchronize();
                    ms[r] = b.elapsedMillis(a) / perGraph;
                }
                float[] last = compare(s, check, out, ref, flagsBuf, n);
                return new Timed(config, Stats.median(ms), Math.max(first[1], last[1]), (long) (first[0] + last[0]));
            }
        } finally {
            for (DeviceBuffer d : ws) d.close();
        }
    }

    /** {elements outside the tolerance, largest scaled error} of the output against the reference. */
    private static float[] compare(Stream s, CudaModule check, DeviceBuffer c, DeviceBuffer r, DeviceBuffer flags, long n) {
        flags.fillAsync((byte) 0, s);
        check.kernel("compare").launch(s, Dim3.of(1024), Dim3.of(256), 0, new KernelArgs(6).pointer(c).pointer(r).i64(n)
                .f32(1e-2f).pointer(flags.address()).pointer(flags.address() + 4));
        s.synchronize();
        byte[] f = flags.downloadBytes(8);
        long bad = Integer.toUnsignedLong((f[0] & 0xff) | (f[1] & 0xff) << 8 | (f[2] & 0xff) << 16 | (f[3] & 0xff) << 24);
        return new float[] {bad, Float.intBitsToFloat((f[4] & 0xff) | (f[5] & 0xff) << 8 | (f[6] & 0xff) << 16 | (f[7] & 0xff) << 24)};
    }
}
