# syntax=docker/dockerfile:1
# soracom-esim-operator: `docker build -t soracom-esim-operator .`
# Two stages: the builder compiles TypeScript with the dev dependencies; the runtime image has only Node,
# the production dependencies, the compiled controller and the CRDs, and runs as a numeric non-root user
# (the chart's runAsUser) on a read-only root filesystem.
ARG NODE_IMAGE=node:24-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json ./
COPY controller/ controller/
RUN npx tsc -p tsconfig.json \
 && npm prune --omit=dev --ignore-scripts --no-audit --no-fund

FROM ${NODE_IMAGE}
ENV NODE_ENV=production
# The chart sets the same from controller.maxHeapMiB and controller.maxSemiSpaceMiB (values.yaml says how to size them).
ENV NODE_OPTIONS="--max-old-space-size=192 --max-semi-space-size=4"
WORKDIR /app
COPY --from=build /src/package.json ./
COPY --from=build /src/node_modules/ node_modules/
COPY --from=build /src/dist/ dist/
COPY crds/ crds/
COPY third_party/ third_party/
USER 65532:65532
EXPOSE 8080
ENTRYPOINT ["node", "dist/controller/cli.js"]
CMD ["controller"]
