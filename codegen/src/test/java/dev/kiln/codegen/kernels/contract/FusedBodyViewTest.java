package dev.kiln.codegen.kernels.contract;

import dev.kiln.ir.Attr;
import dev.kiln.ir.Graph;
import dev.kiln.ir.Node;
import dev.kiln.ir.Tensor;
import dev.kiln.ir.UnsupportedException;
import dev.kiln.ir.Value;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.*;

/** Prologue and store views: the head split before a matmul and the head merge after it, read as strides. */
class FusedBodyViewTest {
    static Value v(String name, String type) {
        String[] p = type.split(":");
        return new Value(name, Fixtures.type(p[0], p[1]));
    }

    static Node reshape(Value in, Value shape, Value out) { return Node.of("Reshape", List.of(in, shape), List.of(out), Map.of(), "r"); }

    static Node transpose(Value in, Value out, String perm) { return Node.of("Transpose", List.of(in), List.of(out), Map.of("perm", Fixtures.ints(perm)), "t"); }

    @Test void headSplitAndMergeBecomeStrides() {
        Value x = v("x", "f16:2x5x12"), w = v("w", "f16:4x6");
        Value s1 = v("s1", "i64:4"), s2 = v("s2", "i64:3");
        Value xr = v("xr", "f16:2x5x3x4"), xt = v("xt", "f16:2x3x5x4"), y = v("y", "f16:2x3x5x6");
        Value yt = v("yt", "f16:2x5x3x6"), yr = v("yr", "f16:2x5x18");
        Graph body = new Graph("body", List.of(x, w), List.of(
                Node.of("Constant", List.of(), List.of(s1), Map.of("value", Attr.of(Tensor.vector(2, 5, 3, 4))), "c"),
                Node.of("Constant", List.of(), List.of(s2), Map.of("value", Attr.of(Tensor.vector(2, 5, 18))), "c"),
                reshape(x, s1, xr), transpose(xr, xt, "0,2,1,3"),
                Node.of("MatMul", List.of(xt, w), List.of(y), Map.of(), "mm"),
                transpose(y, yt, "0,2,1,3"), reshape(yt, s2, yr)), List.of(yr));
        FusedBody fb = FusedBody.of(Fixtures.fused(Fixtures.outer("matmul", "mm", body)), Set.of("MatMul"));
        FusedBody.Operand a = fb.operand(fb.main().input(0));
        assertEquals(0, a.param());
        assertArrayEquals(new long[] {60, 4, 12, 1}, a.view().strides());
        assertFalse(a.contiguous());
        assertTrue(fb.operand(fb.main().input(1)).contiguous());
        assertTrue(fb.hasStoreView());
        assertArrayEquals(new long[] {90, 6, 18, 1}, fb.store().strides());
        assertThrows(UnsupportedException.class, () -> fb.in(fb.main().input(0)), "templates that read contiguously must refuse a view");
        // the store index of element (b=1, h=2, s=3, n=4) of the [2,3,5,6] product is 1*90 + 2*6 + 3*18 + 4
        String expr = FusedBody.viewIndex(fb.store(), new long[] {2, 3, 5, 6}, "i");
        long i = ((1 * 3 + 2) * 5 + 3) * 6 + 4;
        assertEquals(90 + 12 + 54 + 4, evalIndex(expr, i));
    }

    static Node constant(Value out, Tensor t) { return Node.of("Constant", List.of(), List.of(out), Map.of("value", Attr.of(t)), "c"); }

    @Test void slicesOfOneProjectionAreOffsets() {
        // Q, K, V cut from one [1,5,36] projection (3 x 2 heads x 6), each split into heads for attention
        Value qkv = v("qkv", "f16:1x5x36"), mask = v("m", "f32:1x1x5x5");
        Value s0 = v("s0", "i64:1"), s1 = v("s1", "i64:1"), s2 = v("s2", "i64:1"), s3 = v("s3", "i64:1"), ax = v("ax", "i64:1");
        Value hs = v("hs", "i64:4");
        List<Node> nodes = new java.util.ArrayList<>(List.of(constant(s0, Tensor.vector(0)), constant(s1, Tensor.vector(12)),
                constant(s2, Tensor.vector(24)), constant(s3, Tensor.vector(Long.MAX_VALUE)), constant(ax, Tensor.vector(-1)),
                constant(hs, Tensor.vector(1, 5, 2, 6))));
        Value[] bounds = {s0, s1, s2, s3};
        List<Value> heads = new java.util.ArrayList<>();
        for (int i = 0; i < 3; i++) {
            Value part = v("p" + i, "f16:1x5x12"), split = v("r" + i, "f16:1x5x2x6"), head = v("h" + i, "f16:1x2x5x6");
            nodes.add(Node.of("Slice", List.of(qkv, bounds[i], bounds[i + 1], ax), List.of(part), Map.of(), "s"));
            nodes.add(reshape(part, hs, split));
            nodes.add(transpose(split, head, "0,2,1,3"));
            heads.add(head);
        }
        Value y = v("y", "f16:1x2x5x6");
        nodes.add(Node.of("Attention", List.of(heads.get(0), heads.get(1), heads.get(2), mask), List.of(y), Map.of("scale", Attr.of(0.5)), "a"));
        Graph body = new Graph("body", List.of(qkv, mask), nodes, List.of(y));
        FusedBody fb = FusedBody.of(Fixtures.fused(Fixtures.outer("attention", "a", body)), Set.of("Attention"));
        for (int i = 0; i < 3; i++) {
            FusedBody.Operand o = fb.operand(fb.main().input(i));
            assertEquals(0, o.param(), "all three read the projection");
            assertEquals(12L * i, o.view().offset(), "operand " + i);
            assertArrayEquals(new long[] {0, 6, 36, 1}, o.view().strides(), "unit batch axis: any stride");
        }
        assertTrue(fb.operand(fb.main().input(3)).contiguous());
        assertFalse(fb.hasStoreView());
    }

    @Test void aSliceCannotBeAStoreView() {
        Value x = v("x", "f16:2x4"), w = v("w", "f16:4x6"), y = v("y", "f16:2x6"), part = v("p", "f16:2x3");
        Value st = v("st", "i64:1"), en = v("en", "i64:1"), ax = v("ax", "i64:1");
        Graph body = new Graph("body", List.of(x, w), List.of(constant(st, Tensor.vector(0)), constant(en, Tensor.vector(3)),
                constant(ax, Tensor.vector(1)), Node.of("MatMul", List.of(x, w), List.of(y), Map.of(), "mm"),
                Node.of("Slice", List.of(y, st, en, ax), List.of(part), Map.of(), "s")), List.of(part));
        assertThrows(UnsupportedException.class, () -> FusedBody.of(Fixtures.fused(Fixtures.outer("matmul", "mm", body)), Set.of("MatMul")));
    }

    @Test void theGroupsFuseOperandViewsMakesAreTakenApart() {
        // what fuse-operand-views makes of a GPT-2 style block (golden-tests passes/fuse-operand-views/basic.ir)
        Graph g = dev.kiln.ir.text.IrParser.parse("""
                graph @qkv(%qkv: f32[1,4,36]) -> (%om: f32[1,4,12]) {
                  %om = Fused(%qkv) {body = graph @attention(%om.qkv: f32[1,4,36]) -> (%om.om: f32[1,4,12]) {
                    %om.s0 = Constant() {value = dense<i64[1]> [0]} : i64[1]
                    %om.s1 = Constant() {value = dense<i64[1]> [12]} : i64[1]
                    %om.ax = Constant() {value = dense<i64[1]> [2]} : i64[1]
                    %om.q0 = Slice(%om.qkv, %om.s0, %om.s1, %om.ax) : f32[1,4,12]
                    %om.hs = Constant() {value = dense<i64[4]> [1, 4, 2, 6]} : i64[4]
                    %om.q1 = Reshape(%om.q0, %om.hs) : f32[1,4,2,6]
                    %om.q = Transpose(%om.q1) {perm = [0, 2, 1, 3]} : f32[1,2,4,6]
                    %om.s2 = Constant() {value = dense<i64[1]> [24]} : i64[1]
                    %om.k0 = Slice(%om.qkv, %om.s1, %om.s2, %om.ax) : f32[1,4,12]
                    %om.k1 = Reshape(%om.k0, %om.hs) : f32[1,4,2,6]
                    %om.k = Transpose(%om.k1) {perm = [0, 2, 1, 3]} : f32[1,2,4,6]
                    %om.s3 = Constant() {value = dense<i64[1]> [36]} : i64[1]
                    %om.v0 = Slice(%om.qkv, %om.s2, %om.s3, %om.ax) : f32[1,4,12]
                    %om.v1 = Reshape(%om.v0, %om.hs) : f32[1,4,2,6]
                    %om.v = Transpose(%om.v1) {perm = [0, 2, 1, 3]} : f32[1,2,4,6]
                    %om.o = Attention(%om.q, %om.k, %om.v) {scale = 0.5} : f32[1,2,4,6]
                    %om.ot = Transpose(%om.o) {perm = [0, 2, 1, 3]} : f32[1,4,2,6]
                    %om.ms = Constant() {value = dense<i64[3]> [1, 4, 12]} : i64[3]
                    %om.om = Reshape(%om.ot, %om.ms) : f32[1,4,12]
                  }, kind = "attention"} : f32[1,4,12]
                }
                """);
        FusedBody fb = FusedBody.of(g.nodes().get(0), Set.of("Attention"));
        for (int i = 0; i < 3; i++) {
            FusedBody.Operand o = fb.operand(fb.main().input(i));
            assertEquals(12L * i, o.view().offset());
            assertArrayEquals(new long[] {0, 6, 36, 1}, o.view().strides(), "batch (one: any stride), head, token, feature");
        }
        assertArrayEquals(new long[] {0, 6, 12, 1}, fb.store().strides(), "heads merged back into [1,4,12]");
        assertTrue(fb.epilogue().isEmpty());
    }

    /** Evaluates the generated C index expression (only +, *, /, % over i and LL literals). */
    static long evalIndex(String expr, long i) {
        String e = expr.replace("LL", "").replace("i", Long.toString(i));
        return new Object() {
            int p;
            long sum() { long v = prod(); while (p < e.length() && peek() == '+') { p++; v += prod(); } return v; }
            long prod() {
                long v = atom();
                while (p < e.length() && "*/%".indexOf(peek()) >= 0) { char o = e.charAt(p++); long r = atom(); v = o == '*' ? v * r : o == '/' ? v / r : v % r; }
                return v;
            }
            long atom() {
                if (peek() == '(') { p++; long v = sum(); peek(); p++; return v; }
                int s = p;
                while (p < e.length() && Character.isDigit(e.charAt(p))) p++;
                return Long.parseLong(e.substring(s, p));
            }
            char peek() { while (e.charAt(p) == ' ') p++; return e.charAt(p); }
        }.sum();
    }
}
