package dev.kiln.codegen.kernels.ew;

import dev.kiln.codegen.CTypes;
import dev.kiln.codegen.CodegenContext;
import dev.kiln.codegen.CodegenOptions;
import dev.kiln.codegen.KernelSpec;
import dev.kiln.codegen.KernelTemplate;
import dev.kiln.ir.Attr;
import dev.kiln.ir.DType;
import dev.kiln.ir.Graph;
import dev.kiln.ir.Node;
import dev.kiln.ir.Tensor;
import dev.kiln.ir.Value;
import dev.kiln.ir.ref.Interpreter;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

import static dev.kiln.codegen.kernels.ew.Groups.*;

/**
 * Writes GPU check cases when {@code -Dkiln.gpu.cases=DIR} is given (skipped otherwise): per case a
 * {@code main.cu} (the kernel plus a host harness that reads the inputs, launches with the spec's dims and
 * writes the outputs), the inputs, the reference interpreter's expected outputs and a {@code spec.txt}
 * (name, then per output: file dtype). {@code codegen/src/test/gpu/run_cases.sh DIR} compiles, runs and
 * compares them on a machine with a GPU, with tolerances per dtype stated in {@code compare.py}.
 */
class GpuCasesTest {
    record Case(String name, Graph g, KernelTemplate t) {}

    static List<Case> cases() {
        List<Case> l = new ArrayList<>();
        ElementwiseKernel ew = new ElementwiseKernel();
        ReduceKernel red = new ReduceKernel();
        MovementKernel mv = new MovementKernel();
        for (DType d : List.of(DType.F32, DType.F16, DType.BF16, DType.F64)) {
            l.add(new Case("ew_mix_" + d, fused("elementwise", body("b", List.of(t(d, 4, 1, 6), t(d, 5, 1), t(d)), c -> {
                Value a = c.op("Add", c.in(0), c.in(1));
                Value s = c.op("Sigmoid", c.op("Mul", a, c.in(2)));
                Value cl = c.b().op("Clip", Map.of(), s, c.scalar(d, 0.3), Value.NONE);
                Value w = c.op("Where", c.op("Greater", a, c.in(2)), cl, c.op("Neg", a));
                return List.of(c.op("Elu", Map.of("alpha", Attr.of(0.5)), w), c.op("Gelu", Map.of("approximate", Attr.of("tanh")), a),
                        c.op("Gelu", a), c.op("HardSigmoid", a), c.op("Selu", a), c.op("Celu", Map.of("alpha", Attr.of(2.0)), a),
                        c.op("LeakyRelu", a), c.op("Softplus", a), c.op("Shrink", Map.of("lambd", Attr.of(0.7), "bias", Attr.of(0.2)), a),
                        c.op("Sign", a), c.op("Relu", a), c.op("Mod", Map.of("fmod", Attr.of(1L)), a, c.in(1)), c.op("HardSwish", a));
            }), "mix"), ew));
            l.add(new Case("softmax_" + d, fused("reduce", ReduceKernelTest.softmax(d, 2, 3, 1000), "sm"), red));
            l.add(new Case("softmax_short_" + d, fused("reduce", ReduceKernelTest.softmax(d, 37, 20), "sm"), red));
            l.add(new Case("layernorm_" + d, fused("reduce", ReduceKernelTest.layerNorm(d, 5, 3000), "ln"), red));
            l.add(new Case("layernorm_short_" + d, fused("reduce", ReduceKernelTest.layerNorm(d, 9, 64), "ln"), red));
        }
        for (DType d : List.of(DType.I8, DType.I32, DType.I64, DType.U8)) {
            l.add(new Case("ew_int_" + d, fused("elementwise", body("b", List.of(t(d, 7, 3), t(d, 3), t(d)), c -> List.of(
                    c.op("Mod", c.op("Add", c.in(0), c.in(1)), c.in(1)), c.op("Mod", Map.of("fmod", Attr.of(1L)), c.in(0), c.in(1)),
                    c.op("Max", c.in(0), c.in(1)), c.op("Clip", c.in(0), c.in(2), c.in(2)), c.op("Equal", c.in(0), c.in(1)),
                    c.op("Relu", c.in(0)), c.op("Abs", c.in(0)))), "int"), ew));
            for (String op : List.of("ReduceSum", "ReduceMax", "ReduceMin"))
                l.add(new Case(op + "_mid_" + d, single(op, Map.of("keepdims", Attr.of(0L)), List.of(t(d, 4, 300, 5), Tensor.vector(1))), red));
        }
        for (String op : List.of("ReduceSum", "ReduceMax", "ReduceMin", "ReduceProd")) {
            l.add(new Case(op + "_lead", single(op, Map.of(), List.of(t(DType.F32, 4, 3, 5), Tensor.vector(0, 1))), red));
            l.add(new Case(op + "_all", single(op, Map.of("keepdims", Attr.of(0L)), List.of(t(DType.F32, 70, 90))), red));
        }
        for (String op : List.of("ArgMax", "ArgMin")) {
            l.add(new Case(op + "_last", single(op, Map.of("axis", Attr.of(-1L)), List.of(t(DType.I32, 6, 2000))), red));
            l.add(new Case(op + "_first_sel", single(op, Map.of("axis", Attr.of(0L), "keepdims", Attr.of(0L), "select_last_index", Attr.of(1L)),
                    List.of(t(DType.I8, 7, 9))), red));
        }
        for (DType d : List.of(DType.F32, DType.F16, DType.I64, DType.BOOL)) {
            int k = 0;
            for (Graph g : new MovementKernelTest().cases(d)) l.add(new Case("mv" + k++ + "_" + last(g).op() + "_" + d, g, mv));
        }
        for (String tr : List.of("half_pixel", "align_corners", "asymmetric", "pytorch_half_pixel"))
            l.add(new Case("resize_linear_" + tr, single("Resize", Map.of("mode", Attr.of("linear"), "coordinate_transformation_mode", Attr.of(tr)),
                    List.of(t(DType.F32, 1, 3, 5, 7), MovementKernelTest.Value0.NONE, MovementKernelTest.Value0.NONE, Tensor.vector(1, 3, 9, 4))), mv));
        for (String nm : List.of("round_prefer_floor", "round_prefer_ceil", "floor", "ceil"))
            l.add(new Case("resize_nearest_" + nm, single("Resize", Map.of("mode", Attr.of("nearest"), "nearest_mode", Attr.of(nm),
                    "coordinate_transformation_mode", Attr.of("asymmetric")),
                    List.of(t(DType.F32, 1, 2, 6, 5), MovementKernelTest.Value0.NONE, Tensor.f32(new long[] {4}, 1, 1, 1.5, 0.6))), mv));
        return l;
    }

    @Test void writeCases() throws IOException {
        String dir = System.getProperty("kiln.gpu.cases");
        Assumptions.assumeTrue(dir != null, "set -Dkiln.gpu.cases=DIR to write GPU check cases");
        CodegenContext ctx = new CodegenContext(CodegenOptions.defaults());
        SplittableRandom rng = new SplittableRandom(42);
        for (Case c : cases()) {
            Path p = Path.of(dir, c.name());
            Files.createDirectories(p);
            Node n = last(c.g());
            KernelSpec k = c.t().emit(n, c.g(), ctx).get(0);
            List<Tensor> ins = new ArrayList<>();
            for (Value v : c.g().inputs()) ins.add(random(v, rng));
            List<Tensor> expected = Interpreter.run(c.g(), ins);
            StringBuilder main = new StringBuilder(k.source()).append("\n#include <cstdio>\n#include <cstdlib>\n")
                    .append("static void* load(const char* f, size_t n) { void* h = calloc(n + 1, 1); FILE* fp = fopen(f, \"rb\"); if (fp) { fread(h, 1, n, fp); fclose(fp); }\n")
                    .append("  void* d; cudaMalloc(&d, n + 1); cudaMemcpy(d, h, n, cudaMemcpyHostToDevice); free(h); return d; }\n")
                    .append("int main() {\n");
            StringBuilder args = new StringBuilder(), after = new StringBuilder(), spec = new StringBuilder(c.name() + "\n");
            int bi = 0;
            for (KernelSpec.Param prm : k.params()) {
                String name = ((KernelSpec.Param.Buffer) prm).value();
                Value v = find(c.g(), name);
                long bytes = Index.numel(v.shape().sizes()) * v.dtype().storageBytes();
                int gi = indexOf(c.g().inputs().castToList(), name);
                Tensor data = gi >= 0 ? ins.get(gi) : c.g().constantValue(v);
                if (data != null) Files.write(p.resolve("b" + bi + ".bin"), data.storage());
                main.append("  void* b").append(bi).append(" = load(\"b").append(bi).append(".bin\", ").append(bytes).append(");\n");
                args.append(bi == 0 ? "" : ", ").append("(").append(CTypes.storage(v.dtype())).append("*)b").append(bi);
                int oi = indexOf(c.g().outputs().castToList(), name);
                if (oi >= 0) {
                    Files.write(p.resolve("want" + bi + ".bin"), expected.get(oi).storage());
                    spec.append("b").append(bi).append(".out want").append(bi).append(".bin ").append(v.dtype().textName()).append('\n');
                    after.append("  { void* h = malloc(").append(bytes).append(" + 1); cudaMemcpy(h, b").append(bi).append(", ").append(bytes)
                            .append(", cudaMemcpyDeviceToHost); FILE* fp = fopen(\"b").append(bi).append(".out\", \"wb\"); fwrite(h, 1, ")
                            .append(bytes).append(", fp); fclose(fp); }\n");
                }
                bi++;
            }
            main.append("  ").append(k.entry()).append("<<<dim3(").append(k.grid().x()).append(", ").append(k.grid().y()).append(", ").append(k.grid().z())
                    .append("), dim3(").append(k.block().x()).append(", ").append(k.block().y()).append(", ").append(k.block().z()).append("), ")
                    .append(k.sharedBytes()).append(">>>(").append(args).append(");\n")
                    .append("  cudaError_t e = cudaDeviceSynchronize(); if (e != cudaSuccess) { printf(\"CUDA error %s\\n\", cudaGetErrorString(e)); return 1; }\n")
                    .append(after).append("  return 0;\n}\n");
            Files.writeString(p.resolve("main.cu"), main);
            Files.writeString(p.resolve("spec.txt"), spec);
        }
    }

    static Value find(Graph g, String name) {
        for (Value v : g.inputs()) if (v.name().equals(name)) return v;
        for (Node n : g.nodes()) for (Value v : n.outputs()) if (v.name().equals(name)) return v;
        throw new IllegalArgumentException(name);
    }

    static int indexOf(List<Value> vs, String name) {
        for (int i = 0; i < vs.size(); i++) if (vs.get(i).name().equals(name)) return i;
        return -1;
    }

    /** Random data: floats in [-3, 3], integers in {-3..3} without 0 (unsigned: 1..6), bools fair. */
    static Tensor random(Value v, SplittableRandom rng) {
        long[] s = v.shape().sizes();
        int n = (int) Index.numel(s);
        DType d = v.dtype();
        if (d == DType.BOOL) {
            boolean[] b = new boolean[n];
            for (int i = 0; i < n; i++) b[i] = rng.nextBoolean();
            return Tensor.ofBools(s, b);
        }
        if (d.isFloat()) {
            double[] x = new double[n];
            for (int i = 0; i < n; i++) x[i] = rng.nextDouble(-3, 3);
            return Tensor.ofDoubles(d, s, x);
        }
        long[] x = new long[n];
        for (int i = 0; i < n; i++) {
            long r = rng.nextLong(1, 4);
            x[i] = d.isUnsigned() ? rng.nextLong(1, 7) : rng.nextBoolean() ? r : -r;
        }
        return Tensor.ofLongs(d, s, x);
    }
}
