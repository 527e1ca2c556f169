package dev.kiln.frontend;

import dev.kiln.frontend.proto.Onnx.AttributeProto;
import dev.kiln.frontend.proto.Onnx.GraphProto;
import dev.kiln.frontend.proto.Onnx.ModelProto;
import dev.kiln.frontend.proto.Onnx.NodeProto;
import dev.kiln.frontend.proto.Onnx.OperatorSetIdProto;
import dev.kiln.frontend.proto.Onnx.StringStringEntryProto;
import dev.kiln.frontend.proto.Onnx.TensorProto;
import dev.kiln.frontend.proto.Onnx.TensorShapeProto;
import dev.kiln.frontend.proto.Onnx.TypeProto;
import dev.kiln.frontend.proto.Onnx.ValueInfoProto;
import dev.kiln.ir.Attr;
import dev.kiln.ir.DType;
import dev.kiln.ir.Dim;
import dev.kiln.ir.Graph;
import dev.kiln.ir.GraphBuilder;
import dev.kiln.ir.InvalidModelException;
import dev.kiln.ir.KilnException;
import dev.kiln.ir.Shape;
import dev.kiln.ir.ShapeException;
import dev.kiln.ir.Tensor;
import dev.kiln.ir.TensorType;
import dev.kiln.ir.UnsupportedException;
import dev.kiln.ir.Value;
import dev.kiln.ir.Verifier;
import dev.kiln.ir.op.OpRegistry;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Imports an ONNX {@code ModelProto} into a verified IR {@link Graph}. Initializers (also those IR-3 models list
 * as inputs) become {@code Constant} nodes; the remaining inputs keep their order. Each node is upgraded to
 * the newest signature of its op by {@link OpsetUpgrades}, then built with {@link GraphBuilder}, whose shape
 * rules type every value; declared output types are checked against the inferred ones. Every failure is a
 * {@link KilnException} naming the model (and node and op where there is one).
 */
public final class OnnxImporter {
    /** The newest ai.onnx opset whose semantics the upgrades know. */
    public static final int MAX_OPSET = 28;
    private static final Set<String> CONTROL_FLOW = Set.of("If", "Loop", "Scan", "SequenceMap");
    private static final long MAX_MODEL_BYTES = Integer.MAX_VALUE - 8;

    private final OpRegistry registry;

    public OnnxImporter() { this(OpRegistry.standard()); }

    public OnnxImporter(OpRegistry registry) { this.registry = registry; }

    /**
     * Imports a {@code .onnx} file; external data resolves inside its folder. The file is mapped, not read: the
     * weights are copied once, from the page cache into their tensors.
     */
    public ImportedModel importModel(Path file) {
        String name = file.getFileName() == null ? file.toString() : file.getFileName().toString();
        java.nio.MappedByteBuffer mapped;
        try (java.nio.channels.FileChannel ch = java.nio.channels.FileChannel.open(file)) {
            if (ch.size() > MAX_MODEL_BYTES)
                throw new InvalidModelException("model file is larger than protobuf's 2 GiB limit; keep large weights "
                        + "as external data").withContext(name, null, null);
            mapped = ch.map(java.nio.channels.FileChannel.MapMode.READ_ONLY, 0, ch.size());
        } catch (IOException e) {
            throw new InvalidModelException("cannot read model file " + file + ": " + e, e).withContext(name, null, null);
        }
        return importModel(parse(com.google.protobuf.UnsafeByteOperations.unsafeWrap(mapped), name), name, file.toAbsolutePath().getParent());
    }

    /**
     * @param modelName names the model in errors and becomes the graph's name
     * @param baseDir   folder for external data, or null when there is none
     */
    public ImportedModel importModel(byte[] bytes, String modelName, Path baseDir) {
        return importModel(parse(com.google.protobuf.UnsafeByteOperations.unsafeWrap(bytes), modelName), modelName, baseDir);
    }

    /**
     * Parses with aliasing: raw_data fields point into {@code data} instead of being copied out of it, so each
     * weight is copied once (into its tensor) instead of twice. The import is done with the message before it
     * returns, so the caller's bytes are only read while it runs.
     */
    private static ModelProto parse(com.google.protobuf.ByteString data, String modelName) {
        try {
            com.google.protobuf.CodedInputStream in = data.newCodedInput();
            in.enableAliasing(true);
            return ModelProto.parseFrom(in);
        } catch (IOException e) { // InvalidProtocolBufferException
            throw new InvalidModelException("not a valid ONNX model file (protobuf parse failed: " + e.getMessage()
                    + "); check that the file is a complete .onnx ModelProto", e).withContext(modelName, null, null);
        }
    }

    public ImportedModel importModel(ModelProto m, String modelName, Path baseDir) {
        try {
            return new Run(m, modelName, baseDir).run();
        } catch (KilnException e) {
            throw e.withContext(modelName, null, null);
        }
    }

    /** The state of one import. */
    private final class Run {
        private final ModelProto m;
        private final String model;
        private final Path baseDir;
        private final Map<String, Value> env = new HashMap<>();
        private final Set<String> onnxNames = new HashSet<>();
        private final Map<String, Long> opsets = new LinkedHashMap<>();
        private GraphBuilder b;
        private long opset;
        private int fresh;

        Run(ModelProto m, String model, Path baseDir) {
            this.m = m;
            this.model = model;
            this.baseDir = baseDir;
        }

        ImportedModel run() {
            readOpsets();
            if (!m.hasGraph()) throw new InvalidModelException("model has no graph");
            GraphProto g = m.getGraph();
            if (g.getSparseInitializerCount() > 0)
                throw new UnsupportedException("sparse initializers are not supported; store the weights densely");
            Map<String, TensorProto> inits = new LinkedHashMap<>();
            for (TensorProto t : g.getInitializerList()) {
                if (t.getName().isEmpty()) throw new InvalidModelException("an initializer has no name");
                if (inits.put(t.getName(), t) != null)
                    throw new InvalidModelException("initializer '" + t.getName() + "' is defined twice");
            }
            for (ValueInfoProto v : g.getInputList()) onnxNames.add(v.getName());
            onnxNames.addAll(inits.keySet());
            for (NodeProto n : g.getNodeList()) onnxNames.addAll(n.getOutputList());

            b = new GraphBuilder(model, registry);
            for (ValueInfoProto vi : g.getInputList()) {
                if (inits.containsKey(vi.getName())) continue; // a weight (always so in IR 3): a Constant below
                if (vi.getName().isEmpty()) throw new InvalidModelException("a graph input has no name");
                env.put(vi.getName(), b.input(vi.getName(), declaredType(vi, "graph input")));
            }
            for (TensorProto t : inits.values()) {
                Tensor value = TensorCodec.decode(t, baseDir);
                if (env.containsKey(t.getName()))
                    throw new InvalidModelException("value name '" + t.getName() + "' is defined twice");
                env.put(t.getName(), b.constant(t.getName(), value));
            }
            for (int i = 0; i < g.getNodeCount(); i++) {
                NodeProto np = g.getNode(i);
                String origin = np.getName().isEmpty() ? np.getOpType() + "#" + i : np.getName();
                try {
                    importNode(np, origin);
                } catch (KilnException e) {
                    throw e.withContext(model, origin, np.getOpType());
                } catch (RuntimeException e) {
                    // an op's shape rule failed without a typed error: still report it as one, naming the node
                    throw new ShapeException("internal error while importing this node (please report it): " + e, e)
                            .withContext(model, origin, np.getOpType());
                }
            }
            for (ValueInfoProto vo : g.getOutputList()) b.output(output(vo));
            Graph graph = b.build();
            Map<String, String> meta = new LinkedHashMap<>();
            for (StringStringEntryProto e : m.getMetadataPropsList()) meta.put(e.getKey(), e.getValue());
            return new ImportedModel(graph, model, m.getIrVersion(), Map.copyOf(opsets), m.getProducerName(),
                    m.getProducerVersion(), m.getDomain(), m.getModelVersion(), m.getDocString(), g.getName(), meta);
        }

        private void readOpsets() {
            for (OperatorSetIdProto o : m.getOpsetImportList()) {
                String d = domain(o.getDomain());
                if (opsets.put(d, o.getVersion()) != null)
                    throw new InvalidModelException("opset_import lists domain '" + o.getDomain() + "' twice");
            }
            // IR < 3 predates opset_import and means opset 1
            if (!opsets.containsKey("") && m.getIrVersion() < 3) opsets.put("", 1L);
            opset = opsets.getOrDefault("", -1L);
            if (opsets.containsKey("") && opset < 1)
                throw new InvalidModelException("model imports ai.onnx opset " + opset + "; opsets start at 1");
            if (opset > MAX_OPSET)
                throw new UnsupportedException("model imports ai.onnx opset " + opset + ", newer than Kiln knows ("
                        + MAX_OPSET + "); export it at opset " + MAX_OPSET + " or lower");
        }

        private static String domain(String d) { return d.equals("ai.onnx") ? "" : d; }

        private void importNode(NodeProto np, String origin) {
            String op = np.getOpType();
            if (op.isEmpty()) throw new InvalidModelException("node has no op_type");
            String domain = domain(np.getDomain());
            if (!domain.isEmpty())
                throw new UnsupportedException("op '" + op + "' of domain '" + domain + "' (opset "
                        + opsets.getOrDefault(domain, 0L) + ") is not supported: Kiln imports only the default ai.onnx "
                        + "domain; replace the node with standard ONNX ops");
            if (opset < 1)
                throw new InvalidModelException("node uses the ai.onnx domain but the model does not import it in opset_import");
            boolean subgraph = false;
            for (AttributeProto a : np.getAttributeList())
                subgraph |= a.hasG() || a.getGraphsCount() > 0 || a.getType() == AttributeProto.AttributeType.GRAPH;
            if (CONTROL_FLOW.contains(op) || subgraph)
                throw new UnsupportedException("control-flow op '" + op + "' (opset " + opset + ") with subgraphs is not "
                        + "supported; unroll or constant-fold it before import (e.g. onnx-simplifier)");
            Map<String, Attr> attrs = Attributes.convert(np.getAttributeList(), baseDir);
            List<Value> inputs = new ArrayList<>();
            for (String name : np.getInputList()) {
                if (name.isEmpty()) { inputs.add(Value.NONE); continue; }
                Value v = env.get(name);
                if (v == null)
                    throw new InvalidModelException("reads value '" + name + "', which is not defined before this node; "
                            + "nodes must be in topological order without cycles and read only graph inputs, "
                            + "initializers or outputs of earlier nodes");
                inputs.add(v);
            }
            while (!inputs.isEmpty() && inputs.getLast().isNone()) inputs.removeLast();
            for (String name : np.getOutputList())
                if (!name.isEmpty() && env.containsKey(name))
                    throw new InvalidModelException("output '" + name + "' is already defined (by a graph input, "
                            + "initializer or earlier node); every value must be defined once");
            OnnxNode n = OpsetUpgrades.upgrade(new OnnxNode(op, inputs, attrs, np.getOutputList(), origin, opset), emitter(origin, op));
            List<Value> outs = b.node(known(n.op(), op), n.inputs(), n.attrs(), n.outputs(), origin);
            for (Value v : outs) if (!v.isNone()) env.put(v.name(), v);
        }

        private String known(String op, String onnxOp) {
            if (!registry.contains(op))
                throw new UnsupportedException("Kiln has no definition of op '" + op + "'"
                        + (op.equals(onnxOp) ? "" : " (upgraded from '" + onnxOp + "')") + " at ai.onnx opset " + opset
                        + "; replace it with supported ops or add it to the op registry");
            return op;
        }

        private OpsetUpgrades.Emitter emitter(String origin, String onnxOp) {
            return new OpsetUpgrades.Emitter() {
                @Override public Value constant(Tensor t) {
                    return b.node("Constant", List.of(), Map.of("value", Attr.of(t)), List.of(freshName(origin)), origin).get(0);
                }

                @Override public Value op(String op, List<Value> in, Map<String, Attr> attrs) {
                    return b.node(known(op, onnxOp), in, attrs, List.of(freshName(origin)), origin).get(0);
                }

                @Override public Tensor constantValue(Value v) { return b.constantValue(v); }
            };
        }

        /** A name for a value the upgrades add, clashing with no ONNX name. */
        private String freshName(String origin) {
            String n;
            do { n = origin + "/upgrade" + fresh++; } while (onnxNames.contains(n) || b.isDefined(n));
            return n;
        }

        private TensorType declaredType(ValueInfoProto vi, String what) {
            String w = what + " '" + vi.getName() + "'";
            if (!vi.hasType()) throw new InvalidModelException(w + " has no type; declare its element type and shape");
            TypeProto t = vi.getType();
            if (!t.hasTensorType())
                throw new UnsupportedException(w + " has type " + t.getValueCase().name().toLowerCase() + ", not a tensor; "
                        + "only tensor inputs and outputs are supported");
            TypeProto.Tensor tt = t.getTensorType();
            DType dtype = TensorCodec.dtypeOf(tt.getElemType(), w);
            if (!tt.hasShape()) return new TensorType(dtype, Shape.UNRANKED);
            List<Dim> dims = new ArrayList<>();
            List<Long> statics = new ArrayList<>();
            for (TensorShapeProto.Dimension d : tt.getShape().getDimList()) {
                if (d.hasDimValue()) {
                    if (d.getDimValue() < 0)
                        throw new InvalidModelException(w + " has negative dimension " + d.getDimValue());
                    dims.add(Dim.of(d.getDimValue()));
                    statics.add(d.getDimValue());
                } else if (d.hasDimParam() && !d.getDimParam().isEmpty()) dims.add(Dim.sym(d.getDimParam()));
                else dims.add(Dim.UNKNOWN);
            }
            try {
                Tensor.numel(statics.stream().mapToLong(Long::longValue).toArray());
            } catch (KilnException e) {
                throw new InvalidModelException(w + ": " + e.detail());
            }
            return new TensorType(dtype, Shape.of(dims));
        }

        private Value output(ValueInfoProto vo) {
            Value v = env.get(vo.getName());
            if (v == null)
                throw new InvalidModelException("graph output '" + vo.getName() + "' is not produced by any node, input or initializer");
            if (!vo.hasType() || !vo.getType().hasTensorType() && vo.getType().getValueCase() == TypeProto.ValueCase.VALUE_NOT_SET)
                return v; // no declaration to check
            TypeProto.Tensor tt = vo.getType().getTensorType();
            TensorType declared = declaredType(tt.getElemType() == 0
                    ? vo.toBuilder().setType(vo.getType().toBuilder().setTensorType(tt.toBuilder().setElemType(v.dtype().onnxCode()))).build()
                    : vo, "graph output");
            if (!Verifier.compatible(declared, v.type())) {
                Graph partial = b.buildUnchecked();
                var producer = partial.producer(v);
                throw new ShapeException("graph output '" + vo.getName() + "' is declared " + declared
                        + " but the graph computes " + v.type() + "; fix the declared type or the model")
                        .withContext(model, producer == null ? null : producer.label(), producer == null ? null : producer.op());
            }
            return v;
        }
    }
}
