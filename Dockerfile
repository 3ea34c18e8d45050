# One image for every sagalane process; the compose file picks the command.
FROM node:20-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY bin ./bin
COPY src ./src
COPY data ./data
USER node
# No dist/ in the image: the launcher runs the TypeScript sources through tsx (a runtime dependency).
ENTRYPOINT ["node", "bin/sagalane.js"]
CMD ["--help"]
