# syntax=docker/dockerfile:1
# logbarge: build stage compiles TypeScript and the better-sqlite3 addon; the runtime stage holds
# production dependencies only and runs as the unprivileged `node` user.

FROM node:22-bookworm-slim AS build
WORKDIR /app
# Toolchain for better-sqlite3, which compiles from source when no prebuilt binary is reachable.
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts && npm rebuild better-sqlite3
COPY tsconfig.json ./
COPY src ./src
COPY schemas ./schemas
COPY migrations ./migrations
RUN npm run build && npm prune --omit=dev

FROM node:22-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build /app/package.json ./package.json
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY --from=build /app/schemas ./schemas
COPY --from=build /app/migrations ./migrations
RUN ln -s /app/dist/cli/main.js /usr/local/bin/logbarge \
 && mkdir -p /var/lib/logbarge \
 && chown node:node /var/lib/logbarge
USER node
# The spool (./data/spool.db) and file exports live here; mount a volume to keep them.
WORKDIR /var/lib/logbarge
VOLUME ["/var/lib/logbarge"]
EXPOSE 8080
STOPSIGNAL SIGTERM
# Liveness (/healthz) through dist/cli/healthcheck.js: it loads the same config as the daemon
# ($LOGBARGE_CONFIG, else the defaults; pass the config that way rather than with `run -c`, which
# the health check cannot see), so it follows server.port and server.tls, and asks over loopback
# when server.host is 0.0.0.0 or ::. Exit 0 healthy, 1 unhealthy.
HEALTHCHECK --interval=15s --timeout=3s --start-period=10s --retries=3 \
  CMD ["node", "/app/dist/cli/healthcheck.js"]
# exec form: node is PID 1 and receives SIGTERM itself, so the drain runs.
CMD ["node", "/app/dist/cli/main.js", "run"]
