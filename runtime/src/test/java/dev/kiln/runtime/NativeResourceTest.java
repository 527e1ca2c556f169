package dev.kiln.runtime;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

class NativeResourceTest {
    static final class Thing extends NativeResource {
        Thing(AtomicInteger released) {
            super("thing", released::incrementAndGet);
        }

        void use() { checkOpen(); }
    }

    @Test
    void closeReleasesOnceAndUseAfterCloseThrows() {
        var released = new AtomicInteger();
        var t = new Thing(released);
        t.use();
        t.close();
        t.close();
        assertEquals(1, released.get());
        assertTrue(t.isClosed());
        var e = assertThrows(ResourceClosedException.class, t::use);
        assertEquals("thing is closed", e.getMessage());
    }

    @Test
    void cleanerReleasesWhatWasNeverClosed() throws InterruptedException {
        var released = new AtomicInteger();
        new Thing(released);
        for (int i = 0; i < 50 && released.get() == 0; i++) {
            System.gc();
            Thread.sleep(20);
        }
        assertEquals(1, released.get());
    }
}
