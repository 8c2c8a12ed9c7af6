# Delineate CLI and local inference API, headless (no Electron, no renderer).
#
#   docker build -t delineate .
#   docker run --rm -v "$PWD/cohort:/data" -v "$PWD/models:/models" delineate \
#       batch /data/imagesTs --model <id> --output /data/labels --shard 0/4
#   docker run --rm -p 127.0.0.1:8080:8080 -e DELINEATE_API_TOKEN=<at least 16 chars> -v "$PWD/models:/models" \
#       delineate serve --port 8080 --host 0.0.0.0 --expose
#
# `serve` listens on 127.0.0.1 unless given --host <addr> --expose (both): inside a container the published port
# only reaches 0.0.0.0, so the container opts in explicitly and the server prints a warning. Publish it to the
# host's loopback only (-p 127.0.0.1:8080:8080) and set the token.
#
# The CLI runs from its TypeScript sources through tsx, which is a devDependency: the image installs the
# production dependencies with `npm ci --omit=dev` and adds only tsx and esbuild (same versions as the lockfile)
# from a separate stage. Install scripts are not run (--ignore-scripts; the project denies them too through
# .npmrc strict-allow-scripts + package.json allowScripts, which the npm 10 of node:20 images may not honour): the
# only production packages with scripts are onnxruntime-node, whose postinstall would download optional CUDA
# libraries (its CPU and WebGPU backends ship in the package), and protobufjs (a version notice). esbuild works
# without its postinstall (its binary comes from @esbuild/linux-<arch>).

FROM node:20-bookworm-slim AS deps
WORKDIR /app
ENV ONNXRUNTIME_NODE_INSTALL=skip
COPY package.json package-lock.json .npmrc ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force

FROM node:20-bookworm-slim AS tsx
WORKDIR /opt/tsx
RUN npm install --no-save --no-package-lock --ignore-scripts --no-audit --no-fund tsx@4.23.15 esbuild@0.28.2 && npm cache clean --force

FROM node:20-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production \
    DELINEATE_MODELS_DIR=/models
COPY --from=deps /app/node_modules ./node_modules
COPY --from=tsx /opt/tsx/node_modules/ ./node_modules/
COPY package.json tsconfig.base.json tsconfig.node.json ./
COPY main/common ./main/common
COPY main/core ./main/core
COPY main/cli ./main/cli
COPY native-models ./native-models
# node_modules/.cache/delineate: the engine bundles its network worker there on first use (network-pool.ts); the
# image runs as `node`, so that one folder is writable (without it the workers start through tsx, ~0.4 s slower).
RUN mkdir -p /models /data node_modules/.cache/delineate && chown node:node /models /data node_modules/.cache/delineate
USER node
EXPOSE 8080
ENTRYPOINT ["node", "--import", "tsx", "main/cli/index.ts"]
CMD ["--help"]
