# One image for every role of the local stack (docker-compose.yml) and for running the API on its own:
#   node bin/acp.js serve              the HTTP API (the default command)
#   node bin/acp.js local-athena …     the local Athena-compatible endpoint (DuckDB)
#   node bin/acp.js local-scheduler …  the local EventBridge Scheduler endpoint (invokes the Lambda handler in process)
#   node bin/acp.js schedules sync     a one-shot sync of wrangler-free-config/schedules.yaml
# The CLI runs the TypeScript sources through tsx (a runtime dependency): there is no build step. The Lambda
# artifact is built separately with `npm run build`.
FROM node:20-bookworm-slim

WORKDIR /app
ENV NODE_ENV=production

# Dependencies first, so a source change does not reinstall them. Runtime dependencies only: tsx runs the sources,
# and DuckDB's native binding (@duckdb/node-api → @duckdb/node-bindings-linux-<arch>, glibc like this Debian
# image) is installed for the platform the image is built for, never copied from the host (see .dockerignore).
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force

COPY tsconfig.json ./
COPY bin ./bin
COPY src ./src
COPY local ./local
COPY wrangler-free-config ./wrangler-free-config

# The local Athena role keeps its Parquet data in /data (a volume in docker-compose.yml): the one writable path.
RUN mkdir -p /data && chown node:node /data

# The application files stay owned by root and read-only for the process.
USER node

EXPOSE 3000
# For the API role (the default command); docker-compose.yml gives the other roles their own checks. Node's own
# fetch: the slim image has no curl.
HEALTHCHECK --interval=5s --timeout=3s --start-period=20s --retries=5 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||3000)+'/health').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
CMD ["node", "bin/acp.js", "serve"]
