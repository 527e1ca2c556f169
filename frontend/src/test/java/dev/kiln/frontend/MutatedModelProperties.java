package dev.kiln.frontend;

import dev.kiln.frontend.proto.Onnx.GraphProto;
import dev.kiln.frontend.proto.Onnx.TensorProto;
import dev.kiln.ir.DType;
import dev.kiln.ir.KilnException;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

import static dev.kiln.frontend.Models.*;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

/**
 * Flips, inserts, deletes and truncates bytes of serialized models (built here, plus the ONNX node-test models
 * when {@code kiln.onnx.tests} / {@code KILN_ONNX_TESTS} / {@code ../shared/onnx-tests} exists) and checks that
 * importing them either works or fails with a {@link KilnException}, never anything else, within 2 s each.
 */
class MutatedModelProperties {
    record Seed(String name, byte[] bytes, Path dir) {}

    private static final List<Seed> SEEDS = seeds();

    private static List<Seed> seeds() {
        List<Seed> s = new ArrayList<>();
        GraphProto.Builder relu = GraphProto.newBuilder().addInput(tensor("x", 1, "N", 2L))
                .addNode(node("Relu", List.of("x"), List.of("y"))).addOutput(tensor("y", 1, "N", 2L));
        s.add(new Seed("relu", model(13, relu).toByteArray(), null));
        GraphProto.Builder old = GraphProto.newBuilder().addInput(tensor("x", 1, 2L, 3L, 4L))
                .addInput(tensor("w", 1, 4L))
                .addInitializer(TensorProto.newBuilder().setName("w").setDataType(1).addDims(4)
                        .setRawData(com.google.protobuf.ByteString.copyFrom(new byte[16])))
                .addInitializer(TensorProto.newBuilder().setName("q").setDataType(DType.I4.onnxCode()).addDims(3)
                        .addInt32Data(0x78).addInt32Data(0x0F))
                .addNode(node("Add", List.of("x", "w"), List.of("a"), attr("broadcast", 1L)))
                .addNode(node("Softmax", List.of("a"), List.of("s"), attr("axis", 1L)))
                .addNode(node("ReduceSum", List.of("s"), List.of("r"), ints("axes", 1)))
                .addNode(node("Constant", List.of(), List.of("c"), floats("value_floats", 1, 2)))
                .addNode(node("Pad", List.of("r"), List.of("p"), ints("pads", 0, 0, 0, 0, 0, 1), attr("value", 0.5f)))
                .addOutput(tensor("p", 1, 2L, 1L, 5L)).addOutput(tensor("c", 1, 2L));
        s.add(new Seed("old-opset", model(3, 6, old).toByteArray(), null));
        s.add(new Seed("split", model(11, GraphProto.newBuilder().addInput(tensor("x", 1, 6L))
                .addNode(node("Split", List.of("x"), List.of("a", "b"), ints("split", 2, 4)))
                .addOutput(tensor("b", 1, 4L))).toByteArray(), null));
        Path dir = testData().resolve("node");
        if (Files.isDirectory(dir)) {
            try (Stream<Path> cases = Files.list(dir)) {
                for (Path c : cases.sorted().toList()) {
                    Path m = c.resolve("model.onnx");
                    if (Files.isRegularFile(m)) s.add(new Seed(c.getFileName().toString(), Files.readAllBytes(m), c));
                }
            } catch (IOException e) {
                throw new IllegalStateException(e);
            }
        }
        return s;
    }

    static Path testData() {
        String p = System.getProperty("kiln.onnx.tests", System.getenv("KILN_ONNX_TESTS"));
        // tests run in the module folder; the default is relative to the repository root
        return p != null ? Path.of(p) : Path.of("..").resolve("../shared/onnx-tests").normalize();
    }

    record Mutation(int kind, int position, byte value) {
        byte[] apply(byte[] b) {
            if (b.length == 0) return new byte[] {value};
            int at = Math.floorMod(position, b.length);
            return switch (kind) {
                case 0 -> { byte[] r = b.clone(); r[at] ^= (byte) (value == 0 ? 1 : value); yield r; } // flip bits
                case 1 -> { // insert
                    byte[] r = new byte[b.length + 1];
                    System.arraycopy(b, 0, r, 0, at);
                    r[at] = value;
                    System.arraycopy(b, at, r, at + 1, b.length - at);
                    yield r;
                }
                case 2 -> { // delete
                    byte[] r = new byte[b.length - 1];
                    System.arraycopy(b, 0, r, 0, at);
                    System.arraycopy(b, at + 1, r, at, b.length - at - 1);
                    yield r;
                }
                default -> java.util.Arrays.copyOf(b, at); // truncate
            };
        }
    }

    @Provide Arbitrary<Mutation> mutation() {
        return Combinators.combine(Arbitraries.integers().between(0, 3), Arbitraries.integers().greaterOrEqual(0),
                Arbitraries.bytes()).as(Mutation::new);
    }

    @Provide Arbitrary<List<Mutation>> mutations() { return mutation().list().ofMinSize(1).ofMaxSize(4); }

    @Provide Arbitrary<Integer> seed() { return Arbitraries.integers().between(0, SEEDS.size() - 1); }

    @Property(tries = 1000)
    void mutatedModelsFailOnlyWithKilnExceptions(@ForAll("seed") int seed,
                                                 @ForAll("mutations") List<Mutation> mutations) {
        Seed s = SEEDS.get(seed);
        byte[] bytes = s.bytes();
        for (Mutation m : mutations) bytes = m.apply(bytes);
        byte[] input = bytes;
        assertTimeoutPreemptively(Duration.ofSeconds(2), () -> {
            try {
                new OnnxImporter(TestOps.REGISTRY).importModel(input, s.name(), s.dir());
            } catch (KilnException expected) {
                // the only allowed failure
            }
        }, () -> "import of mutated " + s.name() + " " + mutations + " took too long");
    }
}
