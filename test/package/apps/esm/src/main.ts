import { NestFactory } from '@nestjs/core';
import { AppModule } from './app.module.js';

async function bootstrap() {
  const app = await NestFactory.create(AppModule, { logger: ['error', 'warn'] });
  await app.listen(Number(process.env.PORT ?? 3000), '127.0.0.1');
  // The test reads the port from this line.
  console.log(`listening ${(app.getHttpServer().address() as { port: number }).port}`);
}
void bootstrap();
