#!/usr/bin/env python3
"""DuckDB side of the Riposte hunting benchmark (`riposte kql bench`, crates/hunt/src/bench.rs).

Usage: duckdb_bench.py DATA_FILE QUERIES.json [--iterations N]

QUERIES.json names the tables to load ({"name", "path", "columns": [[name, SQL type], ...]} in
CSV header order), an
optional DuckDB thread count, and the queries ({"name", "sql": [statement, ...]}; the last
statement's rows are the answer). DATA_FILE is the main table's CSV; it overrides the path of
the first table, so the script can also be pointed at a copy of the data by hand.

Tables are loaded into an in-memory database first (timed separately), then each query runs
once to warm up and N more times, timed with a monotonic clock around execute + fetch.

Prints one JSON object on stdout: {"version", "threads", "load_seconds", "queries": [{"name",
"seconds": [...], "rows": [[cell text, ...]], "error"}]}. Progress goes to stderr.
"""

import json
import sys
import time


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def cell(v):
    """Cell text as the Rust side renders answers: integers plainly, None as empty."""
    if v is None:
        return ""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v)


def main(argv):
    args = [a for a in argv[1:]]
    iterations = 3
    if "--iterations" in args:
        i = args.index("--iterations")
        try:
            iterations = max(1, int(args[i + 1]))
        except (IndexError, ValueError):
            log("--iterations needs a number")
            return 2
        del args[i : i + 2]
    if len(args) != 2:
        log(__doc__)
        return 2
    data_file, queries_file = args
    try:
        import duckdb
    except ImportError as e:
        log(f"cannot import duckdb: {e}")
        return 3
    with open(queries_file, encoding="utf-8") as f:
        spec = json.load(f)

    con = duckdb.connect(":memory:")
    if spec.get("threads"):
        con.execute(f"SET threads = {int(spec['threads'])}")
    threads = con.execute("SELECT current_setting('threads')").fetchone()[0]

    tables = spec.get("tables", [])
    if tables:
        tables[0]["path"] = data_file
    load_start = time.perf_counter()
    for t in tables:
        cols = ", ".join(f"'{n}': '{ty}'" for n, ty in t["columns"])
        path = str(t["path"]).replace("'", "''")
        log(f"loading {t['name']} from {path}")
        con.execute(
            f'CREATE TABLE "{t["name"]}" AS SELECT * FROM read_csv(\'{path}\', header = true, '
            f"delim = ',', quote = '\"', escape = '\"', columns = {{{cols}}})"
        )
    load_seconds = time.perf_counter() - load_start
    log(f"loaded in {load_seconds:.1f}s")

    results = []
    for q in spec.get("queries", []):
        name = q["name"]
        statements = q["sql"] if isinstance(q["sql"], list) else [q["sql"]]
        out = {"name": name, "seconds": [], "rows": [], "error": None}
        try:
            for run in range(iterations + 1):
                log(f"{name}: run {run}/{iterations}{' (warm-up)' if run == 0 else ''}")
                start = time.perf_counter()
                rows = []
                for stmt in statements:
                    rows = con.execute(stmt).fetchall()
                elapsed = time.perf_counter() - start
                if run > 0:
                    out["seconds"].append(elapsed)
                out["rows"] = [[cell(v) for v in r] for r in rows]
        except Exception as e:  # a failing query is reported, the others still run
            out["error"] = f"{type(e).__name__}: {e}"
        results.append(out)

    json.dump(
        {"version": duckdb.__version__, "threads": threads, "load_seconds": load_seconds, "queries": results},
        sys.stdout,
    )
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
