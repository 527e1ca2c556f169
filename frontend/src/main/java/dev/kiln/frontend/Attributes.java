package dev.kiln.frontend;

import com.google.protobuf.ByteString;
import dev.kiln.frontend.proto.Onnx.AttributeProto;
import dev.kiln.frontend.proto.Onnx.AttributeProto.AttributeType;
import dev.kiln.ir.Attr;
import dev.kiln.ir.InvalidModelException;
import dev.kiln.ir.UnsupportedException;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/** ONNX attributes -> {@link Attr}: INT/FLOAT/STRING/INTS/FLOATS/STRINGS/TENSOR; floats widen exactly to double. */
final class Attributes {
    private Attributes() {}

    static Map<String, Attr> convert(List<AttributeProto> protos, Path baseDir) {
        Map<String, Attr> out = new HashMap<>();
        for (AttributeProto a : protos) {
            if (a.getName().isEmpty()) throw new InvalidModelException("an attribute has no name");
            if (out.put(a.getName(), convert(a, baseDir)) != null)
                throw new InvalidModelException("attribute '" + a.getName() + "' is given twice");
        }
        return out;
    }

    private static Attr convert(AttributeProto a, Path baseDir) {
        String name = a.getName();
        if (a.hasRefAttrName())
            throw new UnsupportedException("attribute '" + name + "' refers to a function attribute; model-local functions are not supported");
        AttributeType type = a.hasType() ? a.getType() : AttributeType.UNDEFINED;
        if (type == AttributeType.UNDEFINED) type = guess(a); // IR 1 files have no 'type'
        return switch (type) {
            case FLOAT -> Attr.of((double) a.getF());
            case INT -> Attr.of(a.getI());
            case STRING -> Attr.of(a.getS().toString(StandardCharsets.UTF_8));
            case FLOATS -> {
                double[] d = new double[a.getFloatsCount()];
                for (int i = 0; i < d.length; i++) d[i] = a.getFloats(i);
                yield Attr.floats(d);
            }
            case INTS -> {
                long[] l = new long[a.getIntsCount()];
                for (int i = 0; i < l.length; i++) l[i] = a.getInts(i);
                yield Attr.ints(l);
            }
            case STRINGS -> Attr.strings(a.getStringsList().stream().map(s -> s.toString(StandardCharsets.UTF_8)).toList());
            case TENSOR -> Attr.of(TensorCodec.decode(a.getT(), baseDir));
            case GRAPH, GRAPHS -> throw new UnsupportedException("attribute '" + name
                    + "' is a subgraph; control flow (If/Loop/Scan) is not supported, unroll or constant-fold it before import");
            default -> throw new UnsupportedException("attribute '" + name + "' has kind " + type + ", which Kiln does not support");
        };
    }

    private static AttributeType guess(AttributeProto a) {
        if (a.hasF()) return AttributeType.FLOAT;
        if (a.hasI()) return AttributeType.INT;
        if (a.hasS()) return AttributeType.STRING;
        if (a.hasT()) return AttributeType.TENSOR;
        if (a.hasG()) return AttributeType.GRAPH;
        if (a.getFloatsCount() > 0) return AttributeType.FLOATS;
        if (a.getIntsCount() > 0) return AttributeType.INTS;
        if (a.getStringsCount() > 0) return AttributeType.STRINGS;
        if (a.getGraphsCount() > 0) return AttributeType.GRAPHS;
        throw new InvalidModelException("attribute '" + a.getName() + "' has no type and no value");
    }

    static String utf8(ByteString s) { return s.toString(StandardCharsets.UTF_8); }
}
