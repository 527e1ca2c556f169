package dev.kiln.golden;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The committed list of suite cases known to fail, one per line: {@code suite/case  reason}. Blank lines and
 * lines starting with {@code #} are comments. A case failing outside this list fails the build; a listed case
 * that passes is reported so the entry can be removed.
 */
public final class ExpectedFailures {
    private final Map<String, String> reasons;

    private ExpectedFailures(Map<String, String> reasons) { this.reasons = reasons; }

    public static ExpectedFailures load(String resource) {
        try (InputStream in = ExpectedFailures.class.getResourceAsStream(resource)) {
            if (in == null) throw new IllegalStateException("missing resource " + resource);
            return parse(new String(in.readAllBytes(), StandardCharsets.UTF_8));
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    public static ExpectedFailures parse(String text) {
        Map<String, String> m = new LinkedHashMap<>();
        int lineNo = 0;
        for (String line : text.split("\n")) {
            lineNo++;
            String s = line.strip();
            if (s.isEmpty() || s.startsWith("#")) continue;
            String[] parts = s.split("\\s+", 2);
            if (parts.length < 2 || parts[1].isBlank())
                throw new IllegalArgumentException("expected-failures line " + lineNo + ": '" + s + "' needs a reason after the case");
            if (m.put(parts[0], parts[1]) != null)
                throw new IllegalArgumentException("expected-failures line " + lineNo + ": " + parts[0] + " is listed twice");
        }
        return new ExpectedFailures(m);
    }

    public boolean contains(String caseId) { return reasons.containsKey(caseId); }
    public String reason(String caseId) { return reasons.get(caseId); }
    public Map<String, String> all() { return reasons; }
}
