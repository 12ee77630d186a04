// Prisma CLI configuration (Prisma 7 keeps the connection URL out of schema.prisma).
// Only `prisma migrate deploy` on a real server uses the URL; `prisma generate` does not.
import 'dotenv/config';
import { defineConfig } from 'prisma/config';

export default defineConfig({
  schema: 'prisma/schema.prisma',
  migrations: { path: 'prisma/migrations' },
  datasource: { url: process.env.DATABASE_URL ?? 'postgresql://localhost:5432/possync' },
});
