#!/usr/bin/env bash
# Paint a whole folder from the shell; run it again after stopping it and it continues.
#   bash examples/folder.sh ../shared/data/photos out/folder [more transfer options]
set -euo pipefail
artstyle transfer "${1:-../shared/data/photos}" -o "${2:-out/folder}" --save-styles "${@:3}"
