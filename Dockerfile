# soracom-esim-operator: `docker build -t soracom-esim-operator .` (the controller, the last stage);
# the Soracom simulator for demos and kind: `docker build --target simulator -t soracom-esim-simulator .`
# The builder compiles each program from its own tsconfig with the dev dependencies; each runtime image has
# only Node, its own production dependencies and compiled code, and runs as a numeric non-root user (the
# chart's runAsUser) on a read-only root filesystem. The controller image carries no simulator, plugin,
# third_party/ or simulator-only package: the Soracom answer schemas it checks are compiled in
# (controller/soracom/schemas.generated.ts, generated from third_party/ by scripts/gen-soracom-schemas.mjs).
ARG NODE_IMAGE=node:24-slim

# What every runtime image keeps of the base: Node alone. npm, npx, corepack and yarn are never run there.
FROM ${NODE_IMAGE} AS runtime
RUN rm -rf /usr/local/lib/node_modules /usr/local/bin/npm /usr/local/bin/npx /usr/local/bin/corepack \
    /usr/local/bin/yarn /usr/local/bin/yarnpkg /opt/yarn-* /usr/local/include/node /usr/local/share/doc/node
LABEL org.opencontainers.image.source="https://github.com/soracom-esim-operator/soracom-esim-operator" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.vendor="soracom-esim-operator"

FROM ${NODE_IMAGE} AS build
WORKDIR /src
COPY package.json package-lock.json ./
COPY simulator/package.json simulator/
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json ./
COPY controller/ controller/
COPY simulator/ simulator/
# No source maps in the images: they would ship the TypeScript sources' structure and help no one at runtime.
RUN npx tsc -p controller/tsconfig.json --outDir /out/controller --sourceMap false \
 && npx tsc -p simulator/tsconfig.json --outDir /out/simulator --sourceMap false

# The controller's production dependencies: the root package alone, without the simulator's workspace.
FROM ${NODE_IMAGE} AS controller-deps
WORKDIR /src
COPY package.json package-lock.json ./
COPY simulator/package.json simulator/
RUN npm ci --omit=dev --workspaces=false --ignore-scripts --no-audit --no-fund

# The simulator's production dependencies: the root's (ajv among them) and its workspace's, hoisted; no link back.
FROM ${NODE_IMAGE} AS simulator-deps
WORKDIR /src
COPY package.json package-lock.json ./
COPY simulator/package.json simulator/
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund \
 && rm -f node_modules/soracom-esim-simulator

FROM runtime AS simulator
LABEL org.opencontainers.image.title="soracom-esim-simulator" \
      org.opencontainers.image.description="A simulator of the Soracom API's eSIM paths, for demos and tests"
ENV NODE_ENV=production
WORKDIR /app
COPY --from=simulator-deps /src/package.json ./
COPY --from=simulator-deps /src/node_modules/ node_modules/
COPY --from=build /out/simulator/ dist/
COPY third_party/ third_party/
USER 65532:65532
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/node", "/app/dist/simulator/cli.js"]
CMD ["--host", "0.0.0.0", "--port", "8080"]

FROM runtime AS controller
LABEL org.opencontainers.image.title="soracom-esim-operator" \
      org.opencontainers.image.description="Kubernetes operator for Soracom eSIM profile orders and profiles"
ENV NODE_ENV=production
# No NODE_OPTIONS here: the chart sets the heap from controller.maxHeapMiB and controller.maxSemiSpaceMiB,
# and when those are null, Node's own defaults apply (an image default would silently win).
WORKDIR /app
COPY --from=controller-deps /src/package.json ./
COPY --from=controller-deps /src/node_modules/ node_modules/
COPY --from=build /out/controller/ dist/
USER 65532:65532
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/node", "/app/dist/controller/cli.js"]
CMD ["controller"]
