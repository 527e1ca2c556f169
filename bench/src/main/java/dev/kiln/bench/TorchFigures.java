package dev.kiln.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.regex.Pattern;

/** Reads the flat JSON object of numbers that bench/torch_runtime.py prints; no JSON library needed for that. */
final class TorchFigures {
    private TorchFigures() {}

    private static final Pattern PAIR = Pattern.compile("\"([a-z0-9_]+)\"\\s*:\\s*(-?[0-9.eE+-]+)");

    static Map<String, Double> read(Path file) throws IOException {
        var out = new LinkedHashMap<String, Double>();
        if (file == null || !Files.exists(file)) return out;
        var m = PAIR.matcher(Files.readString(file));
        while (m.find()) out.put(m.group(1), Double.parseDouble(m.group(2)));
        return out;
    }
}
