# syntax=docker/dockerfile:1
# soracom-esim-operator: `docker build -t soracom-esim-operator .` (the controller, the last stage);
# the Soracom simulator for demos and kind: `docker build --target simulator -t soracom-esim-simulator .`
# The builder compiles each program from its own tsconfig with the dev dependencies; each runtime image has
# only Node, its own production dependencies and compiled code, and runs as a numeric non-root user (the
# chart's runAsUser) on a read-only root filesystem. The controller image carries no simulator, plugin,
# third_party/ or simulator-only package (ajv: the simulator's npm workspace).
ARG NODE_IMAGE=node:24-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /src
COPY package.json package-lock.json ./
COPY simulator/package.json simulator/
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json ./
COPY controller/ controller/
COPY simulator/ simulator/
RUN npx tsc -p controller/tsconfig.json --outDir /out/controller \
 && npx tsc -p simulator/tsconfig.json --outDir /out/simulator

# The controller's production dependencies: the root package alone, without the simulator's workspace.
FROM ${NODE_IMAGE} AS controller-deps
WORKDIR /src
COPY package.json package-lock.json ./
COPY simulator/package.json simulator/
RUN npm ci --omit=dev --workspaces=false --ignore-scripts --no-audit --no-fund

# The simulator's production dependencies: the root's and its workspace's (ajv), hoisted; no link back.
FROM ${NODE_IMAGE} AS simulator-deps
WORKDIR /src
COPY package.json package-lock.json ./
COPY simulator/package.json simulator/
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund \
 && rm -f node_modules/soracom-esim-simulator

FROM ${NODE_IMAGE} AS simulator
ENV NODE_ENV=production
WORKDIR /app
COPY --from=simulator-deps /src/package.json ./
COPY --from=simulator-deps /src/node_modules/ node_modules/
COPY --from=build /out/simulator/ dist/
COPY third_party/ third_party/
USER 65532:65532
EXPOSE 8080
ENTRYPOINT ["node", "dist/simulator/cli.js"]
CMD ["--host", "0.0.0.0", "--port", "8080"]

FROM ${NODE_IMAGE} AS controller
ENV NODE_ENV=production
# The chart sets the same from controller.maxHeapMiB and controller.maxSemiSpaceMiB (values.yaml says how to size them).
ENV NODE_OPTIONS="--max-old-space-size=192 --max-semi-space-size=4"
WORKDIR /app
COPY --from=controller-deps /src/package.json ./
COPY --from=controller-deps /src/node_modules/ node_modules/
COPY --from=build /out/controller/ dist/
COPY crds/ crds/
USER 65532:65532
EXPOSE 8080
ENTRYPOINT ["node", "dist/controller/cli.js"]
CMD ["controller"]
