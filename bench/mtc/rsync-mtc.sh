#!/usr/bin/env bash
# MTC BASELINE - NOT dvm's transfer script. Runs one rsync with MTC's default client flags through the MTC stunnel
# client (127.0.0.1:3222), between two marker lines the benchmark times (the same markers dvm's rsync-client.sh
# prints around each PVC, so both are timed from the log the same way). The password comes from the environment
# (RSYNC_PASSWORD), as in MTC's rsync client pod.
#
#   rsync-mtc.sh <source dir> <module>
set -uo pipefail
[ $# -eq 2 ] || { echo "usage: rsync-mtc.sh <source dir> <module>" >&2; exit 98; }
printf 'dvm: pvc-start pvc=mtc target=%s attempt=1 max=1\n' "$2"
rsync --archive --delete --recursive --hard-links --partial \
    --info=COPY2,DEL2,REMOVE2,SKIP2,FLIST2,PROGRESS2,STATS2 --human-readable --log-file /dev/stdout \
    "$1/" "rsync://crane@127.0.0.1:3222/$2/"
rc=$?
printf 'dvm: pvc-end pvc=mtc attempt=1 exit=%s\n' "$rc"
exit "$rc"
