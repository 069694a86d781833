# syntax=docker/dockerfile:1
# One image for every role; the command picks it:
#   docker build -t ls-ml-backend .
#   docker run -p 9090:9090 -v ls-ml-data:/data ls-ml-backend              # `start`: API, trains in-process
#   docker run -e REDIS_URL=redis://redis:6379 ls-ml-backend worker         # trainings from the shared queue
# Stages: `toolchain` (compilers, never shipped) → `build` (all dependencies, tsc) and `prod-deps` (production
# dependencies only) → `runtime`, which copies dist/ and the production node_modules and installs nothing.
ARG NODE_IMAGE=node:20-bookworm-slim

FROM ${NODE_IMAGE} AS toolchain
WORKDIR /app
# onnxruntime-node's install script downloads GPU binaries; the CPU build ships inside the package.
ENV ONNXRUNTIME_NODE_INSTALL=skip
# For native modules whose prebuilt binary cannot be fetched (better-sqlite3 then compiles from source).
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json .npmrc ./

FROM toolchain AS build
RUN npm ci --no-audit --no-fund
COPY . .
RUN npm run build

FROM toolchain AS prod-deps
RUN npm ci --omit=dev --no-audit --no-fund
# npm keeps a dev dependency that a production package names as an optional peer ("devOptional" in the lock
# file: TypeScript, through @bull-board/api's valibot, 23 MB); nothing loads those at run time.
RUN node -e "const lock = require('./package-lock.json'); \
  for (const name of Object.keys(require('./package.json').devDependencies ?? {})) \
    if (lock.packages['node_modules/' + name]?.devOptional) { \
      require('node:fs').rmSync('node_modules/' + name, { recursive: true, force: true }); console.log('removed', name); }"
# onnxruntime-node ships every platform's binary (~290 MB); keep the target's own Linux one and fail the build
# when it is missing (a new package layout must not produce an image that cannot load the model).
# BuildKit sets TARGETARCH; the legacy builder does not, and builds for amd64.
ARG TARGETARCH
RUN set -eu; \
    case "${TARGETARCH:-amd64}" in amd64) arch=x64 ;; arm64) arch=arm64 ;; \
      *) echo "onnxruntime-node has no binary for linux/$TARGETARCH" >&2; exit 1 ;; esac; \
    cd node_modules/onnxruntime-node/bin; \
    for dir in napi-v*/*/*/; do \
      case "$dir" in */linux/"$arch"/) ;; *) rm -rf "$dir" ;; esac; \
    done; \
    find . -mindepth 1 -type d -empty -delete; \
    ls napi-v*/linux/"$arch"/onnxruntime_binding.node

FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production HOST=0.0.0.0 PORT=9090 MODEL_DIR=/data
WORKDIR /app
# The data folder belongs to the unprivileged `node` user (uid 1000) before VOLUME, so a named volume mounted
# there starts with that owner. The code stays root's: the process cannot rewrite it.
RUN mkdir -p /data && chown node:node /data
COPY --from=prod-deps /app/node_modules ./node_modules
COPY --from=build /app/package.json ./package.json
COPY --from=build /app/dist ./dist
COPY --from=build /app/templates ./templates
USER node
VOLUME ["/data"]
EXPOSE 9090
# No curl in slim images: node asks /health itself, with the basic auth the server requires when it is set.
# A `worker` serves no HTTP: its compose service turns this check off.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "const e=process.env,h={};if(e.BASIC_AUTH_USER)h.authorization='Basic '+Buffer.from(e.BASIC_AUTH_USER+':'+(e.BASIC_AUTH_PASS||'')).toString('base64');fetch('http://127.0.0.1:'+(e.PORT||9090)+'/health',{headers:h,signal:AbortSignal.timeout(4000)}).then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
ENTRYPOINT ["node", "dist/src/cli/index.js"]
CMD ["start"]
