package dev.kiln.ir.ops.elementwise;

import dev.kiln.ir.Attr;
import dev.kiln.ir.DType;
import dev.kiln.ir.Dim;
import dev.kiln.ir.InvalidModelException;
import dev.kiln.ir.Shape;
import dev.kiln.ir.Tensor;
import dev.kiln.ir.TensorType;
import dev.kiln.ir.op.OpRegistry;
import dev.kiln.ir.op.Trait;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static dev.kiln.ir.ops.elementwise.Run.*;
import static org.junit.jupiter.api.Assertions.*;

class MiscOpsTest {
    @Test void dropoutInInferenceIsIdentityWithFullMask() {
        Tensor x = f32(s(3), 1, -2, 3);
        List<Tensor> r = node("Dropout", Map.of(), 2, x, f32(s(), 0.7));
        assertEquals(x, r.get(0));
        assertEquals(Tensor.ofBools(s(3), new boolean[] {true, true, true}), r.get(1));
    }

    @Test void dropoutTrainingScalesKeptElementsAndIsSeeded() {
        Tensor x = Tensor.ofDoubles(DType.F32, s(200), java.util.stream.IntStream.range(1, 201).asDoubleStream().toArray());
        Map<String, Attr> seed = Map.of("seed", Attr.of(7));
        Tensor ratio = f32(s(), 0.75), train = Tensor.ofBools(s(), new boolean[] {true});
        List<Tensor> r = node("Dropout", seed, 2, x, ratio, train);
        int kept = 0;
        for (int i = 0; i < 200; i++) {
            double y = r.get(0).getDouble(i);
            if (r.get(1).getBool(i)) { kept++; assertEquals(x.getDouble(i) * 4, y, 0); }
            else assertEquals(0, y, 0);
        }
        assertTrue(kept > 20 && kept < 80, "about a quarter kept, got " + kept);
        assertEquals(r, node("Dropout", seed, 2, x, ratio, train));   // same seed, same draw
        assertTrue(OpRegistry.standard().get("Dropout").has(Trait.NONDETERMINISTIC));
    }

    @Test void stringNormalizerFiltersAndChangesCase() {
        Tensor x = Tensor.ofStrings(s(1, 3), new String[] {"Monday", "tuesday", "WED"});
        Map<String, Attr> a = Map.of("stopwords", Attr.strings(List.of("monday")), "case_change_action", Attr.of("UPPER"));
        Tensor y = one("StringNormalizer", a, x);
        assertArrayEquals(new long[] {1, 2}, y.shape());
        assertArrayEquals(new String[] {"TUESDAY", "WED"}, y.toStrings());
        // case-sensitive: "Monday" is not the stop word "monday"
        Tensor z = one("StringNormalizer", Map.of("stopwords", Attr.strings(List.of("monday")), "is_case_sensitive", Attr.of(1),
                "case_change_action", Attr.of("LOWER")), x);
        assertArrayEquals(new String[] {"monday", "tuesday", "wed"}, z.toStrings());
    }

    @Test void stringNormalizerKeepsOneEmptyStringWhenAllAreRemoved() {
        Tensor y = one("StringNormalizer", Map.of("stopwords", Attr.strings(List.of("a"))), Tensor.ofStrings(s(2), new String[] {"a", "A"}));
        assertArrayEquals(new long[] {1}, y.shape());
        assertEquals("", y.getString(0));
    }

    @Test void stringNormalizerShapeRuleAndErrors() {
        TensorType in = new TensorType(DType.STRING, Shape.of(Dim.sym("C")));
        assertEquals(in, infer("StringNormalizer", Map.of(), in));
        assertEquals(new TensorType(DType.STRING, Shape.of(Dim.UNKNOWN)),
                infer("StringNormalizer", Map.of("stopwords", Attr.strings(List.of("x"))), in));
        assertThrows(InvalidModelException.class, () -> infer("StringNormalizer", Map.of("case_change_action", Attr.of("TITLE")), in));
    }
}
