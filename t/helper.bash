# helper.bash: loaded by every bats file (`load helper`).
bats_require_minimum_version 1.5.0
# Puts the tools under test first on PATH ($CHORD_BIN, default bin/), gives
# each test a scratch directory, and names the test models and goldens.

TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BIN=${CHORD_BIN:-$TOP/bin}
PATH=$BIN:$TOP/bin:$PATH
TBIN=${CHORD_TBIN:-$TOP/build/t}
GOLDEN=$TOP/t/golden
CHORD_DATA=${CHORD_DATA:-${XDG_DATA_HOME:-$HOME/.local/share}/chord}
SMOL=$CHORD_DATA/models/SmolLM2-135M-Instruct.Q4_1.gguf
GEMMA=$CHORD_DATA/models/gemma-3-270m-q4_k_m.gguf
QWEN=$CHORD_DATA/models/qwen2.5-coder-0.5b-instruct-q4_k_m.gguf
VOCAB=$CHORD_DATA/vocab     # llama.cpp's ggml-vocab-*.gguf (+ .inp/.out)
export PATH TOP BIN TBIN GOLDEN CHORD_DATA SMOL GEMMA QWEN VOCAB

# The weight cache stays on (the default path is what the suites test), but
# its segments go to a directory of this run, on disk, removed with it: the
# many temporary models of the suites would otherwise fill /dev/shm.
CHORD_SHM_DIR=${CHORD_SHM_DIR:-$BATS_RUN_TMPDIR/shm}
mkdir -p "$CHORD_SHM_DIR"
export CHORD_SHM_DIR

setup() {
	TMP=$BATS_TEST_TMPDIR
	export TMP
}

# need_model FILE: the test models come from `make models`; a missing one is
# a failure, not a skip, so a suite never goes green without its model.
need_model() {
	[ -f "$1" ] || { echo "missing test model $1: run make models" >&2; return 1; }
}

# Assert the last `run` exited with status $1.
status_is() {
	[ "$status" -eq "$1" ] || {
		echo "expected status $1, got $status" >&2
		echo "output: $output" >&2
		return 1
	}
}
