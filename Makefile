# The project's entry points. Each target is one line; the logic lives in scripts/ and test/controlplane/.
# npm dependencies are installed on first use; .ci/run also installs the Debian tools some tests use.

.PHONY: image image-push image-kind test-images test test-unit test-integration typecheck lint build controlplane simulator demo demo-stop e2e e2e-kind bench bench-curve bench-100k clean

## test: typecheck, lint, build, then every test (unit + integration against a real control plane)
test: typecheck lint build
	npx vitest run

# npm dependencies, installed on first use (and again when the lock file changes).
node_modules/.package-lock.json: package-lock.json
	npm ci --no-audit --no-fund

test-unit: node_modules/.package-lock.json
	npx vitest run --project unit

## test-integration: starts one kube-apiserver + etcd for the run (building them the first time)
test-integration: node_modules/.package-lock.json
	npx vitest run --project integration

typecheck: node_modules/.package-lock.json
	npx tsc -p tsconfig.test.json

lint: node_modules/.package-lock.json
	npx biome check .

# dist/ is rebuilt only when a source changed, so a build while make e2e reads dist/ (CI) writes nothing.
build: dist/.built
dist/.built: node_modules/.package-lock.json tsconfig.json $(shell find controller simulator plugin -name '*.ts')
	npx tsc -p tsconfig.json
	touch $@

## controlplane: build kube-apiserver, kube-controller-manager, etcd, kubectl and helm into ~/.cache/soracom-esim-operator/bin (once)
controlplane:
	bash test/controlplane/build.sh

## simulator: the Soracom API simulator on http://127.0.0.1:8080 (Ctrl-C stops it)
simulator: build
	node dist/simulator/cli.js --port 8080

## demo: control plane + simulator + controller in the background, examples applied; demo-stop stops them
demo:
	bash scripts/demo.sh

demo-stop:
	bash scripts/demo-stop.sh

## image: the controller image as $IMAGE (default localhost/soracom-esim-operator:dev), with podman or docker
image:
	bash scripts/image.sh build

## image-push: IMAGE=registry.example.com/soracom-esim-operator:0.1.0 make image-push (build, then push)
image-push:
	bash scripts/image.sh push

## image-kind: build $IMAGE and load it into the kind cluster $KIND_CLUSTER (default kind)
image-kind:
	bash scripts/image.sh kind

## test-images: the tests' controller and simulator images (:test), with podman (see test/image/build.sh)
test-images:
	bash test/image/build.sh

## e2e: as root, no Docker: the chart's image as a pod on a real single-node cluster in a network namespace, five scenarios, complete teardown (scripts/e2e)
e2e: build
	bash scripts/e2e/run.sh

## e2e-kind: needs Docker and kind; image, chart and end-to-end scenarios in a kind cluster
e2e-kind:
	bash scripts/e2e-kind.sh

## bench: the operator against its platform's limits (docs/performance.md); BENCH_ARGS="--n 1000 --latency 0" for less
bench: build
	npx tsc -p bench/tsconfig.json && node bench-results/build/bench/main.js $(BENCH_ARGS)

## bench-curve: N = 1,000, 10,000 and 30,000 at 0 ms, for the curve in docs/performance.md (~40 min on 2 busy cores)
bench-curve: BENCH_ARGS = --n 1000,10000,30000 --latency 0 --timeout 60m
bench-curve: bench

## bench-100k: 100,000 profiles as 10 orders of 10,000, no ceiling loop, the chart's heap flags for that size (~1 h)
bench-100k: BENCH_ARGS = --n 100000 --latency 0 --orders-of 10000 --skip-ceiling --latency-applies 10 --timeout 120m \
	"--controller-node-options=--max-old-space-size=320 --max-semi-space-size=4"
bench-100k: bench

clean: demo-stop
	rm -rf dist coverage .demo
