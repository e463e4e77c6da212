#!/usr/bin/env bash
# Back up a provincial node or the national hub running with deploy/<kind>/compose.yaml.
#
#   deploy/scripts/backup.sh provincial /srv/minefed-backups
#   deploy/scripts/backup.sh national   /srv/minefed-backups
#
# Runs `minefed node backup` / `minefed central backup` in a one-off container of the
# image (the migrate service: same settings and volumes), with the host directory
# mounted at /backups; it receives minefed-<node|hub>-<UTC timestamp>/ (mode 0600
# files: the signing key is inside). The services keep running: pg_dump reads one
# consistent snapshot. The directory must be writable by uid 10001 (the image's user).
# See docs/deployment.md.
set -euo pipefail

usage() {
  echo "usage: $0 provincial|national BACKUP_DIR" >&2
  exit 2
}
[ $# -eq 2 ] || usage
kind=$1
backup_dir=$(realpath -- "$2")
case "$kind" in
  provincial) app=node ;;
  national) app=central ;;
  *) usage ;;
esac
here=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)
compose_file="$here/../$kind/compose.yaml"
mkdir -p -- "$backup_dir"

docker compose -f "$compose_file" run --rm --no-TTY \
  -v "$backup_dir:/backups" \
  migrate "$app" backup --to /backups
