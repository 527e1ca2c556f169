package dev.kiln.frontend;

import dev.kiln.frontend.proto.Onnx.GraphProto;
import dev.kiln.frontend.proto.Onnx.StringStringEntryProto;
import dev.kiln.frontend.proto.Onnx.TensorProto;
import dev.kiln.ir.DType;
import dev.kiln.ir.InvalidModelException;
import dev.kiln.ir.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

class ExternalDataTest {
    @TempDir Path root;

    private static TensorProto ext(long n, String location, Long offset, Long length) {
        TensorProto.Builder b = TensorProto.newBuilder().setName("w").setDataType(DType.F32.onnxCode()).addDims(n)
                .setDataLocation(TensorProto.DataLocation.EXTERNAL)
                .addExternalData(StringStringEntryProto.newBuilder().setKey("location").setValue(location));
        if (offset != null) b.addExternalData(StringStringEntryProto.newBuilder().setKey("offset").setValue(offset.toString()));
        if (length != null) b.addExternalData(StringStringEntryProto.newBuilder().setKey("length").setValue(length.toString()));
        return b.build();
    }

    /** 8 junk bytes, then floats 1, 2, 3 little-endian. */
    private Path dataFile(Path dir, String name) throws IOException {
        Files.createDirectories(dir);
        ByteBuffer b = ByteBuffer.allocate(20).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(-1L).putFloat(1).putFloat(2).putFloat(3);
        return Files.write(dir.resolve(name), b.array());
    }

    private String error(TensorProto t, Path base) {
        return assertThrows(InvalidModelException.class, () -> TensorCodec.decode(t, base)).getMessage();
    }

    @Test void readsAtOffsetWithAndWithoutLength() throws IOException {
        Path model = root.resolve("m");
        dataFile(model.resolve("sub"), "w.bin");
        assertArrayEquals(new double[] {1, 2, 3}, TensorCodec.decode(ext(3, "sub/w.bin", 8L, 12L), model).toDoubles());
        assertArrayEquals(new double[] {1, 2, 3}, TensorCodec.decode(ext(3, "sub/w.bin", 8L, null), model).toDoubles());
        assertArrayEquals(new double[] {2, 3}, TensorCodec.decode(ext(2, "sub/w.bin", 12L, 8L), model).toDoubles());
    }

    @Test void rejectsPathsOutsideTheModelFolder() throws IOException {
        Path model = root.resolve("m");
        Path outside = dataFile(root.resolve("elsewhere"), "w.bin");
        Files.createDirectories(model);
        assertTrue(error(ext(3, "../elsewhere/w.bin", 8L, 12L), model).contains("'..'"));
        assertTrue(error(ext(3, "sub/../../elsewhere/w.bin", 8L, 12L), model).contains("'..'"));
        assertTrue(error(ext(3, outside.toString(), 8L, 12L), model).contains("absolute"));
        Files.createSymbolicLink(model.resolve("link.bin"), outside);
        assertTrue(error(ext(3, "link.bin", 8L, 12L), model).contains("link"));
        Files.createSymbolicLink(model.resolve("dirlink"), root.resolve("elsewhere"));
        assertTrue(error(ext(3, "dirlink/w.bin", 8L, 12L), model).contains("link"));
        assertTrue(error(ext(3, "nope.bin", 0L, 12L), model).contains("does not exist"));
        assertTrue(error(ext(3, "w.bin", 0L, 12L), null).contains("no folder"));
    }

    @Test void rejectsTruncatedFilesAndBadSizes() throws IOException {
        Path model = root.resolve("m");
        dataFile(model, "w.bin"); // 20 bytes
        assertTrue(error(ext(3, "w.bin", 12L, 12L), model).contains("truncated"));
        assertTrue(error(ext(3, "w.bin", 40L, null), model).contains("past the end"));
        assertTrue(error(ext(3, "w.bin", 0L, 20L), model).contains("does not match"));
        // a terabyte: refused from the sizes alone, nothing allocated
        assertTrue(error(ext(3, "w.bin", 0L, 1L << 40), model).contains("truncated"));
        assertThrows(InvalidModelException.class, () -> TensorCodec.decode(ext(1L << 38, "w.bin", 0L, 1L << 40), model));
        assertThrows(InvalidModelException.class, () -> TensorCodec.decode(ext(3, "w.bin", -4L, 12L), model));
        TensorProto notANumber = ext(3, "w.bin", 8L, 12L).toBuilder()
                .addExternalData(StringStringEntryProto.newBuilder().setKey("offset").setValue("eight")).build();
        assertThrows(InvalidModelException.class, () -> TensorCodec.decode(notANumber, model));
        TensorProto badSum = ext(3, "w.bin", 8L, 12L).toBuilder()
                .addExternalData(StringStringEntryProto.newBuilder().setKey("checksum").setValue("00")).build();
        assertTrue(error(badSum, model).contains("checksum"));
    }

    @Test void importerResolvesExternalInitializersNextToTheModelFile() throws IOException {
        Path model = root.resolve("m");
        dataFile(model, "w.bin");
        GraphProto.Builder g = GraphProto.newBuilder()
                .addInput(Models.tensor("x", 1, 3L))
                .addInitializer(ext(3, "w.bin", 8L, 12L))
                .addNode(Models.node("Add", List.of("x", "w"), List.of("y")))
                .addOutput(Models.tensor("y", 1, 3L));
        Path file = Files.write(model.resolve("model.onnx"), Models.model(13, g).toByteArray());
        var imported = new OnnxImporter(TestOps.REGISTRY).importModel(file);
        Tensor w = imported.graph().constantValue(imported.graph().nodes().get(0).output(0));
        assertArrayEquals(new double[] {1, 2, 3}, w.toDoubles());
        // the same bytes with no folder cannot resolve the file
        var e = assertThrows(InvalidModelException.class, () -> new OnnxImporter(TestOps.REGISTRY)
                .importModel(Files.readAllBytes(file), "mem.onnx", null));
        assertTrue(e.getMessage().startsWith("model mem.onnx"), e.getMessage());
    }
}
