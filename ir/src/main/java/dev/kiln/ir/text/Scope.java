package dev.kiln.ir.text;

import dev.kiln.ir.Value;
import org.antlr.v4.runtime.Token;

import java.util.HashMap;
import java.util.Map;

/** The values visible while reading one graph; a subgraph's scope sees its enclosing graph's values. */
final class Scope {
    record Def(Value value, Token where) {}

    private final Scope parent;
    private final Map<String, Def> defs = new HashMap<>();

    Scope(Scope parent) { this.parent = parent; }

    Def lookup(String name) {
        for (Scope s = this; s != null; s = s.parent) {
            Def d = s.defs.get(name);
            if (d != null) return d;
        }
        return null;
    }

    void define(Value v, Token where) {
        Def old = lookup(v.name());
        if (old != null)
            throw new IrParseException("value " + TextSyntax.value(v.name()) + " is already defined at line "
                    + old.where().getLine() + ", column " + (old.where().getCharPositionInLine() + 1),
                    where.getLine(), where.getCharPositionInLine() + 1);
        defs.put(v.name(), new Def(v, where));
    }
}
