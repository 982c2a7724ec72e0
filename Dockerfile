# mediabot: a two-stage image on Debian bookworm with Node.js 20.
#
#   docker build -t mediabot .
#   docker run --rm --read-only --tmpfs /tmp -v mediabot-data:/data mediabot demo
#
# Build arguments:
#   POCKETSPHINX=1        also install Debian's pocketsphinx and its en-us model (the local transcriber)
#   EXTRA_PACKAGES="…"    more Debian packages for the runtime stage (e.g. "espeak-ng sox" for text prompts)
#   NODE_EXTRA_CA_CERTS   a CA bundle the build's npm must trust (a TLS-inspecting proxy), at a path
#                         mounted into the build; or pass it as the secret `build-ca` (see docs/deploy.md)
#   NODE_IMAGE            the base image (default node:20-bookworm-slim)
ARG NODE_IMAGE=node:20-bookworm-slim

# ---------------------------------------------------------------- build: dependencies, native parts, dist/
FROM ${NODE_IMAGE} AS build
ARG NODE_EXTRA_CA_CERTS
# The native addons (@discordjs/opus, better-sqlite3, native/) compile here with node-gyp.
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
# node-gyp builds against the headers the base image ships in /usr/local/include/node instead of
# downloading them, so the build needs no network beyond the npm registry.
ENV npm_config_nodedir=/usr/local \
    npm_config_update_notifier=false \
    npm_config_fund=false \
    npm_config_audit=false
COPY package.json package-lock.json tsconfig.json tsconfig.build.json ./
COPY scripts/ scripts/
COPY native/ native/
COPY src/ src/
COPY testing/ testing/
COPY bin/ bin/
COPY assets/ assets/
# `npm ci` runs the allowed dependency install scripts (package.json "allowScripts"), the project's
# own `install` (the native codec in native/) and `prepare` (tsc into dist/). A CA bundle given as
# the secret `build-ca` is trusted too.
RUN --mount=type=secret,id=build-ca,required=false \
    if [ -s /run/secrets/build-ca ]; then export NODE_EXTRA_CA_CERTS=/run/secrets/build-ca; fi \
 && npm ci \
 && test -f dist/src/cli/main.js \
 && test -f native/build/Release/mediabot_native.node \
 && npm prune --omit=dev \
 && rm -rf native/build/Release/obj.target native/build/Release/.deps \
 && node -e "require('@discordjs/opus'); require('better-sqlite3'); require('./native/build/Release/mediabot_native.node')"

# ---------------------------------------------------------------- runtime: production dependencies only
FROM ${NODE_IMAGE}
ARG POCKETSPHINX=0
ARG EXTRA_PACKAGES=
RUN packages="$EXTRA_PACKAGES"; \
    if [ "$POCKETSPHINX" = 1 ]; then packages="pocketsphinx pocketsphinx-en-us $packages"; fi; \
    if [ -n "${packages# }" ]; then \
      apt-get update \
      && apt-get install -y --no-install-recommends $packages \
      && rm -rf /var/lib/apt/lists/*; \
    fi
WORKDIR /app
# Owned by root and read-only to the process: the app never writes under /app.
COPY --from=build /app/package.json /app/package-lock.json ./
COPY --from=build /app/bin/ bin/
COPY --from=build /app/dist/src/ dist/src/
COPY --from=build /app/dist/testing/ dist/testing/
COPY --from=build /app/src/server/public/ src/server/public/
COPY --from=build /app/assets/ assets/
COPY --from=build /app/native/build/Release/mediabot_native.node native/build/Release/
COPY --from=build /app/node_modules/ node_modules/
# Everything mediabot writes goes to MEDIABOT_DATA_DIR (recordings, SQLite, prompts, per-call
# scratch) or to /tmp (the emulator's speech cache); the root filesystem can be read-only.
RUN mkdir -p /data && chown 1000:1000 /data
VOLUME /data
ENV NODE_ENV=production \
    MEDIABOT_DATA_DIR=/data
# The main HTTP port (MEDIABOT_PORT): Graph callbacks, /v1, /media/bridge, /media/acs, health, metrics.
EXPOSE 3978
# RTP/UDP media listens on MEDIABOT_RTP_PORTS (default 40000-40999). It is not EXPOSEd: publish the
# range you configure (docker run -p 40000-40099:40000-40099/udp with MEDIABOT_RTP_PORTS=40000-40099).
# Numeric, so Kubernetes' runAsNonRoot can verify it: the base image's `node` user.
USER 1000:1000
ENTRYPOINT ["node", "/app/bin/mediabot.js"]
CMD ["start"]
