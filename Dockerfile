# The API server image (Node server entry point). The Lambda artifact is built separately with `npm run build`.
FROM node:20-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund
COPY bin ./bin
COPY src ./src
COPY wrangler-free-config ./wrangler-free-config
COPY tsconfig.json ./
RUN mkdir -p /data && chown node:node /data
EXPOSE 3000
USER node
CMD ["node", "bin/acp.js", "serve"]
