import { defineConfig } from 'vite';
import { svelte } from '@sveltejs/vite-plugin-svelte';
import { writeFileSync } from 'node:fs';

// The build is served by clapshot-server (embedded with go:embed) at any
// path behind any proxy, so every asset URL is relative ("./assets/...").
// `npm run dev` proxies the API to a server on CLAPSHOT_DEV_SERVER.
const devServer = process.env.CLAPSHOT_DEV_SERVER ?? 'http://127.0.0.1:8095';

export default defineConfig({
  base: './',
  plugins: [
    svelte(),
    {
      // The Go embed (web/embed.go) needs dist/ to exist even without a
      // build, so git keeps dist/.gitkeep; put it back after emptying dist.
      name: 'keep-dist-gitkeep',
      closeBundle() {
        writeFileSync('dist/.gitkeep', '');
      },
    },
  ],
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: false,
    assetsInlineLimit: 0,
  },
  server: {
    proxy: {
      '/api': { target: devServer, ws: true },
      '/videos': devServer,
      '/clapshot_client.conf.json': devServer,
    },
  },
  test: {
    include: ['src/**/*.test.ts'],
    environment: 'node',
  },
});
