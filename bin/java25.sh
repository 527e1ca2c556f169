# Sourced by ./mvnw and ./kiln: points JAVA_HOME at a JDK 25 or newer.
# Why: the machines' default java is 17; Kiln needs 25 (FFM API, language level).
# Order: $KILN_JAVA_HOME, then $JAVA_HOME, then java on PATH, then the usual JDK folders.
# the JDK's release file when it has one (reading it costs nothing; starting `java -version` costs a JVM start per
# candidate, 0.1-0.2 CPU s of every ./kiln command), else what java -version says
kiln_java_major() {
  if [ -f "$1/release" ] && grep -q '^JAVA_VERSION="[0-9]' "$1/release"; then
    sed -n 's/^JAVA_VERSION="\([0-9]*\).*/\1/p' "$1/release" | head -1
  else
    "$1/bin/java" -version 2>&1 | sed -n 's/.*version "\([0-9]*\).*/\1/p' | head -1
  fi
}
kiln_find_java25() (
  set +f  # a subshell: mvnw runs with globbing off, and this must not change the caller
  for c in "${KILN_JAVA_HOME:-}" "${JAVA_HOME:-}" \
           "$(dirname "$(dirname "$(readlink -f "$(command -v java 2>/dev/null || echo /nonexistent)")")")" \
           /usr/lib/jvm/* /opt/java/* /opt/jdk* /Library/Java/JavaVirtualMachines/*/Contents/Home; do
    [ -n "$c" ] && [ -x "$c/bin/java" ] || continue
    m=$(kiln_java_major "$c")
    if [ -n "$m" ] && [ "$m" -ge 25 ]; then echo "$c"; exit 0; fi
  done
  exit 1
)
if KILN_J=$(kiln_find_java25); then
  export JAVA_HOME="$KILN_J"
else
  echo "kiln: no JDK 25 or newer found; install one (e.g. Temurin 25) and set JAVA_HOME or KILN_JAVA_HOME" >&2
  exit 2
fi
