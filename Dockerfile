# One image for every role of the production topology; the command picks the role:
#   node dist/src/main.js                            gateway (GATEWAY_MODE=remote) or the all-in-one product
#   node dist/src/bin/subgraph.js <workflow|customers|communications>
#   node dist/src/bin/worker.js                      batch generation workers
#   node dist/src/bin/token.js --sub NAME --roles R  a dev token (AUTH_MODE=dev only)
# See docker-compose.yml and notes/readme-topology.md.

# Node 24 LTS, the line package.json requires (engines). The image brings its own Node, so the
# pinned node-linux-* packages that give npm scripts Node 24 on other machines are left out below.
FROM node:24-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
# --ignore-scripts: `prepare` would compile before the sources are here; it is run below instead.
RUN npm ci --ignore-scripts
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY bench ./bench
# npm run build: tsc, then the API explorer (GraphiQL) bundled into dist/explorer from the dev
# dependencies. --omit=optional drops the pinned Node binary (node-linux-*, ~120 MB; the image's own
# Node runs the server) and the other optional packages, none of which a server loads (pg-cloudflare
# is for Cloudflare Workers, uglify-js for the Handlebars precompiler CLI).
RUN npm run build && npm prune --omit=dev --omit=optional --ignore-scripts

FROM node:24-slim
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=4000 \
    DATA_DIR=/data
WORKDIR /app
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
# PRINT output embeds these fonts; they are found by walking up from dist/.
COPY assets ./assets
# DATA_DIR holds the dev signing key (AUTH_MODE=dev) and the embedded delivery
# channels' outbox; a fresh volume mounted here inherits the node user's ownership.
RUN mkdir -p /data && chown node:node /data
USER node
EXPOSE 4000
CMD ["node", "dist/src/main.js"]
