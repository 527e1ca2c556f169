package dev.kiln.ir.op;

/** Properties of an op that passes query instead of checking op names. */
public enum Trait {
    /** Output element i depends only on input elements at the (broadcast) same index. */
    ELEMENTWISE,
    /** Inputs may be swapped (binary ops). */
    COMMUTATIVE,
    /** Reduces one or more axes. */
    REDUCTION,
    /** Pure data movement or reinterpretation (reshape, transpose, slice, concat, gather...). */
    MOVEMENT,
    /** In the closed primitive set that codegen lowers directly; other ops are canonicalized away. */
    PRIMITIVE,
    /** Produces output shapes from input values (not only input shapes), e.g. Shape, Range, NonZero. */
    DATA_DEPENDENT_SHAPE,
    /** Output is a fresh random draw or otherwise not a function of its inputs; never folded or CSE'd. */
    NONDETERMINISTIC
}
