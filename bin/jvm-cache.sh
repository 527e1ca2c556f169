# Sourced by ./kiln and bench/cold-start.sh: runs a JVM with a JDK 25 AOT cache (classes loaded and linked, method
# profiles; JEP 483/515) kept under $KILN_CACHE_DIR/jvm (default ~/.cache/kiln/jvm), one per kind of command.
#
#   kiln_jvm_cache JAVA CLASSPATH NAME "JVM OPTIONS" JAVA_ARGS...
#
# The cache file's name holds a hash of the JVM (path and release), the class path entries (names, sizes, times)
# and the options, so a rebuild or other options make a new one and never load a stale one. With a cache: exec the
# JVM on it. Without: run once recording (-XX:AOTMode=record), then write the cache from the recording (seconds,
# after the command's own output, and only when it succeeded) and leave it for the next run. Failures to write it only cost the speed-up.
kiln_jvm_cache() {
  _java=$1 _cp=$2 _name=$3 _opts=$4
  shift 4
  _dir=${KILN_CACHE_DIR:-${HOME:-/tmp}/.cache/kiln}/jvm
  _key=$( {
    echo "$_java $_opts"
    cat "$(dirname "$(dirname "$_java")")/release" 2>/dev/null || true
    echo "$_cp"
    # one stat for every entry (a fork per jar cost tens of ms of every command); a missing one is just left out
    _ifs=$IFS; IFS=:
    # shellcheck disable=SC2086 # split on the class path's colons
    stat -c '%n %s %Y' $_cp 2>/dev/null || true
    IFS=$_ifs
  } | cksum | cut -d' ' -f1)
  _aot="$_dir/$_name-$_key.aot"
  # -Xlog: the AOT machinery logs every class it cannot cache (old class files, proxies) as a warning
  _quiet="-Xlog:disable -Xlog:all=error:stderr"
  if [ -f "$_aot" ]; then exec "$_java" -XX:AOTCache="$_aot" $_quiet "$@"; fi
  if ! mkdir -p "$_dir" 2>/dev/null || [ ! -w "$_dir" ]; then exec "$_java" "$@"; fi
  _conf="$_dir/$_name-$_key.$$.conf"
  _rcf="$_dir/.rc.$$"
  # the recording JVM prints " AOTConfiguration recorded: FILE" on stdout at exit: keep it out of the output
  { "$_java" -XX:AOTMode=record -XX:AOTConfiguration="$_conf" $_quiet "$@"; echo $? >"$_rcf"; } \
    | grep -v '^ *AOTConfiguration recorded: ' || true
  _rc=$(cat "$_rcf" 2>/dev/null || echo 1)
  rm -f "$_rcf"
  # only a run that succeeded is worth caching (a usage error loads a fraction of the classes)
  if [ -f "$_conf" ] && [ "$_rc" = 0 ]; then
    rm -f "$_dir/$_name"-[0-9]*.aot # caches of earlier builds (the key is a number: kiln-run-bundle-* stays)
    _ifs=$IFS; IFS='
'
    # shellcheck disable=SC2046 # one option per line, split on newlines only
    if "$_java" -XX:AOTMode=create -XX:AOTConfiguration="$_conf" -XX:AOTCache="$_aot.$$.tmp" -Xlog:disable -Xlog:all=error:stderr \
         $(kiln_jvm_options_only "$@") >"$_dir/create.log" 2>&1; then # kept for a look when no cache appears
      mv -f "$_aot.$$.tmp" "$_aot"
    fi
    IFS=$_ifs
  fi
  rm -f "$_conf" "$_aot.$$.tmp"
  return "$_rc"
}

# The JVM options and class path of a java command line: everything before the main class.
kiln_jvm_options_only() {
  while [ $# -gt 0 ]; do
    case "$1" in
      -cp|-classpath|--class-path) printf '%s\n%s\n' "$1" "$2"; shift 2 ;;
      -*) printf '%s\n' "$1"; shift ;;
      *) return 0 ;;
    esac
  done
}
