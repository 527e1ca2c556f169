package dev.kiln.codegen.kernels.ew;

import dev.kiln.codegen.CodegenContext;
import dev.kiln.codegen.CodegenOptions;
import dev.kiln.codegen.NvccPtx;
import dev.kiln.ir.Attr;
import dev.kiln.ir.DType;
import dev.kiln.ir.Graph;
import dev.kiln.ir.KilnException;
import dev.kiln.ir.UnsupportedException;
import dev.kiln.ir.op.OpDef;
import dev.kiln.ir.op.OpRegistry;
import dev.kiln.ir.op.Trait;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;

import static dev.kiln.codegen.kernels.ew.Groups.*;
import static org.junit.jupiter.api.Assertions.*;

/**
 * Every ELEMENTWISE op of the registry has a C expression that compiles for every dtype (of f32, f64, f16,
 * i32, i64, u8, bool) its shape rule accepts, or is listed here as unsupported with the reason.
 */
class CExpressionsTest {
    /** op -> why it has no GPU expression (it never reaches codegen, or only for some dtypes). */
    static final Map<String, String> UNSUPPORTED = Map.of(
            "CastLike", "canonicalize turns it into Cast",
            "Dropout", "canonicalize turns inference Dropout into Identity; training mode draws random masks");

    static final List<DType> DTYPES = List.of(DType.F32, DType.F64, DType.F16, DType.I32, DType.I64, DType.U8, DType.BOOL);

    /** Attributes an op needs to build, and non-default ones worth compiling. */
    static Map<String, Attr> attrs(String op) {
        return switch (op) {
            case "Cast" -> Map.of("to", Attr.of((long) DType.F16.onnxCode()));
            case "BitShift" -> Map.of("direction", Attr.of("LEFT"));
            case "Gelu" -> Map.of("approximate", Attr.of("tanh"));
            case "LeakyRelu", "Elu", "Celu" -> Map.of("alpha", Attr.of(0.25));
            case "Mod" -> Map.of("fmod", Attr.of(1L));
            case "IsInf" -> Map.of("detect_negative", Attr.of(0L));
            default -> Map.of();
        };
    }

    @Test void everyElementwiseOpCompilesOrIsListed() {
        ElementwiseKernel tpl = new ElementwiseKernel();
        CodegenContext ctx = new CodegenContext(CodegenOptions.defaults());
        List<String> srcs = new ArrayList<>(), compiled = new ArrayList<>(), missing = new ArrayList<>();
        List<String> ops = new ArrayList<>(OpRegistry.standard().all().keySet());
        Collections.sort(ops);
        int elementwise = 0;
        for (String op : ops) {
            OpDef def = OpRegistry.standard().get(op);
            if (!def.has(Trait.ELEMENTWISE)) continue;
            elementwise++;
            boolean any = false;
            for (DType d : DTYPES) {
                Graph g = build(op, def, d);
                if (g == null) continue;
                any = true;
                String key = UNSUPPORTED.containsKey(op) ? op : op + "/" + d;
                try {
                    srcs.add(tpl.emit(last(g), g, ctx).get(0).source());
                    compiled.add(op + "/" + d);
                    assertFalse(UNSUPPORTED.containsKey(key), key + " is listed as unsupported but has code");
                } catch (UnsupportedException e) {
                    if (!UNSUPPORTED.containsKey(key)) missing.add(key + ": " + e.getMessage());
                }
            }
            if (!any && !UNSUPPORTED.containsKey(op)) missing.add(op + ": no dtype builds in this test");
        }
        assertTrue(missing.isEmpty(), "elementwise ops without GPU code:\n" + String.join("\n", missing));
        assertTrue(elementwise > 50, "found only " + elementwise + " elementwise ops");
        assertTrue(compiled.contains("Gelu/f64") && compiled.contains("Mod/i32") && compiled.contains("Clip/u8"), compiled.toString());
        NvccPtx.compileAll(srcs);
    }

    /** A one-op graph on [4,3] inputs of dtype d (bool condition for Where, u8 shifts), or null if d is not accepted. */
    static Graph build(String op, OpDef def, DType d) {
        int arity = Math.max(def.minInputs(), def.maxInputs() == OpDef.VARIADIC ? 2 : Math.min(def.maxInputs(), 3));
        if (op.equals("Clip")) arity = 1;
        List<Object> ins = new ArrayList<>();
        for (int i = 0; i < arity; i++) ins.add(op.equals("Where") && i == 0 ? t(DType.BOOL, 4, 3) : i == 1 && op.equals("PRelu") ? t(d, 3) : t(d, 4, 3));
        try {
            return single(op, attrs(op), ins);
        } catch (KilnException | IllegalArgumentException e) {
            return null;
        }
    }
}
