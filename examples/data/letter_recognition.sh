#!/usr/bin/env bash
# Writes LetterRecognition (Frey & Slate 1991, from Debian's r-cran-mlbench: 20,000 rows, 16 integer
# features of a letter's glyph, 26 classes) as CSV for examples/tabular_scarf: a header line, the 16
# features, then the letter as an integer label 0 (A) .. 25 (Z), rows in the package's order (the usual
# split: the first 16,000 to train, the last 4,000 to test). Installs r-cran-mlbench when it is missing
# (as root, through apt-get).
#
#   examples/data/letter_recognition.sh [out.csv]    (default: build/data/letter_recognition.csv)
set -euo pipefail
out=${1:-build/data/letter_recognition.csv}
if ! dpkg -s r-cran-mlbench >/dev/null 2>&1; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "letter_recognition.sh: r-cran-mlbench is not installed; run as root or: apt-get install r-cran-mlbench" >&2
    exit 1
  fi
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends r-cran-mlbench </dev/null
fi
mkdir -p "$(dirname "$out")"
Rscript --vanilla -e '
  args <- commandArgs(trailingOnly = TRUE)
  data(LetterRecognition, package = "mlbench")
  d <- LetterRecognition
  out <- d[, -1]
  out$label <- as.integer(d$lettr) - 1L
  write.csv(out, args[1], row.names = FALSE, quote = FALSE)
' "$out"
echo "$out: $(($(wc -l <"$out") - 1)) rows"
