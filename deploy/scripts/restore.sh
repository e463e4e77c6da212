#!/usr/bin/env bash
# Restore a backup made by backup.sh into a provincial node or the national hub.
#
#   deploy/scripts/restore.sh provincial /srv/minefed-backups minefed-node-20261201T020000Z
#   deploy/scripts/restore.sh provincial /srv/minefed-backups minefed-node-20261201T020000Z --yes
#   deploy/scripts/restore.sh national /srv/minefed-backups minefed-hub-20261201T020000Z --yes
#
# Without --yes it only prints what would be replaced (and stops nothing). With --yes
# it stops api, worker and beat, runs `minefed node restore` / `minefed central
# restore` in a one-off container (checksums checked, database and files replaced,
# migrations to head, and on a node restore-reconcile), and starts them again only
# if the restore succeeded. Further options (--no-reconcile, --accept-log-rollback)
# are passed on. See docs/deployment.md.
set -euo pipefail

usage() {
  echo "usage: $0 provincial|national BACKUP_DIR BACKUP_NAME [--yes] [options]" >&2
  exit 2
}
[ $# -ge 3 ] || usage
kind=$1
backup_dir=$(realpath -- "$2")
name=$3
shift 3
case "$kind" in
  provincial) app=node ;;
  national) app=central ;;
  *) usage ;;
esac
case "$name" in
  */* | "" | . | ..) usage ;;
esac
[ -f "$backup_dir/$name/manifest.json" ] || {
  echo "no backup at $backup_dir/$name (manifest.json missing)" >&2
  exit 1
}
here=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)
compose=(docker compose -f "$here/../$kind/compose.yaml")
confirmed=no
for arg in "$@"; do
  [ "$arg" = "--yes" ] && confirmed=yes
done

restore() {
  "${compose[@]}" run --rm --no-TTY \
    -v "$backup_dir:/backups:ro" \
    migrate "$app" restore --from "/backups/$name" "$@"
}

if [ "$confirmed" = no ]; then
  restore "$@"  # refuses, after printing what would be replaced
  exit $?
fi

"${compose[@]}" stop api worker beat
if restore "$@"; then
  "${compose[@]}" start api worker beat
  echo "restored $name; api, worker and beat started"
else
  status=$?
  echo "restore FAILED (exit $status): api, worker and beat left stopped" >&2
  exit "$status"
fi
