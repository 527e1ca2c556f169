package dev.kiln.runtime;

import java.io.Console;
import java.io.PrintStream;

/**
 * {@link Progress} as one line on a terminal that redraws itself ({@code NVRTC 37/170}), at most every
 * 100 ms, and clears when the step ends. Not on a terminal, {@link #stderr()} gives {@link Progress#NONE}:
 * logs and pipes stay clean.
 */
public final class TerminalProgress implements Progress {
    private static final long REDRAW_NANOS = 100_000_000L;

    private final PrintStream out;
    private long lastDraw;
    private boolean shown;

    TerminalProgress(PrintStream out) { this.out = out; }

    /** A line on standard error when this process runs on a terminal, else {@link Progress#NONE}. */
    public static Progress stderr() {
        Console c = System.console();
        return c != null && c.isTerminal() ? new TerminalProgress(System.err) : NONE;
    }

    @Override public synchronized void update(String step, int done, int total) {
        long now = System.nanoTime();
        if (shown && done < total && now - lastDraw < REDRAW_NANOS) return;
        lastDraw = now;
        shown = true;
        out.print("\r" + step + " " + done + "/" + total + "\u001b[K");
        out.flush();
    }

    @Override public synchronized void clear() {
        if (!shown) return;
        shown = false;
        out.print("\r\u001b[K");
        out.flush();
    }
}
