#!/usr/bin/env bash
# Back up the registry's PostgreSQL database, restore the copy into a NEW database and
# prove the copy is whole: the same row count in every table of the project's apps, the
# schema at the code's migrations, and the audit hash chain intact (manage.py verify_audit).
#
#   scripts/backup_restore_check.sh [--dump FILE] [--restore-db NAME] [--keep] [DATABASE_URL]
#
#   DATABASE_URL   the database to back up (default: $DATABASE_URL), postgres://user@host:port/name
#   --dump FILE    write the dump (pg_dump -Fc) to FILE and keep it; default: a temporary file
#   --restore-db   name of the database to restore into (must not exist); default: <name>_restore_<time>
#   --keep         keep the restored database (a real restore); default: drop it after the check
#
# The row counts of the source are taken in the very snapshot pg_dump copies (an exported
# snapshot), so writes made during the backup cannot make the comparison lie.
# Exit status: 0 when the copy is whole; 1 when a count differs, the schema is behind or
# the audit chain is broken; 2 on bad usage.
set -euo pipefail
cd "$(dirname "$0")/.."

dump="" restore_db="" keep=0 url="${DATABASE_URL:-}"
while [ $# -gt 0 ]; do
  case "$1" in
    --dump) dump="$2"; shift 2 ;;
    --restore-db) restore_db="$2"; shift 2 ;;
    --keep) keep=1; shift ;;
    -h|--help) sed -n '2,17p' "$0"; exit 0 ;;
    -*) echo "unknown option $1" >&2; exit 2 ;;
    *) url="$1"; shift ;;
  esac
done
case "$url" in
  postgres://*|postgresql://*) ;;
  *) echo "give the PostgreSQL database as DATABASE_URL or an argument (postgres://user@host:port/name)" >&2; exit 2 ;;
esac
url="${url%%\?*}"
server="${url%/*}"
source_db="${url##*/}"
restore_db="${restore_db:-${source_db}_restore_$(date +%Y%m%d%H%M%S)}"
restore_url="$server/$restore_db"
python="${PYTHON:-.venv/bin/python}"
[ -x "$python" ] || python=python3

work="$(mktemp -d)"
[ -n "$dump" ] || dump="$work/registry.dump"
cleanup() {
  if [ -n "${SNAP_PID:-}" ]; then kill "$SNAP_PID" 2>/dev/null || true; fi  # still open after a failure
  if [ "$keep" = 0 ] && [ "${created:-0}" = 1 ]; then
    psql -X -q -d "$server/postgres" -c "DROP DATABASE IF EXISTS \"$restore_db\"" >/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

# Every table of the project's apps, with its row count, one "table|count" line each: psql
# runs (\gexec) the one query this builds, which counts every table (no XML functions, which
# a server built without libxml, such as the embedded one, lacks).
COUNTS_SQL="SELECT 'SELECT * FROM (' || string_agg(format('SELECT %L AS name, count(*) AS n FROM %I',
    table_name, table_name), ' UNION ALL ') || ') AS counts ORDER BY name'
  FROM information_schema.tables
 WHERE table_schema = 'public' AND table_type = 'BASE TABLE'
   AND table_name ~ '^(registry|villages|households|assessments)_'
\\gexec"

# 1. Open a transaction, export its snapshot, count the rows in it, and dump that snapshot.
coproc SNAP { psql -X -q -At -v ON_ERROR_STOP=1 -d "$url"; }
echo "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY; SELECT pg_export_snapshot();" >&"${SNAP[1]}"
read -r snapshot <&"${SNAP[0]}"
printf '%s\n%s\n' "$COUNTS_SQL" "SELECT '--end--';" >&"${SNAP[1]}"
while read -r line <&"${SNAP[0]}" && [ "$line" != "--end--" ]; do echo "$line"; done >"$work/source.counts"
echo "Backing up $source_db (snapshot $snapshot) to $dump"
pg_dump -Fc --no-owner --no-privileges --snapshot="$snapshot" -f "$dump" -d "$url"
snap_pid="$SNAP_PID"
printf 'COMMIT;\n\\q\n' >&"${SNAP[1]}"
wait "$snap_pid" 2>/dev/null || true

# 2. Restore into a database of its own.
echo "Restoring into $restore_db"
psql -X -q -v ON_ERROR_STOP=1 -d "$server/postgres" -c "CREATE DATABASE \"$restore_db\"" >/dev/null
created=1
pg_restore --no-owner --no-privileges --exit-on-error -d "$restore_url" "$dump"
psql -X -q -At -v ON_ERROR_STOP=1 -d "$restore_url" <<<"$COUNTS_SQL" >"$work/restored.counts"

# 3. Compare, check the schema and the audit chain.
status=0
tables=$(wc -l <"$work/source.counts")
if diff <(sed 's/|/ /' "$work/source.counts") <(sed 's/|/ /' "$work/restored.counts") >"$work/counts.diff"; then
  echo "Row counts: all $tables tables match ($(awk -F'|' '{s += $2} END {print s}' "$work/source.counts") rows)."
else
  echo "Row counts DIFFER (< source, > restored):"
  cat "$work/counts.diff"
  status=1
fi
if DATABASE_URL="$restore_url" "$python" manage.py migrate --check >/dev/null; then
  echo "Migrations: the restored schema is at the code's migrations."
else
  echo "Migrations: the restored schema is NOT at the code's migrations."
  status=1
fi
if DATABASE_URL="$restore_url" "$python" manage.py verify_audit; then
  echo "Audit chain: intact."
else
  echo "Audit chain: BROKEN (see above)."
  status=1
fi

if [ "$keep" = 1 ]; then
  echo "Kept the restored database $restore_db ($restore_url)."
else
  echo "Dropping the restored database $restore_db."
fi
[ "$status" = 0 ] && echo "Backup and restore check: OK." || echo "Backup and restore check: FAILED."
exit "$status"
