package dev.kiln.ir;

import dev.kiln.ir.op.Shapes;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.*;

class ShapesTest {
    @Test
    void broadcastsSymbolicShapes() {
        Shape a = Shape.of(Dim.sym("N"), Dim.of(1), Dim.of(4));
        Shape b = Shape.of(Dim.of(3), Dim.of(1));
        assertEquals(Shape.of(Dim.sym("N"), Dim.of(3), Dim.of(4)), Shapes.broadcast(a, b));
        assertEquals(Shape.of(Dim.UNKNOWN), Shapes.broadcast(Shape.of(Dim.sym("A")), Shape.of(Dim.sym("B"))));
        assertEquals(Shape.UNRANKED, Shapes.broadcast(a, Shape.UNRANKED));
        assertThrows(ShapeException.class, () -> Shapes.broadcast(Shape.of(2), Shape.of(3)));
    }

    @Test
    void broadcastIndexMapsOutputToInput() {
        // in [3,1] broadcast to [2,3,2]: out (i,j,k) reads in (j,0)
        int[] idx = Shapes.broadcastIndex(new long[] {3, 1}, new long[] {2, 3, 2});
        assertArrayEquals(new int[] {0, 0, 1, 1, 2, 2, 0, 0, 1, 1, 2, 2}, idx);
        assertArrayEquals(new int[] {0}, Shapes.broadcastIndex(new long[] {}, new long[] {}));
        assertArrayEquals(new int[0], Shapes.broadcastIndex(new long[] {1}, new long[] {0}));
    }

    @Test
    void axesNormalize() {
        assertEquals(2, Shapes.axis(-1, 3));
        assertThrows(ShapeException.class, () -> Shapes.axis(3, 3));
    }
}
