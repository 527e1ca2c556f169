package dev.kiln.ir.text;

import dev.kiln.ir.Attr;
import dev.kiln.ir.DType;
import dev.kiln.ir.Dim;
import dev.kiln.ir.Graph;
import dev.kiln.ir.KilnException;
import dev.kiln.ir.Node;
import dev.kiln.ir.Shape;
import dev.kiln.ir.Tensor;
import dev.kiln.ir.TensorType;
import dev.kiln.ir.Value;
import dev.kiln.ir.text.KilnIrParser.*;
import org.antlr.v4.runtime.ParserRuleContext;
import org.antlr.v4.runtime.Token;
import org.eclipse.collections.api.factory.Lists;
import org.eclipse.collections.api.factory.primitive.DoubleLists;
import org.eclipse.collections.api.factory.primitive.LongLists;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.Function;

/**
 * Builds a {@link Graph} from a parse tree. Types come from the text (no shape inference, no op definitions);
 * it checks SSA basics: each value defined once, before use, and used with the type it was defined with.
 */
final class GraphReader {
    private record Blob(byte[] bytes, Token where) {}

    private final Function<String, Tensor> resolver;
    private final Map<String, Blob> section = new HashMap<>();

    private GraphReader(Function<String, Tensor> resolver) { this.resolver = resolver; }

    static Graph read(Module_Context m, Function<String, Tensor> resolver) {
        GraphReader r = new GraphReader(resolver);
        if (m.resources() != null) for (ResourceContext rc : m.resources().resource()) r.blob(rc);
        return r.graph(m.graph(), null);
    }

    private void blob(ResourceContext rc) {
        String name = symbol(rc.symbol());
        String s = TextSyntax.unquote(rc.STRING().getText());
        byte[] bytes;
        try {
            if (!s.startsWith("0x")) throw new IllegalArgumentException();
            bytes = HexFormat.of().parseHex(s, 2, s.length());
        } catch (IllegalArgumentException e) {
            throw error(rc.STRING().getSymbol(), "resource bytes must be \"0x\" followed by an even number of hex digits");
        }
        if (section.put(name, new Blob(bytes, rc.getStart())) != null)
            throw error(rc.getStart(), "resource " + TextSyntax.symbol(name) + " is given twice");
    }

    private Graph graph(GraphContext g, Scope parent) {
        Scope scope = new Scope(parent);
        List<Value> inputs = new ArrayList<>();
        for (ParamContext p : g.param()) {
            Value v = new Value(valueName(p.valueName()), type(p.type()));
            scope.define(v, p.getStart());
            inputs.add(v);
        }
        List<Node> nodes = new ArrayList<>();
        for (NodeContext n : g.node()) nodes.add(node(n, scope));
        List<Value> outputs = new ArrayList<>();
        for (ResultContext r : g.result()) {
            if (r.NONE() != null) { outputs.add(Value.NONE); continue; }
            outputs.add(use(r.valueName(), scope, type(r.type()), "graph output"));
        }
        return new Graph(symbol(g.symbol()), inputs, nodes, outputs);
    }

    /** The defined value a reference names; {@code declared} (if given) must be its type. */
    private Value use(ValueNameContext ref, Scope scope, TensorType declared, String what) {
        String name = valueName(ref);
        Scope.Def d = scope.lookup(name);
        if (d == null) throw error(ref.getStart(), what + " " + TextSyntax.value(name) + " is not defined (before this use)");
        if (declared != null && !declared.equals(d.value().type()))
            throw error(ref.getStart(), what + " " + TextSyntax.value(name) + " is declared " + IrPrinter.type(declared)
                    + " but defined as " + IrPrinter.type(d.value().type()) + " at line " + d.where().getLine()
                    + ", column " + (d.where().getCharPositionInLine() + 1));
        return d.value();
    }

    private Node node(NodeContext n, Scope scope) {
        List<Value> inputs = new ArrayList<>();
        for (OperandContext o : n.operand())
            inputs.add(o.NONE() != null ? Value.NONE : use(o.valueName(), scope, null, "operand"));
        Map<String, Attr> attrs = new TreeMap<>();
        if (n.attrDict() != null) {
            for (AttrContext a : n.attrDict().attr()) {
                String key = name(a.name());
                if (attrs.put(key, attr(a.attrValue(), scope)) != null)
                    throw error(a.getStart(), "attribute " + TextSyntax.name(key) + " is given twice");
            }
        }
        long named = n.def().stream().filter(d -> d.NONE() == null).count();
        if (named != n.type().size())
            throw error(n.getStart(), "node defines " + named + " value(s) but gives " + n.type().size()
                    + " type(s) after ':' (one per result that is not none)");
        List<Value> outputs = new ArrayList<>();
        int t = 0;
        for (DefContext d : n.def()) {
            if (d.NONE() != null) { outputs.add(Value.NONE); continue; }
            Value v = new Value(valueName(d.valueName()), type(n.type(t++)));
            scope.define(v, d.getStart());
            outputs.add(v);
        }
        String origin = n.loc() == null ? "" : TextSyntax.unquote(n.loc().STRING().getText());
        return Node.of(name(n.name()), inputs, outputs, attrs, origin);
    }

    private Attr attr(AttrValueContext ctx, Scope scope) {
        return switch (ctx) {
            case ScalarAttrContext s -> scalarAttr(s.scalar());
            case ListAttrContext l -> listAttr(l.scalar());
            case EmptyListAttrContext e -> switch (e.IDENT().getText()) {
                case "ints" -> Attr.ints();
                case "floats" -> Attr.floats();
                case "strings" -> Attr.strings(List.of());
                default -> throw error(e.getStart(), "an empty list is written ints[], floats[] or strings[], not "
                        + e.IDENT().getText() + "[]");
            };
            case TensorAttrContext t -> new Attr.TensorValue(tensor(t.tensor()));
            case GraphAttrContext g -> new Attr.GraphValue(graph(g.graph(), scope));
            default -> throw new IllegalStateException("unknown attribute form " + ctx.getClass());
        };
    }

    private Attr scalarAttr(ScalarContext s) {
        return switch (literal(s)) {
            case Literal.Int i -> new Attr.Int(parseLong(s, i.text()));
            case Literal.Flt f -> new Attr.Float(f.toDouble());
            case Literal.Str str -> new Attr.Str(str.value());
            default -> throw error(s.getStart(), "an attribute is an int, float, string, list, tensor or graph, not "
                    + s.getText());
        };
    }

    private Attr listAttr(List<ScalarContext> items) {
        Literal first = literal(items.get(0));
        List<Literal> lits = new ArrayList<>();
        for (ScalarContext s : items) {
            Literal l = literal(s);
            if (l.getClass() != first.getClass())
                throw error(s.getStart(), "list element " + s.getText() + " is not of the list's kind (" + kind(first)
                        + "); lists are ints [1, 2], floats [1.0, 2.0] or strings [\"a\"]");
            lits.add(l);
        }
        return switch (first) {
            case Literal.Int i -> {
                long[] v = new long[lits.size()];
                for (int k = 0; k < v.length; k++) v[k] = parseLong(items.get(k), ((Literal.Int) lits.get(k)).text());
                yield new Attr.Ints(LongLists.immutable.of(v));
            }
            case Literal.Flt f -> new Attr.Floats(DoubleLists.immutable.of(
                    lits.stream().mapToDouble(l -> ((Literal.Flt) l).toDouble()).toArray()));
            case Literal.Str s -> new Attr.Strs(Lists.immutable.fromStream(lits.stream().map(l -> ((Literal.Str) l).value())));
            default -> throw error(items.get(0).getStart(), "lists hold ints, floats or strings, not " + items.get(0).getText());
        };
    }

    private static String kind(Literal l) {
        return switch (l) {
            case Literal.Int i -> "ints";
            case Literal.Flt f -> "floats";
            case Literal.Str s -> "strings";
            default -> "invalid";
        };
    }

    private Tensor tensor(TensorContext ctx) {
        return switch (ctx) {
            case DenseTensorContext d -> dense(d);
            case ResourceTensorContext r -> resource(r);
            default -> throw new IllegalStateException("unknown tensor form " + ctx.getClass());
        };
    }

    private Tensor dense(DenseTensorContext d) {
        TensorType tt = type(d.type());
        long[] shape = staticShape(d.type(), tt);
        long numel = Tensor.numel(shape);
        List<ScalarContext> items = d.scalar();
        boolean bare = d.getChild(4) instanceof ScalarContext;
        if (bare && numel != 1)
            throw error(items.get(0).getStart(), "a bare element fits only a one-element tensor; write [...] for " + numel);
        if (items.size() != numel)
            throw error(d.getStart(), "dense<" + IrPrinter.type(tt) + "> needs " + numel + " elements but has " + items.size());
        DType dt = tt.dtype();
        try {
            if (dt.isString()) {
                String[] s = new String[items.size()];
                for (int i = 0; i < s.length; i++) {
                    if (!(literal(items.get(i)) instanceof Literal.Str str))
                        throw error(items.get(i).getStart(), "a string tensor holds only strings, not " + items.get(i).getText());
                    s[i] = str.value();
                }
                return Tensor.ofStrings(shape, s);
            }
            long[] bits = new long[items.size()];
            for (int i = 0; i < bits.length; i++) {
                try {
                    bits[i] = TensorText.bits(dt, literal(items.get(i)));
                } catch (IllegalArgumentException e) {
                    throw error(items.get(i).getStart(), e.getMessage());
                }
            }
            return TensorText.fromBits(dt, shape, bits);
        } catch (IrParseException e) {
            throw e;
        } catch (KilnException e) {
            throw error(d.getStart(), e.detail());
        }
    }

    private Tensor resource(ResourceTensorContext r) {
        TensorType tt = type(r.type());
        long[] shape = staticShape(r.type(), tt);
        String name = symbol(r.symbol());
        Token at = r.symbol().getStart();
        Blob b = section.get(name);
        if (b != null) {
            if (tt.dtype().isString()) throw error(at, "string tensors are written inline, not as resources");
            try {
                long want = Tensor.numel(shape) * tt.dtype().storageBytes();
                if (b.bytes().length != want)
                    throw error(at, "resource " + TextSyntax.symbol(name) + " holds " + b.bytes().length + " bytes but "
                            + IrPrinter.type(tt) + " needs " + want);
                return Tensor.ofBytes(tt.dtype(), shape, b.bytes());
            } catch (IrParseException e) {
                throw e;
            } catch (KilnException e) {
                throw error(at, e.detail());
            }
        }
        if (resolver == IrParser.PLACEHOLDERS) return Tensor.zeros(tt.dtype(), shape);
        Tensor t = resolver == null ? null : resolver.apply(name);
        if (t == null)
            throw error(at, "resource " + TextSyntax.symbol(name) + " is missing: the text has no resources entry for it"
                    + (resolver == null ? " and no resolver was given" : " and the resolver does not know it"));
        if (!t.type().equals(tt))
            throw error(at, "resource " + TextSyntax.symbol(name) + " is " + IrPrinter.type(t.type())
                    + " but the text declares " + IrPrinter.type(tt));
        return t;
    }

    private static long[] staticShape(TypeContext ctx, TensorType tt) {
        if (!tt.shape().isStatic()) throw error(ctx.getStart(), "a tensor literal needs a static shape, not " + IrPrinter.type(tt));
        return tt.shape().sizes();
    }

    private static TensorType type(TypeContext ctx) {
        DType dt;
        try {
            dt = DType.fromText(ctx.IDENT().getText());
        } catch (IllegalArgumentException e) {
            throw error(ctx.getStart(), "unknown dtype '" + ctx.IDENT().getText() + "'");
        }
        if (ctx.dim().isEmpty() && ctx.getChildCount() == 4) return new TensorType(dt, Shape.UNRANKED);
        List<Dim> dims = new ArrayList<>();
        for (DimContext d : ctx.dim()) dims.add(dim(d));
        return new TensorType(dt, Shape.of(dims));
    }

    private static Dim dim(DimContext d) {
        Token t = d.getStart();
        if (d.INT() != null) {
            long v = parseLong(d, t.getText());
            if (v < 0) throw error(t, "a dimension cannot be negative: " + v);
            return Dim.of(v);
        }
        if (d.IDENT() != null) return Dim.sym(t.getText());
        if (d.STRING() != null) {
            String s = TextSyntax.unquote(t.getText());
            if (s.isEmpty()) throw error(t, "a symbolic dimension needs a non-empty name");
            return Dim.sym(s);
        }
        return Dim.UNKNOWN;
    }

    private static Literal literal(ScalarContext s) {
        Token t = s.getStart();
        return switch (t.getType()) {
            case KilnIrParser.INT -> new Literal.Int(t.getText());
            case KilnIrParser.FLOAT -> new Literal.Flt(t.getText());
            case KilnIrParser.HEX -> new Literal.Hex(t.getText());
            case KilnIrParser.STRING -> new Literal.Str(TextSyntax.unquote(t.getText()));
            default -> switch (t.getText()) {
                case "true" -> new Literal.Bool(true);
                case "false" -> new Literal.Bool(false);
                default -> new Literal.Flt(t.getText()); // nan, inf, -inf
            };
        };
    }

    private static long parseLong(ParserRuleContext at, String text) {
        try {
            return Long.parseLong(text);
        } catch (NumberFormatException e) {
            throw error(at.getStart(), "integer " + text + " does not fit 64 bits");
        }
    }

    private static String name(NameContext n) {
        return n.IDENT() != null ? n.IDENT().getText() : TextSyntax.unquote(n.STRING().getText());
    }

    private static String valueName(ValueNameContext v) {
        String t = v.getStart().getText().substring(1);
        String s = v.QUOTED_VALUE() != null ? TextSyntax.unquote(t) : t;
        if (s.isEmpty()) throw error(v.getStart(), "a value needs a non-empty name (an omitted value is written none)");
        return s;
    }

    private static String symbol(SymbolContext s) {
        String t = s.getStart().getText().substring(1);
        return s.QUOTED_GLOBAL() != null ? TextSyntax.unquote(t) : t;
    }

    static IrParseException error(Token t, String message) {
        return new IrParseException(message, t.getLine(), t.getCharPositionInLine() + 1);
    }
}
