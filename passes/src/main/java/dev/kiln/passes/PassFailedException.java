package dev.kiln.passes;

import dev.kiln.ir.KilnException;

/** A pass crashed on valid IR: a compiler bug. The message points at the reproducer when one was written. */
public class PassFailedException extends KilnException {
    public PassFailedException(String message, Throwable cause) { super(message, cause); }
}
